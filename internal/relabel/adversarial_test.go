package relabel

import (
	"context"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
	"time"

	"golang.org/x/sys/unix"

	"github.com/nsinit/nsinit/internal/relabel/relabeltest"
	"github.com/nsinit/nsinit/internal/testutil"
)

// advTree builds, under root, what an unprivileged user (or a careless image) can put in a
// tree: directories nested far beyond PATH_MAX with files, hard links and directories at
// the bottom, hard links between the deep and the shallow part, 255-byte names, names with
// newlines, backslashes and non-UTF-8 bytes, symlinks out of the root and into /proc,
// FIFOs, sockets and device nodes, a mode-000 directory, a thousand links to one file, and
// mounts inside: a tmpfs and a bind mount of outside from the same filesystem. It returns
// the number of bytes of the deepest path.
func advTree(t *testing.T, root, outside string) int {
	t.Helper()
	must := func(err error) {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
	}
	file := func(rel string) { must(os.WriteFile(filepath.Join(root, rel), []byte("x"), 0o644)) }
	for _, d := range []string{"etc", "home/u", "usr/bin", "tmp", "dev", "var/lib", "srv/tmpfs", "srv/bind", "locked"} {
		must(os.MkdirAll(filepath.Join(root, d), 0o755))
	}
	// Deep chains, made with *at calls: no path may name their bottom.
	deep := 0
	for _, chain := range []struct {
		at     string
		levels int
		leaves bool
	}{{"home/u", 20, true}, {"home/u", 17, true}, {"var/lib", 18, false}} {
		fd, err := unix.Open(filepath.Join(root, chain.at), unix.O_RDONLY|unix.O_DIRECTORY, 0)
		must(err)
		n := len(root) + len(chain.at) + 1
		for i := range chain.levels {
			name := fmt.Sprintf("%03d%s", i, strings.Repeat("d", 247))
			if err := unix.Mkdirat(fd, name, 0o755); err != nil && err != unix.EEXIST {
				t.Fatal(err)
			}
			nfd, err := unix.Openat(fd, name, unix.O_RDONLY|unix.O_DIRECTORY, 0)
			must(err)
			unix.Close(fd)
			fd, n = nfd, n+1+len(name)
		}
		if chain.leaves {
			ffd, err := unix.Openat(fd, "f", unix.O_CREAT|unix.O_WRONLY, 0o644)
			must(err)
			unix.Close(ffd)
			must(unix.Linkat(fd, "f", fd, "g", 0))
			// A shallow name of the deep inode, and a deep name of a shallow one (names of
			// one context: setfiles cannot reach the deep ones to say which comes first).
			hfd, err := unix.Open(filepath.Join(root, "home/u"), unix.O_RDONLY|unix.O_DIRECTORY, 0)
			must(err)
			must(unix.Linkat(fd, "f", hfd, fmt.Sprintf("deep-%d", chain.levels), 0))
			file(fmt.Sprintf("home/u/shallow-%d", chain.levels))
			must(unix.Linkat(hfd, fmt.Sprintf("shallow-%d", chain.levels), fd, "shallow", 0))
			unix.Close(hfd)
			must(unix.Mkdirat(fd, "sub", 0o755))
			must(unix.Mkfifoat(fd, "fifo", 0o600))
			must(unix.Symlinkat("/etc/passwd", fd, "link"))
			n += len("/shallow")
		}
		unix.Close(fd)
		deep = max(deep, n)
	}
	long := strings.Repeat("L", 255)
	file("etc/" + long)
	must(os.Mkdir(filepath.Join(root, "home/u", long), 0o755))
	file("home/u/" + long + "/" + long)
	for _, n := range []string{"new\nline", "back\\slash", "\xff\xfe\x80", "tab\tand space ", "-F", "..."} {
		file("etc/" + n)
		file("home/u/" + n)
	}
	for name, target := range map[string]string{"abs": "/etc/passwd", "rel": "../../../outside/secret",
		"proc": "/proc/self/root", "proc1": "/proc/1/cwd", "loop": "loop", "outside": outside} {
		must(os.Symlink(target, filepath.Join(root, "usr/bin", name)))
	}
	must(unix.Mkfifo(filepath.Join(root, "tmp/fifo"), 0o600))
	must(unix.Mknod(filepath.Join(root, "dev/zero"), unix.S_IFCHR|0o666, int(unix.Mkdev(1, 5))))
	must(unix.Mknod(filepath.Join(root, "dev/loop0"), unix.S_IFBLK|0o660, int(unix.Mkdev(7, 0))))
	l, err := net.ListenUnix("unix", &net.UnixAddr{Name: filepath.Join(root, "tmp/sock"), Net: "unix"})
	must(err)
	l.SetUnlinkOnClose(false)
	l.Close()
	file("locked/inside")
	must(os.Chmod(filepath.Join(root, "locked"), 0))
	// Hard links whose names have different contexts, in the shallow part.
	file("etc/conflict")
	must(os.Link(filepath.Join(root, "etc/conflict"), filepath.Join(root, "home/u/conflict")))
	must(os.Link(filepath.Join(root, "etc/conflict"), filepath.Join(root, "usr/bin/conflict")))
	file("var/lib/target")
	for i := range 1000 {
		must(os.Link(filepath.Join(root, "var/lib/target"), filepath.Join(root, "var/lib", fmt.Sprintf("many-%d", i))))
	}
	mount(t, "tmpfs", filepath.Join(root, "srv/tmpfs"), "tmpfs", 0, "")
	t.Cleanup(func() { unix.Unmount(filepath.Join(root, "srv/tmpfs"), unix.MNT_DETACH) })
	file("srv/tmpfs/inner")
	must(os.MkdirAll(outside, 0o755))
	must(os.WriteFile(filepath.Join(outside, "secret"), nil, 0o600))
	mount(t, outside, filepath.Join(root, "srv/bind"), "", unix.MS_BIND, "")
	t.Cleanup(func() { unix.Unmount(filepath.Join(root, "srv/bind"), unix.MNT_DETACH) })
	// A file bind mount, as a runtime mounts /etc/hosts: neither it nor its source is labelled.
	file("etc/hosts")
	must(os.WriteFile(filepath.Join(outside, "hosts"), nil, 0o644))
	mount(t, filepath.Join(outside, "hosts"), filepath.Join(root, "etc/hosts"), "", unix.MS_BIND, "")
	t.Cleanup(func() { unix.Unmount(filepath.Join(root, "etc/hosts"), unix.MNT_DETACH) })
	return deep
}

