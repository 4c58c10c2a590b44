package main

import (
	"bufio"
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"golang.org/x/sys/unix"

	"github.com/nsinit/nsinit/internal/exitcode"
	"github.com/nsinit/nsinit/internal/testutil"
)

// xattrs returns every object's raw security.selinux under root, by relative path.
func xattrs(t *testing.T, root string) map[string]string {
	t.Helper()
	m := map[string]string{}
	buf := make([]byte, 4096)
	filepath.Walk(root, func(p string, _ os.FileInfo, err error) error {
		if err != nil {
			t.Fatal(err)
		}
		rel, _ := filepath.Rel(root, p)
		n, err := unix.Lgetxattr(p, "security.selinux", buf)
		switch {
		case errors.Is(err, unix.ENODATA):
			m[rel] = "<none>"
		case err != nil:
			t.Fatalf("lgetxattr %s: %v", p, err)
		default:
			m[rel] = string(buf[:n])
		}
		return nil
	})
	return m
}

// treeCopies makes two unlabelled copies of the parts dirs of the tree src, for one run of
// setfiles and one of nsinit, and returns their roots.
func treeCopies(t *testing.T, src string, dirs ...string) (a, b string) {
	t.Helper()
	tmp := t.TempDir()
	a, b = filepath.Join(tmp, "a"), filepath.Join(tmp, "b")
	for _, root := range []string{a, b} {
		for _, d := range dirs {
			parent := filepath.Dir(filepath.Join(root, d))
			os.MkdirAll(parent, 0o755)
			if out, err := exec.Command("cp", "-a", "--no-preserve=xattr", filepath.Join(src, d), parent).CombinedOutput(); err != nil {
				t.Fatalf("cp: %v %s", err, out)
			}
		}
	}
	return a, b
}

// TestRelabelCommandMatchesSetfiles runs `nsinit relabel --force --root R --file-contexts FC`
// and Debian's `setfiles -F -r R FC R` on two copies of part of a real tree and compares
// every label; then checks --dry-run with --report, and the usage errors.
func TestRelabelCommandMatchesSetfiles(t *testing.T) {
	testutil.RequireRoot(t)
	setfiles := testutil.RequireTool(t, "setfiles")
	minbase, pol := testutil.Minbase(t), testutil.DebianPolicyDir(t)
	fc := filepath.Join(pol, "contexts/files/file_contexts")
	a, b := treeCopies(t, minbase, "etc", "bin", "var")
	if out, err := exec.Command(setfiles, "-F", "-r", a, fc, a).CombinedOutput(); err != nil {
		t.Fatalf("setfiles: %v\n%s", err, out)
	}
	run := func(args ...string) (int, string, string) {
		var out, errb bytes.Buffer
		code := dispatch(plainEnv(nil, &out, &errb, func(string) string { return "" }), append([]string{"relabel"}, args...))
		return code, out.String(), errb.String()
	}

	tmp := t.TempDir()
	report := filepath.Join(tmp, "report.json")
	code, out, errs := run("--dry-run", "--report", report, "--root", b, "--file-contexts", fc, filepath.Join(b, "etc"))
	if code != exitcode.OK || !strings.Contains(out, "would relabel") {
		t.Fatalf("dry run: %d %q %q", code, out, errs)
	}
	for rel, l := range xattrs(t, b) {
		if l != "<none>" {
			t.Fatalf("dry run labelled %s", rel)
		}
	}
	f, _ := os.Open(report)
	sc, lines := bufio.NewScanner(f), 0
	for sc.Scan() {
		var l struct{ Path, From, To string }
		if err := json.Unmarshal(sc.Bytes(), &l); err != nil || !strings.HasPrefix(l.Path, b+"/etc") || l.From != "" || l.To == "" {
			t.Fatalf("report line %q: %v", sc.Text(), err)
		}
		lines++
	}
	f.Close()
	if lines < 100 {
		t.Errorf("report has %d lines", lines)
	}

	code, out, errs = run("--force", "--jobs", "2", "--root", b, "--file-contexts", fc)
	if code != exitcode.OK {
		t.Fatalf("relabel: %d %q %q", code, out, errs)
	}
	want, got := xattrs(t, a), xattrs(t, b)
	for rel, w := range want {
		if got[rel] != w {
			t.Errorf("%s: setfiles %q, nsinit %q", rel, w, got[rel])
		}
	}
	if len(want) != len(got) || len(want) < 500 {
		t.Errorf("%d vs %d objects", len(want), len(got))
	}

	for _, tc := range []struct {
		args []string
		code int
	}{
		{[]string{"--file-contexts", fc, "--policy-root", pol}, exitcode.Usage},
		{[]string{"--jobs", "-1", "--file-contexts", fc}, exitcode.Usage},
		{[]string{"--bogus"}, exitcode.Usage},
		{[]string{"--root", b, "--file-contexts", filepath.Join(tmp, "missing")}, exitcode.Failure},
		{[]string{"--root", b, "--file-contexts", fc, "/outside/the/root"}, exitcode.Failure},
		{[]string{"--root", b, "--policy-root", pol, "--dry-run"}, exitcode.OK},
	} {
		if code, out, errs := run(tc.args...); code != tc.code {
			t.Errorf("%q: exit %d, want %d (%q %q)", tc.args, code, tc.code, out, errs)
		}
	}
}

