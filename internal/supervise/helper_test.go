package supervise

// The tests run real processes: the test binary re-executes itself (TestMain dispatches on
// helperEnv) as the supervisor, optionally as PID 1 of a new PID and mount namespace, and
// as the applications it supervises.

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"os/signal"
	"slices"
	"sort"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"go.uber.org/zap/zapcore"
	"golang.org/x/sys/unix"

	"github.com/nsinit/nsinit/internal/logging"
	"github.com/nsinit/nsinit/internal/sigpolicy/sigtest"
	"github.com/nsinit/nsinit/internal/testutil"
)

// helperEnv marks a re-executed test binary; os.Args[1] then names its role.
const helperEnv = "NSINIT_SUPERVISE_HELPER"

// helperOpts configures the "supervise" role; they travel in helperEnv.
type helperOpts struct {
	Path         string
	Argv         []string
	ProcessGroup bool
	Grace        time.Duration
	CancelAfter  time.Duration // cancel Run's context this long after the start
	PIDNS        bool          // running as PID 1 of a new namespace: mount a private /proc
	LogLevel     string
}

func TestMain(m *testing.M) {
	if v := os.Getenv(helperEnv); v != "" && len(os.Args) > 1 {
		switch os.Args[1] {
		case "supervise":
			os.Exit(superviseRole(v))
		case "app":
			os.Exit(appRole(os.Args[2:]))
		}
	}
	os.Exit(m.Run())
}

// superviseRole runs Run with the options encoded in v and exits with its status.
func superviseRole(v string) int {
	var o helperOpts
	if err := json.Unmarshal([]byte(v), &o); err != nil {
		fmt.Fprintln(os.Stderr, "helper options:", err)
		return 100
	}
	if o.PIDNS {
		// A private /proc for the new PID namespace, not propagated to the host.
		if err := unix.Mount("", "/", "", unix.MS_REC|unix.MS_PRIVATE, ""); err != nil {
			fmt.Fprintln(os.Stderr, "make / private:", err)
			return 100
		}
		if err := unix.Mount("proc", "/proc", "proc", unix.MS_NOSUID|unix.MS_NODEV|unix.MS_NOEXEC, ""); err != nil {
			fmt.Fprintln(os.Stderr, "mount proc:", err)
			return 100
		}
	}
	lvl, err := logging.ParseLevel(o.LogLevel)
	if err != nil {
		lvl = zapcore.DebugLevel
	}
	ctx := context.Background()
	if o.CancelAfter > 0 {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, o.CancelAfter)
		defer cancel()
	}
	status, err := Run(ctx, Options{
		Path:         o.Path,
		Argv:         o.Argv,
		ProcessGroup: o.ProcessGroup,
		Grace:        o.Grace,
		Log:          logging.New(os.Stderr, logging.Console, lvl),
	})
	if err != nil {
		fmt.Fprintln(os.Stderr, "supervise error:", err)
	}
	return status
}

// selfApp returns the argv that runs this test binary as the named application.
func selfApp(args ...string) []string {
	return append([]string{os.Args[0], "app"}, args...)
}

// appRole is an application under supervision. It reports on stdout, one line per event.
func appRole(args []string) int {
	if len(args) == 0 {
		return 100
	}
	// A test that fails kills its supervisor; in subreaper mode the application would
	// live on and keep the test's pipes open.
	unix.Prctl(unix.PR_SET_PDEATHSIG, uintptr(unix.SIGKILL), 0, 0, 0)
	switch args[0] {
	case "exit": // exit N
		n, _ := strconv.Atoi(args[1])
		return n
	case "killself": // killself SIGNUM
		n, _ := strconv.Atoi(args[1])
		unix.Kill(os.Getpid(), unix.Signal(n))
		time.Sleep(10 * time.Second)
		return 101
	case "sleep": // block with default dispositions until a signal kills us
		fmt.Println("ready")
		select {}
	case "nap": // nap DURATION, then exit 0
		d, _ := time.ParseDuration(args[1])
		time.Sleep(d)
		return 0
	case "record": // record NAME: report every relayed signal, exit 0 after SIGTERM
		return recordApp(args[1])
	case "member": // a process-group member: list what it got when SIGTERM arrives
		return memberApp()
	case "group":
		return groupApp()
	case "ignore-term": // ignore SIGTERM, exit 3 on SIGUSR1
		signal.Ignore(unix.SIGTERM)
		c := make(chan os.Signal, 1)
		signal.Notify(c, unix.SIGUSR1)
		fmt.Println("ready")
		<-c
		return 3
	case "torture": // torture METHOD: send every signal to the supervisor, check the relays
		return tortureApp(sigtest.Method(args[1]))
	case "orphans": // orphans N
		n, _ := strconv.Atoi(args[1])
		return orphansApp(n)
	case "fork-orphan": // start a grandchild that outlives us, print its pid, exit
		p, err := os.StartProcess(os.Args[0], selfApp("nap", "200ms"), &os.ProcAttr{})
		if err != nil {
			fmt.Println("error", err)
			return 1
		}
		fmt.Println(p.Pid)
		return 0
	case "touch": // touch FILE
		if err := os.WriteFile(args[1], nil, 0o644); err != nil {
			return 1
		}
		return 0
	}
	return 100
}

