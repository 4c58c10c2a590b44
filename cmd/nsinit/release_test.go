package main

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/nsinit/nsinit/internal/testutil"
)

// TestReleaseScript runs scripts/release.sh on the current commit (it builds twice and
// fails unless the builds are identical, static and stripped) and checks what it leaves in
// DIST: a binary that names its commit, a checksum that verifies, and the manual page.
func TestReleaseScript(t *testing.T) {
	git := testutil.RequireTool(t, "git")
	testutil.RequireTool(t, "readelf")
	root := testutil.RepoRoot(t)
	if _, err := os.Stat(filepath.Join(root, ".git")); err != nil {
		t.Skip("not a git checkout: nothing to release")
	}
	// Pin the commit: in a shared checkout HEAD may move while the script runs.
	head, err := exec.Command(git, "-C", root, "rev-parse", "HEAD").Output()
	if err != nil {
		t.Fatalf("git rev-parse HEAD: %v", err)
	}
	rev := strings.TrimSpace(string(head))
	dist := t.TempDir()
	cmd := exec.Command(filepath.Join(root, "scripts", "release.sh"), rev)
	cmd.Env = append(os.Environ(), "DIST="+dist)
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("release.sh: %v\n%s", err, out)
	}
	sum := exec.Command("sha256sum", "-c", "nsinit.sha256")
	sum.Dir = dist
	if out, err := sum.CombinedOutput(); err != nil {
		t.Errorf("checksum: %v\n%s", err, out)
	}
	out, err := exec.Command(filepath.Join(dist, "nsinit"), "version").Output()
	if err != nil || !strings.Contains(string(out), "(commit "+rev+",") {
		t.Errorf("released binary's version %q (%v) does not name commit %s", out, err, rev)
	}
	if page, err := os.ReadFile(filepath.Join(dist, "nsinit.8")); err != nil || !strings.HasPrefix(string(page), ".TH NSINIT 8 ") {
		t.Errorf("nsinit.8: %v", err)
	}
}

// TestMakeInstall runs `make install` into a DESTDIR and checks what a fresh machine gets:
// the binary under PREFIX/sbin whose --version is git describe's, and a page under
// PREFIX/share/man/man8 that man(1) renders with its ENVIRONMENT, FILES, EXIT STATUS and
// EXAMPLES sections and that names the same version.
func TestMakeInstall(t *testing.T) {
	git := testutil.RequireTool(t, "git")
	testutil.RequireTool(t, "make")
	manTool := testutil.RequireTool(t, "man")
	root := testutil.RepoRoot(t)
	if _, err := os.Stat(filepath.Join(root, ".git")); err != nil {
		t.Skip("not a git checkout")
	}
	describe, err := exec.Command(git, "-C", root, "describe", "--tags", "--always", "--dirty").Output()
	if err != nil {
		t.Fatalf("git describe: %v", err)
	}
	want := strings.TrimSpace(string(describe))
	dest := t.TempDir()
	cmd := exec.Command("make", "-C", root, "install", "DESTDIR="+dest, "PREFIX=/usr")
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("make install: %v\n%s", err, out)
	}
	out, err := exec.Command(filepath.Join(dest, "usr/sbin/nsinit"), "--version").Output()
	if err != nil || !strings.HasPrefix(string(out), "nsinit "+want+" (commit ") {
		t.Errorf("installed nsinit --version: %q (%v), want version %s", out, err, want)
	}
	page := filepath.Join(dest, "usr/share/man/man8/nsinit.8")
	rendered, err := exec.Command(manTool, "-l", page).Output()
	if err != nil {
		t.Fatalf("man -l %s: %v", page, err)
	}
	for _, s := range []string{"ENVIRONMENT", "NSINIT_MODE", "SELINUXNS", "FILES", "/.autorelabel", "EXIT STATUS", "EXAMPLES", "nsinit " + want} {
		if !strings.Contains(string(rendered), s) {
			t.Errorf("installed page lacks %q", s)
		}
	}
}
