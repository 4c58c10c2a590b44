package selinuxfs

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"

	"golang.org/x/sys/unix"

	"github.com/nsinit/nsinit/internal/mountinfo"
	"github.com/nsinit/nsinit/internal/testutil"
)

func TestHoldingMount(t *testing.T) {
	const info = `22 1 0:21 / / rw shared:1 - ext4 /dev/vda rw
23 22 0:22 / /sys rw,nosuid master:7 - sysfs sysfs rw
24 23 0:23 / /sys/fs/selinux rw shared:9 - selinuxfs selinuxfs rw
25 22 0:24 / /with\040space rw - tmpfs tmpfs rw
26 22 0:25 / /priv rw - tmpfs tmpfs rw
27 26 0:26 / /priv/sub rw shared:3 - tmpfs tmpfs rw
`
	mounts, err := mountinfo.Parse(strings.NewReader(info))
	if err != nil {
		t.Fatal(err)
	}
	for _, tt := range []struct {
		target, holder string
		shared         bool
	}{
		{"/sys/fs/selinux", "/sys", true},       // the instance at the target is shared
		{"/sys/fs/other", "/sys", false},        // a slave holder does not send
		{"/run/x", "/", true},                   // no /run mount: the root holds it
		{"/with space/x", "/with space", false}, // escapes decoded
		{"/priv/sub/x", "/priv/sub", true},
		{"/privx", "/", true}, // "/priv" is not an ancestor of "/privx"
	} {
		holder, shared := holdingMount(mounts, tt.target)
		if holder != tt.holder || shared != tt.shared {
			t.Errorf("holdingMount(%s) = %q, %v; want %q, %v", tt.target, holder, shared, tt.holder, tt.shared)
		}
	}
}

// helperEnv makes the test binary act as the child of TestReplaceDoesNotPropagate.
const helperEnv = "NSINIT_SELINUXFS_HELPER"

var tmpfsKind = fsKind{"tmpfs", unix.TMPFS_MAGIC}

// TestReplaceDoesNotPropagate builds a shared mount with an "inherited" instance below it,
// then runs a child in a new mount namespace copied with propagation unchanged (clone
// CLONE_NEWNS, as unshare(2) leaves it): its copies are peers of ours. The child replaces
// the instance the way Mount does (tmpfs standing in for selinuxfs, which this kernel may
// lack). Neither the unmount nor the fresh mount may reach this namespace. The control
// does the same unmount and mount without MakePrivate and must be seen here, which shows
// the test can fail.
func TestReplaceDoesNotPropagate(t *testing.T) {
	testutil.RequireRoot(t)
	for _, tt := range []struct {
		mode          string
		wantPropagate bool
	}{{"replace", false}, {"raw", true}} {
		t.Run(tt.mode, func(t *testing.T) {
			base := t.TempDir()
			must := func(err error) {
				t.Helper()
				if err != nil {
					t.Fatal(err)
				}
			}
			must(unix.Mount("tmpfs", base, "tmpfs", 0, "size=1m"))
			t.Cleanup(func() { _ = unix.Unmount(base, unix.MNT_DETACH) })
			must(unix.Mount("", base, "", unix.MS_SHARED, ""))
			sub := filepath.Join(base, "selinux")
			must(os.Mkdir(sub, 0o755))
			must(unix.Mount("tmpfs", sub, "tmpfs", 0, "size=1m"))
			must(os.WriteFile(filepath.Join(sub, "inherited"), nil, 0o644))

			cmd := exec.Command(os.Args[0], "-test.run=^TestHelperReplace$", "-test.count=1")
			cmd.Env = append(os.Environ(), helperEnv+"="+tt.mode, "NSINIT_SELINUXFS_DIR="+sub)
			cmd.SysProcAttr = &syscall.SysProcAttr{Cloneflags: unix.CLONE_NEWNS}
			out, err := cmd.CombinedOutput()
			if err != nil || !strings.Contains(string(out), "child: done") {
				t.Fatalf("child: %v\n%s", err, out)
			}
			_, statErr := os.Stat(filepath.Join(sub, "inherited"))
			propagated := statErr != nil
			if propagated != tt.wantPropagate {
				t.Fatalf("mode %s: the inherited instance here is gone: %v (stat: %v), want %v\nchild:\n%s",
					tt.mode, propagated, statErr, tt.wantPropagate, out)
			}
		})
	}
}

// TestHelperReplace is the child of TestReplaceDoesNotPropagate; it does nothing in a
// normal run.
func TestHelperReplace(t *testing.T) {
	mode := os.Getenv(helperEnv)
	if mode == "" {
		return
	}
	dir := os.Getenv("NSINIT_SELINUXFS_DIR")
	switch mode {
	case "replace":
		res, err := replace("/proc", dir, tmpfsKind)
		if err != nil || !res.Unmounted || res.Privatized == "" {
			t.Fatalf("replace = %+v, %v", res, err)
		}
		t.Logf("child: privatized %s", res.Privatized)
	case "raw":
		if err := unix.Unmount(dir, 0); err != nil {
			t.Fatal(err)
		}
		if err := unix.Mount("tmpfs", dir, "tmpfs", 0, "size=1m"); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := os.Stat(filepath.Join(dir, "inherited")); err == nil {
		t.Fatal("the fresh instance still shows the inherited file")
	}
	os.Stdout.WriteString("child: done\n")
}