func recordApp(name string) int {
	c := make(chan os.Signal, len(forwarded))
	signal.Notify(c, forwarded...)
	fmt.Printf("%s ready ppid=%d pgid=%d pid=%d\n", name, os.Getppid(), unix.Getpgrp(), os.Getpid())
	for s := range c {
		fmt.Printf("%s sig %d\n", name, s.(unix.Signal))
		if s == unix.SIGTERM {
			return 0
		}
	}
	return 1
}

// tortureStatus is what tortureApp exits with when every signal did what the table says.
const tortureStatus = 42

// tortureApp runs sigtest.Torture against its supervisor, prints its figures and each
// discrepancy, and exits tortureStatus if there was none.
func tortureApp(m sigtest.Method) int {
	f, errs := sigtest.Torture(os.Getppid(), m, "/proc", forwarded, time.Minute)
	for _, err := range errs {
		fmt.Println("torture fail:", err)
	}
	fmt.Printf("torture %s: %s\n", m, f)
	if len(errs) > 0 {
		return 1
	}
	return tortureStatus
}

func memberApp() int {
	c := make(chan os.Signal, 8)
	signal.Notify(c, unix.SIGUSR1, unix.SIGTERM)
	fmt.Println("member ready")
	var got []int
	for s := range c {
		got = append(got, int(s.(unix.Signal)))
		if s == unix.SIGTERM {
			break
		}
	}
	// A signal relayed to the group just before SIGTERM may still be on its way (on a
	// loaded machine the two can be handled in either order): collect stragglers briefly,
	// and report the set in a stable order.
	for straggling := true; straggling; {
		select {
		case s := <-c:
			got = append(got, int(s.(unix.Signal)))
		case <-time.After(300 * time.Millisecond):
			straggling = false
		}
	}
	// SIGTERM can come twice (relayed to the group, and from the application itself):
	// the question is which signals arrived, not how often.
	sort.Ints(got)
	got = slices.Compact(got)
	words := make([]string, len(got))
	for i, g := range got {
		words[i] = strconv.Itoa(g)
	}
	fmt.Println("member got", strings.Join(words, " "))
	return 0
}

// groupApp starts a member of its process group, relays the member's lines, reports its own
// signals, and on SIGTERM terminates the member itself (whether or not the supervisor already
// signalled it) and exits once the member is gone.
func groupApp() int {
	c := make(chan os.Signal, 8)
	signal.Notify(c, unix.SIGUSR1, unix.SIGTERM)
	m := exec.Command(os.Args[0], selfApp("member")[1:]...)
	out, err := m.StdoutPipe()
	if err != nil {
		return 1
	}
	if err := m.Start(); err != nil {
		fmt.Println("error", err)
		return 1
	}
	lines := bufio.NewScanner(out)
	if !lines.Scan() || lines.Text() != "member ready" {
		return 1
	}
	fmt.Println("app ready")
	for s := range c {
		fmt.Printf("app sig %d\n", s.(unix.Signal))
		if s == unix.SIGTERM {
			break
		}
	}
	m.Process.Signal(unix.SIGTERM)
	for lines.Scan() {
		fmt.Println(lines.Text())
	}
	m.Wait()
	return 0
}

// orphansApp makes n orphans (each a grandchild whose parent exits at once), then checks
// that the supervisor reaps them: every orphan disappears from /proc, and no zombie is left
// whose parent is the supervisor (or, as PID 1 of a namespace, anywhere in it).
func orphansApp(n int) int {
	var pids []int
	for i := 0; i < n; i++ {
		out, err := exec.Command(os.Args[0], selfApp("fork-orphan")[1:]...).Output()
		pid, perr := strconv.Atoi(strings.TrimSpace(string(out)))
		if err != nil || perr != nil {
			fmt.Println("fork-orphan failed:", err, string(out))
			return 1
		}
		pids = append(pids, pid)
	}
	fmt.Println("orphans started", len(pids))
	deadline := time.Now().Add(10 * time.Second)
	for _, pid := range pids {
		for {
			st, err := procState(pid)
			if err != nil {
				break // reaped
			}
			if time.Now().After(deadline) {
				fmt.Printf("orphan %d not reaped: state %s\n", pid, st)
				return 1
			}
			time.Sleep(20 * time.Millisecond)
		}
	}
	zombies, err := zombiesOf(os.Getppid())
	if err != nil {
		fmt.Println("scan /proc:", err)
		return 1
	}
	if len(zombies) > 0 {
		fmt.Println("zombies left:", zombies)
		return 1
	}
	fmt.Println("orphans reaped", len(pids), "ppid", os.Getppid())
	return 0
}

