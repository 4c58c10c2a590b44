// Package supervise runs an application under nsinit when the container has no init of its
// own: nsinit forks the application and stays PID 1 (or a child subreaper when it is not
// PID 1), relays signals to it, reaps every zombie including re-parented orphans, and
// finally reports the application's exit status the way tini and catatonit do (the
// status, or 128+signal when a signal killed it).
//
// Which signal is relayed, reaped or ignored is sigpolicy.Table's rule, the same table the
// bring-up follows. The supervisor is event driven: it blocks in the Go runtime's signal
// delivery (SIGCHLD and the forwarded signals) and reaps with non-blocking wait4 sweeps, so an idle
// supervisor uses no CPU, and it keeps no per-child state, so its memory stays flat however
// many processes it reaps. See docs/supervise.md.
package supervise

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"os/signal"
	"time"

	"go.uber.org/zap"
	"golang.org/x/sys/unix"

	"github.com/nsinit/nsinit/internal/exitcode"
	"github.com/nsinit/nsinit/internal/sigpolicy"
)

// Options describe the application to run and how to supervise it.
type Options struct {
	// Argv is the application and its arguments. Unless Path is set, Argv[0] is resolved
	// through nsinit's PATH when it contains no slash. The application sees Argv[0] as given.
	Argv []string
	// Path, if non-empty, is the file to execute (for example an init already resolved
	// below the image root); Argv[0] is then only the name the application sees.
	Path string
	// Env is the application's environment; nil means nsinit's own (os.Environ).
	Env []string
	// ExecLabel, if non-empty, is the SELinux context the application is executed in. It is
	// written to /proc/thread-self/attr/exec on a locked OS thread, the application is
	// forked from that thread, and the context is cleared again.
	ExecLabel string
	// ProcessGroup puts the application in its own process group and relays signals to
	// the whole group instead of the application alone (tini -g). Descendants that leave
	// the group (setsid, setpgid) are not reached.
	ProcessGroup bool
	// Grace, when positive, is how long the application may take to exit after the first
	// relayed SIGTERM (or after ctx is cancelled) before it (or its group) gets SIGKILL.
	// Zero never escalates: the runtime's own stop timeout decides.
	Grace time.Duration
	// Log receives the supervisor's messages; nil discards them.
	Log *zap.Logger
}

// forwarded lists the signals the supervisor relays to the application (sigpolicy.Table,
// docs/supervise.md).
var forwarded = sigpolicy.Relayed()

// supervisor is the state of one Run.
type supervisor struct {
	log    *zap.Logger
	pid    int // the application
	target int // where relayed signals go: pid, or -pid for its process group
	reaped int // processes reaped other than the application
}

