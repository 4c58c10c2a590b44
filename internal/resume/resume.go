// Package resume carries nsinit's bring-up across a re-exec of itself into another SELinux
// domain. The kernel lets a multithreaded process (every Go program) change its current
// context only into a domain bounded by the old one (security/selinux/hooks.c
// selinux_setprocattr, security_bounded_transition), so systemd's setcon after the policy
// load cannot be copied; an execve with the thread's exec attribute set can change domain,
// and keeps the PID. The state the second stage continues from travels in a memfd sealed
// against every change, whose descriptor number is named on a hidden flag: a stray
// environment variable or a typed word cannot produce one.
package resume

import (
	"fmt"
	"os"
	"runtime"

	"golang.org/x/sys/unix"

	"github.com/nsinit/nsinit/internal/procattr"
)

// Name is the memfd's name; /proc/self/fd/N of it reads "/memfd:" + Name + " (deleted)".
const Name = "nsinit-resume"

// Limit bounds the state read back (it is a few hundred bytes of JSON).
const Limit = 64 << 10

// seals are the seals a state memfd must carry: nothing can be written, resized or
// unsealed, by us or by anyone holding the descriptor (include/uapi/linux/fcntl.h).
const seals = unix.F_SEAL_SEAL | unix.F_SEAL_SHRINK | unix.F_SEAL_GROW | unix.F_SEAL_WRITE

// Seal returns a close-on-exec memfd holding data, sealed with seals.
func Seal(data []byte) (int, error) {
	if len(data) > Limit {
		return -1, fmt.Errorf("resume state of %d bytes exceeds %d", len(data), Limit)
	}
	fd, err := unix.MemfdCreate(Name, unix.MFD_CLOEXEC|unix.MFD_ALLOW_SEALING)
	if err != nil {
		return -1, os.NewSyscallError("memfd_create", err)
	}
	if err := writeAll(fd, data); err != nil {
		unix.Close(fd)
		return -1, err
	}
	if _, err := unix.FcntlInt(uintptr(fd), unix.F_ADD_SEALS, seals); err != nil {
		unix.Close(fd)
		return -1, os.NewSyscallError("fcntl(F_ADD_SEALS)", err)
	}
	return fd, nil
}

func writeAll(fd int, data []byte) error {
	for len(data) > 0 {
		n, err := unix.Write(fd, data)
		if err == unix.EINTR {
			continue
		}
		if err != nil {
			return os.NewSyscallError("write memfd", err)
		}
		data = data[n:]
	}
	return nil
}

// Read returns the state held by fd and closes fd. It refuses anything but what Seal made:
// a descriptor that is not a memfd named Name, one missing a seal (its content could still
// change), or one larger than Limit. procDir locates self/fd.
func Read(procDir string, fd int) ([]byte, error) {
	if fd <= 2 {
		return nil, fmt.Errorf("resume descriptor %d cannot be a state memfd (below 3: none, or a standard stream)", fd)
	}
	defer unix.Close(fd)
	link := fmt.Sprintf("%s/self/fd/%d", procDir, fd)
	target, err := os.Readlink(link)
	if err != nil {
		return nil, fmt.Errorf("resume descriptor %d: %w", fd, err)
	}
	if want := "/memfd:" + Name + " (deleted)"; target != want {
		return nil, fmt.Errorf("resume descriptor %d is %q, not nsinit's state memfd %q", fd, target, want)
	}
	got, err := unix.FcntlInt(uintptr(fd), unix.F_GET_SEALS, 0)
	if err != nil {
		return nil, fmt.Errorf("resume descriptor %d: %w", fd, os.NewSyscallError("fcntl(F_GET_SEALS)", err))
	}
	if got&seals != seals {
		return nil, fmt.Errorf("resume descriptor %d is not sealed against change (seals %#x, want %#x)", fd, got, seals)
	}
	var st unix.Stat_t
	if err := unix.Fstat(fd, &st); err != nil {
		return nil, fmt.Errorf("resume descriptor %d: %w", fd, os.NewSyscallError("fstat", err))
	}
	if st.Size > Limit {
		return nil, fmt.Errorf("resume descriptor %d holds %d bytes, more than %d", fd, st.Size, Limit)
	}
	buf := make([]byte, st.Size)
	for off := 0; off < len(buf); {
		n, err := unix.Pread(fd, buf[off:], int64(off))
		if err == unix.EINTR {
			continue
		}
		if err != nil {
			return nil, fmt.Errorf("resume descriptor %d: %w", fd, os.NewSyscallError("pread", err))
		}
		if n == 0 {
			return nil, fmt.Errorf("resume descriptor %d: short read (%d of %d bytes)", fd, off, len(buf))
		}
		off += n
	}
	return buf, nil
}

// Self is the running program, as the kernel knows it (the file, not a path that may have
// changed since).
const Self = "/proc/self/exe"

// Exec re-executes the running program as the same process, in the domain execContext, with
// the state in a sealed memfd: argv(fd) gives the argument vector naming the descriptor. It
// returns only on failure, with the exec attribute cleared and the memfd closed, so that the
// caller can go on as before. The goroutine stays locked to its OS thread (the exec
// attribute is per thread; see handoff.Exec).
func Exec(argv func(fd int) []string, env []string, execContext string, state []byte) error {
	fd, err := Seal(state)
	if err != nil {
		return err
	}
	defer unix.Close(fd)
	runtime.LockOSThread()
	if err := procattr.SetExec(execContext); err != nil {
		return fmt.Errorf("set exec context %q: %w", execContext, err)
	}
	// Inherited only by this exec: set close-on-exec again if it fails.
	if _, err := unix.FcntlInt(uintptr(fd), unix.F_SETFD, 0); err != nil {
		_ = procattr.SetExec("")
		return os.NewSyscallError("fcntl(F_SETFD)", err)
	}
	err = unix.Exec(Self, argv(fd), env)
	_, _ = unix.FcntlInt(uintptr(fd), unix.F_SETFD, unix.FD_CLOEXEC)
	_ = procattr.SetExec("")
	return &os.PathError{Op: "execve", Path: Self + " as " + execContext, Err: err}
}
