// Package relabeltest holds the helpers the relabel engine's tests and the first-boot tests
// share: a Labeler whose answers the tests know, label readers and writers, tree comparison,
// and a private mount namespace for tests that mount.
package relabeltest

import (
	"bytes"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strings"
	"testing"

	"golang.org/x/sys/unix"

	"github.com/nsinit/nsinit/internal/testutil"
)

// FakeLabeler assigns contexts by kind and a few path rules, so unit tests know the answer.
type FakeLabeler struct{}

// Lookup implements relabel.Labeler.
func (FakeLabeler) Lookup(p string, mode uint32) (string, bool) {
	base := filepath.Base(p)
	switch {
	case strings.HasPrefix(base, "none"):
		return "", false
	case strings.HasPrefix(p, "/etc/"):
		return "system_u:object_r:etc_t:s0", true
	case strings.HasPrefix(p, "/bin/") || strings.HasPrefix(base, "b-"):
		return "system_u:object_r:bin_t:s0", true
	}
	switch mode & unix.S_IFMT {
	case unix.S_IFDIR:
		return "system_u:object_r:dir_t:s0", true
	case unix.S_IFLNK:
		return "system_u:object_r:link_t:s0", true
	case unix.S_IFREG:
		return "system_u:object_r:file_t:s0", true
	case 0:
		return "", false
	}
	return "system_u:object_r:node_t:s0", true
}

// Label returns p's security.selinux up to its NUL ("" when it has none).
func Label(tb testing.TB, p string) string {
	tb.Helper()
	b, ok := RawLabel(tb, p)
	if !ok {
		return ""
	}
	if i := bytes.IndexByte(b, 0); i >= 0 {
		b = b[:i]
	}
	return string(b)
}

// RawLabel returns the exact bytes of p's security.selinux and whether it has one.
func RawLabel(tb testing.TB, p string) ([]byte, bool) {
	tb.Helper()
	buf := make([]byte, 4096)
	n, err := unix.Lgetxattr(p, "security.selinux", buf)
	if errors.Is(err, unix.ENODATA) {
		return nil, false
	}
	if err != nil {
		tb.Fatalf("lgetxattr %q: %v", p, err)
	}
	return buf[:n], true
}

// SetLabel writes ctx (with its NUL) as p's security.selinux.
func SetLabel(tb testing.TB, p, ctx string) {
	tb.Helper()
	if err := unix.Lsetxattr(p, "security.selinux", append([]byte(ctx), 0), 0); err != nil {
		tb.Fatalf("lsetxattr %q: %v", p, err)
	}
}

// StripLabels removes security.selinux from every object under root, at any depth.
func StripLabels(tb testing.TB, root string) {
	tb.Helper()
	walkFds(tb, root, func(_, p string) {
		if err := unix.Lremovexattr(p, "security.selinux"); err != nil && !errors.Is(err, unix.ENODATA) && !errors.Is(err, unix.ENOTSUP) {
			tb.Fatalf("lremovexattr %q: %v", p, err)
		}
	})
}

// walkFds calls fn for root and every object under it, descending into nested mounts, with
// the object's path relative to root and a short path that reaches it whatever the depth
// (/proc/self/fd/N/name, N its open parent), valid during the call.
func walkFds(tb testing.TB, root string, fn func(rel, p string)) {
	tb.Helper()
	pfd, err := unix.Open(filepath.Dir(root), unix.O_RDONLY|unix.O_DIRECTORY|unix.O_CLOEXEC, 0)
	if err != nil {
		tb.Fatalf("open %s: %v", filepath.Dir(root), err)
	}
	defer unix.Close(pfd)
	walkFdsAt(tb, pfd, filepath.Base(root), ".", fn)
}

func walkFdsAt(tb testing.TB, dirfd int, name, rel string, fn func(rel, p string)) {
	fn(rel, fmt.Sprintf("/proc/self/fd/%d/%s", dirfd, name))
	fd, err := unix.Openat(dirfd, name, unix.O_RDONLY|unix.O_DIRECTORY|unix.O_NOFOLLOW|unix.O_CLOEXEC|unix.O_NONBLOCK, 0)
	if errors.Is(err, unix.ENOTDIR) || errors.Is(err, unix.ELOOP) {
		return
	}
	if err != nil {
		tb.Fatalf("open %s: %v", rel, err)
	}
	f := os.NewFile(uintptr(fd), rel)
	defer f.Close()
	names, err := f.Readdirnames(-1)
	if err != nil {
		tb.Fatalf("readdir %s: %v", rel, err)
	}
	sort.Strings(names)
	for _, n := range names {
		walkFdsAt(tb, fd, n, filepath.Join(rel, n), fn)
	}
}

