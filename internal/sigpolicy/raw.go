//go:build amd64 || arm64

package sigpolicy

import (
	"fmt"

	"golang.org/x/sys/unix"
)

// trampAddr is the entry of filterTramp (tramp_$GOARCH.s), the raw handler of the signals
// caught ByFilter and ByDiscard.
//
// The handler tells who sent a signal by its si_code: every code a
// process can give a signal it sends to another process is ≤ 0 (SI_USER from kill(2), SI_TKILL,
// SI_QUEUE from sigqueue(3), ...; the kernel refuses others from rt_sigqueueinfo(2) and
// pidfd_send_signal(2)), while codes > 0 come from the kernel itself: a real fault (SEGV_MAPERR,
// BUS_ADRERR, ...), seccomp (SYS_SECCOMP), SI_KERNEL. Matches Linux
// include/uapi/asm-generic/siginfo.h and kernel/signal.c (do_rt_sigqueueinfo).
var trampAddr uintptr

// forward holds, per signal, the Go runtime's handler that filterTramp passes real faults
// to; zero discards every delivery. It is written before the handler is installed and never
// again.
var forward [maxSignal + 1]uintptr

// installRaw installs filterTramp for every signal caught ByFilter or ByDiscard. It keeps
// the flags, mask and restorer of the Go runtime's own SIGSEGV handler (SA_SIGINFO,
// SA_ONSTACK: the runtime gives every thread a signal stack), so that a real fault reaches
// the runtime exactly as it would have without the filter.
func installRaw() error {
	var goAct sigaction
	if err := rtSigaction(unix.SIGSEGV, nil, &goAct); err != nil {
		return err
	}
	for _, r := range Table[1:] {
		if r.Catch != ByFilter && r.Catch != ByDiscard {
			continue
		}
		act := goAct
		if r.Catch == ByFilter {
			var old sigaction
			if err := rtSigaction(r.Signal, nil, &old); err != nil {
				return err
			}
			if old.handler == sigDfl || old.handler == sigIgn { // no runtime handler to pass faults to
				return fmt.Errorf("sigpolicy: the Go runtime has no handler for %s", Name(r.Signal))
			}
			if old.handler == trampAddr {
				continue // installed already
			}
			forward[r.Signal] = old.handler
			act = old
		}
		act.handler = trampAddr
		if err := rtSigaction(r.Signal, &act, nil); err != nil {
			return err
		}
	}
	return nil
}
