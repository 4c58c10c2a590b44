// Package sigtest sends signals the ways a process can and watches them arrive, for the
// tests that try every signal against nsinit (internal/sigpolicy, internal/supervise and the
// real-kernel test application in test/vm).
package sigtest

import (
	"fmt"
	"os"
	"os/signal"
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

// Figures counts what Torture sent.
type Figures struct {
	// Relayed signals came back to the application; Kept ones were not relayed and left
	// the supervisor running; Discarded ones (SIGKILL, SIGSTOP to a namespace's PID 1) the
	// kernel dropped.
	Relayed, Kept, Discarded int
}

// String formats the figures as key=value words.
func (f Figures) String() string {
	return fmt.Sprintf("relayed=%d kept=%d discarded=%d", f.Relayed, f.Kept, f.Discarded)
}

// Torture is run by a supervised application: it sends every signal 1–64 with m to its
// supervisor sup (when sup is 1, from inside the supervisor's PID namespace), procfs at
// procDir. Each signal in relayed must come back to the application; any other must not
// (the marker SIGRTMAX, relayed after it, comes back first). SIGKILL and SIGSTOP are sent
// only when sup is 1, where the kernel must discard them; to any other process they would
// do what they always do. Torture subscribes to the relayed signals itself, so that a
// relayed SIGTERM does not end the application. limit bounds each wait, only to catch a hang.
// It returns what it sent and every discrepancy; the supervisor's survival is the caller's
// to check (its exit status).
func Torture(sup int, m Method, procDir string, relayed []os.Signal, limit time.Duration) (Figures, []error) {
	const marker = unix.Signal(64)
	isRelayed := map[os.Signal]bool{}
	for _, s := range relayed {
		isRelayed[s] = true
	}
	if !isRelayed[marker] {
		return Figures{}, []error{fmt.Errorf("sigtest: the marker SIGRTMAX must be relayed")}
	}
	c := make(chan os.Signal, 2*len(relayed))
	signal.Notify(c, relayed...)
	defer signal.Stop(c)
	var f Figures
	var errs []error
	// await waits for want to come back, and reports anything else that arrives first.
	await := func(sent, want unix.Signal) bool {
		for {
			select {
			case s := <-c:
				if s == want {
					return true
				}
				errs = append(errs, fmt.Errorf("after signal %d: got signal %d, want %d", sent, s, want))
			case <-time.After(limit):
				errs = append(errs, fmt.Errorf("after signal %d: signal %d did not come back within %v", sent, want, limit))
				return false
			}
		}
	}
	for sig := unix.Signal(1); sig <= 64; sig++ {
		uncatchable := sig == unix.SIGKILL || sig == unix.SIGSTOP
		if uncatchable && sup != 1 {
			continue
		}
		if err := Send(sup, sig, m); err != nil {
			errs = append(errs, err)
			continue
		}
		if err := WaitDelivered(procDir, sup, sig, limit); err != nil {
			errs = append(errs, err)
			continue
		}
		switch {
		case isRelayed[sig]:
			if await(sig, sig) {
				f.Relayed++
			}
		default:
			if err := unix.Kill(sup, marker); err != nil {
				errs = append(errs, os.NewSyscallError("kill", err))
				continue
			}
			if await(sig, marker) {
				if uncatchable {
					f.Discarded++
				} else {
					f.Kept++
				}
			}
		}
	}
	return f, errs
}
