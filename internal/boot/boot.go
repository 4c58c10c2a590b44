// Package boot is nsinit's bring-up as PID 1: a short list of named steps (sequence), run by
// one loop that times and logs them and applies one failure rule (Plan.Outcome). What the
// bring-up decides is a pure function of what it observed (Decide over Facts), shared with
// `nsinit status`.
//
// Failure rule (fail closed): when the effective mode is enforcing, or could not be
// determined, any failure stops the bring-up before the init runs. nsinit prints one
// emergency message (what failed, the file, the errno, what to do) and then, in a
// container, exits; as the machine's PID 1 it must not exit (the kernel would panic) and
// freezes instead, as systemd does. In permissive mode a failure is a warning and the init
// runs without SELinux; in disabled mode nothing is loaded.
package boot

import (
	"context"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"runtime/debug"
	"strings"
	"sync"
	"time"

	"go.uber.org/zap"

	"github.com/nsinit/nsinit/internal/config"
	"github.com/nsinit/nsinit/internal/detect"
	"github.com/nsinit/nsinit/internal/exitcode"
	"github.com/nsinit/nsinit/internal/firstboot"
	"github.com/nsinit/nsinit/internal/handoff"
	"github.com/nsinit/nsinit/internal/selinuxfs"
	"github.com/nsinit/nsinit/internal/supervise"
)

// Options are the bring-up's inputs (flags, in cmd/nsinit).
type Options struct {
	// Root holds etc/selinux/config, the policy and the init ("/" as PID 1).
	Root string
	// ProcDir and SysDir are where procfs and sysfs are (mounted if missing).
	ProcDir, SysDir string
	// SelinuxfsDir is where the fresh selinuxfs is mounted.
	SelinuxfsDir string
	// Mode is --mode (config.ModeUnset when not given).
	Mode config.Mode
	// Args are the words after "--": the init (or application) and its arguments
	// (handoff.Request.Command).
	Args []string
	// Words are the words before "--" the kernel hands the machine's PID 1, for the init
	// (handoff.Request.Words); the CLI accepts them only there.
	Words []string
	// ExecContext, when set, is written to the exec attribute before the exec.
	ExecContext string
	// Supervise, when set, makes nsinit stay PID 1 after the bring-up and run the target
	// as a supervised child (supervisor mode for images whose entrypoint is an
	// application); Supervise.Argv, Path, Env and ExecLabel are filled in by the bring-up.
	Supervise *supervise.Options
	// AssumeOwnNamespace is the dangerous override of detect.Options.
	AssumeOwnNamespace bool
	// Relabel is --relabel and Jobs --jobs, for the first-boot relabel step.
	Relabel firstboot.Policy
	Jobs    int
	// ResumeArgv is the command line that re-executes nsinit into the init's domain with
	// its state in descriptor fd (nil: nsinit does not re-execute itself); ResumeFD, when
	// not 0, makes this run the second stage, continuing from the state in that descriptor.
	ResumeArgv func(fd int) []string
	ResumeFD   int
	// StatusFile, when set, receives a Report when nsinit exits (--status-file).
	StatusFile string
	// Log receives one line per step; Console receives the emergency message (the console
	// or the container's log, even when the logger is JSON).
	Log     *zap.Logger
	Console io.Writer
}

// Run performs the bring-up and hands PID 1 over to the init. It returns only when the init
// could not be executed or the bring-up stopped; the result is the exit status.
func Run(ctx context.Context, o Options, sys System) int {
	status, _ := execute(ctx, o, sys)
	return status
}

// report records who decided the exit status, when --status-file asks for it.
func (b *bringUp) report(status int, by, reason string) int {
	if b.o.StatusFile == "" {
		return status
	}
	if err := writeReport(b.o.StatusFile, Report{By: by, Status: status, Reason: reason}); err != nil {
		b.log.Error("cannot write the status file", zap.Error(err))
	}
	return status
}

