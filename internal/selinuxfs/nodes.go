package selinuxfs

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"golang.org/x/sys/unix"
)

// Nodes is what one selinuxfs instance shows about SELinux namespace support. The nodes
// are a property of the kernel, not of the instance: every selinuxfs of a kernel with the
// namespace patches has maxns and maxnsdepth (the namespaces' resource limits, selinuxfs.c
// of the selinuxns series), a stock kernel's has neither, and no seccomp filter hides them.
type Nodes struct {
	// Dir is where the instance was looked at.
	Dir string
	// Fresh: nothing was mounted at Dir, so a fresh instance was mounted there to look and
	// unmounted again (Inspect).
	Fresh bool
	// MaxNS and MaxNSDepth: the nodes exist.
	MaxNS, MaxNSDepth bool
	// HasUnshare: the prototype kernels' "unshare" node exists (removed from the patches in
	// 2025-10); Unshare is its content, trimmed: "1" when the reader is in a child SELinux
	// namespace, "0" in the initial one. UnshareErr is set when it exists but cannot be read.
	HasUnshare bool
	Unshare    string
	UnshareErr error
}

// NamespaceSupport reports whether the nodes show a kernel that can have SELinux
// namespaces: both resource-limit nodes, or the prototype's unshare node.
func (n Nodes) NamespaceSupport() bool { return n.MaxNS && n.MaxNSDepth || n.HasUnshare }

// Look reads the namespace nodes of the selinuxfs mounted at dir. dir must be a selinuxfs
// mount (its statfs magic is checked): files of the same names in any other filesystem,
// for instance in an image's /sys, prove nothing and give ErrNotSelinuxfs.
func Look(dir string) (Nodes, error) {
	n := Nodes{Dir: dir}
	if _, err := statSelinuxfs(dir); err != nil {
		return n, err
	}
	var err error
	if n.MaxNS, err = exists(filepath.Join(dir, "maxns")); err != nil {
		return n, err
	}
	if n.MaxNSDepth, err = exists(filepath.Join(dir, "maxnsdepth")); err != nil {
		return n, err
	}
	p := filepath.Join(dir, "unshare")
	if n.HasUnshare, err = exists(p); err != nil || !n.HasUnshare {
		return n, err
	}
	b, err := os.ReadFile(p)
	if err != nil {
		n.UnshareErr = err
		return n, nil
	}
	n.Unshare = strings.TrimSpace(string(b))
	return n, nil
}

// Inspect is Look, and where nothing is mounted at dir it mounts a fresh selinuxfs there
// to look (propagation made private first, see MakePrivate) and unmounts it again before
// returning: a fresh instance changes no SELinux state, and none is left for the init to
// find. procDir locates /proc/self/mountinfo.
func Inspect(procDir, dir string) (Nodes, error) {
	if isSelinuxfs(dir) {
		return Look(dir)
	}
	n := Nodes{Dir: dir, Fresh: true}
	if _, err := MakePrivate(procDir, dir); err != nil {
		return n, err
	}
	if err := unix.Mount("selinuxfs", dir, "selinuxfs", mountFlags, ""); err != nil {
		return n, &os.PathError{Op: "mount selinuxfs", Path: dir, Err: err}
	}
	looked, lerr := Look(dir)
	looked.Fresh = true
	// MNT_DETACH: nothing of ours holds it open, and a lazy unmount cannot be refused as busy.
	if err := unix.Unmount(dir, unix.MNT_DETACH); err != nil {
		return looked, errors.Join(lerr, &os.PathError{Op: "umount", Path: dir, Err: err})
	}
	return looked, lerr
}

// statSelinuxfs returns dir's statfs when dir is a selinuxfs mount, else an error naming
// dir (wrapping ErrNotSelinuxfs for another filesystem).
func statSelinuxfs(dir string) (unix.Statfs_t, error) {
	var st unix.Statfs_t
	if err := unix.Statfs(dir, &st); err != nil {
		return st, &os.PathError{Op: "statfs", Path: dir, Err: err}
	}
	if uint32(st.Type) != selinuxfsKind.magic {
		return st, fmt.Errorf("%s: %w (filesystem magic 0x%x)", dir, ErrNotSelinuxfs, uint32(st.Type))
	}
	return st, nil
}

// exists reports whether path exists; errors other than ENOENT are returned.
func exists(path string) (bool, error) {
	_, err := os.Lstat(path)
	switch {
	case err == nil:
		return true, nil
	case errors.Is(err, os.ErrNotExist):
		return false, nil
	}
	return false, err
}
