// Package selinuxfs is a thin, documented layer over the SELinux kernel filesystem
// (/sys/fs/selinux): mounting a fresh instance, and the nodes nsinit reads and writes before
// and after the policy load. It deliberately does not use go-selinux, which caches the mount
// point and the "enabled" answer on first use (go-dependencies-and-pid1.md §1.2): nsinit runs
// before a policy exists and must see the state change.
//
// Node semantics: libselinux (load_policy.c, setenforce.c, compute_create.c,
// check_context.c) and the kernel's security/selinux/selinuxfs.c.
package selinuxfs

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"

	"golang.org/x/sys/unix"
)

// DefaultDir is where libselinux and every init mount selinuxfs (SELINUXMNT).
const DefaultDir = "/sys/fs/selinux"

// mountFlags are libselinux's since 3.1: no MS_NODEV, because the null node must work.
const mountFlags = unix.MS_NOSUID | unix.MS_NOEXEC

// FS is one mounted selinuxfs instance, addressed by its directory.
type FS struct {
	Dir string
}

// Open returns the selinuxfs at dir without mounting or checking anything; the node
// accessors report errors when dir is not a selinuxfs. Used by `nsinit status` and tests.
func Open(dir string) *FS { return &FS{Dir: dir} }

// MountResult describes what Mount did, for the log.
type MountResult struct {
	// Privatized is the mount point MakePrivate made private first ("" if nothing was
	// shared).
	Privatized string
	// Unmounted is true when an inherited selinuxfs was unmounted first.
	Unmounted bool
	// UnmountErr is the tolerated failure to unmount an inherited instance (for example
	// inside a user namespace); the new instance is then mounted on top of it.
	UnmountErr error
}

// Mount mounts a fresh selinuxfs at dir (nosuid, noexec) and verifies it: the statfs magic
// must be SELINUX_MAGIC, the mount must be read-write and the load node writable. An
// inherited selinuxfs at dir (in a namespace it belongs to the parent, and every write to
// it fails with EPERM) is unmounted first; failure to do so is tolerated and reported.
// Neither the unmount nor the mount may reach another mount namespace: when the mount
// holding dir is shared, it is made private first (MakePrivate, with procDir's
// self/mountinfo), and if that fails nothing is mounted.
func Mount(procDir, dir string) (*FS, MountResult, error) {
	res, err := replace(procDir, dir, selinuxfsKind)
	if err != nil {
		return nil, res, err
	}
	fs := &FS{Dir: dir}
	if err := fs.Verify(); err != nil {
		return nil, res, err
	}
	return fs, res, nil
}

// fsKind names a filesystem type and its statfs magic (replace is tested with tmpfs).
type fsKind struct {
	name  string
	magic uint32
}

var selinuxfsKind = fsKind{"selinuxfs", uint32(unix.SELINUX_MAGIC)}

// replace makes dir's mount private where needed, unmounts an instance of k mounted there
// and mounts a fresh one.
func replace(procDir, dir string, k fsKind) (MountResult, error) {
	var res MountResult
	var err error
	if res.Privatized, err = MakePrivate(procDir, dir); err != nil {
		return res, err
	}
	if hasMagic(dir, k.magic) {
		if err := unix.Unmount(dir, 0); err != nil {
			res.UnmountErr = &os.PathError{Op: "umount", Path: dir, Err: err}
		} else {
			res.Unmounted = true
		}
	}
	if err := unix.Mount(k.name, dir, k.name, mountFlags, ""); err != nil {
		return res, &os.PathError{Op: "mount " + k.name, Path: dir, Err: err}
	}
	return res, nil
}

// hasMagic reports whether dir is the root or inside of a filesystem with that magic.
func hasMagic(dir string, magic uint32) bool {
	var st unix.Statfs_t
	return unix.Statfs(dir, &st) == nil && uint32(st.Type) == magic
}

// isSelinuxfs reports whether dir is a selinuxfs mount.
func isSelinuxfs(dir string) bool { return hasMagic(dir, selinuxfsKind.magic) }

// ErrNotSelinuxfs is returned (wrapped) when a directory is not a selinuxfs mount.
var ErrNotSelinuxfs = errors.New("not a selinuxfs mount")

// Verify checks that f.Dir is a writable selinuxfs: right magic, not mounted read-only
// (libselinux and go-selinux treat a read-only selinuxfs as "SELinux disabled"), and a
// writable load node.
func (f *FS) Verify() error {
	st, err := statSelinuxfs(f.Dir)
	if err != nil {
		return err
	}
	if st.Flags&unix.ST_RDONLY != 0 {
		return &os.PathError{Op: "verify selinuxfs", Path: f.Dir, Err: unix.EROFS}
	}
	if err := unix.Access(f.path("load"), unix.W_OK); err != nil {
		return &os.PathError{Op: "access(W_OK)", Path: f.path("load"), Err: err}
	}
	return nil
}

// IsMounted reports whether f.Dir is a selinuxfs mount (read-only or not).
func (f *FS) IsMounted() bool { return isSelinuxfs(f.Dir) }

func (f *FS) path(node string) string { return filepath.Join(f.Dir, node) }

// readNode returns the content of a node, trimmed of the NUL and newline the kernel adds.
func (f *FS) readNode(node string) (string, error) {
	b, err := os.ReadFile(f.path(node))
	if err != nil {
		return "", err
	}
	return strings.TrimRight(string(b), "\x00\n"), nil
}