// execute is Run, also returning the plan in force at the end (for the tests that compare it
// with `nsinit status`).
func execute(ctx context.Context, o Options, sys System) (int, Plan) {
	b := &bringUp{o: o, sys: sys, log: o.Log, start: time.Now()}
	b.facts = Facts{Root: o.Root, FlagMode: o.Mode, Supervised: o.Supervise != nil}
	// Until the configuration is read the mode is unknown: failures fail closed.
	b.plan = Plan{ModeSource: "unknown: configuration not read yet"}
	b.resumeGC = pauseGC()
	defer b.resumeGC()
	if o.ResumeFD != 0 {
		return b.resume(ctx), b.plan
	}
	status := b.run(ctx)
	return status, b.plan
}

// bringUpHeapLimit bounds the heap while the collector is paused: the steps before the
// relabel allocate about 10 MB (the policy, its analysis), so the limit is reached only if
// something goes wrong, and then the collector runs again.
const bringUpHeapLimit = 64 << 20

// pauseGC turns the periodic collector off until the relabel step: the cycles a 4 MB heap
// target triggers while the policy is read and checked are pure cost (7 % of the
// bring-up's CPU under emulation, docs/performance.md). The function it returns restores
// the settings (idempotent): before the relabel, whose allocations grow with the tree, and
// at the end of the bring-up for the supervisor, which stays.
func pauseGC() func() {
	percent := debug.SetGCPercent(-1)
	limit := debug.SetMemoryLimit(bringUpHeapLimit)
	var once sync.Once
	return func() {
		once.Do(func() {
			debug.SetGCPercent(percent)
			debug.SetMemoryLimit(limit)
		})
	}
}

// bringUp carries the state of one bring-up.
type bringUp struct {
	o     Options
	sys   System
	log   *zap.Logger
	start time.Time
	facts Facts
	plan  Plan
	// fs is the fresh selinuxfs (after its step).
	fs *selinuxfs.FS
	// loaded is true once the policy is in the kernel.
	loaded bool
	// from is the first step to run (after domainStep in the second stage).
	from int
	// fields are what the running step reports in its log line, details what it reports
	// at debug level only (evidence, sizes, header fields): a boot console is slow, and
	// every byte on it is bring-up time.
	fields, details []zap.Field
	// summary collects the parts of the final summary line.
	summary []string
	// resumeGC ends pauseGC's pause.
	resumeGC func()
}

// step is one named stage of the bring-up. A step returns a Failure, or nil.
type step struct {
	name string
	run  func(b *bringUp, ctx context.Context) *Failure
	// selinux steps run only while the plan loads a policy.
	selinux bool
	// kernel steps (the load, the domain switch that needs it, the mode) are left out when
	// the init loads the policy itself (Plan.InitLoads).
	kernel bool
}

// sequence is the bring-up, in order. Detection comes first because it decides whether
// the kernel command line is ours to read; the init is chosen (in configure) before
// anything is touched; the relabel runs permissive, after the load and before the mode.
var sequence = []step{
	{name: "mount API filesystems", run: (*bringUp).mountAPI},
	{name: "detect", run: (*bringUp).detect},
	{name: "configure", run: (*bringUp).configure},
	{name: "mount selinuxfs", run: (*bringUp).mountSelinuxfs, selinux: true},
	{name: "read the policy", run: (*bringUp).readPolicy, selinux: true},
	{name: "load the policy", run: (*bringUp).loadPolicy, selinux: true, kernel: true},
	{name: domainStep, run: (*bringUp).enterDomain, selinux: true, kernel: true},
	{name: "relabel", run: (*bringUp).relabel, selinux: true},
	{name: "set the mode", run: (*bringUp).setMode, selinux: true, kernel: true},
}

