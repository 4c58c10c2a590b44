package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/signal"
	"sort"
	"strconv"
	"strings"

	"github.com/spf13/pflag"
	"golang.org/x/sys/unix"

	"github.com/nsinit/nsinit/internal/boot"
	"github.com/nsinit/nsinit/internal/detect"
	"github.com/nsinit/nsinit/internal/exitcode"
	"github.com/nsinit/nsinit/internal/relabel"
	"github.com/nsinit/nsinit/internal/selinuxfs"
	"github.com/nsinit/nsinit/internal/sigpolicy"
	"github.com/nsinit/nsinit/internal/unshare"
)

// env is what a command may touch of the process and the machine: its standard streams and
// environment, the facts that decide what a bare `nsinit` means, and every side effect a
// command can have. Tests and the argument fuzzer run commands with their own env.
type env struct {
	Stdin          io.Reader
	Stdout, Stderr io.Writer
	// Args is nsinit's command line, argv[0] first (os.Args): the bring-up re-executes
	// itself with it into the init's domain.
	Args   []string
	Getenv func(string) string
	// PID1 reports whether nsinit is where its container or machine starts (entrypoint):
	// PID 1 of its PID namespace, or the child of a container's PID 1 (a runtime's --init).
	// Only there does the bring-up run without being asked for.
	PID1 func() bool
	// MachinePID1 reports whether nsinit is PID 1 of the initial PID namespace, the
	// machine's init (boot.KernelPID1: yes when procfs cannot tell, as at an initramfs-less
	// boot). Only there are words before "--" the kernel's words for the init.
	MachinePID1 func() bool
	// Freeze never returns: how the machine's PID 1 stops, since its exit panics the kernel.
	Freeze func()
	// System returns the bring-up's side effects (boot.RealSystem).
	System func(procDir, selinuxfsDir string) boot.System
	// Relabel writes labels (relabel.Run).
	Relabel func(context.Context, relabel.Options) (relabel.Stats, error)
	// Create creates an output file (os.Create).
	Create func(path string) (io.WriteCloser, error)
	// Environ is the environment passed to what nsinit unshare execs (os.Environ).
	Environ func() []string
	// Executable is nsinit's own binary, which unshare --boot re-executes (os.Executable).
	Executable func() (string, error)
	// Unshare checks what the sequence needs and gives the process a new SELinux
	// namespace, then execs; it returns only on failure (realUnshare).
	Unshare func(needs unshare.Needs, procDir string, o unshare.Options) error
}

// osEnv is the env of the running process.
func osEnv() *env {
	return &env{
		Stdin: os.Stdin, Stdout: os.Stdout, Stderr: os.Stderr, Getenv: os.Getenv, Args: os.Args,
		PID1:        func() bool { return entrypoint("/proc") },
		MachinePID1: func() bool { return boot.KernelPID1("/proc") },
		Freeze:      boot.RealSystem("/proc", selinuxfs.DefaultDir).Freeze,
		System:      boot.RealSystem,
		Relabel:     relabel.Run,
		Create:      func(path string) (io.WriteCloser, error) { return os.Create(path) },
		Environ:     os.Environ,
		Executable:  os.Executable,
		Unshare:     realUnshare,
	}
}

// entrypoint reports whether nsinit is where a container or the machine starts: PID 1, or
// the child of PID 1 in a container's PID namespace, where a runtime's --init (catatonit,
// tini, docker-init) runs first and starts the entrypoint as its child. On the host — the
// initial PID namespace — only PID 1 counts, so an admin's command never starts an init;
// when procfs cannot tell the namespace, the answer is no.
func entrypoint(procDir string) bool {
	if os.Getpid() == 1 {
		return true
	}
	if os.Getppid() != 1 {
		return false
	}
	initial, err := detect.InitialPIDNS(procDir)
	return err == nil && !initial
}

// machine reports whether nsinit is the machine's PID 1.
func (e *env) machine() bool { return e.PID1() && e.MachinePID1() }

// bringUp is the name of the bring-up command. As PID 1 it is also what a bare `nsinit`
// (no command word) runs; anywhere else it must be asked for by this name.
const bringUp = "boot"

// command is one nsinit subcommand. The table of commands is the single source of truth for
// dispatch, --help and the generated nsinit(8) man page.
type command struct {
	// Name is the word after "nsinit".
	Name string
	// Synopsis is the usage line, e.g. "nsinit lookup [flags] PATH...".
	Synopsis string
	// Summary is one line for the command list.
	Summary string
	// Help is the long description: paragraphs separated by blank lines.
	Help string
	// Setup binds the command's flags into fs and returns the function that runs it with
	// the operands (fs.Args(): the words that are not flags, before and after "--"). It
	// returns an exit status (package exitcode).
	Setup func(fs *pflag.FlagSet) func(e *env, args []string) int
}

