package relabel

import (
	"os"
	"unsafe"

	"golang.org/x/sys/unix"
)

// Thin wrappers over the system calls of the hot path. They take NUL-terminated names that
// point into the worker's getdents buffer, so labelling an object allocates nothing; the
// x/sys/unix wrappers would copy every name into a new C string.

// xattrName is XATTR_NAME_SELINUX ("security.selinux", include/uapi/linux/xattr.h), NUL-terminated.
var xattrName = [...]byte{'s', 'e', 'c', 'u', 'r', 'i', 't', 'y', '.', 's', 'e', 'l', 'i', 'n', 'u', 'x', 0}

// Statx mask and flags (include/uapi/linux/stat.h, fcntl.h).
const (
	// statxMask asks for what the walk needs: type, inode, link count and mount id.
	statxMask = unix.STATX_TYPE | unix.STATX_MODE | unix.STATX_INO | unix.STATX_NLINK | unix.STATX_MNT_ID
	// statxNoFollow: never follow a final symlink, never trigger an automount.
	statxNoFollow = unix.AT_SYMLINK_NOFOLLOW | unix.AT_NO_AUTOMOUNT
)

// errnoErr turns a raw errno into an error without allocating for the common values.
func errnoErr(e unix.Errno) error {
	if e == 0 {
		return nil
	}
	return e
}

// syscall6 is unix.Syscall6 retried on EINTR: a signal handled while a call sleeps (an
// xattr write on a network or FUSE filesystem, a slow statx) must not fail the object.
func syscall6(nr, a1, a2, a3, a4, a5, a6 uintptr) (uintptr, unix.Errno) {
	for {
		r, _, e := unix.Syscall6(nr, a1, a2, a3, a4, a5, a6)
		if e != unix.EINTR {
			return r, e
		}
	}
}

// statxAt is statx(dirfd, name, flags, statxMask, st) with a NUL-terminated name.
func statxAt(dirfd int, name *byte, flags int, st *unix.Statx_t) error {
	_, e := syscall6(unix.SYS_STATX, uintptr(dirfd), uintptr(unsafe.Pointer(name)),
		uintptr(flags), statxMask, uintptr(unsafe.Pointer(st)), 0)
	return errnoErr(e)
}

// emptyPath is "" for statx(fd, "", AT_EMPTY_PATH).
var emptyPath = [1]byte{0}

// statxFd is statx of the open file fd itself.
func statxFd(fd int, st *unix.Statx_t) error {
	return statxAt(fd, &emptyPath[0], unix.AT_EMPTY_PATH|statxNoFollow, st)
}

// lgetxattr reads security.selinux of path (not following a final symlink) into buf and
// returns its length.
func lgetxattr(path *byte, buf []byte) (int, error) {
	n, e := syscall6(unix.SYS_LGETXATTR, uintptr(unsafe.Pointer(path)),
		uintptr(unsafe.Pointer(&xattrName[0])), uintptr(unsafe.Pointer(unsafe.SliceData(buf))), uintptr(len(buf)), 0, 0)
	return int(n), errnoErr(e)
}

// lsetxattr writes val as security.selinux of path (not following a final symlink), with
// XATTR_* flags.
func lsetxattr(path *byte, val []byte, flags uint32) error {
	_, e := syscall6(unix.SYS_LSETXATTR, uintptr(unsafe.Pointer(path)),
		uintptr(unsafe.Pointer(&xattrName[0])), uintptr(unsafe.Pointer(unsafe.SliceData(val))), uintptr(len(val)), uintptr(flags), 0)
	return errnoErr(e)
}

// fgetxattr reads security.selinux of the open file fd into buf.
func fgetxattr(fd int, buf []byte) (int, error) {
	n, e := syscall6(unix.SYS_FGETXATTR, uintptr(fd),
		uintptr(unsafe.Pointer(&xattrName[0])), uintptr(unsafe.Pointer(unsafe.SliceData(buf))), uintptr(len(buf)), 0, 0)
	return int(n), errnoErr(e)
}

// fsetxattr writes val as security.selinux of the open file fd (not an O_PATH fd: EBADF),
// with XATTR_* flags.
func fsetxattr(fd int, val []byte, flags uint32) error {
	_, e := syscall6(unix.SYS_FSETXATTR, uintptr(fd),
		uintptr(unsafe.Pointer(&xattrName[0])), uintptr(unsafe.Pointer(unsafe.SliceData(val))), uintptr(len(val)), uintptr(flags), 0)
	return errnoErr(e)
}