// TestRelabelInterruptMessage: a signal during `nsinit relabel` exits 6 and says what state
// the labels are in — partly written for a real run, untouched for a dry run.
func TestRelabelInterruptMessage(t *testing.T) {
	testutil.RequireRoot(t)
	tmp := t.TempDir()
	fc := filepath.Join(tmp, "file_contexts")
	if err := os.WriteFile(fc, []byte("/.*\tsystem_u:object_r:etc_t:s0\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	tree := filepath.Join(tmp, "tree")
	for d := range 20 {
		dir := filepath.Join(tree, fmt.Sprintf("d%d", d))
		if err := os.MkdirAll(dir, 0o755); err != nil {
			t.Fatal(err)
		}
		for f := range 200 {
			if err := os.WriteFile(filepath.Join(dir, fmt.Sprintf("f%d", f)), nil, 0o644); err != nil {
				t.Fatal(err)
			}
		}
	}
	// SIGINT keeps coming while the command runs; this handler keeps the test alive until
	// the command's own handler is installed and takes the next one.
	sigs := make(chan os.Signal, 1)
	signal.Notify(sigs, unix.SIGINT)
	defer signal.Stop(sigs)
	go func() {
		for range sigs {
		}
	}()
	for _, tc := range []struct {
		dryRun bool
		want   string
	}{
		{true, "dry run: nothing was written"},
		{false, "labels are partly written, run it again"},
	} {
		args := []string{"relabel", "--jobs", "1", "--root", tree, "--file-contexts", fc}
		if tc.dryRun {
			args = append(args, "--dry-run")
		}
		interrupted := false
		for try := 0; try < 20 && !interrupted; try++ {
			xattrsStrip(t, tree)
			done := make(chan struct{})
			go func() {
				for {
					select {
					case <-done:
						return
					case <-time.After(200 * time.Microsecond):
						unix.Kill(os.Getpid(), unix.SIGINT)
					}
				}
			}()
			var out, errb bytes.Buffer
			code := dispatch(plainEnv(nil, &out, &errb, func(string) string { return "" }), args)
			close(done)
			if code == exitcode.OK {
				continue // finished before a signal came: try again
			}
			interrupted = true
			if code != exitcode.Aborted || !strings.Contains(errb.String(), tc.want) {
				t.Errorf("dry run %v: exit %d, stderr %q; want %d and %q", tc.dryRun, code, errb.String(), exitcode.Aborted, tc.want)
			}
			if tc.dryRun {
				for rel, l := range xattrs(t, tree) {
					if l != "<none>" {
						t.Fatalf("interrupted dry run labelled %s", rel)
					}
				}
			}
		}
		if !interrupted {
			t.Errorf("dry run %v: never interrupted in 20 tries", tc.dryRun)
		}
	}
}

// xattrsStrip removes security.selinux from every object under root.
func xattrsStrip(t *testing.T, root string) {
	t.Helper()
	for rel := range xattrs(t, root) {
		if err := unix.Lremovexattr(filepath.Join(root, rel), "security.selinux"); err != nil && !errors.Is(err, unix.ENODATA) {
			t.Fatal(err)
		}
	}
}

// TestRelabelLibselinux: relabel follows --libselinux, and by default the libselinux
// installed in --root (none: the newest). A typed and an untyped line of one path make
// the rules differ for a directory.
func TestRelabelLibselinux(t *testing.T) {
	fc := filepath.Join(t.TempDir(), "file_contexts")
	if err := os.WriteFile(fc, []byte("/t\t-d\tsystem_u:object_r:dir_t:s0\n/t\tsystem_u:object_r:any_t:s0\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name, lib, flag, want string
	}{
		{"auto, 3.4 installed", "LIBSELINUX_3.4", "", "any_t"},
		{"auto, 3.10 installed", "LIBSELINUX_3.9\x00LIBSELINUX_3.10", "", "dir_t"},
		{"auto, none installed", "", "", "dir_t"},
		{"3.4 over 3.10 installed", "LIBSELINUX_3.10", "3.4", "any_t"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			root := t.TempDir()
			if err := os.Mkdir(filepath.Join(root, "t"), 0o755); err != nil {
				t.Fatal(err)
			}
			if tc.lib != "" {
				lib := filepath.Join(root, "usr", "lib64")
				if err := os.MkdirAll(lib, 0o755); err != nil {
					t.Fatal(err)
				}
				if err := os.WriteFile(filepath.Join(lib, "libselinux.so.1"), []byte(tc.lib), 0o644); err != nil {
					t.Fatal(err)
				}
			}
			report := filepath.Join(t.TempDir(), "report.json")
			args := []string{"relabel", "--dry-run", "--report", report, "--root", root, "--file-contexts", fc}
			if tc.flag != "" {
				args = append(args, "--libselinux", tc.flag)
			}
			args = append(args, filepath.Join(root, "t"))
			if _, errs, code := runCmd("", args...); code != exitcode.OK {
				t.Fatalf("relabel: %d %q", code, errs)
			}
			data, err := os.ReadFile(report)
			if err != nil {
				t.Fatal(err)
			}
			if !strings.Contains(string(data), `"to":"system_u:object_r:`+tc.want+`:s0"`) {
				t.Errorf("report %q, want %s", data, tc.want)
			}
		})
	}
}
