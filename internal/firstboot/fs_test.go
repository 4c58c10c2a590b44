package firstboot

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"golang.org/x/sys/unix"

	"github.com/nsinit/nsinit/internal/relabel"
	"github.com/nsinit/nsinit/internal/relabel/relabeltest"
	"github.com/nsinit/nsinit/internal/testutil"
)

// TestFirstBootFilesystems: an unlabelled read-only root cannot be fixed (an error, so that
// the bring-up fails closed when enforcing); a root that cannot store labels (ramfs) needs
// nothing in auto mode.
func TestFirstBootFilesystems(t *testing.T) {
	if !relabeltest.InMountNS(t) {
		return
	}
	testutil.RequireRoot(t)
	ro, ramfs := t.TempDir(), t.TempDir()
	relabeltest.Mount(t, "tmpfs", ro, "tmpfs", 0, "")
	t.Cleanup(func() { unix.Unmount(ro, unix.MNT_DETACH) })
	relabeltest.Populate(t, ro)
	relabeltest.Mount(t, "", ro, "", unix.MS_REMOUNT|unix.MS_RDONLY, "")
	if res, err := Run(context.Background(), Options{Root: ro, Labeler: fakeLabeler{}}); !errors.Is(err, relabel.ErrIncomplete) || !res.Ran {
		t.Errorf("FirstBoot on a read-only unlabelled root: %+v %v", res, err)
	}
	relabeltest.Mount(t, "ramfs", ramfs, "ramfs", 0, "")
	t.Cleanup(func() { unix.Unmount(ramfs, unix.MNT_DETACH) })
	relabeltest.Populate(t, ramfs)
	if res, err := Run(context.Background(), Options{Root: ramfs, Labeler: fakeLabeler{}}); err != nil || res.Ran {
		t.Errorf("FirstBoot on ramfs: %+v %v", res, err)
	}
}

// TestFirstBootNamespaceAPIFilesystems: in a namespace, /dev, /dev/shm and /run mounts get
// full contexts even when the root needs nothing.
func TestFirstBootNamespaceAPIFilesystems(t *testing.T) {
	if !relabeltest.InMountNS(t) {
		return
	}
	testutil.RequireRoot(t)
	root := t.TempDir()
	for _, d := range []string{"dev", "run", "etc"} {
		os.Mkdir(filepath.Join(root, d), 0o755)
	}
	for _, d := range []string{"dev", "run"} {
		p := filepath.Join(root, d)
		relabeltest.Mount(t, "tmpfs", p, "tmpfs", 0, "")
		t.Cleanup(func() { unix.Unmount(p, unix.MNT_DETACH) })
	}
	os.Mkdir(filepath.Join(root, "dev/shm"), 0o755)
	relabeltest.Mount(t, "tmpfs", filepath.Join(root, "dev/shm"), "tmpfs", 0, "")
	t.Cleanup(func() { unix.Unmount(filepath.Join(root, "dev/shm"), unix.MNT_DETACH) })
	for _, f := range []string{"dev/null", "dev/shm/seg", "run/pid", "etc/passwd"} {
		os.WriteFile(filepath.Join(root, f), nil, 0o644)
	}
	host := "system_u:object_r:container_file_t:s0:c1,c2"
	for _, rel := range []string{".", "etc", "etc/passwd"} {
		relabeltest.SetLabel(t, filepath.Join(root, rel), "system_u:object_r:dir_t:s0")
	}
	relabeltest.SetLabel(t, filepath.Join(root, "etc/passwd"), "system_u:object_r:etc_t:s0")
	for _, rel := range []string{"dev", "dev/null", "dev/shm", "dev/shm/seg", "run", "run/pid"} {
		relabeltest.SetLabel(t, filepath.Join(root, rel), host)
	}
	res, err := Run(context.Background(), Options{Root: root, Labeler: fakeLabeler{}, Namespace: true})
	if err != nil || !res.Ran {
		t.Fatalf("%+v %v", res, err)
	}
	for rel, want := range map[string]string{"dev": "system_u:object_r:dir_t:s0", "dev/null": "system_u:object_r:file_t:s0",
		"dev/shm/seg": "system_u:object_r:file_t:s0", "run/pid": "system_u:object_r:file_t:s0", "dev/shm": "system_u:object_r:dir_t:s0"} {
		if got := relabeltest.Label(t, filepath.Join(root, rel)); got != want {
			t.Errorf("%s: %q, want %q", rel, got, want)
		}
	}
	if res.Stats.Relabeled != 6 {
		t.Errorf("only the API filesystems should change: %+v", res)
	}
}

// TestFirstBootReadOnlyAndFullRoots: on a read-only root the marker cannot be written and
// neither can labels: a root whose labels are right passes (--relabel=always only
// verifies), a wrong one fails closed. On a root where the marker cannot be created for
// another reason (no inodes left), the relabel does not start: not one label is written.
func TestFirstBootReadOnlyAndFullRoots(t *testing.T) {
	if !relabeltest.InMountNS(t) {
		return
	}
	testutil.RequireRoot(t)
	ro, full := t.TempDir(), t.TempDir()
	relabeltest.Mount(t, "tmpfs", ro, "tmpfs", 0, "")
	t.Cleanup(func() { unix.Unmount(ro, unix.MNT_DETACH) })
	relabeltest.Populate(t, ro)
	if _, err := relabel.Run(context.Background(), relabel.Options{Root: ro, Labeler: fakeLabeler{}}); err != nil {
		t.Fatal(err)
	}
	relabeltest.SetLabel(t, filepath.Join(ro, "a/f1"), "unconfined_u:object_r:file_t:s0") // the right type
	relabeltest.Mount(t, "", ro, "", unix.MS_REMOUNT|unix.MS_RDONLY, "")
	if res, err := Run(context.Background(), Options{Root: ro, Labeler: fakeLabeler{}, Policy: RelabelAlways}); err != nil || !res.Ran || res.Stats.Relabeled != 0 {
		t.Errorf("read-only labelled root, --relabel=always: %+v %v", res, err)
	}
	if _, err := Run(context.Background(), Options{Root: ro, Labeler: fakeLabeler{}, Policy: RelabelAlways, Force: true}); !errors.Is(err, relabel.ErrIncomplete) {
		t.Errorf("read-only root needing labels: %v, want ErrIncomplete", err)
	}

	relabeltest.Mount(t, "tmpfs", full, "tmpfs", 0, "nr_inodes=16")
	t.Cleanup(func() { unix.Unmount(full, unix.MNT_DETACH) })
	relabeltest.Populate(t, full)
	for i := 0; ; i++ {
		if err := os.WriteFile(filepath.Join(full, fmt.Sprintf("fill%d", i)), nil, 0o644); err != nil {
			break
		}
	}
	relabeltest.StripLabels(t, full)
	_, err := Run(context.Background(), Options{Root: full, Labeler: fakeLabeler{}})
	if err == nil || !strings.Contains(err.Error(), "cannot record the relabel") {
		t.Errorf("no inode for the marker: %v", err)
	}
	for rel, l := range relabeltest.Labels(t, full) {
		if l != "<none>" {
			t.Errorf("%s labelled although the relabel could not be recorded", rel)
		}
	}
}
