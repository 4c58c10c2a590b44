package supervise

import (
	"os"

	"golang.org/x/sys/unix"
)

// Realtime signals the supervisor can relay. The kernel's range is 32..64
// (include/uapi/asm-generic/signal.h: SIGRTMIN 32, SIGRTMAX _NSIG = 64); glibc reserves 32
// and 33 for its threads (its SIGRTMIN is 34) and musl also 34 (SIGSYNCCALL). The Go runtime
// reserves all three (runtime/sigtab_linux_generic.go, golang/go#39343): signal.Notify cannot
// catch them, so the first relayable one is glibc's SIGRTMIN+1. See docs/supervise.md.
const (
	sigRelayRTMin = 35 // glibc SIGRTMIN+1
	sigRTMax      = 64 // SIGRTMAX = _NSIG
)

// forwarded lists the signals the supervisor relays to the application: the termination,
// reload and job signals a runtime or an operator sends to PID 1, plus the realtime signals
// from SIGRTMIN+1 up (systemd-style SIGRTMIN+n requests). Signals that concern the supervisor itself are not
// relayed: SIGCHLD (it reaps), the synchronous faults (SIGSEGV, SIGBUS, SIGFPE, SIGILL,
// SIGTRAP, SIGSYS, SIGABRT), SIGPIPE, the terminal job-control signals (SIGTSTP, SIGTTIN,
// SIGTTOU, SIGCONT) and SIGURG, which the Go runtime uses for preemption. SIGKILL and
// SIGSTOP cannot be caught.
var forwarded = func() []os.Signal {
	s := []os.Signal{
		unix.SIGTERM, unix.SIGINT, unix.SIGHUP, unix.SIGQUIT,
		unix.SIGUSR1, unix.SIGUSR2, unix.SIGWINCH,
	}
	for n := sigRelayRTMin; n <= sigRTMax; n++ {
		s = append(s, unix.Signal(n))
	}
	return s
}()
