//go:build linux && (amd64 || arm64)

package handoff

import "structs"

// Signal dispositions.
//
// Matches Linux include/uapi/asm-generic/signal-defs.h: SIG_DFL, SIG_IGN.
const (
	SIG_DFL = 0
	SIG_IGN = 1
)

// _NSIG is the number of signals, on x86-64 (arch/x86/include/uapi/asm/signal.h) and arm64
// (include/uapi/asm-generic/signal.h).
const _NSIG = 64

// Sigaction is the kernel's struct sigaction for rt_sigaction(2), the layout of x86-64 and
// arm64 (both define SA_RESTORER).
//
// Matches Linux include/uapi/asm-generic/signal.h (arch/x86/include/uapi/asm/signal.h):
//
//	struct sigaction {
//		__sighandler_t sa_handler;
//		unsigned long sa_flags;
//		__sigrestore_t sa_restorer;
//		sigset_t sa_mask;
//	};
type Sigaction struct {
	_ structs.HostLayout

	Handler  uintptr
	Flags    uint64
	Restorer uintptr
	Mask     uint64
}

// SigsetSize is sizeof(sigset_t), the sigsetsize argument of rt_sigaction(2).
const SigsetSize = 8
