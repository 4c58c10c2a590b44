package main

import (
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"github.com/spf13/pflag"

	"github.com/nsinit/nsinit/internal/exitcode"
)

// TestNoInitByAccident: a command line starts an init only when the bring-up was asked for
// (the word "boot") or nsinit is PID 1; a typo, a bare nsinit or flags without a command on
// a host are usage errors that name the likely command; words before -- reach the init only
// as the machine's PID 1, which never exits on bad arguments.
func TestNoInitByAccident(t *testing.T) {
	const host, container, machine = 0, 1, 2
	tests := []struct {
		name  string
		where int
		args  []string // "ROOT" is replaced by the fake image root
		code  int
		// argv is the exec'd init's argv (nil: nothing may be exec'd).
		argv   []string
		stderr string
		// frozen: the machine's PID 1 froze, after bad arguments or after the (fake) exec
		// failed, instead of exiting.
		frozen bool
	}{
		{"bare nsinit on a host", host, nil, exitcode.Usage, nil, "no command given", false},
		{"typo on a host", host, []string{"stauts"}, exitcode.Usage, nil, `unknown command "stauts"; did you mean 'nsinit status'?`, false},
		{"flags before the command", host, []string{"--mode", "permissive", "status"}, exitcode.Usage, nil, "did you mean 'nsinit status --mode permissive'?", false},
		{"telinit word on a host", host, []string{"0"}, exitcode.Usage, nil, `unknown command "0"`, false},
		{"bring-up flags on a host", host, []string{"--root", "ROOT", "--", "/sbin/init"}, exitcode.Usage, nil, "nsinit boot [flags]", false},
		{"explicit bring-up on a host", host, []string{"boot", "--root", "ROOT"}, exitcode.ExecFailed, []string{"/sbin/init"}, "\tnsinit\thanding off: ", false},
		{"explicit bring-up with an init", host, []string{"boot", "--root", "ROOT", "--", "/sbin/init", "--x", "single"}, exitcode.ExecFailed, []string{"/sbin/init", "--x", "single"}, "", false},
		{"words on a host", host, []string{"boot", "--root", "ROOT", "single"}, exitcode.Usage, nil, `unexpected "single" before --`, false},
		{"typo after boot", host, []string{"boot", "stauts", "--root", "ROOT"}, exitcode.Usage, nil, "did you mean 'nsinit status --root", false},
		{"help on a host", host, []string{"help", "lookup"}, exitcode.OK, nil, "", false},

		{"bare nsinit as a container's PID 1", container, []string{"--root", "ROOT"}, exitcode.ExecFailed, []string{"/sbin/init"}, "", false},
		{"init after -- in a container", container, []string{"--root", "ROOT", "--", "/sbin/init", "a"}, exitcode.ExecFailed, []string{"/sbin/init", "a"}, "", false},
		{"typo in a container", container, []string{"stauts", "--root", "ROOT"}, exitcode.Usage, nil, "did you mean 'nsinit status --root", false},
		{"word in a container", container, []string{"--root", "ROOT", "single"}, exitcode.Usage, nil, `unexpected "single" before --`, false},
		{"unknown flag in a container", container, []string{"--root", "ROOT", "-b"}, exitcode.Usage, nil, "unknown shorthand flag: 'b' in -b", false},
		{"misspelt flag in a container", container, []string{"--root", "ROOT", "--supervice"}, exitcode.Usage, nil, "did you mean --supervise?", false},
		{"command in a container", container, []string{"version", "--short"}, exitcode.OK, nil, "", false},

		{"kernel words at boot", machine, []string{"--root", "ROOT", "single", "-b", "--weird=1"}, exitcode.ExecFailed, []string{"/sbin/init", "single", "-b", "--weird=1"}, "", true},
		{"kernel's init path at boot", machine, []string{"--root", "ROOT", "/usr/bin/echo", "x"}, exitcode.ExecFailed, []string{"/usr/bin/echo", "x"}, "", true},
		{"command names are words at boot", machine, []string{"status", "--root", "ROOT"}, exitcode.ExecFailed, []string{"/sbin/init", "status"}, "", true},
		{"boot at boot", machine, []string{"boot", "--root", "ROOT", "-s"}, exitcode.ExecFailed, []string{"/sbin/init", "-s"}, "", true},
		{"bad value at boot freezes", machine, []string{"--root", "ROOT", "--mode", "bogus"}, exitcode.Usage, nil, "nsinit: freezing", true},
		{"help at boot freezes", machine, []string{"--root", "ROOT", "--help"}, exitcode.Usage, nil, "nsinit: freezing", true},
		{"bad log level at boot freezes", machine, []string{"--root", "ROOT", "--log-level", "loud"}, exitcode.Usage, nil, "nsinit: freezing", true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			m := newFakeMachine(t)
			m.pid1, m.machine = tt.where != host, tt.where == machine
			args := make([]string, len(tt.args))
			for i, a := range tt.args {
				args[i] = strings.ReplaceAll(a, "ROOT", m.root)
			}
			code, _, stderr := m.run(args...)
			if code != tt.code || !strings.Contains(stderr, tt.stderr) {
				t.Errorf("nsinit %q: status %d, stderr %q; want %d and %q", args, code, stderr, tt.code, tt.stderr)
			}
			var argv []string
			if len(m.execs) > 0 {
				argv = m.execs[0].Argv
			}
			if len(m.execs) > 1 || !reflect.DeepEqual(argv, tt.argv) {
				t.Errorf("nsinit %q exec'd %+v, want argv %q", args, m.execs, tt.argv)
			}
			if (m.frozen > 0) != tt.frozen {
				t.Errorf("nsinit %q: frozen %d times, want frozen %v", args, m.frozen, tt.frozen)
			}
		})
	}
}

