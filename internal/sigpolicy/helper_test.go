package sigpolicy

// The tests run the real code in child processes: the test binary re-executes itself
// (TestMain dispatches on helperEnv) in a role, optionally as PID 1 of a new PID namespace.

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"go.uber.org/zap/zapcore"
	"golang.org/x/sys/unix"

	"github.com/nsinit/nsinit/internal/exitcode"
	"github.com/nsinit/nsinit/internal/logging"
	"github.com/nsinit/nsinit/internal/sigpolicy/sigtest"
)

// helperEnv marks a re-executed test binary; its value names the role.
const helperEnv = "NSINIT_SIGPOLICY_HELPER"

func TestMain(m *testing.M) {
	switch os.Getenv(helperEnv) {
	case "bringup":
		os.Exit(bringUpRole())
	case "fault":
		os.Exit(faultRole())
	case "exec":
		os.Exit(execRole())
	case "send": // send SIGNUM METHOD: signal the parent (PID 1 in a namespace)
		n, _ := strconv.Atoi(os.Args[1])
		if err := sigtest.Send(os.Getppid(), unix.Signal(n), sigtest.Method(os.Args[2])); err != nil {
			fmt.Fprintln(os.Stderr, err)
			os.Exit(1)
		}
		os.Exit(0)
	}
	os.Exit(m.Run())
}

// bringUpRole is a bring-up held open by the test: it runs BringUp as nsinit does and then,
// instead of mounting and loading, answers commands on stdin until ctx is cancelled. It exits
// as nsinit's bring-up does on an abort: status 6, the cause on stdout.
//
//	ping                reply "pong" (the process is alive and its goroutines run)
//	send SIGNUM METHOD  start a child that signals this process (from inside its namespace)
func bringUpRole() int {
	ctx, stop := BringUp(logging.New(os.Stderr, logging.Console, zapcore.DebugLevel))
	defer stop()
	fmt.Printf("ready pid=%d\n", os.Getpid())
	cmds := make(chan string)
	go func() {
		sc := bufio.NewScanner(os.Stdin)
		for sc.Scan() {
			cmds <- sc.Text()
		}
		close(cmds)
	}()
	for {
		select {
		case <-ctx.Done():
			var ae *AbortError
			cause := context.Cause(ctx)
			if !errors.As(cause, &ae) {
				fmt.Println("cancelled without an AbortError:", cause)
				return 100
			}
			fmt.Println("aborted", cause)
			return exitcode.Aborted
		case c, ok := <-cmds:
			if !ok {
				return 0
			}
			f := strings.Fields(c)
			switch {
			case len(f) == 1 && f[0] == "ping":
				fmt.Println("pong")
			case len(f) == 3 && f[0] == "send":
				cmd := exec.Command(os.Args[0], f[1], f[2])
				cmd.Env = append(os.Environ(), helperEnv+"=send")
				if out, err := cmd.CombinedOutput(); err != nil {
					fmt.Printf("send failed: %v %s\n", err, out)
				} else {
					fmt.Println("sent")
				}
			default:
				fmt.Println("unknown command", c)
			}
		}
	}
}

// faultRole checks that Guard keeps real faults real: a queued SIGSEGV to itself is
// dropped, and a nil dereference still becomes a recoverable Go panic.
func faultRole() int {
	if err := Guard(); err != nil {
		fmt.Println("guard:", err)
		return 1
	}
	if err := sigtest.Send(os.Getpid(), unix.SIGSEGV, sigtest.Queue); err != nil {
		fmt.Println("queue:", err)
		return 1
	}
	fmt.Println("survived queued SIGSEGV")
	fmt.Println("recovered:", nilDeref())
	return 0
}

// nilDeref dereferences a nil pointer and returns the panic it recovers.
func nilDeref() (r any) {
	defer func() { r = recover() }()
	var p *int
	*p = 1
	return nil
}

// execRole runs the bring-up's signal handling, stops it as the handoff does, and execs cat
// on its own status: the test reads the dispositions the init would start with.
func execRole() int {
	_, stop := BringUp(nil)
	stop()
	cat, err := exec.LookPath("cat")
	if err == nil {
		err = syscall.Exec(cat, []string{"cat", "/proc/self/status"}, os.Environ())
	}
	fmt.Println("exec:", err)
	return 1
}