// Run starts the application and supervises it until it exits. It returns the status nsinit
// must exit with: the application's exit status, or 128+N when signal N killed it. An error
// means the application could not be started (the status is then exitcode.ExecFailed or
// exitcode.Usage) or, never expected, that its status was lost; the caller decides what a
// failure means (fail closed in enforcing mode).
//
// Cancelling ctx acts like a SIGTERM sent to the supervisor: SIGTERM is relayed (unless one
// already was), the grace period (if any) starts, and Run still returns only once the
// application has exited. Pass a context that signals do not cancel: Run relays signals
// itself.
func Run(ctx context.Context, o Options) (int, error) {
	log := o.Log
	if log == nil {
		log = zap.NewNop()
	}
	if len(o.Argv) == 0 || o.Argv[0] == "" {
		return exitcode.Usage, errors.New("supervise: no application given")
	}
	path := o.Path
	if path == "" {
		var err error
		if path, err = exec.LookPath(o.Argv[0]); err != nil {
			return exitcode.ExecFailed, fmt.Errorf("supervise: %w", err)
		}
	}
	env := o.Env
	if env == nil {
		env = os.Environ()
	}

	// No signal may crash or stop the supervisor (sigpolicy.Table: everything not relayed or
	// reaped is caught and discarded, for example SIGPIPE from a closed log pipe).
	if err := sigpolicy.Guard(); err != nil {
		log.Warn("signals", zap.Error(err))
	}
	// Subscribe before the fork so that no signal and no child exit is lost in between.
	// SIGCHLD gets its own channel: a buffer of one suffices because each delivery triggers
	// a sweep that reaps every exited child, and relayed signals can never crowd it out.
	chld := make(chan os.Signal, 1)
	signal.Notify(chld, unix.SIGCHLD)
	defer signal.Stop(chld)
	sigs := make(chan os.Signal, len(forwarded))
	signal.Notify(sigs, forwarded...)
	defer signal.Stop(sigs)
	// The signals the table ignores are subscribed to only to log them.
	ignored := make(chan os.Signal, len(sigpolicy.Table))
	signal.Notify(ignored, sigpolicy.Ignored(true)...)
	defer signal.Stop(ignored)

	if unix.Getpid() != 1 {
		// Orphans re-parent to the nearest subreaper ancestor instead of the namespace's
		// init, so that nsinit reaps them wherever it runs (catatonit does the same).
		if err := unix.Prctl(unix.PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0); err != nil {
			log.Warn("not PID 1 and cannot become a child subreaper: orphans will not be reaped by nsinit",
				zap.Error(os.NewSyscallError("prctl(PR_SET_CHILD_SUBREAPER)", err)))
		}
	}

	pid, err := spawn(path, o.Argv, env, o.ExecLabel, o.ProcessGroup, log)
	if err != nil {
		return exitcode.ExecFailed, fmt.Errorf("supervise: start %s: %w", path, err)
	}
	s := &supervisor{log: log, pid: pid, target: pid}
	if o.ProcessGroup {
		s.target = -pid
	}
	log.Info("started application", zap.Int("pid", pid), zap.String("path", path),
		zap.Strings("argv", o.Argv), zap.String("context", o.ExecLabel),
		zap.Bool("process_group", o.ProcessGroup), zap.Duration("grace", o.Grace))

	var (
		grace    *time.Timer
		kill     <-chan time.Time
		done     = ctx.Done()
		termSent bool
	)
	terminated := func() {
		termSent = true
		if o.Grace > 0 && grace == nil {
			grace = time.NewTimer(o.Grace)
			kill = grace.C
		}
	}
	// Zombies that existed before the subscription sent their SIGCHLD to nobody: sweep once.
	select {
	case chld <- unix.SIGCHLD:
	default: // a sweep is already due
	}
	for {
		select {
		case <-chld:
			ws, exited, err := s.reap()
			if err != nil {
				return exitcode.Failure, err
			}
			if exited {
				if grace != nil {
					grace.Stop()
				}
				return s.finish(ws), nil
			}
		case sig := <-ignored:
			if ce := log.Check(zap.DebugLevel, "ignored signal"); ce != nil {
				ce.Write(zap.String("signal", sigpolicy.Name(sig.(unix.Signal))))
			}
		case sig := <-sigs:
			s.signal(sig.(unix.Signal))
			if sig == unix.SIGTERM {
				terminated()
			}
		case <-done:
			done = nil
			if termSent {
				break // a relayed SIGTERM already asked it to stop; don't ask twice
			}
			log.Info("stop requested; relaying SIGTERM")
			s.signal(unix.SIGTERM)
			terminated()
		case <-kill:
			kill = nil
			log.Warn("application still running after the grace period; sending SIGKILL",
				zap.Duration("grace", o.Grace))
			s.signal(unix.SIGKILL)
		}
	}
}

// signal relays sig to the application or its process group. The application cannot have
// been reaped yet (Run returns as soon as it is), so its pid cannot have been reused.
func (s *supervisor) signal(sig unix.Signal) {
	err := unix.Kill(s.target, sig)
	if ce := s.log.Check(zap.DebugLevel, "relayed signal"); ce != nil {
		ce.Write(zap.Stringer("signal", sig), zap.Int("to", s.target), zap.Error(err))
	}
	if err != nil && err != unix.ESRCH {
		s.log.Warn("cannot relay signal", zap.Stringer("signal", sig), zap.Int("to", s.target),
			zap.Error(os.NewSyscallError("kill", err)))
	}
}

// reap collects every exited child without blocking. exited reports whether the
// application was among them, with its wait status.
func (s *supervisor) reap() (ws unix.WaitStatus, exited bool, err error) {
	for {
		var st unix.WaitStatus
		pid, err := unix.Wait4(-1, &st, unix.WNOHANG, nil)
		switch {
		case err == unix.EINTR:
			continue
		case err == unix.ECHILD && !exited:
			// Someone else waited for the application: its status is gone.
			return ws, false, fmt.Errorf("supervise: application (pid %d) vanished without a status: %w",
				s.pid, os.NewSyscallError("wait4", err))
		case err != nil || pid <= 0:
			return ws, exited, nil
		case pid == s.pid:
			ws, exited = st, true
		default:
			s.reaped++
			if ce := s.log.Check(zap.DebugLevel, "reaped"); ce != nil {
				ce.Write(zap.Int("pid", pid), zap.Int("status", statusOf(st)))
			}
		}
	}
}

// finish logs the application's end and returns the status nsinit exits with.
func (s *supervisor) finish(ws unix.WaitStatus) int {
	status := statusOf(ws)
	fields := []zap.Field{zap.Int("pid", s.pid), zap.Int("status", status), zap.Int("reaped", s.reaped)}
	if ws.Signaled() {
		fields = append(fields, zap.Stringer("signal", ws.Signal()), zap.Bool("core_dumped", ws.CoreDump()))
	}
	s.log.Info("application exited", fields...)
	return status
}

// statusOf maps a wait status to a shell-style exit status: the exit code, or 128+N for a
// process killed by signal N.
func statusOf(ws unix.WaitStatus) int {
	if ws.Signaled() {
		return 128 + int(ws.Signal())
	}
	return ws.ExitStatus()
}
