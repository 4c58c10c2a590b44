package handoff

import (
	"unsafe"

	"golang.org/x/sys/unix"
)

// sigaction is the kernel's struct sigaction for rt_sigaction(2) on the 64-bit
// architectures nsinit targets (arch/x86/include/uapi/asm/signal.h,
// include/uapi/asm-generic/signal.h): handler, flags, restorer, mask.
type sigaction struct {
	handler  uintptr
	flags    uint64
	restorer uintptr
	mask     uint64
}

// sigIgn and sigDfl are SIG_IGN and SIG_DFL (include/uapi/asm-generic/signal-defs.h).
const (
	sigDfl = 0
	sigIgn = 1
	// numSignals is _NSIG on x86-64 and arm64.
	numSignals = 64
)

// resetIgnoredSignals sets every signal that is ignored back to its default action. execve
// keeps ignored signals ignored (caught ones are reset by the kernel), so a disposition
// nsinit's own parent left behind — a runtime, a shell's nohup — would otherwise reach the
// init. It runs right before execve on the exec thread; it uses rt_sigaction directly
// because Go's os/signal cannot touch the signals its runtime reserves.
func resetIgnoredSignals() {
	for sig := 1; sig <= numSignals; sig++ {
		if sig == int(unix.SIGKILL) || sig == int(unix.SIGSTOP) {
			continue
		}
		var old sigaction
		if _, _, e := unix.RawSyscall6(unix.SYS_RT_SIGACTION, uintptr(sig), 0, uintptr(unsafe.Pointer(&old)), 8, 0, 0); e != 0 || old.handler != sigIgn {
			continue
		}
		act := sigaction{handler: sigDfl}
		unix.RawSyscall6(unix.SYS_RT_SIGACTION, uintptr(sig), uintptr(unsafe.Pointer(&act)), 0, 8, 0, 0)
	}
}
