// Package sigpolicy is nsinit's one signal policy: for each signal 1–64 what nsinit does
// during the bring-up and in supervisor mode, and how it is caught so that no signal, sent
// by anyone in any way, can crash or stop nsinit. See docs/supervise.md ("Signals").
//
// Three facts about a Go PID 1 shape it (Go 1.26, runtime/signal_unix.go sighandler,
// runtime/sigtab_linux_generic.go):
//
//   - Without os/signal, SIGTERM, SIGINT and SIGHUP make a Go program exit 2 (as PID 1 the
//     runtime cannot kill itself and falls back to exit), SIGQUIT dumps every goroutine and
//     exits 2, and SIGTSTP, SIGTTIN and SIGTTOU keep the kernel's default: stop.
//   - The runtime takes SIGSEGV, SIGBUS, SIGFPE, SIGILL, SIGTRAP, SIGSTKFLT and SIGSYS for
//     a fault of its own unless si_code is SI_USER or SI_TKILL. kill(2) reaches a
//     signal.Notify channel, but sigqueue(3) (SI_QUEUE) crashes the program with a stack
//     dump even when the signal is subscribed. A raw handler therefore drops these signals
//     when a process sent them and passes real faults to the runtime.
//   - Signals 32 and 34 keep the default disposition (terminate) in a static Go program and
//     os/signal cannot change that; a raw handler that returns catches them.
//
// Everything is caught with handlers, never with SIG_IGN: execve(2) resets handled signals
// to the default but keeps ignored ones ignored, and the init or the application must
// start with default dispositions.
package sigpolicy

import (
	"fmt"
	"os"
	"strings"

	"golang.org/x/sys/unix"
)

// Action is what nsinit does with a signal it receives.
type Action uint8

const (
	// Ignore: caught and discarded (logged at debug level).
	Ignore Action = iota + 1
	// Abort (bring-up only): stop the bring-up cleanly, exit 6; as the machine's PID 1
	// freeze instead, since its exit would panic the kernel.
	Abort
	// Relay (supervisor only): send the same signal to the application, or to its process
	// group with --process-group.
	Relay
	// Reap (supervisor only, SIGCHLD): collect every exited child.
	Reap
	// Uncatchable: SIGKILL and SIGSTOP, which the kernel handles itself (see the package
	// documentation of Table).
	Uncatchable
)

var actionNames = map[Action]string{Ignore: "ignore", Abort: "abort", Relay: "relay", Reap: "reap", Uncatchable: "uncatchable"}

// String returns the action's name as the documentation spells it.
func (a Action) String() string {
	if n, ok := actionNames[a]; ok {
		return n
	}
	return fmt.Sprintf("Action(%d)", uint8(a))
}

// Catch is how nsinit's handler for a signal is installed.
type Catch uint8

const (
	// ByNotify: os/signal (Go's handler, delivered to channels).
	ByNotify Catch = iota + 1
	// ByFilter: a raw handler that drops the signal when a process sent it (si_code ≤ 0)
	// and passes a real fault (si_code > 0) to the Go runtime, which panics as usual.
	ByFilter
	// ByDiscard: a raw handler that returns at once.
	ByDiscard
	// ByRuntime: the Go runtime's own handler, which uses the signal and ignores it when a
	// process sends it (preemption, profiling, per-thread syscalls).
	ByRuntime
	// NotCaught: SIGKILL and SIGSTOP.
	NotCaught
)

var catchNames = map[Catch]string{ByNotify: "os/signal", ByFilter: "fault filter", ByDiscard: "raw, discard", ByRuntime: "Go runtime", NotCaught: "—"}

// String names the way of catching as the documentation's table does.
func (c Catch) String() string {
	if n, ok := catchNames[c]; ok {
		return n
	}
	return fmt.Sprintf("Catch(%d)", uint8(c))
}

// Rule is the policy for one signal.
type Rule struct {
	Signal unix.Signal
	// BringUp is what happens from the start of nsinit until the exec of the init or the
	// start of the supervised application.
	BringUp Action
	// Supervisor is what happens while nsinit supervises the application.
	Supervisor Action
	// Catch is how the handler is installed, in both phases.
	Catch Catch
	// Note says why, for the documentation.
	Note string
}