// procState returns the state letter and parent of pid from /proc/PID/stat.
func procState(pid int) (string, error) {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return "", err
	}
	// "pid (comm) S ppid ...": comm may contain spaces, so split after the last ')'.
	f := strings.Fields(string(b[strings.LastIndexByte(string(b), ')')+1:]))
	return f[0] + " ppid=" + f[1], nil
}

// zombiesOf lists zombies whose parent is ppid; with ppid 1 (a namespace's init) every
// zombie in the namespace counts.
func zombiesOf(ppid int) ([]string, error) {
	ents, err := os.ReadDir("/proc")
	if err != nil {
		return nil, err
	}
	var zs []string
	for _, e := range ents {
		pid, err := strconv.Atoi(e.Name())
		if err != nil {
			continue
		}
		st, err := procState(pid)
		if err != nil {
			continue
		}
		if strings.HasPrefix(st, "Z") && (ppid == 1 || st == "Z ppid="+strconv.Itoa(ppid)) {
			zs = append(zs, fmt.Sprintf("%d(%s)", pid, st))
		}
	}
	return zs, nil
}

// supervised is a running supervisor started by a test.
type supervised struct {
	t      *testing.T
	cmd    *exec.Cmd
	lines  chan string
	stderr *strings.Builder
	done   chan struct{}
}

// supervisorCmd returns the command that runs the supervise role with o; pidns makes it
// PID 1 of new PID and mount namespaces.
func supervisorCmd(t *testing.T, pidns bool, o helperOpts) *exec.Cmd {
	t.Helper()
	o.PIDNS = pidns
	js, err := json.Marshal(o)
	if err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(os.Args[0], "supervise")
	cmd.Env = append(os.Environ(), helperEnv+"="+string(js))
	cmd.SysProcAttr = &unix.SysProcAttr{Pdeathsig: unix.SIGKILL}
	cmd.WaitDelay = 5 * time.Second
	if pidns {
		cmd.SysProcAttr.Cloneflags = unix.CLONE_NEWPID | unix.CLONE_NEWNS
	}
	return cmd
}

// startSupervisor starts the supervise role with o (see supervisorCmd) and collects its
// output.
func startSupervisor(t *testing.T, pidns bool, o helperOpts) *supervised {
	t.Helper()
	cmd := supervisorCmd(t, pidns, o)
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	s := &supervised{t: t, cmd: cmd, lines: make(chan string, 64), stderr: new(strings.Builder), done: make(chan struct{})}
	cmd.Stderr = s.stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	go func() {
		defer close(s.lines)
		sc := bufio.NewScanner(out)
		for sc.Scan() {
			s.lines <- sc.Text()
		}
	}()
	t.Cleanup(func() {
		if s.cmd.ProcessState == nil {
			s.cmd.Process.Kill()
			s.cmd.Wait()
		}
	})
	return s
}

// expect returns the next output line, which must start with prefix.
func (s *supervised) expect(prefix string) string {
	s.t.Helper()
	select {
	case l, ok := <-s.lines:
		if !ok {
			s.t.Fatalf("output ended, want %q; stderr:\n%s", prefix, s.stderr)
		}
		if !strings.HasPrefix(l, prefix) {
			s.t.Fatalf("got line %q, want prefix %q; stderr:\n%s", l, prefix, s.stderr)
		}
		return l
	case <-time.After(20 * time.Second):
		s.t.Fatalf("timed out waiting for %q; stderr:\n%s", prefix, s.stderr)
	}
	return ""
}

// signal sends sig to the supervisor from outside (for pidns: from the parent namespace).
func (s *supervised) signal(sig unix.Signal) {
	s.t.Helper()
	if err := unix.Kill(s.cmd.Process.Pid, sig); err != nil {
		s.t.Fatalf("kill supervisor: %v", err)
	}
}

// wait waits for the supervisor (and the end of its output) and returns its exit status.
func (s *supervised) wait() int {
	s.t.Helper()
	for range s.lines {
	}
	err := s.cmd.Wait()
	if _, ok := err.(*exec.ExitError); err != nil && !ok {
		s.t.Fatal(err)
	}
	ws := s.cmd.ProcessState.Sys().(syscall.WaitStatus)
	if ws.Signaled() {
		s.t.Fatalf("supervisor killed by %v; stderr:\n%s", ws.Signal(), s.stderr)
	}
	return ws.ExitStatus()
}

// modes are the two ways the supervisor runs: child subreaper on the host (any user), and
// PID 1 of a new PID namespace (root).
var modes = []struct {
	name  string
	pidns bool
}{{"subreaper", false}, {"pid1", true}}

// forEachMode runs f as a subtest per mode, skipping the namespace mode without root.
func forEachMode(t *testing.T, f func(t *testing.T, pidns bool)) {
	for _, m := range modes {
		t.Run(m.name, func(t *testing.T) {
			if m.pidns {
				testutil.RequireRoot(t)
			}
			f(t, m.pidns)
		})
	}
}

// marker is SIGRTMAX, which the signal tests have relayed after a signal that must not be.
const marker = unix.Signal(64)
