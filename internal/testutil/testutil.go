// Package testutil holds helpers shared by nsinit's tests: gates for root-only tests and
// access to the artefacts that scripts/provision.sh caches (Debian's kernel, Debian's
// built policy, a debootstrap tree).
//
// Tests that need a real thing call the matching helper. When the thing is missing the test
// is skipped with the reason, unless NSINIT_REQUIRE_REAL=1 (set by `make test`), in which case
// it fails: in CI a silently skipped conformance test would be a green lie.
package testutil

import (
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"testing"

	"golang.org/x/sys/unix"
)

// requireReal reports whether missing prerequisites must fail instead of skip.
func requireReal() bool { return os.Getenv("NSINIT_REQUIRE_REAL") == "1" }

// missing skips or fails tb with why, depending on NSINIT_REQUIRE_REAL.
func missing(tb testing.TB, why string) {
	tb.Helper()
	if requireReal() {
		tb.Fatalf("prerequisite missing (NSINIT_REQUIRE_REAL=1): %s", why)
	}
	tb.Skipf("skipping: %s (run `make test` to provision it)", why)
}

// RequireRoot skips (or fails, see package doc) unless the test runs as uid 0.
func RequireRoot(tb testing.TB) {
	tb.Helper()
	if os.Geteuid() != 0 {
		missing(tb, "test needs root")
	}
}

// RequireTool skips (or fails) unless the named program is on PATH, and returns its path.
func RequireTool(tb testing.TB, name string) string {
	tb.Helper()
	p, err := exec.LookPath(name)
	if err != nil {
		missing(tb, name+" not installed")
	}
	return p
}

// RepoRoot returns the repository's top directory (the one holding go.mod).
func RepoRoot(tb testing.TB) string {
	tb.Helper()
	_, file, _, ok := runtime.Caller(0)
	if !ok {
		tb.Fatal("runtime.Caller failed")
	}
	return filepath.Clean(filepath.Join(filepath.Dir(file), "..", ".."))
}

// CacheDir returns the provisioned cache directory: $NSINIT_CACHE, else <repo>/.cache.
func CacheDir(tb testing.TB) string {
	tb.Helper()
	if d := os.Getenv("NSINIT_CACHE"); d != "" {
		return d
	}
	return filepath.Join(RepoRoot(tb), ".cache")
}

// cached returns <cache>/<rel> when <cache>/<stamp> exists, else skips or fails.
func cached(tb testing.TB, rel, stamp string) string {
	tb.Helper()
	dir := filepath.Join(CacheDir(tb), rel)
	if _, err := os.Stat(filepath.Join(dir, stamp)); err != nil {
		missing(tb, "provisioned "+rel+" not found in "+CacheDir(tb))
	}
	return dir
}

// PolicyRoot returns the directory holding Debian's built policy tree: its
// etc/selinux/default has policy/policy.33 and contexts/files/file_contexts{,.bin,...}.
func PolicyRoot(tb testing.TB) string {
	tb.Helper()
	return cached(tb, "policy", ".done")
}

// DebianPolicyDir returns <PolicyRoot>/etc/selinux/default, Debian's SELINUXTYPE=default.
func DebianPolicyDir(tb testing.TB) string {
	tb.Helper()
	return filepath.Join(PolicyRoot(tb), "etc", "selinux", "default")
}

// SidPolicyDir returns Debian sid's built refpolicy (provisioning step sid_policy): its
// policy/policy.35 and contexts/files/file_contexts{,.homedirs,.subs_dist}, no .bin.
func SidPolicyDir(tb testing.TB) string {
	tb.Helper()
	return filepath.Join(cached(tb, "sid-policy", ".done"), "etc", "selinux", "default")
}

// TrixiePolicyDir is SidPolicyDir for Debian 13's refpolicy (step trixie_policy, policy.34).
func TrixiePolicyDir(tb testing.TB) string {
	tb.Helper()
	return filepath.Join(cached(tb, "trixie-policy", ".done"), "etc", "selinux", "default")
}

// Minbase returns a pristine debootstrap --variant=minbase bookworm tree. Tests must not
// modify it: copy it first (CopyTree).
func Minbase(tb testing.TB) string {
	tb.Helper()
	return cached(tb, "minbase", ".done")
}

// Kernel returns the directory with Debian's kernel: vmlinuz and modules/.
func Kernel(tb testing.TB) string {
	tb.Helper()
	return cached(tb, "kernel", ".done")
}

// CopyTree copies src to dst with cp -a (keeping hard links, modes, xattrs).
func CopyTree(tb testing.TB, src, dst string) {
	tb.Helper()
	out, err := exec.Command("cp", "-a", "--", src, dst).CombinedOutput()
	if err != nil {
		tb.Fatalf("cp -a %s %s: %v\n%s", src, dst, err, out)
	}
}

// Kernel7 returns the directory with Debian sid's Linux 7.x kernel (provisioning step
// kernel7): vmlinuz and modules/ (its usr/lib/modules/<release> tree, .ko.xz).
func Kernel7(tb testing.TB) string {
	tb.Helper()
	return cached(tb, "kernel7", ".done")
}

// ScratchDir returns a new directory, removed after the test, for short-lived trees of many
// small files: under /dev/shm when it is a tmpfs (which stores security.* attributes), else
// tb.TempDir(). Copying the minbase tree's 6.7k objects to a busy disk took 5-10 s, to
// tmpfs 0.4 s.
func ScratchDir(tb testing.TB) string {
	tb.Helper()
	var st unix.Statfs_t
	if unix.Statfs("/dev/shm", &st) != nil || st.Type != unix.TMPFS_MAGIC || unix.Access("/dev/shm", unix.W_OK) != nil {
		return tb.TempDir()
	}
	dir, err := os.MkdirTemp("/dev/shm", "nsinit-test.")
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { os.RemoveAll(dir) })
	return dir
}