// Table holds the rule of every signal 1–64, indexed by signal number (Table[0] is unused).
// It is the single statement of nsinit's signal behaviour: the bring-up (BringUp), the
// supervisor (Relayed) and docs/supervise.md (Markdown, checked by a test) all read it.
//
// SIGKILL and SIGSTOP are never caught. The kernel does not deliver them to the init of a
// PID namespace from inside that namespace (kernel/signal.c: SIGNAL_UNKILLABLE), so neither
// the application nor anything else in a container can kill or stop its PID 1, and nothing
// at all can kill or stop the machine's PID 1. A container's PID 1 does receive them from
// the parent namespace: SIGKILL ends it and the kernel then kills everything left in the
// container; SIGSTOP stops it (no reaping, no relaying) until SIGCONT from outside.
var Table = func() [maxSignal + 1]Rule {
	var t [maxSignal + 1]Rule
	set := func(sig unix.Signal, bringUp, sup Action, c Catch, note string) {
		t[sig] = Rule{Signal: sig, BringUp: bringUp, Supervisor: sup, Catch: c, Note: note}
	}
	const (
		stop  = "a request to stop"
		fault = "a fault signal: from a process it cannot mean a fault of nsinit's"
		job   = "terminal job control: the default would stop nsinit"
		own   = "concerns nsinit's own process"
	)
	set(unix.SIGHUP, Ignore, Relay, ByNotify, "reload request for the application")
	set(unix.SIGINT, Abort, Relay, ByNotify, stop+" (Ctrl-C; the kernel's Ctrl-Alt-Del)")
	set(unix.SIGQUIT, Ignore, Relay, ByNotify, "the Go default would dump goroutines and exit")
	set(unix.SIGILL, Ignore, Ignore, ByFilter, fault)
	set(unix.SIGTRAP, Ignore, Ignore, ByFilter, fault)
	set(unix.SIGABRT, Ignore, Ignore, ByNotify, "the Go default would dump goroutines and exit")
	set(unix.SIGBUS, Ignore, Ignore, ByFilter, fault)
	set(unix.SIGFPE, Ignore, Ignore, ByFilter, fault)
	set(unix.SIGKILL, Uncatchable, Uncatchable, NotCaught, "see below")
	set(unix.SIGUSR1, Ignore, Relay, ByNotify, "for the application")
	set(unix.SIGSEGV, Ignore, Ignore, ByFilter, fault)
	set(unix.SIGUSR2, Ignore, Relay, ByNotify, "for the application")
	set(unix.SIGPIPE, Ignore, Ignore, ByNotify, "a closed log pipe must not kill nsinit")
	set(unix.SIGALRM, Ignore, Ignore, ByNotify, own)
	set(unix.SIGTERM, Abort, Relay, ByNotify, stop+" (docker stop, kill)")
	set(unix.SIGSTKFLT, Ignore, Ignore, ByFilter, fault)
	set(unix.SIGCHLD, Ignore, Reap, ByNotify, "a child exited")
	set(unix.SIGCONT, Ignore, Ignore, ByNotify, job)
	set(unix.SIGSTOP, Uncatchable, Uncatchable, NotCaught, "see below")
	set(unix.SIGTSTP, Ignore, Ignore, ByNotify, job)
	set(unix.SIGTTIN, Ignore, Ignore, ByNotify, job)
	set(unix.SIGTTOU, Ignore, Ignore, ByNotify, job)
	set(unix.SIGURG, Ignore, Ignore, ByRuntime, "the Go runtime's preemption signal")
	set(unix.SIGXCPU, Ignore, Ignore, ByNotify, own)
	set(unix.SIGXFSZ, Ignore, Ignore, ByNotify, own)
	set(unix.SIGVTALRM, Ignore, Ignore, ByNotify, own)
	set(unix.SIGPROF, Ignore, Ignore, ByRuntime, "the Go runtime's profiling signal")
	set(unix.SIGWINCH, Ignore, Relay, ByNotify, "terminal resized")
	set(unix.SIGIO, Ignore, Ignore, ByNotify, own)
	set(unix.SIGPWR, Abort, Relay, ByNotify, stop+" (lxc-stop, power failure)")
	set(unix.SIGSYS, Ignore, Ignore, ByFilter, fault)
	set(sigCancel, Ignore, Ignore, ByDiscard, "glibc-internal (SIGCANCEL); the default would terminate a Go program")
	set(sigSetxid, Ignore, Ignore, ByRuntime, "glibc-internal (SIGSETXID); the Go runtime's per-thread syscall signal")
	set(sigRTMin, Ignore, Ignore, ByDiscard, "glibc's SIGRTMIN, musl-internal; os/signal cannot catch it")
	for sig := sigRTMin + 1; sig <= sigRTMax; sig++ {
		set(sig, Ignore, Relay, ByNotify, "realtime, for the application")
	}
	t[sigRTMin3].BringUp = Abort
	t[sigRTMin3].Note = stop + " (systemd's and podman's stop signal for an init)"
	return t
}()

