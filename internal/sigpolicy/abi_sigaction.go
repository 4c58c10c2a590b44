//go:build amd64 || arm64

package sigpolicy

import (
	"os"
	"structs"
	"unsafe"

	"golang.org/x/sys/unix"
)

// Signal dispositions.
//
// Matches Linux include/uapi/asm-generic/signal-defs.h: SIG_DFL, SIG_IGN.
const (
	sigDfl = 0
	sigIgn = 1
)

// sigsetBytes is sizeof(sigset_t), the sigsetsize argument of rt_sigaction(2).
const sigsetBytes = maxSignal / 8

// sigaction is the kernel's struct sigaction for rt_sigaction(2), the layout of the
// architectures with SA_RESTORER (x86-64, arm64).
//
// Matches Linux include/uapi/asm-generic/signal.h (arch/x86/include/uapi/asm/signal.h):
//
//	struct sigaction {
//		__sighandler_t sa_handler;
//		unsigned long sa_flags;
//		__sigrestore_t sa_restorer;
//		sigset_t sa_mask;
//	};
type sigaction struct {
	_ structs.HostLayout

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

// ResetIgnored sets every signal that is ignored back to its default action, right before
// an execve: execve keeps ignored signals ignored (caught ones are reset by the kernel), so
// a disposition nsinit's own parent left behind — a runtime, a shell's nohup — would
// otherwise reach the init. It uses rt_sigaction directly because Go's os/signal cannot
// touch the signals its runtime reserves. Signals it cannot query are left as they are.
func ResetIgnored() {
	for sig := unix.Signal(1); sig <= maxSignal; sig++ {
		if sig == unix.SIGKILL || sig == unix.SIGSTOP {
			continue
		}
		var old sigaction
		if rtSigaction(sig, nil, &old) != nil || old.handler != sigIgn {
			continue
		}
		_ = rtSigaction(sig, &sigaction{handler: sigDfl}, nil)
	}
}