// commands is filled by register calls in each command's file.
var commands = map[string]*command{}

// register adds c to the command table; a duplicate name is a programming error.
func register(c *command) {
	if _, dup := commands[c.Name]; dup || c.Name == "" || c.Name == "help" {
		panic("nsinit: duplicate or reserved command name " + strconv.Quote(c.Name))
	}
	commands[c.Name] = c
}

// sortedCommands returns the commands ordered by name, the bring-up first.
func sortedCommands() []*command {
	cs := make([]*command, 0, len(commands))
	for _, c := range commands {
		cs = append(cs, c)
	}
	sort.Slice(cs, func(i, j int) bool {
		if (cs[i].Name == bringUp) != (cs[j].Name == bringUp) {
			return cs[i].Name == bringUp
		}
		return cs[i].Name < cs[j].Name
	})
	return cs
}

// commandNames returns the names of the commands, for suggestions.
func commandNames() []string {
	names := make([]string, 0, len(commands))
	for _, c := range sortedCommands() {
		names = append(names, c.Name)
	}
	return names
}

// printHelp prints c's full help with its own flag set (writeUsage).
func printHelp(w io.Writer, c *command) {
	fs := newFlagSet(flagSetName(c))
	c.Setup(fs)
	writeUsage(w, c, fs)
}

// writeUsage prints c's full help: synopsis, description, flags and (for the bring-up,
// which `nsinit --help` shows) the list of commands.
func writeUsage(w io.Writer, c *command, fs *pflag.FlagSet) {
	fmt.Fprintf(w, "Usage: %s\n\n%s\n", c.Synopsis, strings.TrimSpace(c.Help))
	fmt.Fprintf(w, "\nFlags:\n%s", fs.FlagUsages())
	if c.Name == bringUp {
		fmt.Fprintf(w, "\nCommands:\n")
		for _, sc := range sortedCommands() {
			fmt.Fprintf(w, "  %-10s %s\n", sc.Name, sc.Summary)
		}
		writeExitCodes(w)
		fmt.Fprintf(w, "\nRun 'nsinit COMMAND --help' for a command's flags, 'nsinit man' for the manual.\n")
	}
}

// dispatch runs the command that args (without argv[0]) name and returns its exit status.
//
// The first word names the command. Without a command word (no words, or a flag first)
// nsinit runs the bring-up only where a container or the machine starts (entrypoint); anywhere else that is a usage error, so
// that a typo or a bare `nsinit` typed on a host never execs the host's init. As the
// machine's PID 1 every word goes to the bring-up (the kernel's words are the init's), and
// only "boot" is recognised there.
func dispatch(e *env, args []string) int {
	machine := e.machine()
	if len(args) > 0 && (!machine || args[0] == bringUp) {
		if c, ok := commands[args[0]]; ok {
			return runCommand(e, c, args[1:])
		}
		if args[0] == "help" {
			c := commands[bringUp]
			if len(args) > 1 && commands[args[1]] != nil {
				c = commands[args[1]]
			}
			printHelp(e.Stdout, c)
			return exitcode.OK
		}
	}
	if !e.PID1() {
		return noCommand(e, args)
	}
	return runCommand(e, commands[bringUp], args)
}

// flagSetName is how messages name c.
func flagSetName(c *command) string { return "nsinit " + c.Name }

// runCommand parses args with c's flags and runs c.
func runCommand(e *env, c *command, args []string) int {
	fs := newFlagSet(flagSetName(c))
	run := c.Setup(fs)
	machine := c.Name == bringUp && e.machine()
	if machine {
		// Like systemd as PID 1: options the kernel passes (-b, -s, ...) that nsinit does
		// not know are the init's, in their place among the words.
		fs.ParseErrorsAllowlist.UnknownFlagsHandling = pflag.PassUnknownFlagToArgs
	}
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, pflag.ErrHelp) {
			writeUsage(e.Stdout, c, fs)
			if machine {
				return usageError(e, c, "--help given to the machine's PID 1")
			}
			return exitcode.OK
		}
		return usageError(e, c, parseError(fs, err))
	}
	if v, _ := fs.GetBool(versionFlag); v {
		if machine {
			return usageError(e, c, "--version given to the machine's PID 1")
		}
		writeVersion(e.Stdout, false)
		return exitcode.OK
	}
	if words, _ := splitAtDash(fs); c.Name == bringUp && !machine && len(words) > 0 {
		return usageError(e, c, fmt.Sprintf("unexpected %q before --: only the machine's PID 1 passes words to the init; name the init after -- (nsinit boot -- /sbin/init ARGS...)%s",
			words[0], commandHint(args, words[0])))
	}
	return run(e, fs.Args())
}

