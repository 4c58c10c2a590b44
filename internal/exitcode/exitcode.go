// Package exitcode defines nsinit's process exit statuses in one place, so that the CLI,
// the bring-up sequence and the documentation agree: Codes holds their descriptions, from
// which both `nsinit --help` and the generated nsinit(8) are written.
package exitcode

// Exit statuses. They are part of nsinit's interface: scripts and runtimes act on them.
// Their meaning is described once, in Codes.
const (
	// OK: success (see Codes).
	OK = 0
	// Failure: a subcommand failed (see Codes).
	Failure = 1
	// Usage: bad flags or arguments (see Codes).
	Usage = 2
	// Refused: the SELinux namespace is not nsinit's own (see Codes).
	Refused = 3
	// FailClosed: enforcing was requested and a bring-up step failed (see Codes).
	FailClosed = 4
	// ExecFailed: the init or application could not be started (see Codes).
	ExecFailed = 5
	// Aborted: a termination signal arrived during the bring-up (see Codes).
	Aborted = 6
)

// Code describes one exit status.
type Code struct {
	Status int
	// Name is the constant's name in this package.
	Name string
	// Meaning is one or two sentences for users: when nsinit exits with Status.
	Meaning string
}

// Codes lists every exit status in increasing order: the single description of each that
// --help and nsinit(8) print.
var Codes = []Code{
	{OK, "OK", "Success. The bring-up itself never exits 0: it execs the init."},
	{Failure, "Failure", "A subcommand failed (a load error, per-object relabel errors, ...), or nsinit unshare " +
		"or --unshare could not give the program its own SELinux namespace: the failing step, its errno and " +
		"the fix are printed, the program was not started and nothing outside nsinit's own new mount " +
		"namespace was changed."},
	{Usage, "Usage", "Bad flags or arguments."},
	{Refused, "Refused", `nsinit refused to act on an SELinux namespace that is not its own: attr/current ` +
		`is "kernel" but nsinit is not the boot PID 1 and nothing says the namespace was unshared for it.`},
	{FailClosed, "FailClosed", "Enforcing mode was requested (or the mode could not be determined) and a " +
		"bring-up step failed, no init was found, or the init could not be executed, so it did not run. " +
		"As the kernel's PID 1 nsinit freezes instead of exiting."},
	{ExecFailed, "ExecFailed", "The init or the supervised application could not be executed (not found, " +
		"not executable, EACCES from the policy) in permissive or disabled mode."},
	{Aborted, "Aborted", "A termination signal (SIGTERM, SIGINT, SIGPWR, SIGRTMIN+3) arrived during the " +
		"bring-up; nothing was left half-done that a rerun would not redo."},
}

// SupervisedNote explains the statuses of supervisor mode, where nsinit's own codes only
// cover the bring-up and the start of the application.
const SupervisedNote = "With --supervise, once the application has started nsinit exits with the " +
	"application's exit status, or 128+N when signal N killed it (SIGKILL: 137, SIGTERM: 143)."