// bound reports whether k is one of advTree's bind mounts or below one.
func bound(k string) bool {
	return k == "srv/bind" || strings.HasPrefix(k, "srv/bind/") || k == "etc/hosts"
}

// TestRunAdversarialTree: on the tree advTree builds, the relabel (every way of naming
// objects) neither fails nor hangs nor touches anything outside the root, and every label
// is the one Debian's setfiles writes on an identical copy — where setfiles can: it leaves
// objects whose path reaches PATH_MAX unlabelled (and exits 0), so those must have what
// file_contexts says for them. Bind mounts of the same filesystem (a directory, and a file
// as a runtime mounts /etc/hosts) are the documented difference: setfiles (comparing
// st_dev) enters them, nsinit (comparing mounts) does not, so they are compared apart:
// untouched. Every way of naming objects runs with one call per object and with a statx
// of each (onecall.go).
func TestRunAdversarialTree(t *testing.T) {
	if !inMountNS(t) {
		return
	}
	testutil.RequireRoot(t)
	setfilesBin := testutil.RequireTool(t, "setfiles")
	fc := filepath.Join(testutil.DebianPolicyDir(t), "contexts/files/file_contexts")
	lab, err := LoadFileContexts(fc)
	if err != nil {
		t.Fatal(err)
	}
	fsDir := t.TempDir()
	mount(t, "tmpfs", fsDir, "tmpfs", 0, "mode=755")
	t.Cleanup(func() { unix.Unmount(fsDir, unix.MNT_DETACH) })
	a, b := filepath.Join(fsDir, "a"), filepath.Join(fsDir, "b")
	advTree(t, a, filepath.Join(fsDir, "outside-a"))
	deep := advTree(t, b, filepath.Join(fsDir, "outside-b"))
	stripLabels(t, fsDir)
	hostPasswd := getLabel(t, "/etc/passwd")
	mustRun(t, setfilesBin, "-F", "-r", a, fc, a)
	want := labelsOf(t, a)
	beyond := 0
	for k, mode := range relabeltest.Modes(t, a) {
		switch {
		case bound(k):
			delete(want, k)
		case len(a)+1+len(k) >= unix.PathMax:
			beyond++
			want[k] = "<none>"
			if ctx, ok := lab.Lookup("/"+k, mode); ok {
				want[k] = ctx + "\x00"
			}
		}
	}
	for _, v := range []struct {
		name string
		o    Options
	}{
		{"getxattrat", Options{}},
		{"getxattrat, statx of every object", Options{statxAlways: true}},
		{"working directory", Options{noXattrAt: true, Jobs: 3}},
		{"working directory, statx of every object", Options{noXattrAt: true, Jobs: 3, statxAlways: true}},
		{"/proc/self/fd", Options{procPath: true, Jobs: 1}},
	} {
		stripLabels(t, b)
		o := v.o
		o.Root, o.Labeler, o.Force = b, lab, true
		done := make(chan struct{})
		var s Stats
		go func() {
			defer close(done)
			s, err = Run(context.Background(), o)
		}()
		select {
		case <-done:
		case <-time.After(2 * time.Minute):
			t.Fatalf("%s: the relabel hangs", v.name)
		}
		if err != nil || s.Errors != 0 {
			t.Errorf("%s: %+v %v", v.name, s, err)
		}
		got := labelsOf(t, b)
		for k, l := range got {
			if bound(k) && l != "<none>" {
				t.Errorf("%s: %s (a bind mount of outside the root) labelled %q", v.name, k, l)
			}
			if bound(k) {
				delete(got, k)
			}
		}
		differ := compareLabels(t, want, got)
		for k, l := range labelsOf(t, filepath.Join(fsDir, "outside-b")) {
			if l != "<none>" {
				t.Errorf("%s: outside the root %s labelled %q", v.name, k, l)
			}
		}
		if l := getLabel(t, "/etc/passwd"); l != hostPasswd {
			t.Errorf("%s: the host's /etc/passwd relabelled %q", v.name, l)
		}
		t.Logf("%s: %d objects (%d beyond PATH_MAX, deepest path %d bytes), %d differences from setfiles and file_contexts; %+v", v.name, len(want), beyond, deep, differ, s)
	}
}

