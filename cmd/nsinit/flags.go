package main

import (
	"errors"
	"fmt"
	"io"
	"strings"

	"github.com/spf13/pflag"
	"go.uber.org/zap"

	"github.com/nsinit/nsinit/internal/config"
	"github.com/nsinit/nsinit/internal/firstboot"
	"github.com/nsinit/nsinit/internal/logging"
)

// newFlagSet returns the flag set of the command called name. Every subcommand parses its
// arguments with one of these, the GNU way (pflag): flags anywhere before "--", in long
// (--name VALUE, --name=VALUE) or short form, "--" ends the flags and everything after it
// is an operand. Nothing is printed while parsing: dispatch reports errors once.
func newFlagSet(name string) *pflag.FlagSet {
	fs := pflag.NewFlagSet(name, pflag.ContinueOnError)
	fs.SetInterspersed(true)
	fs.SetOutput(io.Discard)
	fs.Usage = func() {}
	fs.Bool(versionFlag, false, "print nsinit's version and exit")
	return fs
}

// versionFlag is the flag every command accepts (--version), as GNU tools do.
const versionFlag = "version"

// splitAtDash returns the operands of a parsed fs that came before "--" and those after it
// (nil when there was no "--").
func splitAtDash(fs *pflag.FlagSet) (before, after []string) {
	args := fs.Args()
	n := fs.ArgsLenAtDash()
	if n < 0 {
		return args, nil
	}
	return args[:n], args[n:]
}

// parseError describes a parse error of fs, with a suggestion for a misspelt long flag.
func parseError(fs *pflag.FlagSet, err error) string {
	msg := err.Error()
	var ne *pflag.NotExistError
	if errors.As(err, &ne) && ne.GetSpecifiedShortnames() == "" {
		var names []string
		fs.VisitAll(func(f *pflag.Flag) {
			if !f.Hidden {
				names = append(names, f.Name)
			}
		})
		if s := suggest(ne.GetSpecifiedName(), names); s != "" {
			msg += fmt.Sprintf(" (did you mean --%s?)", s)
		}
	}
	return msg
}

// suggest returns the candidate nearest to word when it is a plausible typo of it (at most
// one edit per three letters, a swap of neighbours counting as one), else "".
func suggest(word string, candidates []string) string {
	best, bestD := "", max(1, len(word)/3)+1
	for _, c := range candidates {
		if d := editDistance(word, c); d < bestD {
			best, bestD = c, d
		}
	}
	return best
}

// editDistance is the optimal string alignment distance between a and b: insertions,
// deletions, substitutions and transpositions of adjacent bytes.
func editDistance(a, b string) int {
	// Words longer than any name cannot be near one; bound the work for arbitrary input.
	if len(a) > 64 || len(b) > 64 {
		return max(len(a), len(b))
	}
	d := make([][]int, len(a)+1)
	for i := range d {
		d[i] = make([]int, len(b)+1)
		d[i][0] = i
	}
	for j := range d[0] {
		d[0][j] = j
	}
	for i := 1; i <= len(a); i++ {
		for j := 1; j <= len(b); j++ {
			cost := 1
			if a[i-1] == b[j-1] {
				cost = 0
			}
			d[i][j] = min(d[i-1][j]+1, d[i][j-1]+1, d[i-1][j-1]+cost)
			if i > 1 && j > 1 && a[i-1] == b[j-2] && a[i-2] == b[j-1] {
				d[i][j] = min(d[i][j], d[i-2][j-2]+1)
			}
		}
	}
	return d[len(a)][len(b)]
}

// logFlags are the logging flags every long-running command shares.
type logFlags struct{ format, level string }

func (l *logFlags) bind(fs *pflag.FlagSet) {
	fs.StringVar(&l.format, "log-format", "console", "log `FORMAT`: console (human-readable) or json (one object per line)")
	fs.StringVar(&l.level, "log-level", "info", "minimum log `LEVEL`: debug, info, warn or error")
}

// newLogger builds the logger the flags ask for, writing to the command's standard error.
func newLogger(e *env, l *logFlags) (*zap.Logger, error) {
	format, err := logging.ParseFormat(l.format)
	if err != nil {
		return nil, err
	}
	level, err := logging.ParseLevel(l.level)
	if err != nil {
		return nil, err
	}
	return logging.New(e.Stderr, format, level), nil
}

// modeFlag adapts config.Mode to pflag.Value.
type modeFlag struct{ m *config.Mode }

func (f modeFlag) String() string {
	if f.m == nil || *f.m == config.ModeUnset {
		return ""
	}
	return f.m.String()
}

func (f modeFlag) Set(s string) error {
	m, err := config.ParseMode(s)
	if err == nil {
		*f.m = m
	}
	return err
}

func (modeFlag) Type() string { return "mode" }

// relabelFlag adapts firstboot.Policy to pflag.Value.
type relabelFlag struct{ p *firstboot.Policy }

func (f relabelFlag) String() string {
	if f.p == nil {
		return firstboot.RelabelAuto.String()
	}
	return f.p.String()
}

func (f relabelFlag) Set(s string) error {
	p, err := firstboot.ParsePolicy(s)
	if err == nil {
		*f.p = p
	}
	return err
}

func (relabelFlag) Type() string { return "policy" }

// quoteArgs renders a command line for a message, quoting words that need it.
func quoteArgs(args []string) string {
	q := make([]string, len(args))
	for i, a := range args {
		if a == "" || strings.ContainsAny(a, " \t\n'\"\\$`") {
			a = fmt.Sprintf("%q", a)
		}
		q[i] = a
	}
	return strings.Join(q, " ")
}
