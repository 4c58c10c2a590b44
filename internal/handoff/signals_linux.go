//go:build linux && (amd64 || arm64)

package handoff

import (
	"unsafe"

	"golang.org/x/sys/unix"
)

// resetIgnoredSignals sets every signal that is ignored back to its default action. execve
// keeps ignored signals ignored (caught ones are reset by the kernel), so a disposition
// nsinit's own parent left behind — a runtime, a shell's nohup — would otherwise reach the
// init. It runs right before execve on the exec thread; it uses rt_sigaction directly
// because Go's os/signal cannot touch the signals its runtime reserves.
func resetIgnoredSignals() {
	for sig := 1; sig <= _NSIG; sig++ {
		if sig == int(unix.SIGKILL) || sig == int(unix.SIGSTOP) {
			continue
		}
		var old Sigaction
		if _, _, e := unix.RawSyscall6(unix.SYS_RT_SIGACTION, uintptr(sig), 0, uintptr(unsafe.Pointer(&old)), SigsetSize, 0, 0); e != 0 || old.Handler != SIG_IGN {
			continue
		}
		act := Sigaction{Handler: SIG_DFL}
		unix.RawSyscall6(unix.SYS_RT_SIGACTION, uintptr(sig), uintptr(unsafe.Pointer(&act)), 0, SigsetSize, 0, 0)
	}
}
