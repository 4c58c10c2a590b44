package main

import (
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"reflect"
	"sort"
	"strings"
	"testing"

	"github.com/nsinit/nsinit/internal/exitcode"
	"github.com/nsinit/nsinit/internal/testutil"
)

// TestShortFlags: the setfiles/restorecon spellings, alone and combined, mean what the long
// flags mean (the options reach relabel.Run as with the long names).
func TestShortFlags(t *testing.T) {
	_, fc := lookupPolicy(t)
	list := filepath.Join(t.TempDir(), "list")
	if err := os.WriteFile(list, []byte("/a\n\n/b c\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	nul := filepath.Join(t.TempDir(), "list0")
	if err := os.WriteFile(nul, []byte("/a\x00/b\nc\x00"), 0o644); err != nil {
		t.Fatal(err)
	}
	type opts struct {
		root          string
		force, dryRun bool
		jobs          int
		excludes      []string
		paths         []string
	}
	for _, tc := range []struct {
		short, long []string
		want        opts
	}{
		{[]string{"-nvF", "-r", "/r", "-e", "/r/x", "-T", "3", "/r/y"},
			[]string{"--dry-run", "--verbose", "--force", "--root", "/r", "--exclude", "/r/x", "--jobs", "3", "/r/y"},
			opts{"/r", true, true, 3, []string{"/r/x"}, []string{"/r/y"}}},
		{[]string{"-Rvx", "/y", "-n"}, []string{"--verbose", "--dry-run", "/y"},
			opts{"/", false, true, 0, nil, []string{"/y"}}},
		{[]string{"-qF", "-T0", "-f", list}, []string{"--quiet", "--force", "--from-file", list},
			opts{"/", true, false, 0, nil, []string{"/a", "/b c"}}},
		{[]string{"-0f", nul}, []string{"--null", "--from-file=" + nul},
			opts{"/", false, false, 0, nil, []string{"/a", "/b\nc"}}},
		{[]string{"--check", "/z"}, []string{"--check", "--dry-run", "/z"},
			opts{"/", false, true, 0, nil, []string{"/z"}}},
	} {
		var got [2]opts
		for i, args := range [][]string{tc.short, tc.long} {
			m := newFakeMachine(t)
			code, out, errs := m.run(append([]string{"relabel", "--file-contexts", fc}, args...)...)
			if code != exitcode.OK || len(m.relabels) != 1 {
				t.Fatalf("relabel %q: %d, %d runs, %q %q", args, code, len(m.relabels), out, errs)
			}
			o := m.relabels[0]
			got[i] = opts{o.Root, o.Force, o.DryRun, o.Jobs, o.Excludes, o.Paths}
		}
		if !reflect.DeepEqual(got[0], tc.want) || !reflect.DeepEqual(got[1], tc.want) {
			t.Errorf("%q: %+v, long %q: %+v, want %+v", tc.short, got[0], tc.long, got[1], tc.want)
		}
	}
	for _, args := range [][]string{
		{"-0", "/x"},                  // -0 without -f
		{"-f", list, "/x"},            // a list and operands
		{"--report", "-", "-v", "/x"}, // two writers of stdout
		{"-f", filepath.Join(t.TempDir(), "missing")},
	} {
		m := newFakeMachine(t)
		code, _, errs := m.run(append([]string{"relabel", "--file-contexts", fc}, args...)...)
		if code == exitcode.OK || len(m.relabels) != 0 || strings.Count(errs, "nsinit relabel:") != 1 {
			t.Errorf("relabel %q: %d, %d runs, stderr %q", args, code, len(m.relabels), errs)
		}
	}
}

// TestVersionEverywhere: --version works after every command word and alone, and prints
// what `nsinit version` prints.
func TestVersionEverywhere(t *testing.T) {
	_, want, _ := newFakeMachine(t).run("version")
	if !strings.HasPrefix(want, "nsinit ") {
		t.Fatalf("nsinit version: %q", want)
	}
	for _, args := range [][]string{{"--version"}, {"boot", "--version"}, {"policy", "inspect", "--version"}} {
		m := newFakeMachine(t)
		if code, out, errs := m.run(args...); code != exitcode.OK || out != want || len(m.execs)+len(m.supervised) != 0 {
			t.Errorf("%q: %d %q %q, want %q", args, code, out, errs, want)
		}
	}
	for _, c := range sortedCommands() {
		if code, out, errs := newFakeMachine(t).run(c.Name, "--version"); code != exitcode.OK || out != want {
			t.Errorf("%s --version: %d %q %q", c.Name, code, out, errs)
		}
	}
	// As the machine's PID 1 the word is the kernel's: no exit, like --help there.
	m := newFakeMachine(t)
	m.pid1, m.machine = true, true
	if code, _, _ := m.run("boot", "--version"); code != exitcode.Usage || m.frozen != 1 {
		t.Errorf("machine PID 1 boot --version: %d, frozen %d", code, m.frozen)
	}
}

// sortedLines returns the lines of s that start with prefix, sorted.
func sortedLines(s, prefix string) []string {
	var ls []string
	for _, l := range strings.SplitAfter(s, "\n") {
		if strings.HasPrefix(l, prefix) {
			ls = append(ls, l)
		}
	}
	sort.Strings(ls)
	return ls
}

// TestRelabelVerboseMatchesSetfiles runs `setfiles -n -v`, then `setfiles -v`, and
// `nsinit relabel -nv` / `-v` on copies of a debootstrap tree and wants the same lines,
// byte for byte (sorted: both walks' orders are their own), and the same exit status; then
// --check on the labelled tree is quiet and 0, and on the unlabelled one lists and exits 1.
func TestRelabelVerboseMatchesSetfiles(t *testing.T) {
	testutil.RequireRoot(t)
	setfiles := testutil.RequireTool(t, "setfiles")
	minbase, pol := testutil.Minbase(t), testutil.DebianPolicyDir(t)
	fc := filepath.Join(pol, "contexts/files/file_contexts")
	a, b := treeCopies(t, minbase, "etc", "usr/sbin", "var")
	setf := func(args ...string) (int, string) {
		cmd := exec.Command(setfiles, args...)
		out, err := cmd.Output()
		if err != nil && cmd.ProcessState == nil {
			t.Fatal(err)
		}
		return cmd.ProcessState.ExitCode(), string(out)
	}
	for _, tc := range []struct {
		flag, prefix string
	}{{"-nv", "Would relabel "}, {"-v", "Relabeled "}} {
		wcode, want := setf(append(strings.Fields(strings.ReplaceAll(tc.flag, "nv", "n -v")), "-r", a, fc, a)...)
		got, errs, code := runCmd("", "relabel", tc.flag, "-r", b, "--file-contexts", fc, b)
		w := sortedLines(strings.ReplaceAll(want, a, b), tc.prefix)
		g := sortedLines(got, tc.prefix)
		if code != wcode || len(w) < 500 || !reflect.DeepEqual(g, w) {
			t.Fatalf("%s: nsinit %d (%d lines, stderr %q), setfiles %d (%d lines)\nfirst nsinit: %q\nfirst setfiles: %q",
				tc.flag, code, len(g), errs, wcode, len(w), g[:min(3, len(g))], w[:min(3, len(w))])
		}
		if rest := len(strings.Split(strings.TrimSpace(got), "\n")) - len(g); rest != 1 {
			t.Errorf("%s: %d lines besides the changes, want the summary only", tc.flag, rest)
		}
	}
	if got, errs, code := runCmd("", "relabel", "--check", "-q", "-r", b, "--file-contexts", fc, b); code != exitcode.OK || got != "" {
		t.Errorf("--check on a labelled tree: %d %q %q", code, got, errs)
	}
	c := filepath.Join(t.TempDir(), "c")
	os.MkdirAll(filepath.Join(c, "etc"), 0o755)
	got, errs, code := runCmd("", "relabel", "--check", "-q", "-r", c, "--file-contexts", fc, c)
	if want := "Would relabel " + c + " from (null) to system_u:object_r:root_t:s0\nWould relabel " + c + "/etc from (null) to system_u:object_r:etc_t:s0\n"; code != exitcode.Failure ||
		strings.Join(sortedLines(got, ""), "") != want {
		t.Errorf("--check on an unlabelled tree: %d %q %q, want %q", code, got, errs, want)
	}
	if xattrs(t, c)["."] != "<none>" {
		t.Error("--check wrote a label")
	}
}

// TestRelabelReportStdout: --report - writes the JSON lines to standard output and the
// summary to standard error (before, it created a file named "-").
func TestRelabelReportStdout(t *testing.T) {
	testutil.RequireRoot(t)
	tmp := t.TempDir()
	fc := filepath.Join(tmp, "file_contexts")
	if err := os.WriteFile(fc, []byte("/.*\tsystem_u:object_r:etc_t:s0\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	tree := filepath.Join(tmp, "tree")
	os.MkdirAll(filepath.Join(tree, "d"), 0o755)
	wd, _ := os.Getwd()
	os.Chdir(tmp)
	defer os.Chdir(wd)
	out, errs, code := runCmd("", "relabel", "-n", "--report", "-", "-r", tmp, "--file-contexts", fc, tree)
	want := `{"path":"` + tree + `/d","from":"","to":"system_u:object_r:etc_t:s0"}` + "\n"
	if code != exitcode.OK || !strings.Contains(out, want) || strings.Contains(out, "would relabel") || !strings.Contains(errs, "would relabel 2 of 2") {
		t.Errorf("--report -: %d stdout %q stderr %q", code, out, errs)
	}
	if _, err := os.Lstat(filepath.Join(tmp, "-")); err == nil {
		t.Error(`--report - created a file named "-"`)
	}
}

// TestGetenforceMatches compares `nsinit getenforce` with Debian's getenforce on this
// machine: output and exit status (this host's kernel has no SELinux: "Disabled").
func TestGetenforceMatches(t *testing.T) {
	tool := testutil.RequireTool(t, "getenforce")
	cmd := exec.Command(tool)
	want, err := cmd.Output()
	if err != nil {
		t.Fatalf("getenforce: %v", err)
	}
	got, errs, code := runCmd("", "getenforce")
	if got != string(want) || code != cmd.ProcessState.ExitCode() {
		t.Errorf("nsinit getenforce: %d %q %q; getenforce: %d %q", code, got, errs, cmd.ProcessState.ExitCode(), want)
	}
	// A directory that is no selinuxfs is "Disabled", as libselinux finds no selinuxfs.
	if got, _, code := runCmd("", "getenforce", "--selinuxfs", t.TempDir()); got != "Disabled\n" || code != exitcode.OK {
		t.Errorf("no selinuxfs: %d %q", code, got)
	}
	if _, errs, code := runCmd("", "getenforce", "extra"); code != exitcode.Usage || !strings.Contains(errs, "no arguments") {
		t.Errorf("getenforce extra: %d %q", code, errs)
	}
}

// TestStatusJSON: --json is one object with the documented members, its exit status is
// statusExit's, and the table's status is the same.
func TestStatusJSON(t *testing.T) {
	for _, tc := range []struct {
		config  string
		mode    string
		outcome string
		code    int
	}{
		{"SELINUX=permissive\nSELINUXTYPE=default\n", "permissive", "hand-off-without-selinux", exitcode.OK},
		{"SELINUX=enforcing\nSELINUXTYPE=default\n", "enforcing", "stop", exitcode.FailClosed},
	} {
		m := newFakeMachine(t)
		os.WriteFile(filepath.Join(m.root, "etc/selinux/config"), []byte(tc.config), 0o644)
		code, out, errs := m.run("status", "--json", "--root", m.root, "--selinuxfs", t.TempDir())
		var doc map[string]any
		if err := json.Unmarshal([]byte(out), &doc); err != nil {
			t.Fatalf("status --json: %v\n%s\n%s", err, out, errs)
		}
		plan, _ := doc["plan"].(map[string]any)
		if code != tc.code || doc["schema"] != float64(statusSchema) || doc["mode"] != tc.mode || plan["outcome"] != tc.outcome || doc["exit"] != float64(tc.code) {
			t.Errorf("%q: exit %d, %s", tc.config, code, out)
		}
		for _, k := range []string{"root", "machine_pid1", "detection", "config", "mode_source", "selinuxfs", "kernel_max", "policy", "init", "plan", "exit"} {
			if _, ok := doc[k]; !ok {
				t.Errorf("no %q in %s", k, out)
			}
		}
		if tcode, _, _ := m.run("status", "--root", m.root, "--selinuxfs", t.TempDir()); tcode != code {
			t.Errorf("%q: table exit %d, JSON exit %d", tc.config, tcode, code)
		}
	}
}

// TestErrorsSayWhatToDo: a missing policy names the file and the fix, a missing config is
// not silently replaced by a default policy, and each message has one prefix.
func TestErrorsSayWhatToDo(t *testing.T) {
	empty := t.TempDir()
	missing := filepath.Join(empty, "contexts/files/file_contexts")
	for _, tc := range []struct {
		args []string
		want []string
	}{
		{[]string{"relabel", "-n", "-r", empty}, []string{filepath.Join(empty, "etc/selinux/config") + " does not exist", "pass --file-contexts FILE or --policy-root DIR"}},
		{[]string{"relabel", "-n", "--policy-root", empty, "-r", empty}, []string{missing, "install the policy package"}},
		{[]string{"lookup", "-P", empty, "/etc"}, []string{missing, "install the policy package"}},
	} {
		_, errs, code := runCmd("", tc.args...)
		for _, w := range tc.want {
			if !strings.Contains(errs, w) {
				t.Errorf("%q: stderr %q lacks %q", tc.args, errs, w)
			}
		}
		if code != exitcode.Failure || strings.Count(errs, "nsinit") != 1 || strings.Contains(errs, ": relabel:") {
			t.Errorf("%q: %d %q", tc.args, code, errs)
		}
	}
}

// TestOneSummary: the relabel summary appears once: on a terminal that shows the log's
// summary line the command prints none of its own; -q prints none at all.
func TestOneSummary(t *testing.T) {
	for _, tc := range []struct {
		quiet, sameTerminal, infoLogged, want bool
	}{
		{false, false, true, true}, // stdout to a file or pipe: the line scripts read
		{false, true, true, false}, // one terminal: the log's line is the summary
		{false, true, false, true}, // --log-level warn: the command's line is the only one
		{true, false, true, false}, // -q
		{true, true, false, false}, // -q on a terminal
	} {
		if got := printSummary(tc.quiet, tc.sameTerminal, tc.infoLogged); got != tc.want {
			t.Errorf("%+v: %v", tc, got)
		}
	}
}

// TestHelpEverywhere: --help (and -h) after every command word, also after an operand
// such as policy's "inspect", prints the command's usage on standard output and exits 0.
func TestHelpEverywhere(t *testing.T) {
	cases := [][]string{{"policy", "inspect", "--help"}, {"policy", "inspect", "-h"}, {"relabel", "-nv", "--help"}}
	for _, c := range sortedCommands() {
		cases = append(cases, []string{c.Name, "--help"})
	}
	for _, args := range cases {
		m := newFakeMachine(t)
		code, out, errs := m.run(args...)
		if code != exitcode.OK || !strings.HasPrefix(out, "Usage: nsinit "+args[0]) || errs != "" || len(m.relabels)+len(m.execs) != 0 {
			t.Errorf("%q: %d %q %q", args, code, out[:min(len(out), 60)], errs)
		}
	}
}

// TestEmergencyAsJSON: with --log-format json every line the bring-up writes to standard
// error is a JSON record, the emergency lines included (they were plain text in the
// stream); with the console format they stay plain.
func TestEmergencyAsJSON(t *testing.T) {
	for _, format := range []string{"json", "console"} {
		m := newFakeMachine(t)
		m.pid1 = true
		os.WriteFile(filepath.Join(m.root, "etc/selinux/config"), []byte("SELINUX=enforcing\nSELINUXTYPE=default\n"), 0o644)
		code, _, errs := m.run("--log-format", format, "--root", m.root)
		if code != exitcode.FailClosed || len(m.execs) != 0 {
			t.Fatalf("%s: exit %d, %d execs\n%s", format, code, len(m.execs), errs)
		}
		emergencies := 0
		for _, l := range strings.Split(strings.TrimSpace(errs), "\n") {
			var rec map[string]any
			isJSON := json.Unmarshal([]byte(l), &rec) == nil
			if format == "json" && !isJSON {
				t.Errorf("json: plain line %q", l)
			}
			if strings.Contains(l, "emergency: ") {
				emergencies++
				if plain := strings.HasPrefix(l, "nsinit: emergency: "); plain == (format == "json") {
					t.Errorf("%s: emergency line %q", format, l)
				}
			}
		}
		if emergencies < 2 {
			t.Errorf("%s: %d emergency lines in\n%s", format, emergencies, errs)
		}
	}
}
