//go:build !amd64 && !arm64

package sigpolicy

import (
	"errors"
	"runtime"
)

// installRaw has no trampoline to install on this architecture (tramp_amd64.s and
// tramp_arm64.s are the only ones): queued fault signals and signals 32 and 34 keep the Go
// runtime's behaviour, which Guard reports.
func installRaw() error {
	return errors.New("sigpolicy: no raw signal handler on " + runtime.GOARCH +
		": a queued SIGSEGV, SIGBUS, SIGFPE, SIGILL, SIGTRAP, SIGSTKFLT or SIGSYS, and signals 32 and 34, are fatal")
}

// ResetIgnored cannot reset ignored signals here: struct sigaction is defined for amd64 and
// arm64 only (abi_sigaction.go), so an ignored signal reaches the init as it reached nsinit.
func ResetIgnored() {}
