package relabel

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"go.uber.org/zap"
	"go.uber.org/zap/zaptest/observer"
	"golang.org/x/sys/unix"

	"github.com/nsinit/nsinit/internal/testutil"
)

// makeTree builds objects of every kind and awkward names under root.
func makeTree(t *testing.T, root string) {
	t.Helper()
	for _, d := range []string{"etc/sub", "data/deep/a/b/c/d", "none-dir/x", "bin"} {
		if err := os.MkdirAll(filepath.Join(root, d), 0o755); err != nil {
			t.Fatal(err)
		}
	}
	for _, f := range []string{"etc/passwd", "etc/none-skip", "etc/sub/f", "data/a", "data/sp ace",
		"data/new\nline", "data/\xff\xfe-latin1", "data/deep/a/b/c/d/leaf", "none-dir/x/y", "bin/sh", "none-file"} {
		if err := os.WriteFile(filepath.Join(root, f), []byte("x"), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	must := func(err error) {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
	}
	must(unix.Mkfifo(filepath.Join(root, "data/fifo"), 0o600))
	must(unix.Mknod(filepath.Join(root, "data/null"), unix.S_IFCHR|0o600, int(unix.Mkdev(1, 3))))
	must(unix.Mknod(filepath.Join(root, "data/blk"), unix.S_IFBLK|0o600, int(unix.Mkdev(7, 0))))
	must(os.Symlink("/etc/passwd", filepath.Join(root, "data/link")))
	must(os.Symlink("../nowhere", filepath.Join(root, "data/dangling")))
	l, err := net.ListenUnix("unix", &net.UnixAddr{Name: filepath.Join(root, "data/sock"), Net: "unix"})
	must(err)
	l.SetUnlinkOnClose(false)
	l.Close()
}

// expectForce returns what a forced relabel with fakeLabeler gives every object.
func expectForce(t *testing.T, root string) map[string]string {
	t.Helper()
	m := map[string]string{}
	walkObjects(t, root, func(p string) {
		rel, _ := filepath.Rel(root, p)
		key := "/"
		if rel != "." {
			key = "/" + rel
		}
		var st unix.Stat_t
		if err := unix.Lstat(p, &st); err != nil {
			t.Fatal(err)
		}
		if ctx, ok := (fakeLabeler{}).Lookup(key, st.Mode); ok {
			m[rel] = ctx + "\x00"
		} else {
			m[rel] = "<none>"
		}
	})
	return m
}

func TestRunForceEveryKind(t *testing.T) {
	testutil.RequireRoot(t)
	root := t.TempDir()
	makeTree(t, root)
	want := expectForce(t, root)
	for _, jobs := range []int{1, 2, 7, -1, -2} {
		// Without getxattrat, with 2 workers: -1 names objects through /proc/self/fd/N/name,
		// -2 through the worker's working directory.
		procPath, noXattrAt := jobs == -1, jobs == -2
		if jobs < 0 {
			jobs = 2
		}
		stripLabels(t, root)
		s, err := Run(context.Background(), Options{Root: root, Labeler: fakeLabeler{}, Force: true, Jobs: jobs, procPath: procPath, noXattrAt: noXattrAt})
		if err != nil {
			t.Fatalf("jobs=%d: %v", jobs, err)
		}
		compareLabels(t, want, labelsOf(t, root))
		sum := s.Relabeled + s.Unchanged + s.NoMatch + s.Customized + s.Skipped + s.NotWritable + s.Errors
		if s.Seen != uint64(len(want)) || sum != s.Seen || s.NoMatch != 3 || s.Errors != 0 {
			t.Errorf("jobs=%d: stats %+v for %d objects", jobs, s, len(want))
		}
		// A second run changes nothing.
		s, err = Run(context.Background(), Options{Root: root, Labeler: fakeLabeler{}, Force: true, Jobs: jobs, procPath: procPath, noXattrAt: noXattrAt})
		if err != nil || s.Relabeled != 0 || s.Unchanged != s.Seen-s.NoMatch {
			t.Errorf("jobs=%d: second run: %+v, %v", jobs, s, err)
		}
	}
}

func TestRunTypeOnly(t *testing.T) {
	testutil.RequireRoot(t)
	root := t.TempDir()
	types, err := ParseCustomizableTypes(strings.NewReader("public_content_t\n"), "types")
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name, cur, force, noForce string
	}{
		{"no-label", "", "system_u:object_r:file_t:s0", "system_u:object_r:file_t:s0"},
		{"other-type", "system_u:object_r:tmp_t:s0", "system_u:object_r:file_t:s0", "system_u:object_r:file_t:s0"},
		{"only-user-range", "unconfined_u:object_r:file_t:s0-s0:c0.c1023", "system_u:object_r:file_t:s0", "unconfined_u:object_r:file_t:s0-s0:c0.c1023"},
		{"user-and-type", "staff_u:staff_r:tmp_t:s0:c1", "system_u:object_r:file_t:s0", "staff_u:staff_r:file_t:s0:c1"},
		{"no-range", "system_u:object_r:tmp_t", "system_u:object_r:file_t:s0", "system_u:object_r:file_t"},
		{"customizable", "system_u:object_r:public_content_t:s0", "system_u:object_r:file_t:s0", "system_u:object_r:public_content_t:s0"},
	}
	for _, force := range []bool{false, true} {
		for _, tc := range tests {
			p := filepath.Join(root, tc.name)
			os.WriteFile(p, nil, 0o644)
			if tc.cur != "" {
				setLabel(t, p, tc.cur)
			} else {
				unix.Lremovexattr(p, "security.selinux")
			}
		}
		bad := filepath.Join(root, "garbage")
		os.WriteFile(bad, nil, 0o644)
		setLabel(t, bad, "not a context")
		s, err := Run(context.Background(), Options{Root: root, Labeler: fakeLabeler{}, Customizable: types, Force: force, Jobs: 2})
		for _, tc := range tests {
			want := tc.noForce
			if force {
				want = tc.force
			}
			if got := getLabel(t, filepath.Join(root, tc.name)); got != want {
				t.Errorf("force=%v %s: got %q, want %q", force, tc.name, got, want)
			}
		}
		if force {
			if err != nil || s.Errors != 0 || getLabel(t, bad) != "system_u:object_r:file_t:s0" {
				t.Errorf("force: garbage label not overwritten: %+v %v", s, err)
			}
		} else if !errors.Is(err, ErrIncomplete) || s.Errors != 1 || s.Customized != 1 {
			t.Errorf("no force: an unparsable label must be one error and the customizable type kept: %+v %v", s, err)
		}
	}
}

func TestRunDryRunReport(t *testing.T) {
	testutil.RequireRoot(t)
	root := t.TempDir()
	makeTree(t, root)
	stripLabels(t, root)
	setLabel(t, filepath.Join(root, "etc/passwd"), "system_u:object_r:tmp_t:s0")
	var rep bytes.Buffer
	core, logs := observer.New(zap.InfoLevel)
	s, err := Run(context.Background(), Options{Root: root, Labeler: fakeLabeler{}, DryRun: true, Report: &rep, Log: zap.New(core)})
	if err != nil {
		t.Fatal(err)
	}
	for rel, l := range labelsOf(t, root) {
		if l != "<none>" && rel != "etc/passwd" {
			t.Errorf("dry run wrote %q on %q", l, rel)
		}
	}
	n := uint64(0)
	sc := bufio.NewScanner(&rep)
	for sc.Scan() {
		var line struct{ Path, From, To string }
		if err := json.Unmarshal(sc.Bytes(), &line); err != nil {
			t.Fatalf("report line %q: %v", sc.Text(), err)
		}
		if !strings.HasPrefix(line.Path, root+"/") && line.Path != root {
			t.Errorf("report path %q not under %q", line.Path, root)
		}
		if line.Path == filepath.Join(root, "etc/passwd") && (line.From != "system_u:object_r:tmp_t:s0" || line.To != "system_u:object_r:etc_t:s0") {
			t.Errorf("report line %+v", line)
		}
		n++
	}
	if n == 0 || n != s.Relabeled {
		t.Errorf("report has %d lines, stats say %d relabelled", n, s.Relabeled)
	}
	if logs.FilterMessageSnippet("dry run").Len() != 1 {
		t.Errorf("no dry-run summary line: %v", logs.All())
	}
}

// dfsOrder lists the keys of root's objects as setfiles' fts walk visits them: depth first,
// each directory in the order the kernel returns its entries.
func dfsOrder(t *testing.T, root, key string, out *[]string) {
	t.Helper()
	*out = append(*out, key)
	f, err := os.Open(filepath.Join(root, key))
	if err != nil {
		t.Fatal(err)
	}
	names, err := f.Readdirnames(-1)
	f.Close()
	if err != nil {
		t.Fatal(err)
	}
	for _, n := range names {
		k := strings.TrimSuffix(key, "/") + "/" + n
		if fi, err := os.Lstat(filepath.Join(root, k)); err == nil && fi.IsDir() {
			dfsOrder(t, root, k, out)
		} else {
			*out = append(*out, k)
		}
	}
}

func TestRunHardLinksFirstNameWins(t *testing.T) {
	testutil.RequireRoot(t)
	root := t.TempDir()
	for _, d := range []string{"etc", "bin", "usr/a", "usr/b", "var"} {
		os.MkdirAll(filepath.Join(root, d), 0o755)
	}
	// Several inodes with names in differently labelled places, and one with equal contexts.
	groups := [][]string{
		{"etc/one", "bin/one", "usr/a/one", "var/one"},
		{"bin/two", "etc/two"},
		{"usr/a/three", "usr/b/three", "var/three"},
		{"usr/b/four", "none-four"},
	}
	for _, g := range groups {
		os.WriteFile(filepath.Join(root, g[0]), nil, 0o644)
		for _, n := range g[1:] {
			if err := os.Link(filepath.Join(root, g[0]), filepath.Join(root, n)); err != nil {
				t.Fatal(err)
			}
		}
	}
	var order []string
	dfsOrder(t, root, "/", &order)
	pos := map[string]int{}
	for i, k := range order {
		pos[k] = i
	}
	for _, tc := range []struct {
		jobs    int
		statx   bool
		labels  bool // the tree is labelled already (with the wrong first name's contexts)
		unknown bool // the names after the first of each inode have no d_type
	}{{1, false, false, false}, {3, false, false, false}, {1, true, false, false}, {3, true, false, false},
		{3, false, true, false}, {1, false, false, true}, {3, false, true, true}} {
		jobs := tc.jobs
		stripLabels(t, root)
		if tc.labels {
			for _, g := range groups {
				ctx, _ := (fakeLabeler{}).Lookup("/"+g[len(g)-1], unix.S_IFREG)
				setLabel(t, filepath.Join(root, g[0]), ctx)
			}
		}
		o := Options{Root: root, Labeler: fakeLabeler{}, Force: true, Jobs: jobs, statxAlways: tc.statx}
		if tc.unknown {
			// A mix: each inode's first-made name has a d_type, its other names none.
			o.unknownType = func(key string) bool {
				for _, g := range groups {
					if slices.Contains(g[1:], key[1:]) {
						return true
					}
				}
				return false
			}
		}
		s, err := Run(context.Background(), o)
		if err != nil {
			t.Fatal(err)
		}
		conflicts := 0
		for _, g := range groups {
			first, firstCtx := "", ""
			ctxs := map[string]bool{}
			for _, n := range g {
				ctx, ok := (fakeLabeler{}).Lookup("/"+n, unix.S_IFREG)
				if !ok {
					continue
				}
				ctxs[ctx] = true
				if first == "" || pos["/"+n] < pos[first] {
					first, firstCtx = "/"+n, ctx
				}
			}
			if len(ctxs) > 1 {
				conflicts++
			}
			if got := getLabel(t, filepath.Join(root, g[0])); got != firstCtx {
				t.Errorf("%+v %v: label %q, want %q (first name %s)", tc, g, got, firstCtx, first)
			}
		}
		// With a statx of every object, every name but the first of each inode is skipped;
		// with one call per object (onecall.go) only the names that found another context
		// than theirs, and each label write counts (a name may create one that the first
		// name's then replaces).
		sum := s.Relabeled + s.Unchanged + s.NoMatch + s.Customized + s.Skipped + s.NotWritable + s.Errors
		if s.Conflicts != uint64(conflicts) || sum != s.Seen || tc.statx && s.Skipped != 6 || s.Skipped > 6 {
			t.Errorf("%+v: stats %+v, want %d conflicts, 6 names skipped (at most, with one call)", tc, s, conflicts)
		}
	}
}

// TestRunHugeDirectory: a directory of many getdents buffers is shared out as batches; the
// labels, including which name of a hard-linked inode wins, do not depend on that.
func TestRunHugeDirectory(t *testing.T) {
	testutil.RequireRoot(t)
	root := t.TempDir()
	dir := filepath.Join(root, "huge")
	os.Mkdir(dir, 0o755)
	long := strings.Repeat("n", 60)
	const files = 2000 // about six getdents buffers of 32 KiB
	for i := range files {
		p := filepath.Join(dir, fmt.Sprintf("x-%s-%04d", long, i))
		if err := os.WriteFile(p, nil, 0o644); err != nil {
			t.Fatal(err)
		}
		if i%97 == 0 {
			if err := os.Link(p, filepath.Join(dir, fmt.Sprintf("b-%s-%04d", long, i))); err != nil {
				t.Fatal(err)
			}
		}
		if i%500 == 0 {
			os.Mkdir(filepath.Join(dir, fmt.Sprintf("d-%04d", i)), 0o755)
		}
	}
	var order []string
	dfsOrder(t, root, "/", &order)
	pos := map[string]int{}
	for i, k := range order {
		pos[k] = i
	}
	for _, jobs := range []int{1, 2, 4} {
		stripLabels(t, root)
		s, err := Run(context.Background(), Options{Root: root, Labeler: fakeLabeler{}, Force: true, Jobs: jobs})
		if err != nil {
			t.Fatal(err)
		}
		if s.Seen != uint64(len(order)) || s.Conflicts != (files+96)/97 {
			t.Errorf("jobs=%d: %+v for %d objects", jobs, s, len(order))
		}
		for i := 0; i < files; i += 97 {
			x, b := fmt.Sprintf("/huge/x-%s-%04d", long, i), fmt.Sprintf("/huge/b-%s-%04d", long, i)
			want := "system_u:object_r:file_t:s0"
			if pos[b] < pos[x] {
				want = "system_u:object_r:bin_t:s0"
			}
			if got := getLabel(t, filepath.Join(root, x)); got != want {
				t.Errorf("jobs=%d %s: %q, want %q", jobs, x, got, want)
			}
		}
		for rel, l := range labelsOf(t, root) {
			if l == "<none>" {
				t.Errorf("jobs=%d: %s not labelled", jobs, rel)
			}
		}
	}
}

func TestRunExcludeAndPaths(t *testing.T) {
	testutil.RequireRoot(t)
	root := t.TempDir()
	makeTree(t, root)
	stripLabels(t, root)
	if err := os.Link(filepath.Join(root, "etc/passwd"), filepath.Join(root, "etc/passwd-link")); err != nil {
		t.Fatal(err)
	}
	_, err := Run(context.Background(), Options{Root: root, Labeler: fakeLabeler{}, Force: true,
		Paths:    []string{filepath.Join(root, "data"), filepath.Join(root, "etc/passwd"), filepath.Join(root, "data/link")},
		Excludes: []string{filepath.Join(root, "data/deep/a")}})
	if err != nil {
		t.Fatal(err)
	}
	for rel, want := range map[string]string{
		"data": "system_u:object_r:dir_t:s0", "data/a": "system_u:object_r:file_t:s0",
		"data/deep": "system_u:object_r:dir_t:s0", "data/deep/a": "", "data/deep/a/b": "",
		"etc/passwd": "system_u:object_r:etc_t:s0", "etc": "", "etc/sub/f": "", ".": "",
		"data/link": "system_u:object_r:link_t:s0",
	} {
		if got := getLabel(t, filepath.Join(root, rel)); got != want {
			t.Errorf("%s: %q, want %q", rel, got, want)
		}
	}
	if _, err := Run(context.Background(), Options{Root: root, Labeler: fakeLabeler{}, Paths: []string{"/elsewhere"}}); err == nil {
		t.Error("a path outside the root was accepted")
	}
	os.Symlink("data", filepath.Join(root, "via-link"))
	if _, err := Run(context.Background(), Options{Root: root, Labeler: fakeLabeler{}, Paths: []string{filepath.Join(root, "via-link/a")}}); err == nil {
		t.Error("a start path through a symlink was accepted")
	}
}

func TestRunFaultsAreCountedAndReported(t *testing.T) {
	testutil.RequireRoot(t)
	root := t.TempDir()
	makeTree(t, root)
	stripLabels(t, root)
	faults := map[string]error{"/data/a": unix.ENOSPC, "/etc/passwd": unix.EIO, "/data/deep": unix.EIO}
	core, logs := observer.New(zap.InfoLevel)
	o := Options{Root: root, Labeler: fakeLabeler{}, Force: true, Jobs: 2, Log: zap.New(core),
		setxattrFault: func(key string) error { return faults[key] }}
	s, err := Run(context.Background(), o)
	if !errors.Is(err, ErrIncomplete) || s.Errors != 3 {
		t.Fatalf("want 3 errors and ErrIncomplete, got %+v %v", s, err)
	}
	errs := logs.FilterMessage("cannot relabel").All()
	if len(errs) != 3 {
		t.Fatalf("want 3 error lines, got %v", errs)
	}
	for _, e := range errs {
		f := e.ContextMap()
		p, _ := f["path"].(string)
		key := strings.TrimPrefix(p, root)
		if f["op"] != "setxattr" || !strings.Contains(f["error"].(string), faults[key].Error()) {
			t.Errorf("error line %v", f)
		}
	}
	// The walk went on: the faulty directory's children and everything else are labelled.
	for _, rel := range []string{"data/deep/a", "data/sp ace", "etc/sub/f", "bin/sh"} {
		if getLabel(t, filepath.Join(root, rel)) == "" {
			t.Errorf("%s not labelled after another object's error", rel)
		}
	}
}

func TestRunSymlinkSwapCannotEscape(t *testing.T) {
	testutil.RequireRoot(t)
	for _, procPath := range []bool{false, true} {
		testSymlinkSwap(t, procPath, false)
	}
	testSymlinkSwap(t, false, true)
}

func testSymlinkSwap(t *testing.T, procPath, noXattrAt bool) {
	root, outside := t.TempDir(), t.TempDir()
	os.MkdirAll(filepath.Join(outside, "sub"), 0o755)
	os.WriteFile(filepath.Join(outside, "secret"), nil, 0o600)
	os.WriteFile(filepath.Join(outside, "sub/secret2"), nil, 0o600)
	for _, d := range []string{"d/x", "e/y", "f"} {
		os.MkdirAll(filepath.Join(root, d), 0o755)
		os.WriteFile(filepath.Join(root, d, "secret"), nil, 0o644)
	}
	stripLabels(t, outside)
	swap := func(name string) {
		p := filepath.Join(root, name)
		if err := os.Rename(p, p+".moved"); err != nil {
			t.Error(err)
		}
		if err := os.Symlink(outside, p); err != nil {
			t.Error(err)
		}
	}
	o := Options{Root: root, Labeler: fakeLabeler{}, Force: true, Jobs: 2, procPath: procPath, noXattrAt: noXattrAt, hook: func(pt hookPoint, key string) {
		switch {
		case pt == hookBeforeOpenDir && key == "/d":
			swap("d") // listed as a directory, a symlink by the time it is opened
		case pt == hookBeforeEntries && key == "/e":
			swap("e") // opened, then swapped before its entries are labelled
		case pt == hookBeforeEntries && key == "/f":
			swap("f") // f/secret is labelled through f's fd, whatever the name f is now
		}
	}}
	if _, err := Run(context.Background(), o); err != nil {
		t.Fatal(err)
	}
	for rel, l := range labelsOf(t, outside) {
		if l != "<none>" {
			t.Errorf("procPath=%v noXattrAt=%v: outside the root %s was labelled %q", procPath, noXattrAt, rel, l)
		}
	}
	if got := getLabel(t, filepath.Join(root, "d")); got != "system_u:object_r:link_t:s0" {
		t.Errorf("the swapped-in symlink d: %q, want the link's own label", got)
	}
	for _, rel := range []string{"e.moved/y/secret", "f.moved/secret"} {
		if getLabel(t, filepath.Join(root, rel)) == "" {
			t.Errorf("%s: the opened directory's entries were not labelled", rel)
		}
	}
}

func TestRunCancelled(t *testing.T) {
	testutil.RequireRoot(t)
	root := t.TempDir()
	makeTree(t, root)
	ctx, cancel := context.WithCancel(context.Background())
	o := Options{Root: root, Labeler: fakeLabeler{}, Jobs: 1, hook: func(pt hookPoint, key string) {
		if key == "/data" {
			cancel()
		}
	}}
	if _, err := Run(ctx, o); !errors.Is(err, context.Canceled) {
		t.Fatalf("want context.Canceled, got %v", err)
	}
	// The start directory is labelled last: an interrupted relabel leaves it unlabelled, so
	// that the first boot's check of the root's label sees the tree is not done.
	if l := getLabel(t, root); l != "" {
		t.Errorf("the root was labelled %q by an interrupted relabel", l)
	}
	labelled := 0
	for _, l := range labelsOf(t, root) {
		if l != "<none>" {
			labelled++
		}
	}
	if labelled == 0 {
		t.Errorf("nothing labelled before the interruption")
	}
}

func TestRunProgress(t *testing.T) {
	testutil.RequireRoot(t)
	root := t.TempDir()
	makeTree(t, root)
	slow := func(hookPoint, string) { time.Sleep(2 * time.Millisecond) }
	// A terminal gets a line rewritten in place and a final newline.
	var tty bytes.Buffer
	s, err := Run(context.Background(), Options{Root: root, Labeler: fakeLabeler{}, Progress: &tty, LogEvery: time.Millisecond, hook: slow})
	if err != nil {
		t.Fatal(err)
	}
	out := tty.String()
	last := out[strings.LastIndex(out, "\r"):]
	if !strings.HasPrefix(out, "\rrelabel: ") || !strings.HasPrefix(last, fmt.Sprintf("\rrelabel: %d objects in ", s.Seen)) || !strings.HasSuffix(out, "\n") || !strings.Contains(out, "objects/s") {
		t.Errorf("progress output %q", out)
	}
	// Otherwise periodic log lines.
	core, logs := observer.New(zap.InfoLevel)
	if _, err := Run(context.Background(), Options{Root: root, Labeler: fakeLabeler{}, Log: zap.New(core), LogEvery: time.Millisecond, hook: slow}); err != nil {
		t.Fatal(err)
	}
	if logs.FilterMessage("relabel progress").Len() == 0 {
		t.Errorf("no progress log lines: %v", logs.All())
	}
}

// TestSummarySaysXattrCalls: the summary names the way labels were read and written
// (getxattrat/setxattrat, or the l*xattr fallback), so a slow relabel can be explained.
func TestSummarySaysXattrCalls(t *testing.T) {
	testutil.RequireRoot(t)
	for _, tc := range []struct {
		procPath bool
		want     string
	}{{false, ""}, {true, "l*xattr via /proc/self/fd"}} {
		root := t.TempDir()
		makeTree(t, root)
		core, logs := observer.New(zap.InfoLevel)
		if _, err := Run(context.Background(), Options{Root: root, Labeler: fakeLabeler{}, Log: zap.New(core), procPath: tc.procPath}); err != nil {
			t.Fatal(err)
		}
		done := logs.FilterMessage("relabel done").All()
		if len(done) != 1 {
			t.Fatalf("%d summary lines", len(done))
		}
		got, _ := done[0].ContextMap()["xattr_calls"].(string)
		if got == "" || (tc.want != "" && got != tc.want) {
			t.Errorf("procPath %v: xattr_calls %q, want %q", tc.procPath, got, tc.want)
		}
	}
}

// TestRunVanishedObjects: an object removed after getdents listed it is skipped, not an
// error, with one call per object as with a statx of each, on an unlabelled tree (create
// first) and on a labelled one (read first).
func TestRunVanishedObjects(t *testing.T) {
	testutil.RequireRoot(t)
	for _, tc := range []struct {
		name           string
		statx, labeled bool
	}{{"one call", false, false}, {"one call, labelled", false, true}, {"statx", true, false}, {"statx, labelled", true, true}} {
		t.Run(tc.name, func(t *testing.T) {
			root := t.TempDir()
			os.MkdirAll(filepath.Join(root, "etc"), 0o755)
			for i := range 40 {
				os.WriteFile(filepath.Join(root, "etc", fmt.Sprintf("f%02d", i)), nil, 0o644)
			}
			if tc.labeled {
				// Wrong labels: every object must be rewritten, after its label is read.
				for i := range 40 {
					setLabel(t, filepath.Join(root, "etc", fmt.Sprintf("f%02d", i)), "system_u:object_r:tmp_t:s0")
				}
			}
			removed := 0
			hook := func(p hookPoint, key string) {
				if p == hookBeforeObject && strings.HasSuffix(key, "5") {
					if os.Remove(filepath.Join(root, key)) == nil {
						removed++
					}
				}
			}
			s, err := Run(context.Background(), Options{Root: root, Labeler: fakeLabeler{}, Force: true, Jobs: 1, hook: hook, statxAlways: tc.statx})
			if err != nil || s.Errors != 0 || s.Skipped != uint64(removed) || removed != 4 {
				t.Fatalf("%d removed: %+v, %v", removed, s, err)
			}
		})
	}
}