// TestRunManyDeepHardLinks: thousands of names of one file at the bottom of a deep tree cost
// the walk memory per inode, not per name (a user can make 65000 names of 5 KB each).
func TestRunManyDeepHardLinks(t *testing.T) {
	testutil.RequireRoot(t)
	root := t.TempDir()
	fd, err := unix.Open(root, unix.O_RDONLY|unix.O_DIRECTORY, 0)
	if err != nil {
		t.Fatal(err)
	}
	keyLen := 0
	for i := range 18 {
		name := fmt.Sprintf("%03d%s", i, strings.Repeat("d", 247))
		if err := unix.Mkdirat(fd, name, 0o755); err != nil {
			t.Fatal(err)
		}
		nfd, err := unix.Openat(fd, name, unix.O_RDONLY|unix.O_DIRECTORY, 0)
		if err != nil {
			t.Fatal(err)
		}
		unix.Close(fd)
		fd, keyLen = nfd, keyLen+1+len(name)
	}
	defer unix.Close(fd)
	ffd, err := unix.Openat(fd, "f", unix.O_CREAT|unix.O_WRONLY, 0o644)
	if err != nil {
		t.Fatal(err)
	}
	unix.Close(ffd)
	const names = 4000
	for i := range names {
		if err := unix.Linkat(fd, "f", fd, fmt.Sprintf("link-%d", i), 0); err != nil {
			t.Fatal(err)
		}
	}
	var before, after runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&before)
	s, err := Run(context.Background(), Options{Root: root, Labeler: fakeLabeler{}, Jobs: 2})
	runtime.ReadMemStats(&after)
	if err != nil || s.Relabeled != 20 || s.Skipped != names {
		t.Fatalf("%+v %v", s, err)
	}
	alloc, perName := after.TotalAlloc-before.TotalAlloc, uint64(names*keyLen)
	t.Logf("%d names of %d bytes: %d bytes allocated (the names' keys: %d)", names+1, keyLen, alloc, perName)
	if alloc > perName/4 {
		t.Errorf("the walk allocated %d bytes for %d names of one inode: memory grows with the names", alloc, names+1)
	}
}
