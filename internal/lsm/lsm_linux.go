package lsm

import (
	"errors"
	"fmt"
	"os"
	"unsafe"

	"golang.org/x/sys/unix"
)

// ErrUnexpectedReply is wrapped when a syscall succeeded but its answer does not have the
// shape the kernel interface promises (wrong count, LSM id, size or value).
var ErrUnexpectedReply = errors.New("unexpected reply")

// unshareOp names the call in errors and logs.
const unshareOp = "lsm_get_self_attr(LSM_ATTR_UNSHARE)"

// unshareBufSize is the buffer libselinux's is_selinux_unshared() passes: struct lsm_ctx
// followed by one byte, which is also what the kernel writes back: len = ALIGN(32+1, 8).
const unshareBufSize = 40

// SELinuxUnshared reports whether the calling thread's SELinux namespace was unshared and
// has no policy yet: lsm_get_self_attr(LSM_ATTR_UNSHARE, buf, &size, LSM_FLAG_SINGLE) with a
// 40-byte buffer {id=LSM_ID_SELINUX, flags=0, len=40, ctx_len=0}. The kernel answers one
// entry whose one-byte value is 1 only in a child namespace before its first policy load;
// it is 0 in the initial namespace, even one without a policy.
//
// Every error is an *os.SyscallError. Its Err is the errno when the call failed: ENOSYS
// (Linux < 6.8), EPERM (a seccomp filter), EOPNOTSUPP (SELinux inactive, or a kernel without
// SELinux namespace support), E2BIG (the kernel wants a bigger answer than the documented
// layout), others. When the call succeeded with an answer of the wrong shape, Err wraps
// ErrUnexpectedReply (and ErrMalformedCtx for a broken lsm_ctx).
func SELinuxUnshared() (bool, error) {
	buf := make([]byte, unshareBufSize)
	PutCtxHeader(buf, CtxHeader{ID: LSM_ID_SELINUX, Len: unshareBufSize})
	size := uint32(len(buf))
	n, err := getSelfAttr(LSM_ATTR_UNSHARE, buf, &size, LSM_FLAG_SINGLE)
	if err != nil {
		return false, os.NewSyscallError(unshareOp, err)
	}
	v, err := decodeUnshared(n, buf, size)
	if err != nil {
		return false, os.NewSyscallError(unshareOp, err)
	}
	return v, nil
}

// decodeUnshared interprets a successful LSM_ATTR_UNSHARE answer: n entries, size bytes of
// buf written.
func decodeUnshared(n int, buf []byte, size uint32) (bool, error) {
	if n != 1 {
		return false, fmt.Errorf("%w: %d entries, want 1", ErrUnexpectedReply, n)
	}
	if uint64(size) > uint64(len(buf)) {
		return false, fmt.Errorf("%w: size %d exceeds the %d-byte buffer", ErrUnexpectedReply, size, len(buf))
	}
	c, _, err := DecodeCtx(buf[:size])
	if err != nil {
		return false, fmt.Errorf("%w: %w", ErrUnexpectedReply, err)
	}
	switch {
	case c.ID != LSM_ID_SELINUX:
		return false, fmt.Errorf("%w: entry from LSM %s, want selinux", ErrUnexpectedReply, IDName(c.ID))
	case c.CtxLen != 1:
		return false, fmt.Errorf("%w: ctx_len %d, want 1", ErrUnexpectedReply, c.CtxLen)
	case c.Value[0] > 1:
		return false, fmt.Errorf("%w: value %d, want 0 or 1", ErrUnexpectedReply, c.Value[0])
	}
	return c.Value[0] == 1, nil
}

// getSelfAttr is the raw lsm_get_self_attr(2): it returns the number of entries written.
func getSelfAttr(attr uint64, buf []byte, size *uint32, flags uint32) (int, error) {
	var p unsafe.Pointer
	if len(buf) > 0 {
		p = unsafe.Pointer(&buf[0])
	}
	r, _, e := unix.Syscall6(unix.SYS_LSM_GET_SELF_ATTR, uintptr(attr), uintptr(p),
		uintptr(unsafe.Pointer(size)), uintptr(flags), 0, 0)
	if e != 0 {
		return 0, e
	}
	return int(r), nil
}

// maxModules bounds the id buffer ListModules grows to; the kernel has 14 LSMs today.
const maxModules = 1024

// ListModules returns the ids (LSM_ID_*) of the active LSMs, in the kernel's order:
// lsm_list_modules(2), Linux 6.8+, the syscall behind /sys/kernel/security/lsm. Errors are
// *os.SyscallError ("lsm_list_modules"), ENOSYS on older kernels.
func ListModules() ([]uint64, error) {
	ids := make([]uint64, 16)
	for {
		n, size, err := listModules(ids)
		if want := int(size / 8); errors.Is(err, unix.E2BIG) && want > len(ids) && want <= maxModules {
			ids = make([]uint64, want)
			continue
		}
		if err != nil {
			return nil, os.NewSyscallError("lsm_list_modules", err)
		}
		if n < 0 || n > len(ids) || uint64(n)*8 > uint64(size) {
			return nil, os.NewSyscallError("lsm_list_modules",
				fmt.Errorf("%w: %d ids in %d bytes", ErrUnexpectedReply, n, size))
		}
		return ids[:n], nil
	}
}

// listModules is the raw lsm_list_modules(2) into ids; it returns the count and the size in
// bytes the kernel reported (the required size when the error is E2BIG).
func listModules(ids []uint64) (n int, size uint32, err error) {
	size = uint32(len(ids) * 8)
	var p unsafe.Pointer
	if len(ids) > 0 {
		p = unsafe.Pointer(&ids[0])
	}
	r, _, e := unix.Syscall(unix.SYS_LSM_LIST_MODULES, uintptr(p), uintptr(unsafe.Pointer(&size)), 0)
	if e != 0 {
		return 0, size, e
	}
	return int(r), size, nil
}

// SetSelfAttr is the raw lsm_set_self_attr(2): set attribute attr of the calling thread
// from the lsm_ctx in ctx (size = len(ctx)). It returns the errno on failure.
func SetSelfAttr(attr uint64, ctx []byte, flags uint32) error {
	var p unsafe.Pointer
	if len(ctx) > 0 {
		p = unsafe.Pointer(&ctx[0])
	}
	_, _, e := unix.Syscall6(unix.SYS_LSM_SET_SELF_ATTR, uintptr(attr), uintptr(p),
		uintptr(len(ctx)), uintptr(flags), 0, 0)
	if e != 0 {
		return e
	}
	return nil
}

// Unshare gives the calling thread (only it: the call changes its credentials) a new SELinux
// namespace without a policy: lsm_set_self_attr(LSM_ATTR_UNSHARE, UnshareCtx(), 32, 0), what
// libselinux's selinux_unshare() calls. Callers lock the goroutine to its OS thread and exec
// from it. The error is an *os.SyscallError (UnshareOp) around the errno;
// UnshareErrorMeaning explains it.
func Unshare() error {
	if err := SetSelfAttr(LSM_ATTR_UNSHARE, UnshareCtx(), 0); err != nil {
		return os.NewSyscallError(UnshareOp, err)
	}
	return nil
}
