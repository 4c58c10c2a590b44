// Package exitcode defines nsinit's process exit statuses in one place, so that the CLI,
// the bring-up sequence and the documentation (docs/exit-codes.md, nsinit(8)) agree.
package exitcode

// Exit statuses. They are part of nsinit's interface: scripts and runtimes act on them.
const (
	// OK: the command succeeded. The bring-up never returns OK: it execs the init.
	OK = 0
	// Failure: a subcommand failed (a load error, per-object relabel errors, ...).
	Failure = 1
	// Usage: bad flags or arguments.
	Usage = 2
	// Refused: nsinit refused to act on an SELinux namespace that is not its own
	// (attr/current is "kernel" but we are not the boot PID 1 and nothing says the
	// namespace was unshared for us).
	Refused = 3
	// FailClosed: enforcing mode was requested and a bring-up step failed, so the init was
	// not executed. As the kernel's PID 1 nsinit freezes instead of exiting.
	FailClosed = 4
	// ExecFailed: the init could not be executed (not found, not executable, EACCES from
	// the policy) in permissive or disabled mode.
	ExecFailed = 5
	// Aborted: a termination signal (SIGTERM, SIGINT, SIGPWR, SIGRTMIN+3) arrived during
	// the bring-up; nothing was left half-done that a rerun would not redo.
	Aborted = 6
)