// helper is a running helper process.
type helper struct {
	t      *testing.T
	cmd    *exec.Cmd
	stdin  *os.File
	lines  chan string
	stderr *lockedBuffer
}

// lockedBuffer collects a helper's stderr while the test reads it.
type lockedBuffer struct {
	mu sync.Mutex
	b  strings.Builder
}

func (l *lockedBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *lockedBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

// count returns how many times s occurs in the collected text.
func (l *lockedBuffer) count(s string) int { return strings.Count(l.String(), s) }

// startHelper starts the test binary in role, as PID 1 of a new PID namespace if pidns.
func startHelper(t *testing.T, role string, pidns bool) *helper {
	t.Helper()
	cmd := exec.Command(os.Args[0])
	cmd.Env = append(os.Environ(), helperEnv+"="+role)
	cmd.SysProcAttr = &unix.SysProcAttr{Pdeathsig: unix.SIGKILL}
	if pidns {
		cmd.SysProcAttr.Cloneflags = unix.CLONE_NEWPID
	}
	cmd.WaitDelay = 5 * time.Second
	r, w, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	cmd.Stdin = r
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	h := &helper{t: t, cmd: cmd, stdin: w, lines: make(chan string, 16), stderr: new(lockedBuffer)}
	cmd.Stderr = h.stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	r.Close()
	go func() {
		defer close(h.lines)
		sc := bufio.NewScanner(out)
		for sc.Scan() {
			h.lines <- sc.Text()
		}
	}()
	t.Cleanup(func() {
		w.Close()
		if cmd.ProcessState == nil {
			cmd.Process.Kill()
			cmd.Wait()
		}
	})
	return h
}

// deadline bounds every wait for a reply. It only catches a hang: on a loaded machine a
// reply may take long, and nothing is asserted about how long.
const deadline = 60 * time.Second

// next returns the next output line.
func (h *helper) next() (string, bool) {
	h.t.Helper()
	select {
	case l, ok := <-h.lines:
		return l, ok
	case <-time.After(deadline):
		h.t.Fatalf("no output for %v; stderr:\n%s", deadline, h.stderr)
	}
	return "", false
}

// expect returns the next line, which must start with prefix.
func (h *helper) expect(prefix string) string {
	h.t.Helper()
	l, ok := h.next()
	if !ok {
		h.t.Fatalf("output ended (%v), want %q; stderr:\n%s", h.wait(), prefix, h.stderr)
	}
	if !strings.HasPrefix(l, prefix) {
		h.t.Fatalf("got %q, want %q; stderr:\n%s", l, prefix, h.stderr)
	}
	return l
}

// command sends one command line to the helper.
func (h *helper) command(format string, args ...any) {
	h.t.Helper()
	if _, err := fmt.Fprintf(h.stdin, format+"\n", args...); err != nil {
		h.t.Fatalf("write command: %v (helper gone?); stderr:\n%s", err, h.stderr)
	}
}

// wait waits for the helper to exit and returns its wait status description.
func (h *helper) wait() string {
	h.stdin.Close()
	err := h.cmd.Wait()
	if st, ok := h.cmd.ProcessState.Sys().(syscall.WaitStatus); ok && h.cmd.ProcessState != nil {
		if st.Signaled() {
			return "killed by " + Name(st.Signal())
		}
		return "exit " + strconv.Itoa(st.ExitStatus())
	}
	return fmt.Sprint(err)
}

// delivered waits until the kernel has delivered sig to the helper.
func (h *helper) delivered(sig unix.Signal) {
	h.t.Helper()
	if err := sigtest.WaitDelivered("/proc", h.cmd.Process.Pid, sig, deadline); err != nil {
		h.t.Fatalf("%v; stderr:\n%s", err, h.stderr)
	}
}

// logged waits until the helper's stderr holds s at least n times.
func (h *helper) logged(s string, n int) {
	h.t.Helper()
	until := time.Now().Add(deadline)
	for pause := time.Millisecond; h.stderr.count(s) < n; pause = min(2*pause, 100*time.Millisecond) {
		if time.Now().After(until) {
			h.t.Fatalf("stderr has %q %d times after %v, want %d:\n%s", s, h.stderr.count(s), deadline, n, h.stderr)
		}
		time.Sleep(pause)
	}
}
