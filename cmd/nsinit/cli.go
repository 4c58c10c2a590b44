package main

import (
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"sort"
	"strings"

	"golang.org/x/sys/unix"

	"github.com/nsinit/nsinit/internal/exitcode"
)

// env is what a command may touch of the process: its standard streams and environment.
// Tests run commands with their own env.
type env struct {
	Stdin          io.Reader
	Stdout, Stderr io.Writer
	Getenv         func(string) string
}

// command is one nsinit subcommand. The table of commands is the single source of truth for
// dispatch, --help and the generated nsinit(8) man page.
type command struct {
	// Name is the word after "nsinit"; "" is the default command (the bring-up).
	Name string
	// Synopsis is the usage line, e.g. "nsinit lookup [flags] PATH...".
	Synopsis string
	// Summary is one line for the command list.
	Summary string
	// Help is the long description: paragraphs separated by blank lines.
	Help string
	// Setup binds the command's flags into fs and returns the function that runs it with
	// the remaining arguments. It returns an exit status (package exitcode).
	Setup func(fs *flag.FlagSet) func(e *env, args []string) int
}

// commands is filled by register calls in each command's file.
var commands = map[string]*command{}

// register adds c to the command table; a duplicate name is a programming error.
func register(c *command) {
	if _, dup := commands[c.Name]; dup {
		panic("nsinit: duplicate command " + c.Name)
	}
	commands[c.Name] = c
}

// sortedCommands returns the commands ordered by name, the default command first.
func sortedCommands() []*command {
	cs := make([]*command, 0, len(commands))
	for _, c := range commands {
		cs = append(cs, c)
	}
	sort.Slice(cs, func(i, j int) bool { return cs[i].Name < cs[j].Name })
	return cs
}

// newFlagSet returns c's flag set with its usage text wired to w.
func newFlagSet(c *command, w io.Writer) (*flag.FlagSet, func(e *env, args []string) int) {
	name := "nsinit"
	if c.Name != "" {
		name += " " + c.Name
	}
	fs := flag.NewFlagSet(name, flag.ContinueOnError)
	fs.SetOutput(w)
	run := c.Setup(fs)
	fs.Usage = func() { writeUsage(w, c, fs) }
	return fs, run
}

// writeUsage prints c's full help: synopsis, description, flags and (for the default
// command) the list of subcommands.
func writeUsage(w io.Writer, c *command, fs *flag.FlagSet) {
	fmt.Fprintf(w, "Usage: %s\n\n%s\n", c.Synopsis, strings.TrimSpace(c.Help))
	fmt.Fprintf(w, "\nFlags:\n")
	fs.SetOutput(w)
	fs.PrintDefaults()
	if c.Name == "" {
		fmt.Fprintf(w, "\nCommands:\n")
		for _, sc := range sortedCommands() {
			if sc.Name != "" {
				fmt.Fprintf(w, "  %-10s %s\n", sc.Name, sc.Summary)
			}
		}
		writeExitCodes(w)
		fmt.Fprintf(w, "\nRun 'nsinit COMMAND --help' for a command's flags, 'nsinit man' for the manual.\n")
	}
}

// dispatch runs the command that args (without argv[0]) name and returns its exit status.
func dispatch(e *env, args []string) int {
	c := commands[""]
	if len(args) > 0 {
		if sc, ok := commands[args[0]]; ok && args[0] != "" {
			c, args = sc, args[1:]
		} else if args[0] == "help" {
			if len(args) > 1 {
				if sc, ok := commands[args[1]]; ok {
					c = sc
				}
			}
			fs, _ := newFlagSet(c, e.Stdout)
			fs.Usage()
			return exitcode.OK
		}
	}
	fs, run := newFlagSet(c, e.Stderr)
	// The flag package prints the full usage on every parse error; print it once, to
	// stdout, only when asked for, and a one-line pointer otherwise.
	fs.Usage = func() {}
	if err := fs.Parse(args); err != nil {
		if err == flag.ErrHelp {
			writeUsage(e.Stdout, c, fs)
			return exitcode.OK
		}
		fmt.Fprintf(e.Stderr, "Run '%s --help' for usage.\n", fs.Name())
		return exitcode.Usage
	}
	return run(e, fs.Args())
}

func main() {
	// A write to a closed stderr pipe must be an error, not death: a Go PID 1 that is not
	// notified exits 2 on SIGPIPE. Notify (not Ignore): a handled signal is reset to its
	// default at exec, an ignored one would be inherited by the init.
	signal.Notify(make(chan os.Signal, 1), unix.SIGPIPE)
	e := &env{Stdin: os.Stdin, Stdout: os.Stdout, Stderr: os.Stderr, Getenv: os.Getenv}
	os.Exit(dispatch(e, os.Args[1:]))
}