// run is the one loop: each step is timed and logged, and its failure goes through the
// plan's failure rule.
func (b *bringUp) run(ctx context.Context) int {
	if pid := os.Getpid(); pid != 1 && !b.facts.Supervised {
		b.log.Warn("nsinit is not PID 1, so the init will not be either (systemd refuses to run as the system manager then; a runtime --init option puts another init first)", zap.Int("pid", pid))
	}
	for _, s := range sequence[b.from:] {
		if s.selinux && !b.plan.Load || s.kernel && b.plan.InitLoads {
			continue
		}
		if ctx.Err() != nil {
			return b.aborted(ctx)
		}
		t, before := time.Now(), usage()
		b.fields, b.details = nil, nil
		f := s.run(b, ctx)
		spent := usage().since(before)
		if ctx.Err() != nil {
			return b.aborted(ctx) // a step that was interrupted reports the interruption
		}
		if f != nil {
			if out := b.plan.Outcome(*f); out.Stop {
				return b.stop(*f, out)
			}
			b.log.Warn("continuing without SELinux because the mode is "+b.plan.Mode.String()+": failed to "+f.What,
				zap.Error(f.Err), zap.String("hint", f.Hint))
			b.plan.Load = false
			continue
		}
		b.log.Info(s.name, append(b.fields, zap.Duration("took", time.Since(t).Round(time.Microsecond)))...)
		if ce := b.log.Check(zap.DebugLevel, s.name+": details"); ce != nil {
			ce.Write(append(b.details, spent...)...)
		}
	}
	return b.handoff(ctx)
}

// stop ends the bring-up for f as out says.
func (b *bringUp) stop(f Failure, out Outcome) int {
	if !out.Emergency {
		b.log.Error("failed to "+f.What, zap.Error(f.Err), zap.String("hint", f.Hint))
		return b.report(out.Code, "nsinit", "failed to "+f.What)
	}
	var msg string
	switch b.plan.Mode {
	case config.ModeEnforcing:
		msg = fmt.Sprintf("enforcing mode requested (%s) but failed to %s: %v", b.plan.ModeSource, f.What, f.Err)
	case config.ModeUnset:
		msg = fmt.Sprintf("the SELinux mode is unknown (%s), so nsinit fails closed: failed to %s: %v", b.plan.ModeSource, f.What, f.Err)
	default:
		msg = fmt.Sprintf("failed to %s: %v", f.What, f.Err)
	}
	if f.Hint != "" {
		msg += "\n" + f.Hint
	}
	msg += "\nthe " + b.facts.noun() + " was NOT started."
	// Every line carries the prefix, so that a busy console still attributes it.
	msg = "nsinit: emergency: " + strings.ReplaceAll(msg, "\n", "\nnsinit: emergency: ")
	b.log.Error("fail closed", zap.String("step", f.What), zap.Error(f.Err))
	_ = b.log.Sync()
	fmt.Fprintln(b.o.Console, msg)
	b.report(out.Code, "nsinit", "failed to "+f.What)
	if out.Freeze {
		fmt.Fprintln(b.o.Console, "nsinit: freezing (PID 1 of the machine must not exit); fix the image and reboot")
		b.sys.Freeze()
	}
	return out.Code
}

// aborted stops the bring-up after a termination signal.
func (b *bringUp) aborted(ctx context.Context) int {
	cause := context.Cause(ctx)
	fmt.Fprintf(b.o.Console, "nsinit: bring-up aborted (%v); the %s was NOT started\n", cause, b.facts.noun())
	b.log.Error("aborted", zap.Error(cause))
	b.report(exitcode.Aborted, "nsinit", fmt.Sprintf("aborted (%v)", cause))
	if b.facts.MachinePID1 {
		fmt.Fprintln(b.o.Console, "nsinit: freezing (PID 1 of the machine must not exit)")
		b.sys.Freeze()
	}
	return exitcode.Aborted
}

// mountAPI mounts procfs and sysfs where missing; only then can the machine's PID 1 be
// told from a container's (a booting kernel mounts nothing for us).
func (b *bringUp) mountAPI(context.Context) *Failure {
	mounted, err := b.sys.MountAPI(b.o.ProcDir, b.o.SysDir)
	if err != nil {
		b.log.Warn("mounting API filesystems", zap.Error(err))
	}
	b.facts.MachinePID1 = b.sys.KernelPID1()
	b.plan.MachinePID1 = b.facts.MachinePID1
	b.fields = append(b.fields, zap.Strings("mounted", mounted))
	b.details = append(b.details, zap.Bool("machine_pid1", b.facts.MachinePID1))
	return nil
}