// readInt parses a decimal node.
func (f *FS) readInt(node string) (int, error) {
	s, err := f.readNode(node)
	if err != nil {
		return 0, err
	}
	n, err := strconv.Atoi(strings.TrimSpace(s))
	if err != nil {
		return 0, &os.PathError{Op: "parse", Path: f.path(node), Err: err}
	}
	return n, nil
}

// writeNode opens node write-only (never creating it: selinuxfs nodes exist, and O_CREAT on
// a fake tree would hide a wrong path) and writes data in one write(2).
func (f *FS) writeNode(node string, data []byte) error {
	p := f.path(node)
	fd, err := os.OpenFile(p, os.O_WRONLY, 0)
	if err != nil {
		return err
	}
	n, err := fd.Write(data)
	cerr := fd.Close()
	switch {
	case err != nil:
		return err
	case n != len(data):
		return &os.PathError{Op: "write", Path: p, Err: fmt.Errorf("short write: %d of %d bytes", n, len(data))}
	case cerr != nil:
		return cerr
	}
	return nil
}

// PolicyVers returns the newest policy format the kernel accepts (the policyvers node; it is
// the kernel constant POLICYDB_VERSION_MAX, not the loaded policy's version).
func (f *FS) PolicyVers() (int, error) { return f.readInt("policyvers") }

// Enforce reports whether the namespace of this selinuxfs enforces.
func (f *FS) Enforce() (bool, error) {
	n, err := f.readInt("enforce")
	return n != 0, err
}

// SetEnforce writes "1" or "0" (no newline, as libselinux) to the enforce node.
func (f *FS) SetEnforce(on bool) error {
	v := []byte("0")
	if on {
		v = []byte("1")
	}
	return f.writeNode("enforce", v)
}

// Load writes a whole policy image to the load node in a single write(2): the kernel accepts
// only writes at offset 0, so a split write would fail. EINVAL means the kernel rejected the
// content (its reason is in the kernel log).
func (f *FS) Load(image []byte) error {
	p := f.path("load")
	fd, err := unix.Open(p, unix.O_RDWR|unix.O_CLOEXEC, 0)
	if err != nil {
		return &os.PathError{Op: "open", Path: p, Err: err}
	}
	defer unix.Close(fd)
	n, err := unix.Write(fd, image)
	if err != nil {
		return &os.PathError{Op: "write", Path: p, Err: err}
	}
	if n != len(image) {
		return &os.PathError{Op: "write", Path: p, Err: fmt.Errorf("short write: %d of %d bytes", n, len(image))}
	}
	return nil
}

// PolicyLoaded reports whether a policy is loaded in this selinuxfs's namespace: the class
// directory is empty until the first load.
func (f *FS) PolicyLoaded() (bool, error) {
	ents, err := os.ReadDir(f.path("class"))
	if err != nil {
		return false, err
	}
	return len(ents) > 0, nil
}

// MLS reports whether the loaded policy has MLS enabled.
func (f *FS) MLS() (bool, error) {
	n, err := f.readInt("mls")
	return n != 0, err
}

// ClassIndex returns the kernel's number for a security class (class/<name>/index); it is
// policy-defined, so it is read rather than assumed.
func (f *FS) ClassIndex(class string) (int, error) {
	if class == "" || strings.ContainsAny(class, "/\x00") {
		return 0, fmt.Errorf("invalid class name %q", class)
	}
	return f.readInt(filepath.Join("class", class, "index"))
}

// transact writes req to a transaction node and reads the reply on the same descriptor, as
// the selinuxfs "context", "create", ... nodes require.
func (f *FS) transact(node string, req []byte) ([]byte, error) {
	p := f.path(node)
	fd, err := os.OpenFile(p, os.O_RDWR, 0)
	if err != nil {
		return nil, err
	}
	defer fd.Close()
	if _, err := fd.Write(req); err != nil {
		return nil, err
	}
	buf := make([]byte, os.Getpagesize())
	n, err := fd.Read(buf)
	if err != nil {
		return nil, &os.PathError{Op: "read", Path: p, Err: err}
	}
	if i := bytes.IndexByte(buf[:n], 0); i >= 0 {
		n = i
	}
	return buf[:n], nil
}

// ComputeCreate returns the context the policy gives a new object of class tclass (a number
// from ClassIndex) created by scon from (or, for processes, by executing) tcon; for the
// process class it is the domain an exec of a tcon file lands in.
func (f *FS) ComputeCreate(scon, tcon string, tclass int) (string, error) {
	if err := validContext(scon); err != nil {
		return "", err
	}
	if err := validContext(tcon); err != nil {
		return "", err
	}
	out, err := f.transact("create", fmt.Appendf(nil, "%s %s %d", scon, tcon, tclass))
	if err != nil {
		return "", fmt.Errorf("compute_create(%s, %s, %d): %w", scon, tcon, tclass, err)
	}
	return string(out), nil
}

// CheckContext asks the loaded policy whether ctx is a valid context (EINVAL if not).
func (f *FS) CheckContext(ctx string) error {
	if err := validContext(ctx); err != nil {
		return err
	}
	// The context is written with its NUL, as libselinux does.
	if err := f.writeNode("context", append([]byte(ctx), 0)); err != nil {
		return fmt.Errorf("check context %q: %w", ctx, err)
	}
	return nil
}

// validContext rejects strings that cannot be a context and would corrupt a transaction
// request (embedded spaces or NULs).
func validContext(ctx string) error {
	if ctx == "" || strings.ContainsAny(ctx, " \x00\n") {
		return fmt.Errorf("invalid security context %q", ctx)
	}
	return nil
}