// TestSupervisedProgramFromPath: the program after -- is the one that runs, found in PATH
// below the root; a missing one is an error naming it, never the image's /sbin/init.
func TestSupervisedProgramFromPath(t *testing.T) {
	m := newFakeMachine(t)
	m.vars["PATH"] = "/usr/local/bin:/usr/bin"
	code, _, stderr := m.run("boot", "--root", m.root, "--supervise", "--", "echo", "hi")
	if code != exitcode.OK || len(m.supervised) != 1 || m.supervised[0].Path != filepath.Join(m.root, "usr/bin/echo") ||
		strings.Join(m.supervised[0].Argv, " ") != "echo hi" {
		t.Fatalf("--supervise -- echo hi: status %d, supervised %+v\n%s", code, m.supervised, stderr)
	}
	m = newFakeMachine(t)
	code, _, stderr = m.run("boot", "--root", m.root, "--supervise", "--", "nosuchapp", "hi")
	if code != exitcode.ExecFailed || len(m.supervised) != 0 || len(m.execs) != 0 || !strings.Contains(stderr, `nosuchapp\" not found`) {
		t.Fatalf("--supervise -- nosuchapp: status %d, supervised %+v, exec'd %+v\n%s", code, m.supervised, m.execs, stderr)
	}
}

// unit is one element of a command line that moves as a whole: a flag with its value, or
// an operand.
type unit struct {
	words   []string
	operand bool
}

func flagUnit(w ...string) unit { return unit{words: w} }
func operand(w string) unit     { return unit{words: []string{w}, operand: true} }

// permutations calls f with every order of us.
func permutations(us []unit, f func([]unit)) {
	var rec func(k int)
	rec = func(k int) {
		if k == len(us) {
			f(us)
			return
		}
		for i := k; i < len(us); i++ {
			us[k], us[i] = us[i], us[k]
			rec(k + 1)
			us[k], us[i] = us[i], us[k]
		}
	}
	rec(0)
}

// parsed is what a command's parser made of a command line.
type parsed struct {
	flags         map[string]string
	before, after []string
}

func parseWith(t *testing.T, c *command, args []string) parsed {
	t.Helper()
	fs := newFlagSet(flagSetName(c))
	c.Setup(fs)
	if err := fs.Parse(args); err != nil {
		t.Fatalf("nsinit %s %q: %v", c.Name, args, err)
	}
	p := parsed{flags: map[string]string{}}
	fs.VisitAll(func(f *pflag.Flag) { p.flags[f.Name] = f.Value.String() })
	p.before, p.after = splitAtDash(fs)
	return p
}