// usageError reports a usage error of c. The bring-up as the machine's PID 1 must not exit
// (the kernel would panic): it says that the init was not started and freezes, as a failed
// bring-up does.
func usageError(e *env, c *command, msg string) int {
	fmt.Fprintf(e.Stderr, "%s: %s\n", flagSetName(c), msg)
	if c.Name == bringUp && e.machine() {
		fmt.Fprintln(e.Stderr, "nsinit: emergency: bad arguments: the init was NOT started.")
		fmt.Fprintln(e.Stderr, "nsinit: freezing (PID 1 of the machine must not exit); fix the kernel command line and reboot")
		e.Freeze()
		return exitcode.Usage
	}
	fmt.Fprintf(e.Stderr, "Run '%s --help' for usage.\n", flagSetName(c))
	return exitcode.Usage
}

// noCommand reports a command line without a command word outside PID 1, with the
// command it probably meant.
func noCommand(e *env, args []string) int {
	if len(args) == 1 && args[0] == "--"+versionFlag {
		writeVersion(e.Stdout, false)
		return exitcode.OK
	}
	if len(args) > 0 && (args[0] == "-h" || args[0] == "--help") {
		printHelp(e.Stdout, commands[bringUp])
		return exitcode.OK
	}
	switch {
	case len(args) == 0:
		fmt.Fprintln(e.Stderr, "nsinit: no command given.")
	case !strings.HasPrefix(args[0], "-"):
		fmt.Fprintf(e.Stderr, "nsinit: unknown command %q%s\n", args[0], commandHint(args, args[0]))
	default:
		// Flags first: find the word they were meant for, as the bring-up would parse them.
		fs := newFlagSet("nsinit")
		commands[bringUp].Setup(fs)
		fs.ParseErrorsAllowlist.UnknownFlagsHandling = pflag.PassUnknownFlagToArgs
		hint := ""
		if fs.Parse(args) == nil {
			if words, _ := splitAtDash(fs); len(words) > 0 {
				hint = commandHint(args, words[0])
			}
		}
		fmt.Fprintf(e.Stderr, "nsinit: no command given%s\n", hint)
	}
	fmt.Fprintln(e.Stderr, "The bring-up runs by itself only where a container or the machine starts (PID 1, or the child of a container's PID 1); to run it here, ask for it: nsinit boot [flags] [-- INIT [ARGS...]].")
	fmt.Fprintln(e.Stderr, "Run 'nsinit --help' for the commands.")
	return exitcode.Usage
}

// commandHint suggests the command line the user probably meant when word, found in args,
// is (or nearly is) a command name: "; did you mean 'nsinit status --mode permissive'?".
func commandHint(args []string, word string) string {
	name := word
	if commands[name] == nil {
		if name = suggest(word, commandNames()); name == "" {
			return ""
		}
	}
	rest := make([]string, 0, len(args))
	skipped := false
	for _, a := range args {
		if a == word && !skipped {
			skipped = true
			continue
		}
		rest = append(rest, a)
	}
	return fmt.Sprintf("; did you mean 'nsinit %s'?", quoteArgs(append([]string{name}, rest...)))
}

func main() {
	// A write to a closed stderr pipe must be an error, not death: a Go PID 1 that is not
	// notified exits 2 on SIGPIPE. Notify (not Ignore): a handled signal is reset to its
	// default at exec, an ignored one would be inherited by the init.
	signal.Notify(make(chan os.Signal, 1), unix.SIGPIPE)
	// As PID 1, catch every signal from main's first statement on (sigpolicy.Table; the
	// runtime's start before it is the window docs/supervise.md describes): a
	// kill -SEGV before the bring-up installs its own handling must not crash the machine's
	// init. Elsewhere the admin commands keep the default (Ctrl-C stops them).
	if os.Getpid() == 1 {
		if err := sigpolicy.Guard(); err != nil {
			fmt.Fprintln(os.Stderr, "nsinit: warning:", err)
		}
	}
	os.Exit(dispatch(osEnv(), os.Args[1:]))
}
