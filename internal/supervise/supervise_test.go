package supervise

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"golang.org/x/sys/unix"

	"github.com/nsinit/nsinit/internal/exitcode"
	"github.com/nsinit/nsinit/internal/procattr"
	"github.com/nsinit/nsinit/internal/sigpolicy"
	"github.com/nsinit/nsinit/internal/sigpolicy/sigtest"
)

// TestForwardSignals sends every relayed signal to the supervisor from outside (from the
// parent namespace in pid1 mode, where the kernel only delivers signals PID 1 handles) and
// checks that each one reaches the application.
func TestForwardSignals(t *testing.T) {
	forEachMode(t, func(t *testing.T, pidns bool) {
		s := startSupervisor(t, pidns, helperOpts{Argv: selfApp("record", "app")})
		ready := s.expect("app ready")
		wantPPID := s.cmd.Process.Pid
		if pidns {
			wantPPID = 1
		}
		if !strings.Contains(ready, fmt.Sprintf("ppid=%d ", wantPPID)) {
			t.Errorf("application not a child of the supervisor: %q, want ppid=%d", ready, wantPPID)
		}
		for _, sig := range forwarded {
			if sig == unix.SIGTERM {
				continue // last: the application exits on it
			}
			s.signal(sig.(unix.Signal))
			s.expect(fmt.Sprintf("app sig %d", sig.(unix.Signal)))
		}
		s.signal(unix.SIGTERM)
		s.expect("app sig 15")
		if got := s.wait(); got != 0 {
			t.Fatalf("exit status %d, want 0; stderr:\n%s", got, s.stderr)
		}
	})
}

// TestEverySignalFromInside has the application send every signal 1–64, with kill(2) and
// with sigqueue(3), to its supervisor (as PID 1 of its namespace: from inside it). The
// supervisor must survive all of them, relay exactly the relayed ones, and exit with the
// application's status.
func TestEverySignalFromInside(t *testing.T) {
	forEachMode(t, func(t *testing.T, pidns bool) {
		for _, m := range sigtest.Methods {
			t.Run(string(m), func(t *testing.T) {
				s := startSupervisor(t, pidns, helperOpts{Argv: selfApp("torture", string(m)), LogLevel: "info"})
				var figures string
				for l := range s.lines {
					if strings.HasPrefix(l, "torture fail") {
						t.Error(l)
					}
					if strings.HasPrefix(l, "torture "+string(m)) {
						figures = l
					}
				}
				if got := s.wait(); got != tortureStatus || sigtest.CrashDump(s.stderr.String()) {
					t.Fatalf("supervisor exit status %d, want the application's %d, and no crash; stderr:\n%s", got, tortureStatus, s.stderr)
				}
				t.Logf("supervisor (pidns=%v), signals from the application: %s; supervisor survived, exit status %d", pidns, figures, tortureStatus)
			})
		}
	})
}

// TestEverySignalFromOutside sends every signal 1–64 but SIGKILL and SIGSTOP, with kill(2)
// and with sigqueue(3), to the supervisor from the test (for PID 1: from the parent
// namespace). Relayed signals must reach the application, the others must not (a relayed
// marker, SIGRTMAX, arrives first), and the supervisor must survive to exit with the
// application's status.
func TestEverySignalFromOutside(t *testing.T) {
	forEachMode(t, func(t *testing.T, pidns bool) {
		for _, m := range sigtest.Methods {
			t.Run(string(m), func(t *testing.T) {
				s := startSupervisor(t, pidns, helperOpts{Argv: selfApp("record", "app"), LogLevel: "info"})
				s.expect("app ready")
				pid := s.cmd.Process.Pid
				counts := map[sigpolicy.Action]int{}
				for sig := unix.Signal(1); sig <= 64; sig++ {
					r := sigpolicy.Table[sig]
					if r.Supervisor == sigpolicy.Uncatchable || sig == unix.SIGTERM {
						continue // SIGTERM last: the application exits on it
					}
					if err := sigtest.Send(pid, sig, m); err != nil {
						t.Fatalf("%s: %v", sigpolicy.Name(sig), err)
					}
					if err := sigtest.WaitDelivered("/proc", pid, sig, time.Minute); err != nil {
						t.Fatalf("%v; stderr:\n%s", err, s.stderr)
					}
					counts[r.Supervisor]++
					want := sig
					if r.Supervisor != sigpolicy.Relay {
						s.signal(marker)
						want = marker
					}
					if l := s.expect("app sig"); l != fmt.Sprintf("app sig %d", want) {
						t.Fatalf("after %s (%s): got %q, want the application to get %s; stderr:\n%s",
							sigpolicy.Name(sig), r.Supervisor, l, sigpolicy.Name(want), s.stderr)
					}
				}
				s.signal(unix.SIGTERM)
				s.expect("app sig 15")
				counts[sigpolicy.Relay]++
				if got := s.wait(); got != 0 || sigtest.CrashDump(s.stderr.String()) {
					t.Fatalf("supervisor exit status %d, want the application's 0, and no crash; stderr:\n%s", got, s.stderr)
				}
				t.Logf("supervisor (pidns=%v), signals from outside with %s: relayed=%d ignored=%d reaped=%d; supervisor survived",
					pidns, m, counts[sigpolicy.Relay], counts[sigpolicy.Ignore], counts[sigpolicy.Reap])
			})
		}
	})
}