// xattrAt calls getxattrat or setxattrat (Linux >= 6.13; nr is unix.SYS_GETXATTRAT or
// unix.SYS_SETXATTRAT) on security.selinux of the NUL-terminated name in dirfd, never
// following a final symlink: one component resolved against an open directory, without the
// caller's working directory. flags are setxattrat's XATTR_CREATE/XATTR_REPLACE.
func xattrAt(nr uintptr, dirfd int, name *byte, buf []byte, flags uint32) (int, error) {
	a := XattrArgs{Value: uint64(uintptr(unsafe.Pointer(unsafe.SliceData(buf)))), Size: uint32(len(buf)), Flags: flags}
	n, e := syscall6(nr, uintptr(dirfd), uintptr(unsafe.Pointer(name)), unix.AT_SYMLINK_NOFOLLOW,
		uintptr(unsafe.Pointer(&xattrName[0])), uintptr(unsafe.Pointer(&a)), unsafe.Sizeof(a))
	return int(n), errnoErr(e)
}

// haveXattrAt reports whether getxattrat works here, by asking for the label of dirfd's
// directory: no such call (older kernels: ENOSYS) or a seccomp filter refusing it (EPERM)
// make the walk name objects through its working directory instead.
func haveXattrAt(dirfd int) bool {
	dot := [2]byte{'.', 0}
	var buf [256]byte
	_, err := xattrAt(unix.SYS_GETXATTRAT, dirfd, &dot[0], buf[:], 0)
	return err == nil || err == unix.ENODATA || err == unix.ERANGE || err == unix.ENOTSUP
}

// openSubdir opens the directory name (NUL-terminated) in dirfd for reading with openat2,
// refusing a symlink in its place (ELOOP) and a mount point (EXDEV): the mount check of
// every directory comes with its open.
func openSubdir(dirfd int, name *byte) (int, error) {
	how := unix.OpenHow{
		Flags:   unix.O_RDONLY | unix.O_DIRECTORY | unix.O_NOFOLLOW | unix.O_CLOEXEC | unix.O_NONBLOCK,
		Resolve: unix.RESOLVE_BENEATH | unix.RESOLVE_NO_SYMLINKS | unix.RESOLVE_NO_MAGICLINKS | unix.RESOLVE_NO_XDEV,
	}
	fd, e := syscall6(unix.SYS_OPENAT2, uintptr(dirfd), uintptr(unsafe.Pointer(name)),
		uintptr(unsafe.Pointer(&how)), unsafe.Sizeof(how), 0, 0)
	if e != 0 {
		return -1, e
	}
	return int(fd), nil
}

// openDirAt opens the directory name (NUL-terminated) in dirfd for reading, never following
// a symlink in its place: a directory swapped for a symlink gives ELOOP or ENOTDIR.
func openDirAt(dirfd int, name *byte) (int, error) {
	fd, e := syscall6(unix.SYS_OPENAT, uintptr(dirfd), uintptr(unsafe.Pointer(name)),
		unix.O_RDONLY|unix.O_DIRECTORY|unix.O_NOFOLLOW|unix.O_CLOEXEC|unix.O_NONBLOCK, 0, 0, 0)
	if e != 0 {
		return -1, e
	}
	return int(fd), nil
}

// openBeneath opens rel inside the directory dirfd with openat2, refusing symlinks in any
// component, magic links and (with noXDev) mount crossings: the way in for start paths and
// for revisiting hard links, so no path string can lead outside the tree.
func openBeneath(dirfd int, rel string, flags uint64, noXDev bool) (int, error) {
	how := unix.OpenHow{
		Flags:   flags | unix.O_CLOEXEC,
		Resolve: unix.RESOLVE_BENEATH | unix.RESOLVE_NO_SYMLINKS | unix.RESOLVE_NO_MAGICLINKS,
	}
	if noXDev {
		how.Resolve |= unix.RESOLVE_NO_XDEV
	}
	fd, err := unix.Openat2(dirfd, rel, &how)
	if err != nil {
		return -1, &os.PathError{Op: "openat2", Path: rel, Err: err}
	}
	return fd, nil
}
