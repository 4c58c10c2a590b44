package sigpolicy

import "golang.org/x/sys/unix"

// Signal numbers x/sys/unix has no names for.
//
// Matches Linux include/uapi/asm-generic/signal.h (SIGRTMIN 32, _NSIG 64) and glibc's
// nptl/pthreadP.h (SIGCANCEL = __SIGRTMIN, SIGSETXID = __SIGRTMIN + 1; the first realtime
// signal glibc hands to applications, SIGRTMIN, is therefore 34).
const (
	sigCancel = unix.Signal(32) // glibc SIGCANCEL, kernel SIGRTMIN
	sigSetxid = unix.Signal(33) // glibc SIGSETXID; the Go runtime's per-thread syscall signal
	sigRTMin  = unix.Signal(34) // glibc SIGRTMIN; musl's SIGSYNCCALL
	sigRTMin3 = unix.Signal(37) // glibc SIGRTMIN+3: systemd's and podman's stop signal
	sigRTMax  = unix.Signal(64) // SIGRTMAX = _NSIG
	maxSignal = 64
)
