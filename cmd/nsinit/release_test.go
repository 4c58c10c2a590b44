package main

import (
	"os"
	"os/exec"
	"path/filepath"
	"slices"
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

// TestMakeInstall: `make install` of a commit tagged vMAJOR.MINOR.PATCH (in a clone of HEAD,
// tagged there, not in this repository) with the default PREFIX into a DESTDIR gives what a
// fresh machine gets: PREFIX/sbin/nsinit, whose --version is the tag, and
// PREFIX/share/man/man8/nsinit.8, which `man nsinit` finds under that directory and renders
// with its ENVIRONMENT, FILES, EXIT STATUS and EXAMPLES sections and the same version. The
// directory is one of man-db's defaults (manpath), so a real install needs no MANPATH.
func TestMakeInstall(t *testing.T) {
	git := testutil.RequireTool(t, "git")
	testutil.RequireTool(t, "make")
	manTool := testutil.RequireTool(t, "man")
	manpath := testutil.RequireTool(t, "manpath")
	root := testutil.RepoRoot(t)
	if _, err := os.Stat(filepath.Join(root, ".git")); err != nil {
		t.Skip("not a git checkout")
	}
	head, err := exec.Command(git, "-C", root, "rev-parse", "HEAD").Output()
	if err != nil {
		t.Fatalf("git rev-parse HEAD: %v", err)
	}
	rev, tag := strings.TrimSpace(string(head)), "v9.8.7"
	tmp := t.TempDir()
	src, dest := filepath.Join(tmp, "src"), filepath.Join(tmp, "dest")
	for _, args := range [][]string{
		// --no-tags: a tag of the checkout on HEAD (an annotated release tag) would win
		// git describe over the test's own.
		{"clone", "-q", "--no-tags", "--no-checkout", root, src},
		{"-C", src, "checkout", "-q", "--detach", rev},
		{"-C", src, "tag", tag},
	} {
		if out, err := exec.Command(git, args...).CombinedOutput(); err != nil {
			t.Fatalf("git %q: %v\n%s", args, err, out)
		}
	}
	if out, err := exec.Command("make", "-C", src, "install", "DESTDIR="+dest).CombinedOutput(); err != nil {
		t.Fatalf("make install: %v\n%s", err, out)
	}
	out, err := exec.Command(filepath.Join(dest, "usr/local/sbin/nsinit"), "--version").Output()
	if want := "nsinit " + tag + " (commit " + rev + ", "; err != nil || !strings.HasPrefix(string(out), want) {
		t.Errorf("installed nsinit --version: %q (%v), want %q...", out, err, want)
	}

	mp := exec.Command(manpath)
	mp.Env = append(withoutEnv("MANPATH"), "LC_ALL=C")
	dirs, err := mp.Output()
	if err != nil || !slices.Contains(strings.Split(strings.TrimSpace(string(dirs)), ":"), "/usr/local/share/man") {
		t.Errorf("manpath %q (%v) lacks /usr/local/share/man, where make install puts the page", dirs, err)
	}
	man := exec.Command(manTool, "nsinit")
	man.Env = append(withoutEnv("MANPATH"), "MANPATH="+filepath.Join(dest, "usr/local/share/man"), "MANPAGER=cat", "MANWIDTH=100", "LC_ALL=C")
	rendered, err := man.Output()
	if err != nil {
		t.Fatalf("man nsinit: %v", err)
	}
	for _, s := range []string{"ENVIRONMENT", "NSINIT_MODE", "SELINUXNS", "FILES", "/.autorelabel", "EXIT STATUS", "EXAMPLES", "nsinit " + tag} {
		if !strings.Contains(string(rendered), s) {
			t.Errorf("man nsinit lacks %q", s)
		}
	}
}

// withoutEnv returns the environment without the variable name.
func withoutEnv(name string) []string {
	return slices.DeleteFunc(os.Environ(), func(kv string) bool { return strings.HasPrefix(kv, name+"=") })
}
