package sigpolicy

import (
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"golang.org/x/sys/unix"

	"github.com/nsinit/nsinit/internal/exitcode"
	"github.com/nsinit/nsinit/internal/sigpolicy/sigtest"
	"github.com/nsinit/nsinit/internal/testutil"
)

// TestTable checks the rules every signal must follow, whatever the table's details.
func TestTable(t *testing.T) {
	for sig := unix.Signal(1); sig <= maxSignal; sig++ {
		r, ok := Lookup(sig)
		if !ok || r.Signal != sig {
			t.Fatalf("signal %d: no rule", sig)
		}
		uncatchable := sig == unix.SIGKILL || sig == unix.SIGSTOP
		if uncatchable != (r.Catch == NotCaught) || uncatchable != (r.BringUp == Uncatchable) || uncatchable != (r.Supervisor == Uncatchable) {
			t.Errorf("%s: %+v: only SIGKILL and SIGSTOP are uncatchable", Name(sig), r)
		}
		if r.BringUp == Relay || r.BringUp == Reap || r.Supervisor == Abort {
			t.Errorf("%s: %+v: the bring-up has no application, the supervisor does not abort", Name(sig), r)
		}
		if r.BringUp == 0 || r.Supervisor == 0 || r.Catch == 0 || r.Note == "" {
			t.Errorf("%s: incomplete rule %+v", Name(sig), r)
		}
		// Go's runtime turns these into a crash unless a process sent them with kill or
		// tgkill: only the filter can tell (runtime/signal_unix.go, sighandler).
		fault := map[unix.Signal]bool{unix.SIGSEGV: true, unix.SIGBUS: true, unix.SIGFPE: true, unix.SIGILL: true,
			unix.SIGTRAP: true, unix.SIGSTKFLT: true, unix.SIGSYS: true}[sig]
		if fault != (r.Catch == ByFilter) {
			t.Errorf("%s: caught by %s; the fault signals, and only they, need the filter", Name(sig), r.Catch)
		}
		if (sig == 32 || sig == 34) != (r.Catch == ByDiscard) {
			t.Errorf("%s: caught by %s; 32 and 34, and only they, need the raw discarding handler", Name(sig), r.Catch)
		}
	}
	if got, want := fmt.Sprint(Aborts()), fmt.Sprint([]os.Signal{unix.SIGINT, unix.SIGTERM, unix.SIGPWR, sigRTMin3}); got != want {
		t.Errorf("Aborts() = %s, want %s", got, want)
	}
	if Table[unix.SIGCHLD].Supervisor != Reap || Table[unix.SIGTERM].Supervisor != Relay {
		t.Error("the supervisor must reap on SIGCHLD and relay SIGTERM")
	}
}

// TestNames checks the glibc numbering of the realtime signals.
func TestNames(t *testing.T) {
	for sig, want := range map[unix.Signal]string{1: "SIGHUP", 31: "SIGSYS", 32: "signal 32", 33: "signal 33",
		34: "SIGRTMIN", 37: "SIGRTMIN+3", 63: "SIGRTMIN+29", 64: "SIGRTMAX", 65: "signal 65"} {
		if got := Name(sig); got != want {
			t.Errorf("Name(%d) = %q, want %q", sig, got, want)
		}
	}
}

// TestDocs checks that docs/supervise.md shows Table as Markdown renders it, and that the
// exit status 6 text names the abort signals.
func TestDocs(t *testing.T) {
	b, err := os.ReadFile(filepath.Join(testutil.RepoRoot(t), "docs", "supervise.md"))
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(b), Markdown()) {
		t.Errorf("docs/supervise.md does not hold the signal table; it should read:\n%s", Markdown())
	}
	var meaning string
	for _, c := range exitcode.Codes {
		if c.Status == exitcode.Aborted {
			meaning = c.Meaning
		}
	}
	for _, s := range Aborts() {
		if !strings.Contains(meaning, Name(s.(unix.Signal))) {
			t.Errorf("exit status %d text %q does not name %s", exitcode.Aborted, meaning, Name(s.(unix.Signal)))
		}
	}
}

// role is where a bring-up helper runs and where its signals come from.
type role struct {
	name   string
	pidns  bool // PID 1 of a new PID namespace (root)
	inside bool // signals are sent by a process inside that namespace
}

var roles = []role{
	{name: "not-pid1"},
	{name: "pid1-from-outside", pidns: true},
	{name: "pid1-from-inside", pidns: true, inside: true},
}