// TestProcessGroup checks that with ProcessGroup the application leads its own group and
// relayed signals reach the group's other members, and that without it they do not.
func TestProcessGroup(t *testing.T) {
	for _, tc := range []struct {
		group bool
		// member lists the signals the group member receives: SIGUSR1 only through the
		// supervisor, SIGTERM always (the application terminates it itself).
		member string
	}{
		{group: true, member: "member got 10 15"},
		{group: false, member: "member got 15"},
	} {
		t.Run(fmt.Sprintf("group=%v", tc.group), func(t *testing.T) {
			forEachMode(t, func(t *testing.T, pidns bool) {
				s := startSupervisor(t, pidns, helperOpts{Argv: selfApp("group"), ProcessGroup: tc.group})
				s.expect("app ready")
				s.signal(unix.SIGUSR1)
				s.expect("app sig 10")
				s.signal(unix.SIGTERM)
				s.expect("app sig 15")
				if l := s.expect("member got"); l != tc.member {
					t.Errorf("got %q, want %q", l, tc.member)
				}
				if got := s.wait(); got != 0 {
					t.Fatalf("exit status %d, want 0; stderr:\n%s", got, s.stderr)
				}
			})
		})
	}
	t.Run("leader", func(t *testing.T) {
		s := startSupervisor(t, false, helperOpts{Argv: selfApp("record", "app"), ProcessGroup: true})
		l := s.expect("app ready")
		var ppid, pgid, pid int
		if _, err := fmt.Sscanf(l, "app ready ppid=%d pgid=%d pid=%d", &ppid, &pgid, &pid); err != nil {
			t.Fatalf("%q: %v", l, err)
		}
		if pgid != pid {
			t.Errorf("application pid %d is in process group %d, want its own", pid, pgid)
		}
		s.signal(unix.SIGTERM)
		s.expect("app sig 15")
		s.wait()
	})
}

// reapedRE extracts the supervisor's count of reaped processes from its final log line.
var reapedRE = regexp.MustCompile(`"reaped": (\d+)`)

// reapedCount returns the "reaped" field of the supervisor's "application exited" line.
func reapedCount(t *testing.T, stderr string) int {
	t.Helper()
	m := reapedRE.FindStringSubmatch(stderr)
	if m == nil {
		t.Fatalf("no reaped count in the supervisor's log:\n%s", stderr)
	}
	n, _ := strconv.Atoi(m[1])
	return n
}

