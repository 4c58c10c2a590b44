package sigpolicy

import (
	"os"
	"unsafe"

	"golang.org/x/sys/unix"
)

// Signal numbers x/sys/unix has no names for.
//
// Matches Linux include/uapi/asm-generic/signal.h (SIGRTMIN 32, _NSIG 64) and glibc's
// nptl/pthreadP.h (SIGCANCEL = __SIGRTMIN, SIGSETXID = __SIGRTMIN + 1; the first realtime
// signal glibc hands to applications, SIGRTMIN, is therefore 34).
const (
	sigCancel   = unix.Signal(32) // glibc SIGCANCEL, kernel SIGRTMIN
	sigSetxid   = unix.Signal(33) // glibc SIGSETXID; the Go runtime's per-thread syscall signal
	sigRTMin    = unix.Signal(34) // glibc SIGRTMIN; musl's SIGSYNCCALL
	sigRTMin3   = unix.Signal(37) // glibc SIGRTMIN+3: systemd's and podman's stop signal
	sigRTMax    = unix.Signal(64) // SIGRTMAX = _NSIG
	maxSignal   = 64
	sigsetBytes = maxSignal / 8 // the kernel's sigset_t, the sigsetsize argument of rt_sigaction
)

// sigaction is the kernel's struct sigaction for rt_sigaction(2) on architectures with
// SA_RESTORER (amd64, arm64).
//
// Matches Linux include/linux/signal_types.h: struct sigaction (__ARCH_HAS_SA_RESTORER).
type sigaction struct {
	handler  uintptr
	flags    uint64
	restorer uintptr
	mask     uint64
}

// rtSigaction is rt_sigaction(2): it installs act (unless nil) and returns the previous
// action in old (unless nil).
func rtSigaction(sig unix.Signal, act, old *sigaction) error {
	_, _, errno := unix.RawSyscall6(unix.SYS_RT_SIGACTION, uintptr(sig),
		uintptr(unsafe.Pointer(act)), uintptr(unsafe.Pointer(old)), sigsetBytes, 0, 0)
	if errno != 0 {
		return os.NewSyscallError("rt_sigaction("+Name(sig)+")", errno)
	}
	return nil
}