// WalkObjects calls fn for root and every object under it in name order, descending into
// nested mounts too (their objects are compared as well).
func WalkObjects(tb testing.TB, root string, fn func(p string)) {
	tb.Helper()
	err := filepath.WalkDir(root, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		fn(p)
		return nil
	})
	if err != nil {
		tb.Fatal(err)
	}
}

// Labels returns every object's raw label under root, at any depth, keyed by its path
// relative to root.
func Labels(tb testing.TB, root string) map[string]string {
	tb.Helper()
	m := map[string]string{}
	walkFds(tb, root, func(rel, p string) {
		b, ok := RawLabel(tb, p)
		if ok {
			m[rel] = string(b)
		} else {
			m[rel] = "<none>"
		}
	})
	return m
}

// Modes returns every object's st_mode under root, at any depth, keyed by its path relative
// to root.
func Modes(tb testing.TB, root string) map[string]uint32 {
	tb.Helper()
	m := map[string]uint32{}
	walkFds(tb, root, func(rel, p string) {
		var st unix.Stat_t
		if err := unix.Lstat(p, &st); err != nil {
			tb.Fatalf("lstat %s: %v", rel, err)
		}
		m[rel] = st.Mode
	})
	return m
}

// CompareLabels fails for every object whose label differs between the two trees and
// returns the number of differences.
func CompareLabels(tb testing.TB, want, got map[string]string) int {
	tb.Helper()
	keys := make([]string, 0, len(want))
	for k := range want {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	bad := 0
	for _, k := range keys {
		if g, ok := got[k]; !ok || g != want[k] {
			if bad++; bad <= 20 {
				tb.Errorf("%q: want %q, got %q", k, want[k], g)
			}
		}
	}
	if len(got) != len(want) {
		tb.Errorf("trees differ: %d objects vs %d", len(want), len(got))
	}
	if bad > 0 {
		tb.Errorf("%d of %d objects differ", bad, len(want))
	}
	return bad
}

// nsEnv names the test that runs inside a private mount namespace (see InMountNS).
const nsEnv = "NSINIT_RELABEL_MOUNTNS_TEST"

// InMountNS returns true when the calling test runs inside a private mount namespace and
// should do its work. Otherwise it re-runs that test under `unshare -m` (every thread of
// the child is in the new namespace, unlike unshare(2) on one Go thread), relays its
// output and returns false.
func InMountNS(t *testing.T) bool {
	t.Helper()
	if os.Getenv(nsEnv) == t.Name() {
		return true
	}
	testutil.RequireRoot(t)
	testutil.RequireTool(t, "unshare")
	args := []string{"-m", "--propagation", "private", os.Args[0], "-test.run", "^" + t.Name() + "$", "-test.v", "-test.count=1"}
	cmd := exec.Command("unshare", args...)
	cmd.Env = append(os.Environ(), nsEnv+"="+t.Name())
	out, err := cmd.CombinedOutput()
	t.Logf("in a private mount namespace:\n%s", out)
	if err != nil {
		t.Fatalf("namespaced run failed: %v", err)
	}
	if bytes.Contains(out, []byte("--- SKIP")) {
		t.Skip("skipped in the namespace")
	}
	return false
}

// Mount is mount(2), failing tb with the operation on error.
func Mount(tb testing.TB, src, dst, fstype string, flags uintptr, data string) {
	tb.Helper()
	if err := unix.Mount(src, dst, fstype, flags, data); err != nil {
		tb.Fatalf("mount %s on %s: %v", fstype, dst, err)
	}
}

// MustRun runs a program and returns its combined output, failing tb if it fails.
func MustRun(tb testing.TB, name string, args ...string) []byte {
	tb.Helper()
	out, err := exec.Command(name, args...).CombinedOutput()
	if err != nil {
		tb.Fatalf("%s %q: %v\n%s", name, args, err, out)
	}
	return out
}

// Populate writes a few objects under dir: a/b/, c/, a/f1, a/b/f2, c/f3, f4.
func Populate(tb testing.TB, dir string) {
	tb.Helper()
	for _, d := range []string{"a/b", "c"} {
		if err := os.MkdirAll(filepath.Join(dir, d), 0o755); err != nil {
			tb.Fatal(err)
		}
	}
	for _, f := range []string{"a/f1", "a/b/f2", "c/f3", "f4"} {
		if err := os.WriteFile(filepath.Join(dir, f), nil, 0o644); err != nil {
			tb.Fatal(err)
		}
	}
}