// TestArgumentOrder: for every command, every order of its flags and operands before --
// parses to the same flags and the same operands (in their own order), and flag-looking
// words after -- stay operands.
func TestArgumentOrder(t *testing.T) {
	table := map[string]struct {
		units []unit
		// tail follows "--": flag-looking words of flags the units do not set.
		tail []string
	}{
		"boot": {[]unit{flagUnit("--root", "/img"), flagUnit("--mode=permissive"), flagUnit("--supervise"), flagUnit("--grace", "5s"), flagUnit("--jobs", "3")},
			[]string{"/bin/app", "--mode", "enforcing", "--process-group"}},
		"relabel": {[]unit{flagUnit("-r", "B"), flagUnit("--file-contexts", "FC"), operand("B/usr/sbin"), flagUnit("-nvF"), flagUnit("--exclude", "B/x"), operand("B/etc")},
			[]string{"--force", "-x"}},
		"lookup": {[]unit{flagUnit("-f", "FC"), operand("/etc/shadow"), flagUnit("-m", "file"), operand("/usr/bin"), flagUnit("-nV")},
			[]string{"--batch", "--mode"}},
		"status": {[]unit{flagUnit("--root", "/img"), flagUnit("--proc", "/p"), flagUnit("--mode", "enforcing"), flagUnit("--selinuxfs=/s")},
			[]string{"--root"}},
		"policy": {[]unit{operand("inspect"), flagUnit("--kernel-max", "33"), flagUnit("--selinuxfs", "/s"), operand("f1"), operand("f2")},
			[]string{"--kernel-max=1"}},
		"version":    {[]unit{flagUnit("--short")}, []string{"--short"}},
		"getenforce": {[]unit{flagUnit("--root", "/img"), flagUnit("--selinuxfs=/s")}, []string{"--root"}},
		"man":        {nil, []string{"--help"}},
		"unshare": {[]unit{flagUnit("--boot"), flagUnit("--mode", "permissive"), flagUnit("--root=/img"), flagUnit("--log-level", "debug")},
			[]string{"/sbin/init", "--no-private-mounts"}},
		"denials": {[]unit{flagUnit("--policy", "P"), operand("a.log"), flagUnit("--merge=m.cil"), flagUnit("--source", "app_t"), operand("b.log")},
			[]string{"--explain"}},
	}
	for _, c := range sortedCommands() {
		tc, ok := table[c.Name]
		if !ok {
			t.Errorf("command %q has no argument-order case", c.Name)
			continue
		}
		var want map[string]string
		n := 0
		permutations(tc.units, func(us []unit) {
			n++
			var args, operands []string
			for _, u := range us {
				args = append(args, u.words...)
				if u.operand {
					operands = append(operands, u.words[0])
				}
			}
			p := parseWith(t, c, append(append(args, "--"), tc.tail...))
			if want == nil {
				want = p.flags
			}
			if !reflect.DeepEqual(p.flags, want) || !reflect.DeepEqual(append([]string{}, p.before...), append([]string{}, operands...)) ||
				!reflect.DeepEqual(p.after, tc.tail) {
				t.Errorf("nsinit %s %q: flags %v, operands %q -- %q; want flags %v, operands %q -- %q",
					c.Name, args, p.flags, p.before, p.after, want, operands, tc.tail)
			}
		})
		t.Logf("%s: %d orders", c.Name, n)
	}
}

// TestFlagsAfterOperands runs the two command lines that went wrong: a flag after a path
// is a flag.
func TestFlagsAfterOperands(t *testing.T) {
	dir := t.TempDir()
	fc := filepath.Join(dir, "file_contexts")
	if err := os.WriteFile(fc, []byte("/.*\tsystem_u:object_r:default_t:s0\n/etc/shadow\t--\tsystem_u:object_r:shadow_t:s0\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	m := newFakeMachine(t)
	b := m.root
	code, _, stderr := m.run("relabel", "--root", b, "--file-contexts", fc, b+"/usr/sbin", "--dry-run")
	if code != exitcode.OK || len(m.relabels) != 1 || !m.relabels[0].DryRun || !reflect.DeepEqual(m.relabels[0].Paths, []string{b + "/usr/sbin"}) {
		t.Fatalf("relabel ... PATH --dry-run: status %d, relabels %+v\n%s", code, m.relabels, stderr)
	}
	code, out, stderr := m.run("lookup", "/etc/shadow", "--mode", "file", "--file-contexts", fc)
	if code != exitcode.OK || out != "/etc/shadow\tsystem_u:object_r:shadow_t:s0\n" {
		t.Fatalf("lookup PATH --mode file: status %d, stdout %q\n%s", code, out, stderr)
	}
	// After -- a flag-looking word is a path.
	code, out, _ = m.run("lookup", "--file-contexts", fc, "--", "--mode")
	if code != exitcode.OK || out != "--mode\t<<none>>\n" {
		t.Fatalf("lookup -- --mode: status %d, stdout %q", code, out)
	}
}

func TestSuggest(t *testing.T) {
	names := []string{"boot", "lookup", "man", "policy", "relabel", "status", "version"}
	for word, want := range map[string]string{
		"stauts": "status", "statu": "status", "relable": "relabel", "lokup": "lookup", "mna": "man",
		"bot": "boot", "single": "", "0": "", "emergency": "", "": "", "s": "", strings.Repeat("x", 1000): "",
	} {
		if got := suggest(word, names); got != want {
			t.Errorf("suggest(%q) = %q, want %q", word, got, want)
		}
	}
}
