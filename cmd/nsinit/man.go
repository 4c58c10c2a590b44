package main

import (
	"fmt"
	"io"
	"strconv"
	"strings"
	"time"

	"github.com/spf13/pflag"

	"github.com/nsinit/nsinit/internal/exitcode"
)

// manName is the NAME line of nsinit(8).
const manName = "nsinit \\- bring SELinux up in a fresh SELinux namespace or at boot, then run the real init"

func init() {
	register(&command{
		Name:     "man",
		Synopsis: "nsinit man",
		Summary:  "print the nsinit(8) manual page (roff) generated from this binary's commands",
		Help: `Write the nsinit(8) manual page to standard output, in roff (man(7) macros). It is
generated from the same command table, help texts and flag definitions that --help prints,
and exit statuses, so it always matches the binary. The page date
is taken from SOURCE_DATE_EPOCH when set (reproducible builds), and left out otherwise.

Examples:
  nsinit man | man -l -                        read it
  nsinit man > /usr/share/man/man8/nsinit.8    install it`,
		Setup: func(fs *pflag.FlagSet) func(e *env, args []string) int {
			return func(e *env, args []string) int {
				if len(args) > 0 {
					fmt.Fprintln(e.Stderr, "nsinit man: takes no arguments")
					return exitcode.Usage
				}
				date, err := manDate(e.Getenv("SOURCE_DATE_EPOCH"))
				if err != nil {
					fmt.Fprintln(e.Stderr, "nsinit man:", err)
					return exitcode.Usage
				}
				v, _ := buildVersion()
				if err := writeMan(e.Stdout, v, date); err != nil {
					fmt.Fprintln(e.Stderr, "nsinit man:", err)
					return exitcode.Failure
				}
				return exitcode.OK
			}
		},
	})
}

// manDate formats SOURCE_DATE_EPOCH (seconds since the epoch, or "") as the page's date.
func manDate(epoch string) (string, error) {
	if epoch == "" {
		return "", nil
	}
	sec, err := strconv.ParseInt(epoch, 10, 64)
	if err != nil {
		return "", fmt.Errorf("SOURCE_DATE_EPOCH=%q: not a number of seconds", epoch)
	}
	return time.Unix(sec, 0).UTC().Format("2006-01-02"), nil
}

// writeMan renders nsinit(8) from the command table: the synopses, the default command's
// help and flags as DESCRIPTION and OPTIONS, every subcommand with its help and flags, and
// the exit statuses.
func writeMan(w io.Writer, version, date string) error {
	m := &roff{}
	m.printf(".TH NSINIT 8 \"%s\" \"nsinit %s\" \"System Administration\"\n", esc(date), esc(version))
	m.printf(".SH NAME\n%s\n", manName)
	m.printf(".SH SYNOPSIS\n")
	for _, c := range sortedCommands() {
		m.synopsis(c.Synopsis)
	}
	if def := commands[bringUp]; def != nil {
		m.printf(".SH DESCRIPTION\n")
		m.text(def.Help)
		m.printf(".SH OPTIONS\n")
		m.flags(def)
	}
	m.printf(".SH COMMANDS\n")
	for _, c := range sortedCommands() {
		if c.Name == bringUp {
			continue
		}
		m.printf(".SS %s\n", esc("nsinit "+c.Name))
		m.printf(".PP\n")
		m.synopsis(c.Synopsis)
		m.text(c.Help)
		m.flags(c)
	}
	m.printf(".SH ENVIRONMENT\n")
	m.items(manEnvironment)
	m.printf(".SH FILES\n")
	m.items(manFiles)
	m.printf(".SH EXIT STATUS\n")
	for _, c := range exitcode.Codes {
		m.printf(".TP\n.B %d\n%s\n", c.Status, esc(c.Meaning))
	}
	m.printf(".PP\n%s\n", esc(exitcode.SupervisedNote))
	m.printf(".PP\n%s\n", esc(manCommandStatus))
	m.printf(".SH EXAMPLES\n")
	m.items(manExamples)
	m.printf(".SH SEE ALSO\n")
	m.printf(".BR selinux (8),\n.BR load_policy (8),\n.BR setfiles (8),\n.BR restorecon (8),\n.BR selinux_config (5),\n.BR systemd-nspawn (1)\n")
	_, err := io.WriteString(w, m.b.String())
	return err
}

// manEnvironment, manFiles and manExamples are the page's ENVIRONMENT, FILES and EXAMPLES:
// a term, then its text.
var (
	manEnvironment = [][2]string{
		{"NSINIT_MODE", "enforcing, permissive or disabled: the bring-up's mode, over the kernel command line's enforcing= and the config's SELINUX=, under --mode. A value that is none of these is a usage error (exit 2)."},
		{"SELINUXNS", "set to 1 by a runtime that gave the container its own SELinux namespace (systemd-nspawn --selinux-namespace); one of the signals that the namespace is nsinit's to load a policy into. It is removed from the init's environment."},
		{"SOURCE_DATE_EPOCH", "the date of the page nsinit man writes (reproducible builds)."},
	}
	manFiles = [][2]string{
		{"/etc/selinux/config", "SELINUX= (the mode) and SELINUXTYPE= (the policy TYPE), read as libselinux reads them; relative to --root."},
		{"/etc/selinux/TYPE/policy/policy.N", "the binary policy the bring-up loads: the newest N the kernel accepts, or a newer one downgraded in memory when that is proven lossless."},
		{"/etc/selinux/TYPE/contexts/files/file_contexts", "with .homedirs, .local, .subs, .subs_dist and the compiled .bin forms: the labels of relabel, lookup and the first-boot relabel."},
		{"/etc/selinux/TYPE/contexts/customizable_types", "types relabel leaves alone without --force."},
		{"/.autorelabel", "asks for a first-boot relabel (--relabel=auto; \"-F\" in it forces full contexts); removed only after a relabel with no errors, so an interrupted one is redone."},
		{"/sys/fs/selinux", "the selinuxfs: the bring-up mounts a fresh instance there; status and getenforce read it."},
		{"/proc/cmdline", "the kernel command line (enforcing=, selinux=, autorelabel), read only as the machine's PID 1."},
	}
	manExamples = [][2]string{
		{"nsinit -- /lib/systemd/systemd", "a container's entrypoint: bring SELinux up in its namespace, then exec systemd."},
		{"nsinit --supervise -- myapp", "an application container: nsinit stays PID 1, relays signals and reaps."},
		{"nsinit relabel -nv /etc", "what setfiles -n -v would print for /etc, without writing."},
		{"nsinit relabel --check -q -r /mnt/img", "in CI: exit 1 and the list when an image's labels are not what its policy says."},
		{"nsinit lookup -V /etc/shadow", "matchpathcon -V: is the label on disk the policy's?"},
		{"nsinit status --json", "what the bring-up would do here, for scripts."},
		{"nsinit getenforce", "Enforcing, Permissive or Disabled."},
	}
)

