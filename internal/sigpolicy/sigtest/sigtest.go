// Package sigtest sends signals the ways a process can and watches them arrive, for the
// tests that try every signal against nsinit (internal/sigpolicy, internal/supervise and the
// real-kernel test application in test/vm).
package sigtest

import (
	"fmt"
	"os"
	"strconv"
	"strings"
	"time"
	"unsafe"

	"golang.org/x/sys/unix"
)

// Method is a way to send a signal.
type Method string

const (
	// Kill is kill(2): si_code SI_USER.
	Kill Method = "kill"
	// Queue is sigqueue(3): si_code SI_QUEUE, which the Go runtime mistakes for a real
	// fault when the signal is SIGSEGV and the like.
	Queue Method = "queue"
)

// siQueue is sigqueue(3)'s si_code.
//
// Matches Linux include/uapi/asm-generic/siginfo.h: SI_QUEUE.
const siQueue = -1

// Methods lists every Method.
var Methods = []Method{Kill, Queue}

// Send delivers sig to pid with m.
func Send(pid int, sig unix.Signal, m Method) error {
	switch m {
	case Kill:
		return os.NewSyscallError("kill", unix.Kill(pid, sig))
	case Queue:
		return queue(pid, sig)
	}
	return fmt.Errorf("sigtest: unknown method %q", m)
}

// queueInfo is the siginfo_t of a queued signal on 64-bit architectures: the common header,
// then (8-byte aligned) the _rt member of the union.
//
// Matches Linux include/uapi/asm-generic/siginfo.h: siginfo_t, __ARCH_SI_PREAMBLE_SIZE
// (4 ints), _sifields._rt (si_pid, si_uid, si_sigval), SI_MAX_SIZE 128.
type queueInfo struct {
	signo, errno, code, _ int32
	pid                   int32
	uid                   uint32
	value                 uint64
	_                     [128 - 32]byte
}

// queue sends sig to pid the way sigqueue(3) does: si_code SI_QUEUE, the sender's pid and
// uid.
func queue(pid int, sig unix.Signal) error {
	info := queueInfo{signo: int32(sig), code: siQueue, pid: int32(os.Getpid()), uid: uint32(os.Getuid())}
	_, _, errno := unix.RawSyscall(unix.SYS_RT_SIGQUEUEINFO, uintptr(pid), uintptr(sig), uintptr(unsafe.Pointer(&info)))
	if errno != 0 {
		return os.NewSyscallError("rt_sigqueueinfo", errno)
	}
	return nil
}

// Pending reports whether sig is pending for the process pid as a whole (ShdPnd in
// procDir/PID/status: kill(2) and sigqueue(3) direct signals at the process, not a thread).
func Pending(procDir string, pid int, sig unix.Signal) (bool, error) {
	path := fmt.Sprintf("%s/%d/status", procDir, pid)
	b, err := os.ReadFile(path)
	if err != nil {
		return false, err
	}
	for _, l := range strings.Split(string(b), "\n") {
		if v, ok := strings.CutPrefix(l, "ShdPnd:"); ok {
			mask, err := strconv.ParseUint(strings.TrimSpace(v), 16, 64)
			if err != nil {
				return false, fmt.Errorf("%s: ShdPnd: %w", path, err)
			}
			return mask&(1<<(sig-1)) != 0, nil
		}
	}
	return false, fmt.Errorf("%s: no ShdPnd line", path)
}

// WaitDelivered waits until the kernel has delivered sig to pid (it is no longer pending),
// so that whatever the signal does has begun. The limit only catches a hang: nothing is
// assumed about how fast a loaded machine delivers.
func WaitDelivered(procDir string, pid int, sig unix.Signal, limit time.Duration) error {
	until := time.Now().Add(limit)
	for pause := time.Millisecond; ; pause = min(2*pause, 100*time.Millisecond) {
		p, err := Pending(procDir, pid, sig)
		if err != nil || !p {
			return err
		}
		if time.Now().After(until) {
			return fmt.Errorf("signal %d still pending for pid %d after %v", int(sig), pid, limit)
		}
		time.Sleep(pause)
	}
}

// CrashDump reports whether a process's stderr holds a Go crash or panic dump.
func CrashDump(stderr string) bool {
	for _, s := range []string{"goroutine ", "panic:", "fatal error:", "PC=", "SIGSEGV:", "signal arrived"} {
		if strings.Contains(stderr, s) {
			return true
		}
	}
	return false
}