// detect classifies the SELinux situation.
func (b *bringUp) detect(context.Context) *Failure {
	det := b.sys.Detect(detect.Options{AssumeOwnNamespace: b.o.AssumeOwnNamespace})
	b.facts.Detection = det
	b.fields = append(b.fields, zap.Stringer("verdict", det.Verdict))
	b.details = append(b.details, zap.String("signal", det.Signal), zap.String("context", det.Context), zap.Strings("evidence", det.Evidence))
	return nil
}

// configure reads the config, the command line and the environment, chooses the init, and
// makes the plan.
func (b *bringUp) configure(context.Context) *Failure {
	for _, w := range b.facts.observeConfig(b.o.ProcDir, b.sys.Getenv, b.request()) {
		b.log.Warn(w)
	}
	b.plan = Decide(b.facts)
	if b.plan.Load {
		go prefetch(b.sys.Prefetch, b.plan.Layout.PolicyDir(), b.relabelRequest().options())
	}
	b.fields = append(b.fields, zap.Stringer("mode", b.plan.Mode), zap.String("from", string(b.plan.ModeSource)), zap.String("init", b.facts.Init.Path))
	b.details = append(b.details, zap.String("policy", b.plan.Layout.Dir), zap.String("plan", b.plan.Reason))
	if b.plan.Mode == config.ModeDisabled {
		b.summary = append(b.summary, "disabled")
	} else if b.plan.Verdict == detect.Initialized && b.plan.Problem == nil {
		b.summary = append(b.summary, "policy already loaded")
	}
	return b.plan.Problem
}

// request is what the command line says about the init.
func (b *bringUp) request() handoff.Request {
	return handoff.Request{Command: b.o.Args, Words: b.o.Words}
}

// mountSelinuxfs mounts a fresh selinuxfs and makes sure the load runs permissive (a boot
// with enforcing=1 starts enforcing, and relabelling rootfs is denied once enforcing; the
// final mode is set after the relabel).
func (b *bringUp) mountSelinuxfs(context.Context) *Failure {
	fs, mres, err := b.sys.MountSelinuxfs(b.o.SelinuxfsDir)
	if mres.UnmountErr != nil {
		b.log.Warn("could not unmount the inherited selinuxfs; mounting over it", zap.Error(mres.UnmountErr))
	}
	if err != nil {
		return &Failure{What: "mount selinuxfs", Err: err, Hint: "nsinit needs CAP_SYS_ADMIN in the initial user namespace to mount selinuxfs"}
	}
	b.fs = fs
	b.details = append(b.details, zap.String("dir", fs.Dir), zap.Bool("replaced_inherited", mres.Unmounted), zap.String("privatized", mres.Privatized))
	if on, err := fs.Enforce(); err == nil && on {
		if err := fs.SetEnforce(false); err != nil {
			return &Failure{What: "switch to permissive for the policy load and relabel", Err: err}
		}
	}
	return nil
}

// readPolicy asks the kernel its maximum version and reads the policy it can load.
func (b *bringUp) readPolicy(context.Context) *Failure {
	kernelMax, err := b.fs.PolicyVers()
	if err != nil {
		return &Failure{What: "read the kernel's policy version", Err: err}
	}
	b.facts.observePolicy(b.plan.Layout, kernelMax)
	b.plan = Decide(b.facts)
	if img := b.facts.Policy; img != nil {
		for _, w := range img.Warnings {
			b.log.Warn("policy", zap.String("warning", w))
		}
		b.fields = append(b.fields, zap.String("file", img.Path))
		b.details = append(b.details, zap.Int("version", img.Header.Version), zap.Bool("downgraded", img.Downgraded), zap.Int("kernel_max", kernelMax))
	}
	if b.plan.InitLoads {
		// The init's libselinux loads this file and sets this mode after the exec: one load.
		b.fields = append(b.fields, zap.String("load_left_to_init", b.facts.InitLoader))
		b.summary = append(b.summary, fmt.Sprintf("policy load left to %s (libselinux loads %s, %s)",
			b.plan.Init.Path, filepath.Base(b.plan.Policy.Path), b.plan.Mode))
	}
	return b.plan.Problem
}
