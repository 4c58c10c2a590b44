package selinuxfs

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/nsinit/nsinit/internal/testutil"
	"golang.org/x/sys/unix"
)

// fakeFS builds a directory with the nodes of a selinuxfs (as regular files).
func fakeFS(t *testing.T, nodes map[string]string) *FS {
	t.Helper()
	dir := t.TempDir()
	for name, content := range nodes {
		p := filepath.Join(dir, name)
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return Open(dir)
}

func TestNodes(t *testing.T) {
	fs := fakeFS(t, map[string]string{
		"policyvers":          "33",
		"enforce":             "0",
		"mls":                 "1",
		"load":                "",
		"class/process/index": "2\n",
	})
	if v, err := fs.PolicyVers(); err != nil || v != 33 {
		t.Fatalf("PolicyVers = %d, %v", v, err)
	}
	if on, err := fs.Enforce(); err != nil || on {
		t.Fatalf("Enforce = %v, %v", on, err)
	}
	if err := fs.SetEnforce(true); err != nil {
		t.Fatal(err)
	}
	if on, err := fs.Enforce(); err != nil || !on {
		t.Fatalf("Enforce after SetEnforce(true) = %v, %v", on, err)
	}
	if mls, err := fs.MLS(); err != nil || !mls {
		t.Fatalf("MLS = %v, %v", mls, err)
	}
	if idx, err := fs.ClassIndex("process"); err != nil || idx != 2 {
		t.Fatalf("ClassIndex = %d, %v", idx, err)
	}
	img := []byte("policy image bytes")
	if err := fs.Load(img); err != nil {
		t.Fatal(err)
	}
	if got, _ := os.ReadFile(filepath.Join(fs.Dir, "load")); string(got) != string(img) {
		t.Fatalf("load node holds %q", got)
	}
	if loaded, err := fs.PolicyLoaded(); err != nil || !loaded {
		t.Fatalf("PolicyLoaded = %v, %v", loaded, err)
	}
}

func TestNodeErrors(t *testing.T) {
	fs := fakeFS(t, map[string]string{"policyvers": "thirty-three", "class/x": ""})
	if _, err := fs.PolicyVers(); err == nil || !strings.Contains(err.Error(), "policyvers") {
		t.Fatalf("PolicyVers on garbage: %v", err)
	}
	if _, err := fs.Enforce(); !errors.Is(err, os.ErrNotExist) {
		t.Fatalf("Enforce on missing node: %v", err)
	}
	// The enforce node must never be created by a write (a wrong path would go unnoticed).
	if err := fs.SetEnforce(true); !errors.Is(err, os.ErrNotExist) {
		t.Fatalf("SetEnforce on missing node: %v", err)
	}
	if _, err := os.Stat(filepath.Join(fs.Dir, "enforce")); err == nil {
		t.Fatal("SetEnforce created the enforce node")
	}
	for _, bad := range []string{"", "../x", "a/b"} {
		if _, err := fs.ClassIndex(bad); err == nil {
			t.Errorf("ClassIndex(%q) accepted", bad)
		}
	}
	for _, bad := range []string{"", "a b", "a\x00b"} {
		if _, err := fs.ComputeCreate(bad, "u:r:t:s0", 2); err == nil {
			t.Errorf("ComputeCreate(%q) accepted", bad)
		}
		if err := fs.CheckContext(bad); err == nil {
			t.Errorf("CheckContext(%q) accepted", bad)
		}
	}
}

func TestVerifyRejectsOrdinaryDirectory(t *testing.T) {
	fs := fakeFS(t, map[string]string{"load": ""})
	if err := fs.Verify(); !errors.Is(err, ErrNotSelinuxfs) {
		t.Fatalf("Verify on a plain directory = %v, want ErrNotSelinuxfs", err)
	}
	if fs.IsMounted() {
		t.Fatal("IsMounted on a plain directory")
	}
}

// TestMountWithoutSELinux runs the real mount(2) on a kernel without SELinux (this host):
// it must fail with ENODEV, naming the path. The successful mount is exercised on a real
// SELinux kernel by the qemu suite (test/vm).
func TestMountWithoutSELinux(t *testing.T) {
	testutil.RequireRoot(t)
	if b, _ := os.ReadFile("/proc/filesystems"); strings.Contains(string(b), "\tselinuxfs\n") {
		t.Skip("this kernel has selinuxfs; the negative case does not apply")
	}
	dir := t.TempDir()
	_, _, err := Mount("/proc", dir)
	if !errors.Is(err, unix.ENODEV) || !strings.Contains(err.Error(), dir) {
		t.Fatalf("Mount on a kernel without SELinux = %v, want ENODEV naming %s", err, dir)
	}
}