// TestOrphansReaped has the application create orphans (grandchildren whose parent exits)
// that live on and exit later: they must be re-parented to the supervisor, reaped by it,
// and leave no zombie behind.
func TestOrphansReaped(t *testing.T) {
	const n = 5
	forEachMode(t, func(t *testing.T, pidns bool) {
		s := startSupervisor(t, pidns, helperOpts{Argv: selfApp("orphans", strconv.Itoa(n)), LogLevel: "info"})
		s.expect("orphans started")
		l := s.expect("orphans reaped")
		if pidns && !strings.HasSuffix(l, "ppid 1") {
			t.Errorf("%q: application's parent is not PID 1", l)
		}
		if got := s.wait(); got != 0 {
			t.Fatalf("exit status %d, want 0; stderr:\n%s", got, s.stderr)
		}
		// Without the supervisor reaping them, orphans would go to the host's init and
		// still vanish; the count shows that the supervisor was their reaper.
		if got := reapedCount(t, s.stderr.String()); got != n {
			t.Errorf("supervisor reaped %d orphans, want %d", got, n)
		}
	})
}

// TestExitStatus checks that the application's exit status, or 128+signal, becomes the
// supervisor's.
func TestExitStatus(t *testing.T) {
	for _, tc := range []struct {
		name string
		argv []string
		term bool // send SIGTERM to the supervisor once the application is ready
		want int
	}{
		{"exit 0", selfApp("exit", "0"), false, 0},
		{"exit 7", selfApp("exit", "7"), false, 7},
		{"exit 255", selfApp("exit", "255"), false, 255},
		{"SIGKILL", selfApp("killself", "9"), false, 137},
		// The Go runtime turns a SIGSEGV into a panic (status 2): let a shell take it.
		{"SIGSEGV", []string{"sh", "-c", "ulimit -c 0; kill -SEGV $$"}, false, 139},
		{"relayed SIGTERM", selfApp("sleep"), true, 143},
		{"shell exit", []string{"sh", "-c", "exit 42"}, false, 42},
		// With Path, Argv[0] is only a name: it is not looked up.
		{"path", []string{"renamed-app", "app", "exit", "9"}, false, 9},
	} {
		t.Run(tc.name, func(t *testing.T) {
			forEachMode(t, func(t *testing.T, pidns bool) {
				o := helperOpts{Argv: tc.argv}
				if tc.argv[0] == "renamed-app" {
					o.Path = os.Args[0]
				}
				s := startSupervisor(t, pidns, o)
				if tc.term {
					s.expect("ready")
					s.signal(unix.SIGTERM)
				}
				if got := s.wait(); got != tc.want {
					t.Fatalf("exit status %d, want %d; stderr:\n%s", got, tc.want, s.stderr)
				}
			})
		})
	}
}

// TestBrokenLogPipe checks that a supervisor whose stderr reader went away still reports
// the application's status: a Go program dies of SIGPIPE writing to a broken stderr unless
// it catches the signal.
func TestBrokenLogPipe(t *testing.T) {
	forEachMode(t, func(t *testing.T, pidns bool) {
		r, w, err := os.Pipe()
		if err != nil {
			t.Fatal(err)
		}
		r.Close()
		defer w.Close()
		cmd := supervisorCmd(t, pidns, helperOpts{Argv: selfApp("exit", "7")})
		cmd.Stderr = w
		err = cmd.Run()
		ws := cmd.ProcessState.Sys().(syscall.WaitStatus)
		if ws.Signaled() || ws.ExitStatus() != 7 {
			t.Fatalf("supervisor ended with %v, want exit status 7", err)
		}
	})
}

// TestGrace checks the escalation to SIGKILL after a relayed SIGTERM, and that without a
// grace period the supervisor never escalates.
func TestGrace(t *testing.T) {
	forEachMode(t, func(t *testing.T, pidns bool) {
		t.Run("escalates", func(t *testing.T) {
			const grace = 300 * time.Millisecond
			s := startSupervisor(t, pidns, helperOpts{Argv: selfApp("ignore-term"), Grace: grace})
			s.expect("ready")
			start := time.Now()
			s.signal(unix.SIGTERM)
			if got := s.wait(); got != 137 {
				t.Fatalf("exit status %d, want 137 (SIGKILL); stderr:\n%s", got, s.stderr)
			}
			if d := time.Since(start); d < grace {
				t.Errorf("application killed after %v, before the %v grace period", d, grace)
			}
			if !strings.Contains(s.stderr.String(), "grace period; sending SIGKILL") {
				t.Errorf("escalation not logged:\n%s", s.stderr)
			}
		})
		t.Run("off", func(t *testing.T) {
			s := startSupervisor(t, pidns, helperOpts{Argv: selfApp("ignore-term")})
			s.expect("ready")
			s.signal(unix.SIGTERM)
			time.Sleep(500 * time.Millisecond)
			s.signal(unix.SIGUSR1) // the application's own way out: exit 3
			if got := s.wait(); got != 3 {
				t.Fatalf("exit status %d, want 3; stderr:\n%s", got, s.stderr)
			}
		})
		t.Run("context", func(t *testing.T) {
			// Cancelling Run's context relays SIGTERM and starts the grace period.
			s := startSupervisor(t, pidns, helperOpts{Argv: selfApp("ignore-term"),
				Grace: 100 * time.Millisecond, CancelAfter: 300 * time.Millisecond})
			s.expect("ready")
			if got := s.wait(); got != 137 {
				t.Fatalf("exit status %d, want 137; stderr:\n%s", got, s.stderr)
			}
			if !strings.Contains(s.stderr.String(), "stop requested") {
				t.Errorf("cancellation not logged:\n%s", s.stderr)
			}
		})
	})
}

