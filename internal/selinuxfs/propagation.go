package selinuxfs

import (
	"fmt"
	"os"
	"path/filepath"

	"golang.org/x/sys/unix"

	"github.com/nsinit/nsinit/internal/mountinfo"
)

// MakePrivate makes sure that mounting or unmounting at dir cannot propagate to another
// mount namespace. A mount event at dir propagates through the peer group of the mount
// that holds dir (the deepest mount point above dir, e.g. /sys), and an unmount of the
// instance at dir through the same one. When that mount, or one mounted at dir itself, is
// shared ("shared:N" in <procDir>/self/mountinfo), MakePrivate makes the holding mount and
// everything below it private (MS_REC|MS_PRIVATE, what libselinux's selinux_unshare()
// requires of its callers for "/"), and returns its mount point; otherwise it changes
// nothing and returns "". Mounts are private unless someone made them shared, so at boot
// (nothing shared yet) and under runtimes that set up a private or slave root it is a
// no-op; after unshare(CLONE_NEWNS) from a shared root it is what keeps the host's
// /sys/fs/selinux out of reach.
func MakePrivate(procDir, dir string) (string, error) {
	target := filepath.Clean(dir)
	if real, err := filepath.EvalSymlinks(dir); err == nil {
		target = real
	}
	mounts, err := mountinfo.Read(procDir)
	if err != nil {
		return "", err
	}
	holder, shared := holdingMount(mounts, target)
	if holder == "" {
		return "", &os.PathError{Op: "find the mount holding", Path: target, Err: fmt.Errorf("no ancestor in %s", filepath.Join(procDir, "self", "mountinfo"))}
	}
	if !shared {
		return "", nil
	}
	if err := unix.Mount("", holder, "", unix.MS_REC|unix.MS_PRIVATE, ""); err != nil {
		return "", &os.PathError{Op: "mount --make-rprivate", Path: holder, Err: err}
	}
	return holder, nil
}

// holdingMount returns the deepest mount point strictly above target and whether it, or a
// mount at target, is shared.
func holdingMount(mounts []mountinfo.Mount, target string) (string, bool) {
	holder := ""
	for _, m := range mounts {
		if mountinfo.Below(target, m.Point) && len(m.Point) > len(holder) {
			holder = m.Point
		}
	}
	shared := false
	for _, m := range mounts {
		if m.Shared && (m.Point == holder || m.Point == target) {
			shared = true
		}
	}
	return holder, shared
}
