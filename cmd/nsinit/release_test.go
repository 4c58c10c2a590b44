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
