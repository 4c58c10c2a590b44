package main

import (
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"reflect"
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
	// The last entry has no NUL after it: it is taken whole (setfiles would drop its "c").
	if err := os.WriteFile(nul, []byte("/a\x00/b\nc"), 0o644); err != nil {
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

// changeLines returns the lines of s that list a change (setfiles -v), in order.
func changeLines(s string) string {
	var b strings.Builder
	for _, l := range strings.SplitAfter(s, "\n") {
		if strings.HasPrefix(l, "Would relabel ") || strings.HasPrefix(l, "Relabeled ") {
			b.WriteString(l)
		}
	}
	return b.String()
}

// sameOutput fails with the first differing line of nsinit's output and setfiles'.
func sameOutput(t *testing.T, what, got, want string) {
	t.Helper()
	if got == want {
		return
	}
	g, w := strings.SplitAfter(got, "\n"), strings.SplitAfter(want, "\n")
	i := 0
	for i < min(len(g), len(w)) && g[i] == w[i] {
		i++
	}
	t.Errorf("%s: nsinit %d lines, setfiles %d; line %d differs:\nnsinit   %q\nsetfiles %q",
		what, len(g), len(w), i+1, g[i:min(i+2, len(g))], w[i:min(i+2, len(w))])
}

// runSetfiles runs a setfiles and returns its exit status and standard output.
func runSetfiles(t *testing.T, tool string, args ...string) (int, string) {
	t.Helper()
	cmd := exec.Command(tool, args...)
	out, err := cmd.Output()
	if err != nil && cmd.ProcessState == nil {
		t.Fatal(err)
	}
	return cmd.ProcessState.ExitCode(), string(out)
}

// TestRelabelVerboseMatchesSetfiles: `nsinit relabel -nv` on a debootstrap tree prints what
// `setfiles -n -v` prints, byte for byte and in the same order (nsinit walks in parallel,
// setfiles depth first in directory order), with the same exit status: against Debian's
// setfiles 3.4 its whole output ("(null)" for no label), against 3.8 (trixie) and 3.11
// (sid's libselinux under bookworm's setfiles) the change lines ("<no context>", nsinit
// with --libselinux 3.11; those releases also warn on standard output about the compiled
// file_contexts.bin they cannot read). Then `-v` on a copy of the tree ("Relabeled"), once
// by setfiles and once by nsinit after the labels are removed again; -F against -n -v on
// that copy with a few labels changed; then --check.
func TestRelabelVerboseMatchesSetfiles(t *testing.T) {
	testutil.RequireRoot(t)
	host := testutil.RequireTool(t, "setfiles")
	minbase, pol := testutil.Minbase(t), testutil.DebianPolicyDir(t)
	fc := filepath.Join(pol, "contexts/files/file_contexts")
	minbase, err := filepath.EvalSymlinks(minbase) // setfiles labels a symlink operand itself
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		release, libselinux string
		setfiles            func(testing.TB) string
	}{
		{"3.4", "auto", func(testing.TB) string { return host }}, // minbase's libselinux is 3.4
		{"3.8", "3.11", testutil.TrixieSetfiles},
		{"3.11", "3.11", testutil.SidSetfiles},
	} {
		t.Run(tc.release, func(t *testing.T) {
			wcode, want := runSetfiles(t, tc.setfiles(t), "-n", "-v", "-r", minbase, fc, minbase)
			if tc.release == "3.4" && changeLines(want) != want {
				t.Fatalf("setfiles 3.4 printed more than changes: %q", want[:min(len(want), 300)])
			}
			got, errs, code := runCmd("", "relabel", "-nvq", "--libselinux", tc.libselinux, "-r", minbase, "--file-contexts", fc, minbase)
			if code != wcode || strings.Count(got, "\n") < 5000 {
				t.Errorf("nsinit exit %d (stderr %q, %d lines), setfiles %d", code, errs, strings.Count(got, "\n"), wcode)
			}
			sameOutput(t, "-nv", got, changeLines(want))
		})
	}

	// The labels depend on names and types only: a copy without the files' data will do.
	c := filepath.Join(testutil.ScratchDir(t), "c")
	if out, err := exec.Command("cp", "-a", "--attributes-only", "--no-preserve=xattr", minbase, c).CombinedOutput(); err != nil {
		t.Fatalf("cp: %v %s", err, out)
	}
	wcode, want := runSetfiles(t, host, "-v", "-r", c, fc, c)
	labels := xattrs(t, c)
	xattrsStrip(t, c)
	got, errs, code := runCmd("", "relabel", "-v", "-r", c, "--file-contexts", fc, c)
	summary := got[strings.LastIndex(strings.TrimSuffix(got, "\n"), "\n")+1:]
	if code != wcode || !strings.HasPrefix(summary, "relabelled ") || !strings.HasPrefix(want, "Relabeled "+c+" from (null) to ") {
		t.Errorf("-v: nsinit exit %d (stderr %q, last line %q), setfiles %d (first line %q)", code, errs, summary, wcode, want[:min(len(want), 100)])
	}
	sameOutput(t, "-v", strings.TrimSuffix(got, summary), want)
	if !reflect.DeepEqual(xattrs(t, c), labels) {
		t.Error("-v: nsinit's labels are not setfiles'")
	}
	if got, errs, code := runCmd("", "relabel", "--check", "-q", "-r", c, "--file-contexts", fc, c); code != exitcode.OK || got != "" {
		t.Errorf("--check on a labelled tree: %d %q %q", code, got, errs)
	}
	// -F: another user is replaced only with -F, another type either way, and a hard-linked
	// inode is named by its first name.
	for rel, ctx := range map[string]string{"etc/passwd": "unconfined_u:object_r:etc_t:s0",
		"etc/hostname": "system_u:object_r:tmp_t:s0", "usr/bin/perl": "unconfined_u:object_r:tmp_t:s0"} {
		setLabel(t, filepath.Join(c, rel), ctx)
	}
	for _, flags := range [][]string{{"-n", "-v"}, {"-F", "-n", "-v"}} {
		wcode, want := runSetfiles(t, host, append(flags, "-r", c, fc, c)...)
		got, errs, code := runCmd("", append([]string{"relabel", "-q", "-r", c, "--file-contexts", fc, c}, flags...)...)
		if code != wcode || strings.Count(want, "\n") != 2+strings.Count(strings.Join(flags, ""), "F") {
			t.Errorf("%q: nsinit exit %d (stderr %q), setfiles %d: %q", flags, code, errs, wcode, want)
		}
		sameOutput(t, strings.Join(flags, " "), got, want)
	}

	d := filepath.Join(t.TempDir(), "d")
	os.MkdirAll(filepath.Join(d, "etc"), 0o755)
	got, errs, code = runCmd("", "relabel", "--check", "-q", "-r", d, "--file-contexts", fc, d)
	// No libselinux in d: the newest release's rules and its "<no context>".
	if want := "Would relabel " + d + " from <no context> to system_u:object_r:root_t:s0\nWould relabel " + d + "/etc from <no context> to system_u:object_r:etc_t:s0\n"; code != exitcode.Failure || got != want {
		t.Errorf("--check on an unlabelled tree: %d %q %q, want %q", code, got, errs, want)
	}
	if xattrs(t, d)["."] != "<none>" {
		t.Error("--check wrote a label")
	}
}

// TestRelabelFlagsMatchSetfiles runs Debian's `setfiles -n -v` and `nsinit relabel -nv` with
// the same -e, -f, -0 and PATH operands on the debootstrap tree and wants the same output,
// byte for byte, and the same exit status.
func TestRelabelFlagsMatchSetfiles(t *testing.T) {
	testutil.RequireRoot(t)
	setfiles := testutil.RequireTool(t, "setfiles")
	minbase, pol := testutil.Minbase(t), testutil.DebianPolicyDir(t)
	fc := filepath.Join(pol, "contexts/files/file_contexts")
	m, err := filepath.EvalSymlinks(minbase)
	if err != nil {
		t.Fatal(err)
	}
	tmp := t.TempDir()
	list, list0 := filepath.Join(tmp, "list"), filepath.Join(tmp, "list0")
	paths := []string{m + "/etc/apt", m + "/usr/bin/perl", m + "/var/lib/dpkg/info", m + "/etc/passwd"} // perl: a hard link
	os.WriteFile(list, []byte(strings.Join(paths, "\n")+"\n"), 0o644)
	os.WriteFile(list0, []byte(strings.Join(paths, "\x00")+"\x00"), 0o644) // as find -print0 writes it
	for _, tc := range []struct {
		name           string
		setfiles, ours []string // flags, before the operands
		operands       []string
	}{
		{"-e", []string{"-e", m + "/usr/share", "-e", m + "/var/lib"}, []string{"-e", m + "/usr/share", "-e", m + "/var/lib"}, []string{m}},
		{"-f", []string{"-f", list}, []string{"-f", list}, nil},
		{"-0 -f", []string{"-0", "-f", list0}, []string{"-0f", list0}, nil},
		{"operands", nil, nil, []string{m + "/etc/passwd", m + "/usr/lib", m + "/etc/apt"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			args := append(append([]string{"-n", "-v", "-r", m}, tc.setfiles...), fc)
			wcode, want := runSetfiles(t, setfiles, append(args, tc.operands...)...)
			args = append(append([]string{"relabel", "-nvq", "-r", m, "--file-contexts", fc}, tc.ours...), tc.operands...)
			got, errs, code := runCmd("", args...)
			if code != wcode || strings.Count(want, "\n") < 10 {
				t.Errorf("nsinit exit %d (stderr %q), setfiles %d (%d lines)", code, errs, wcode, strings.Count(want, "\n"))
			}
			sameOutput(t, tc.name, got, want)
		})
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