// TestStartErrors checks that failures to start the application come back as errors
// before anything runs. Run executes in the test process here: it never gets to fork.
func TestStartErrors(t *testing.T) {
	marker := filepath.Join(t.TempDir(), "marker")
	garbage := filepath.Join(t.TempDir(), "garbage")
	if err := os.WriteFile(garbage, []byte("\x00\x01\x02\x03"), 0o755); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name  string
		o     Options
		want  int
		check func(t *testing.T, err error)
	}{
		{"no argv", Options{}, exitcode.Usage, nil},
		{"not found", Options{Argv: []string{"/nonexistent/app"}}, exitcode.ExecFailed,
			func(t *testing.T, err error) {
				if !errors.Is(err, os.ErrNotExist) {
					t.Errorf("error %v does not wrap ErrNotExist", err)
				}
			}},
		{"not in PATH", Options{Argv: []string{"nsinit-no-such-program"}}, exitcode.ExecFailed, nil},
		{"exec format", Options{Argv: []string{garbage}}, exitcode.ExecFailed,
			func(t *testing.T, err error) {
				if !errors.Is(err, unix.ENOEXEC) {
					t.Errorf("error %v does not wrap ENOEXEC", err)
				}
			}},
		{
			// No LSM here accepts this context (SELinux rejects an undefined one with
			// EINVAL too): the write fails, and the application must not run.
			"exec label rejected",
			Options{Argv: selfApp("touch", marker), ExecLabel: "nsinit_test_u:no_such_r:no_such_t:s0"},
			exitcode.ExecFailed,
			func(t *testing.T, err error) {
				var pe *os.PathError
				if !errors.As(err, &pe) || pe.Path != procattr.ExecPath || pe.Op != "write" {
					t.Errorf("error %v is not a write error on %s", err, procattr.ExecPath)
				}
				if !strings.Contains(err.Error(), `set exec context "nsinit_test_u:no_such_r:no_such_t:s0"`) {
					t.Errorf("error %q does not name the context", err)
				}
				if _, serr := os.Stat(marker); serr == nil {
					t.Error("the application ran although its exec context could not be set")
				}
			},
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, err := Run(context.Background(), tc.o)
			if err == nil {
				t.Fatalf("Run succeeded with status %d, want an error", got)
			}
			t.Logf("error: %v", err)
			if got != tc.want {
				t.Errorf("status %d, want %d", got, tc.want)
			}
			if tc.check != nil {
				tc.check(t, err)
			}
		})
	}
}

func TestStatusOf(t *testing.T) {
	for _, tc := range []struct {
		ws   unix.WaitStatus // raw wait(2) status
		want int
	}{
		{0x0000, 0},
		{0x0700, 7},
		{0xff00, 255},
		{0x0009, 137},          // SIGKILL
		{0x000f, 143},          // SIGTERM
		{0x0080 | 0x000b, 139}, // SIGSEGV, core dumped
		{0x0022, 162},          // SIGRTMIN
	} {
		if got := statusOf(tc.ws); got != tc.want {
			t.Errorf("statusOf(%#x) = %d, want %d", uint32(tc.ws), got, tc.want)
		}
	}
}