// Lookup returns the rule for sig; ok is false outside 1–64.
func Lookup(sig unix.Signal) (r Rule, ok bool) {
	if sig < 1 || sig > maxSignal {
		return Rule{}, false
	}
	return Table[sig], true
}

// Name returns the signal's name: the kernel's for 1–31, glibc's numbering for the realtime
// signals (SIGRTMIN is 34), "signal N" otherwise.
func Name(sig unix.Signal) string {
	switch {
	case sig == sigCancel || sig == sigSetxid:
		return fmt.Sprintf("signal %d", int(sig))
	case sig == sigRTMin:
		return "SIGRTMIN"
	case sig == sigRTMax:
		return "SIGRTMAX"
	case sig > sigRTMin && sig < sigRTMax:
		return fmt.Sprintf("SIGRTMIN+%d", int(sig-sigRTMin))
	}
	if n := unix.SignalName(sig); n != "" {
		return n
	}
	return fmt.Sprintf("signal %d", int(sig))
}

// signals returns, in increasing order, the signals whose rule satisfies keep.
func signals(keep func(Rule) bool) []os.Signal {
	var s []os.Signal
	for _, r := range Table[1:] {
		if keep(r) {
			s = append(s, r.Signal)
		}
	}
	return s
}

// Aborts returns the signals that abort the bring-up (and `nsinit relabel`).
func Aborts() []os.Signal { return signals(func(r Rule) bool { return r.BringUp == Abort }) }

// Relayed returns the signals the supervisor relays to the application.
func Relayed() []os.Signal { return signals(func(r Rule) bool { return r.Supervisor == Relay }) }

// Ignored returns the signals os/signal delivers that phase discards: the caller subscribes
// to them only to log them.
func Ignored(supervisor bool) []os.Signal {
	return signals(func(r Rule) bool {
		a := r.BringUp
		if supervisor {
			a = r.Supervisor
		}
		return a == Ignore && r.Catch == ByNotify
	})
}

// Markdown renders Table as the Markdown table docs/supervise.md shows.
func Markdown() string {
	var b strings.Builder
	b.WriteString("| Signal | Bring-up | Supervisor | Caught by | Why |\n|---|---|---|---|---|\n")
	for i := 1; i <= maxSignal; i++ {
		r := Table[i]
		// Runs of realtime signals with the same rule are one row.
		j := i
		for j < maxSignal && Table[j+1].BringUp == r.BringUp && Table[j+1].Supervisor == r.Supervisor &&
			Table[j+1].Catch == r.Catch && Table[j+1].Note == r.Note && r.Signal > sigRTMin {
			j++
		}
		name := fmt.Sprintf("%d %s", i, Name(r.Signal))
		if j > i {
			name = fmt.Sprintf("%d–%d %s … %s", i, j, Name(r.Signal), Name(Table[j].Signal))
		}
		fmt.Fprintf(&b, "| %s | %s | %s | %s | %s |\n", name, r.BringUp, r.Supervisor, r.Catch, r.Note)
		i = j
	}
	return b.String()
}