// manCommandStatus is the EXIT STATUS note for the commands other than the bring-up.
const manCommandStatus = "The other commands exit 0 on success, 1 on failure (relabel --check and lookup -V also " +
	"when a label differs) and 2 for bad usage; status exits with the status the bring-up would exit with here."

// writeExitCodes prints the exit statuses for --help.
func writeExitCodes(w io.Writer) {
	fmt.Fprintf(w, "\nExit codes:\n")
	for _, c := range exitcode.Codes {
		fmt.Fprintf(w, "  %d  %s\n", c.Status, c.Meaning)
	}
	fmt.Fprintf(w, "  %s\n", exitcode.SupervisedNote)
}

// roff accumulates a man page.
type roff struct{ b strings.Builder }

func (m *roff) printf(format string, args ...any) { fmt.Fprintf(&m.b, format, args...) }

// items writes tagged paragraphs: the term in bold, then its text.
func (m *roff) items(list [][2]string) {
	for _, it := range list {
		m.printf(".TP\n.B %s\n%s\n", esc(it[0]), esc(it[1]))
	}
}

// synopsis sets a command's synopsis lines in bold, one output line each.
func (m *roff) synopsis(s string) {
	for _, l := range strings.Split(strings.TrimSpace(s), "\n") {
		m.printf(".B %s\n.br\n", esc(strings.TrimSpace(l)))
	}
}

// text renders a help text: paragraphs separated by blank lines; runs of indented lines
// (examples) are kept as they are, indented; the other lines are filled.
func (m *roff) text(help string) {
	for _, para := range strings.Split(strings.TrimSpace(help), "\n\n") {
		m.printf(".PP\n")
		lines := strings.Split(para, "\n")
		for i := 0; i < len(lines); {
			j := i
			if indented(lines[i]) {
				for j < len(lines) && indented(lines[j]) {
					j++
				}
				m.printf(".RS 4\n.nf\n")
				for _, l := range lines[i:j] {
					m.printf("%s\n", escLine(strings.TrimPrefix(l, "  ")))
				}
				m.printf(".fi\n.RE\n")
			} else {
				for j < len(lines) && !indented(lines[j]) {
					m.printf("%s\n", escLine(strings.TrimSpace(lines[j])))
					j++
				}
			}
			i = j
		}
	}
}

// indented reports whether a help line belongs to a preformatted block.
func indented(l string) bool { return strings.HasPrefix(l, " ") || strings.HasPrefix(l, "\t") }

// flags lists c's flags, bound on a fresh flag set exactly as the command binds them.
func (m *roff) flags(c *command) {
	fs := newFlagSet(flagSetName(c))
	c.Setup(fs)
	n := 0
	fs.VisitAll(func(f *pflag.Flag) {
		if f.Hidden { // nsinit's own (--resume-fd), not the user's
			return
		}
		if n == 0 && c.Name != bringUp {
			m.printf(".PP\nFlags:\n")
		}
		n++
		arg, usage := pflag.UnquoteUsage(f)
		m.printf(".TP\n\\fB\\-\\-%s\\fR", esc(f.Name))
		if arg != "" {
			m.printf(" \\fI%s\\fR", esc(arg))
		}
		m.printf("\n%s", escLine(usage))
		if !zeroDefault(f.DefValue) {
			m.printf(" (default: %s)", esc(f.DefValue))
		}
		m.printf("\n")
	})
	if n == 0 && c.Name == bringUp {
		m.printf("None.\n")
	}
}

// zeroDefault reports whether a flag's default is its type's zero value, which (like
// flag.PrintDefaults) the page does not mention.
func zeroDefault(v string) bool {
	switch v {
	case "", "0", "false", "0s", "[]":
		return true
	}
	return false
}

// esc escapes text for roff: backslashes, hyphens (so that options stay ASCII hyphens
// when rendered) and non-ASCII characters (as \[uXXXX], which troff reads without preconv).
func esc(s string) string {
	var b strings.Builder
	for _, r := range s {
		switch {
		case r == '\\':
			b.WriteString(`\e`)
		case r == '-':
			b.WriteString(`\-`)
		case r > 0x7e:
			fmt.Fprintf(&b, `\[u%04X]`, r)
		default:
			b.WriteRune(r)
		}
	}
	return b.String()
}

// escLine escapes one input line; a line starting with a control character (. or ') would
// be read as a request, so it is prefixed with the zero-width \&.
func escLine(s string) string {
	s = esc(s)
	if strings.HasPrefix(s, ".") || strings.HasPrefix(s, "'") {
		s = `\&` + s
	}
	return s
}