// TestBringUpEverySignal sends every signal 1–64, with kill(2) and with sigqueue(3), to a
// process running BringUp: outside PID 1, and as PID 1 of a PID namespace from the parent
// namespace and from inside. Every abort signal must end it with status 6 and the cause; every
// other signal must leave it running (it answers a ping afterwards, ignored signals are
// logged) and, at the end, exiting normally without a crash dump. SIGKILL and SIGSTOP are sent
// only from inside a namespace, where the kernel must discard them.
func TestBringUpEverySignal(t *testing.T) {
	for _, ro := range roles {
		for _, method := range sigtest.Methods {
			t.Run(ro.name+"/"+string(method), func(t *testing.T) {
				if ro.pidns {
					testutil.RequireRoot(t)
				}
				survived, aborted, dropped := 0, 0, 0
				h := startHelper(t, "bringup", ro.pidns)
				h.expect("ready")
				ignoredLogs := 0
				for sig := unix.Signal(1); sig <= maxSignal; sig++ {
					r := Table[sig]
					if r.BringUp == Abort || (r.BringUp == Uncatchable && !ro.inside) {
						continue
					}
					h.signal(ro, sig, method)
					h.delivered(sig)
					if r.BringUp == Ignore && r.Catch == ByNotify {
						ignoredLogs++
						h.logged("ignored signal during the bring-up", ignoredLogs)
					}
					h.command("ping")
					h.expect("pong")
					if r.BringUp == Uncatchable {
						dropped++
					} else {
						survived++
					}
				}
				if got := h.wait(); got != "exit 0" || sigtest.CrashDump(h.stderr.String()) {
					t.Fatalf("after the ignored signals: %s, want exit 0 and no crash; stderr:\n%s", got, h.stderr)
				}
				for _, s := range Aborts() {
					sig := s.(unix.Signal)
					h := startHelper(t, "bringup", ro.pidns)
					h.expect("ready")
					h.signal(ro, sig, method)
					h.expect("aborted received " + Name(sig))
					if got, want := h.wait(), "exit "+strconv.Itoa(exitcode.Aborted); got != want || sigtest.CrashDump(h.stderr.String()) {
						t.Fatalf("%s: %s, want %s and no crash; stderr:\n%s", Name(sig), got, want, h.stderr)
					}
					aborted++
				}
				t.Logf("bring-up, %s, %s: %d signals tried: %d ignored and survived, %d aborted with status %d, %d discarded by the kernel",
					ro.name, method, survived+aborted+dropped, survived, aborted, exitcode.Aborted, dropped)
			})
		}
	}
}

// signal sends sig to the helper as ro says: from the test, or from a process the helper
// starts inside its namespace.
func (h *helper) signal(ro role, sig unix.Signal, method sigtest.Method) {
	h.t.Helper()
	if ro.inside {
		h.command("send %d %s", sig, method)
		h.expect("sent")
		return
	}
	if err := sigtest.Send(h.cmd.Process.Pid, sig, method); err != nil {
		h.t.Fatalf("%s: %v", Name(sig), err)
	}
}

// TestRealFaultsStillPanic checks that the filter passes real faults on to the Go runtime:
// a nil dereference is still a recoverable panic, after a queued SIGSEGV was dropped.
func TestRealFaultsStillPanic(t *testing.T) {
	h := startHelper(t, "fault", false)
	h.expect("survived queued SIGSEGV")
	h.expect("recovered: runtime error: invalid memory address or nil pointer dereference")
	if got := h.wait(); got != "exit 0" {
		t.Fatalf("%s, want exit 0; stderr:\n%s", got, h.stderr)
	}
}

// TestExecDefaults checks what the handoff's execve leaves to the init after BringUp and
// stop: no signal ignored, none caught, none blocked.
func TestExecDefaults(t *testing.T) {
	h := startHelper(t, "exec", false)
	got := map[string]string{}
	for {
		l, ok := h.next()
		if !ok {
			break
		}
		if k, v, ok := strings.Cut(l, ":"); ok && strings.HasPrefix(k, "Sig") {
			got[k] = strings.TrimSpace(v)
		}
	}
	h.wait()
	for _, k := range []string{"SigIgn", "SigCgt", "SigBlk"} {
		if got[k] != "0000000000000000" {
			t.Errorf("%s of the exec'd program = %q, want all zero; stderr:\n%s", k, got[k], h.stderr)
		}
	}
}
