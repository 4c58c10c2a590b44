// Package boot is nsinit's bring-up sequence as PID 1: detect, configure, mount selinuxfs,
// load the policy, relabel, set the mode, hand off — with one failure policy for all steps.
//
// Failure policy (fail closed): when the effective mode is enforcing, any failure of
// detection, configuration, mount, load, relabel or the mode switch stops the bring-up
// before the init runs. nsinit prints one emergency message (what failed, the file, the
// errno, what to do) and then, in a container, exits with exitcode.FailClosed; as the
// kernel's PID 1 it must not exit (the kernel would panic) and freezes instead, as systemd
// does. In permissive mode the failure is a warning and the init runs; in disabled mode
// nothing is loaded.
package boot

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"time"

	"go.uber.org/zap"

	"github.com/nsinit/nsinit/internal/config"
	"github.com/nsinit/nsinit/internal/detect"
	"github.com/nsinit/nsinit/internal/exitcode"
	"github.com/nsinit/nsinit/internal/handoff"
	"github.com/nsinit/nsinit/internal/loadpolicy"
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
	// Relabel runs after the policy load and before the mode switch (first-boot relabel,
	// API filesystems in a namespace); nil skips the step.
	Relabel RelabelFunc
	// Downgrade converts a policy newer than the kernel (nil: refuse such policies).
	Downgrade loadpolicy.DowngradeFunc
	// Log receives one line per step; Console receives the emergency message (the console
	// or the container's log, even when the logger is JSON).
	Log     *zap.Logger
	Console io.Writer
}

// RelabelRequest tells the relabel step what the bring-up knows.
type RelabelRequest struct {
	Root   string
	Layout config.Layout
	// AtBoot is true for the kernel's PID 1 (the kernel command line applies).
	AtBoot bool
	// Cmdline is the parsed kernel command line (zero outside a boot).
	Cmdline config.Cmdline
	// Namespace is true in a freshly unshared namespace (API filesystems need relabelling).
	Namespace bool
}

// RelabelFunc relabels what the policy load made stale; a non-nil error means labels may be
// incomplete. It returns a one-line summary for the log.
type RelabelFunc func(ctx context.Context, req RelabelRequest) (summary string, err error)

// System is every side effect of the bring-up, replaceable in tests.
type System struct {
	Getenv  func(string) string
	Environ func() []string
	// KernelPID1 reports whether we are PID 1 of the initial PID namespace (exiting would
	// panic the kernel).
	KernelPID1 func() bool
	// MountAPI mounts procfs and sysfs where they are missing.
	MountAPI func(procDir, sysDir string) ([]string, error)
	Detect   func(detect.Options) detect.Result
	// MountSelinuxfs mounts a fresh selinuxfs (selinuxfs.Mount).
	MountSelinuxfs func(dir string) (*selinuxfs.FS, selinuxfs.MountResult, error)
	// CurrentContext and FileContext read our context and a file's label.
	CurrentContext func() (string, error)
	FileContext    func(path string) (string, error)
	Exec           handoff.ExecFunc
	// Supervise runs the target as a supervised child and returns its exit status.
	Supervise func(ctx context.Context, o supervise.Options) (int, error)
	// BeforeHandoff runs right before the exec or the supervisor (stop the bring-up's own
	// signal handling, so that the supervisor can take over the signals).
	BeforeHandoff func()
	// PowerOff syncs and powers the machine off (supervisor mode as the machine's PID 1).
	PowerOff func() error
	// Freeze never returns (a kernel PID 1 that must not exit).
	Freeze func()
}

// Run performs the bring-up and hands PID 1 over to the init. It returns only when the init
// could not be executed or the bring-up stopped; the result is the exit status.
func Run(ctx context.Context, o Options, sys System) int {
	r := &run{o: o, sys: sys, log: o.Log, start: time.Now()}
	return r.run(ctx)
}

// run carries the state of one bring-up.
type run struct {
	o      Options
	sys    System
	log    *zap.Logger
	start  time.Time
	pid1   bool
	mode   config.Mode
	source config.Source
	// summary collects the parts of the final summary line.
	summary []string
}

// step logs a completed step with its duration.
func (r *run) step(name string, began time.Time, fields ...zap.Field) {
	r.log.Info(name, append(fields, zap.Duration("took", time.Since(began).Round(time.Microsecond)))...)
}

// failure describes a failed step for the failure policy.
type failure struct {
	what string // "load the policy"
	err  error
	hint string // what to do
	code int    // exit status in a container (exitcode.FailClosed unless said otherwise)
}

// fail applies the failure policy. It returns (status, true) when the bring-up must stop,
// and (0, false) when it continues without SELinux (permissive or disabled).
func (r *run) fail(f failure) (int, bool) {
	if r.mode == config.ModeEnforcing {
		return r.emergency(f), true
	}
	r.log.Warn("continuing without SELinux because the mode is "+r.mode.String()+": failed to "+f.what,
		zap.Error(f.err), zap.String("hint", f.hint))
	return 0, false
}

// emergency prints the fail-closed message and stops: freeze as the kernel's PID 1, exit
// otherwise.
func (r *run) emergency(f failure) int {
	code := f.code
	if code == 0 {
		code = exitcode.FailClosed
	}
	msg := fmt.Sprintf("failed to %s: %v", f.what, f.err)
	if r.mode == config.ModeEnforcing {
		msg = fmt.Sprintf("enforcing mode requested (%s) but failed to %s: %v", r.source, f.what, f.err)
	}
	if f.hint != "" {
		msg += "\n" + f.hint
	}
	msg += "\nthe init was NOT started."
	// Every line carries the prefix, so that a busy console still attributes it.
	msg = "nsinit: emergency: " + strings.ReplaceAll(msg, "\n", "\nnsinit: emergency: ")
	r.log.Error("fail closed", zap.String("step", f.what), zap.Error(f.err))
	_ = r.log.Sync()
	fmt.Fprintln(r.o.Console, msg)
	if r.pid1 {
		fmt.Fprintln(r.o.Console, "nsinit: freezing (PID 1 of the machine must not exit); fix the image and reboot")
		r.sys.Freeze()
	}
	return code
}

func (r *run) run(ctx context.Context) int {
	o, sys := r.o, r.sys
	if pid := os.Getpid(); pid != 1 {
		r.log.Warn("nsinit is not PID 1, so the init will not be either (systemd refuses to run as the system manager then; a runtime --init option puts another init first)", zap.Int("pid", pid))
	}
	// Until the configuration is read the mode is unknown: treat failures as enforcing.
	r.mode, r.source = config.ModeEnforcing, config.Source("unknown: configuration not read yet")

	t := time.Now()
	mounted, mountErr := sys.MountAPI(o.ProcDir, o.SysDir)
	if len(mounted) > 0 {
		r.step("mounted API filesystems", t, zap.Strings("mounted", mounted))
	}
	if mountErr != nil {
		r.log.Warn("mounting API filesystems", zap.Error(mountErr))
	}
	// Only now: telling the machine's PID 1 from a container's needs procfs, which a
	// booting kernel does not mount for us.
	r.pid1 = sys.KernelPID1()

	// Detection first: it decides whether the kernel command line is ours to read.
	t = time.Now()
	det := sys.Detect(detect.Options{AssumeOwnNamespace: o.AssumeOwnNamespace})
	r.step("detected", t, zap.Stringer("verdict", det.Verdict), zap.String("signal", det.Signal),
		zap.String("context", det.Context), zap.Strings("evidence", det.Evidence))

	// Configuration and the effective mode.
	t = time.Now()
	cfg, cfgErr := config.Load(o.Root)
	var cmdline config.Cmdline
	var cmdlinePtr *config.Cmdline
	if r.pid1 {
		var err error
		if cmdline, err = config.ReadCmdline(o.ProcDir); err == nil {
			cmdlinePtr = &cmdline
		} else {
			r.log.Warn("cannot read the kernel command line", zap.Error(err))
		}
	}
	if cfgErr == nil {
		for _, w := range cfg.Warnings {
			r.log.Warn("config", zap.String("warning", w.String()))
		}
	}
	mode, source, resolveErr := config.Resolve(config.Inputs{Flag: o.Mode, Env: sys.Getenv("NSINIT_MODE"), Cmdline: cmdlinePtr, Config: cfg})
	switch {
	case resolveErr != nil:
		return r.emergency(failure{what: "determine the SELinux mode", err: resolveErr, hint: "fix NSINIT_MODE (enforcing, permissive or disabled)", code: exitcode.Usage})
	case cfgErr != nil && o.Mode == config.ModeUnset && sys.Getenv("NSINIT_MODE") == "":
		return r.emergency(failure{what: "read the SELinux configuration", err: cfgErr, hint: "make " + filepath.Join(o.Root, "etc/selinux/config") + " readable, or set the mode with --mode"})
	}
	r.mode, r.source = mode, source
	layout := config.Layout{}
	if cfg != nil {
		layout = cfg.Layout(o.Root)
	}
	r.step("configured", t, zap.Stringer("mode", mode), zap.String("from", string(source)), zap.String("policy", layout.Dir))

	// Choose the init before touching anything: a missing init is found before the load.
	target, err := handoff.Select(o.Root, handoff.Request{Command: o.Args, Words: o.Words, CmdlineInit: cmdline.Init, Path: sys.Getenv("PATH")})
	if err != nil {
		return r.emergencyOrExit(failure{what: "find the init", err: err, hint: "pass the init after --, e.g. nsinit -- /lib/systemd/systemd", code: exitcode.ExecFailed})
	}

	if cfgErr != nil {
		// The mode came from --mode or NSINIT_MODE, but without the config the policy type
		// (SELINUXTYPE) is unknown: nothing can be loaded.
		if code, stop := r.fail(failure{what: "read the SELinux configuration", err: cfgErr,
			hint: "make " + filepath.Join(o.Root, "etc/selinux/config") + " a readable regular file"}); stop {
			return code
		}
		return r.handoff(ctx, target)
	}
	if code, stop := r.bringUp(ctx, det, layout, cmdline); stop {
		return code
	}
	return r.handoff(ctx, target)
}

// emergencyOrExit handles failures that stop the bring-up in every mode (no init to run).
func (r *run) emergencyOrExit(f failure) int {
	if r.mode == config.ModeEnforcing || r.pid1 {
		return r.emergency(f)
	}
	r.log.Error("failed to "+f.what, zap.Error(f.err), zap.String("hint", f.hint))
	return f.code
}

// bringUp acts on the detection verdict: load the policy into our own namespace, or leave
// SELinux alone. It returns (status, true) when the bring-up must stop.
func (r *run) bringUp(ctx context.Context, det detect.Result, layout config.Layout, cmdline config.Cmdline) (int, bool) {
	if r.mode == config.ModeDisabled {
		r.log.Info("SELinux disabled: no policy is loaded", zap.String("from", string(r.source)))
		r.summary = append(r.summary, "disabled")
		return 0, false
	}
	switch det.Verdict {
	case detect.Initialized:
		r.log.Info("a policy is already loaded in this namespace: not loading", zap.String("context", det.Context))
		r.summary = append(r.summary, "policy already loaded")
		return 0, false
	case detect.Refused:
		return r.fail(failure{what: "claim the SELinux namespace", err: errors.New(det.Reason), code: exitcode.Refused,
			hint: "run nsinit in its own SELinux namespace (runtime sets SELINUXNS=1) or as the machine's PID 1"})
	case detect.Unavailable:
		return r.fail(failure{what: "find SELinux in the kernel", err: errors.New(det.Reason),
			hint: "boot with security=selinux (or lsm=...,selinux), or set SELINUX=permissive/--mode permissive to run without it"})
	case detect.Unshared, detect.Boot:
	default:
		return r.fail(failure{what: "classify the SELinux state", err: fmt.Errorf("unknown verdict %v", det.Verdict)})
	}

	t := time.Now()
	fs, mres, err := r.sys.MountSelinuxfs(r.o.SelinuxfsDir)
	if mres.UnmountErr != nil {
		r.log.Warn("could not unmount the inherited selinuxfs; mounting over it", zap.Error(mres.UnmountErr))
	}
	if err != nil {
		return r.fail(failure{what: "mount selinuxfs", err: err, hint: "nsinit needs CAP_SYS_ADMIN in the initial user namespace to mount selinuxfs"})
	}
	r.step("mounted selinuxfs", t, zap.String("dir", fs.Dir), zap.Bool("replaced_inherited", mres.Unmounted))

	// Load permissive: a boot with enforcing=1 starts enforcing, and relabelling rootfs is
	// denied once enforcing. The final mode is set after the relabel.
	if on, err := fs.Enforce(); err == nil && on {
		if err := fs.SetEnforce(false); err != nil {
			return r.fail(failure{what: "switch to permissive for the policy load and relabel", err: err})
		}
	}

	if ctx.Err() != nil {
		return r.aborted(ctx)
	}
	t = time.Now()
	kernelMax, err := fs.PolicyVers()
	if err != nil {
		return r.fail(failure{what: "read the kernel's policy version", err: err})
	}
	img, err := loadpolicy.Read(layout.PolicyDir(), kernelMax, r.o.Downgrade)
	if err != nil {
		return r.fail(failure{what: "read the policy", err: err,
			hint: "install the policy for SELINUXTYPE in the image (" + layout.PolicyDir() + "), or fix SELINUXTYPE in " + filepath.Join(r.o.Root, "etc/selinux/config")})
	}
	for _, w := range img.Warnings {
		r.log.Warn("policy", zap.String("warning", w))
	}
	loadTime, err := loadpolicy.Load(fs, img)
	if err != nil {
		return r.fail(failure{what: "load the policy", err: err})
	}
	what := fmt.Sprintf("%s, %.1f MB, loaded in %s", filepath.Base(img.Path), float64(len(img.Data))/1e6, loadTime.Round(time.Millisecond))
	if img.Downgraded {
		what = fmt.Sprintf("%s (downgraded from %d to %d)", what, img.FileVersion, img.Header.Version)
	}
	r.summary = append(r.summary, what)
	r.step("loaded policy", t, zap.String("file", img.Path), zap.Int("bytes", len(img.Data)),
		zap.Int("version", img.Header.Version), zap.Int("kernel_max", kernelMax), zap.Bool("mls", img.Header.MLS),
		zap.Stringer("handle_unknown", img.Header.HandleUnknown), zap.Duration("kernel_load", loadTime.Round(time.Microsecond)))

	if r.o.Relabel != nil {
		if ctx.Err() != nil {
			return r.aborted(ctx)
		}
		t = time.Now()
		sum, err := r.o.Relabel(ctx, RelabelRequest{Root: r.o.Root, Layout: layout, AtBoot: r.pid1, Cmdline: cmdline, Namespace: det.Verdict == detect.Unshared})
		if ctx.Err() != nil {
			return r.aborted(ctx)
		}
		if err != nil {
			return r.fail(failure{what: "relabel", err: err, hint: "run `nsinit relabel` by hand to see every error; the /.autorelabel marker is kept so the next boot retries"})
		}
		if sum != "" {
			r.summary = append(r.summary, sum)
		}
		r.step("relabel step", t, zap.String("result", sum))
	}

	t = time.Now()
	enforce := r.mode == config.ModeEnforcing
	if err := fs.SetEnforce(enforce); err != nil {
		return r.fail(failure{what: "set " + r.mode.String() + " mode", err: err})
	}
	r.summary = append(r.summary, r.mode.String())
	r.step("set mode", t, zap.Stringer("mode", r.mode))
	return 0, false
}

// aborted stops the bring-up after a termination signal.
func (r *run) aborted(ctx context.Context) (int, bool) {
	cause := context.Cause(ctx)
	fmt.Fprintf(r.o.Console, "nsinit: bring-up aborted (%v); the init was NOT started\n", cause)
	r.log.Error("aborted", zap.Error(cause))
	if r.pid1 {
		fmt.Fprintln(r.o.Console, "nsinit: freezing (PID 1 of the machine must not exit)")
		r.sys.Freeze()
	}
	return exitcode.Aborted, true
}

// handoff predicts the init's domain, logs the summary and execs the init.
func (r *run) handoff(ctx context.Context, target handoff.Target) int {
	if ctx.Err() != nil {
		code, _ := r.aborted(ctx)
		return code
	}
	domain := r.predict(target)
	total := time.Since(r.start).Round(10 * time.Microsecond)
	line := strings.Join(append(r.summary, fmt.Sprintf("exec %s%s", target.Path, domain), fmt.Sprintf("total %s", total)), "; ")
	r.log.Info("handing off: "+line, zap.Strings("argv", target.Argv), zap.String("init_from", string(target.Source)))
	_ = r.log.Sync()

	if r.sys.BeforeHandoff != nil {
		r.sys.BeforeHandoff()
	}
	if r.o.Supervise != nil {
		return r.supervise(ctx, target)
	}
	err := r.sys.Exec(target, r.sys.Environ(), r.o.ExecContext)
	f := failure{what: "execute the init " + target.Path, err: err, code: exitcode.ExecFailed,
		hint: "check that the init exists, is executable, and (in enforcing mode) is labelled as the policy expects (init_exec_t)"}
	if r.mode == config.ModeEnforcing || r.pid1 {
		return r.emergency(f)
	}
	r.log.Error("exec failed", zap.Error(err))
	return exitcode.ExecFailed
}

// predict logs the domain the init will run in and returns " as <domain>" for the summary.
func (r *run) predict(target handoff.Target) string {
	if r.o.ExecContext != "" {
		return " as " + r.o.ExecContext + " (--exec-context)"
	}
	fs := selinuxfs.Open(r.o.SelinuxfsDir)
	if loaded, err := fs.PolicyLoaded(); err != nil || !loaded {
		return ""
	}
	cur, err := r.sys.CurrentContext()
	if err != nil {
		r.log.Warn("cannot read our context", zap.Error(err))
		return ""
	}
	fc, err := r.sys.FileContext(target.Path)
	if err != nil {
		r.log.Warn("cannot read the init's label", zap.String("init", target.Path), zap.Error(err))
		return ""
	}
	tr, err := handoff.Predict(fs, cur, fc)
	if err != nil {
		r.log.Warn("cannot compute the init's domain", zap.Error(err))
		return ""
	}
	switch {
	case tr.Stays() && r.o.Supervise != nil:
		// For an application, keeping nsinit's domain is a normal policy answer, but at
		// boot that domain is kernel_t: worth saying, not an error.
		r.log.Warn("the application runs in nsinit's own domain (the policy has no transition for its label): give it the entrypoint type of a confined domain, or use --exec-context",
			zap.String("application", target.Path), zap.String("file_context", fc), zap.String("domain", tr.Expected))
	case tr.Stays() && r.mode == config.ModeEnforcing:
		r.log.Error("the init would stay in our own domain: it is probably mislabelled (expected a type such as init_exec_t); it will run unconfined by init_t rules",
			zap.String("init", target.Path), zap.String("file_context", fc), zap.String("domain", tr.Expected))
		fmt.Fprintf(r.o.Console, "nsinit: WARNING: %s (labelled %s) would run in %s, not an init domain: relabel it\n", target.Path, fc, tr.Expected)
	}
	what := "init domain"
	if r.o.Supervise != nil {
		what = "application domain"
	}
	r.log.Info(what, zap.String("path", target.Path), zap.String("file_context", fc), zap.String("domain", tr.Expected))
	return " as " + tr.Expected
}

// supervise runs the target as nsinit's supervised child and returns its exit status.
// Signals no longer abort anything: from here on they are relayed to the application.
func (r *run) supervise(ctx context.Context, target handoff.Target) int {
	so := *r.o.Supervise
	so.Path, so.Argv, so.Env, so.ExecLabel = target.Path, target.Argv, r.sys.Environ(), r.o.ExecContext
	if so.Log == nil {
		so.Log = r.log
	}
	status, err := r.sys.Supervise(context.WithoutCancel(ctx), so)
	if err != nil {
		f := failure{what: "start the application " + target.Path, err: err, code: exitcode.ExecFailed,
			hint: "check that the application exists, is executable, and may be executed from nsinit's domain"}
		if r.mode == config.ModeEnforcing || r.pid1 {
			return r.emergency(f)
		}
		r.log.Error("start failed", zap.Error(err))
		return status
	}
	_ = r.log.Sync()
	if r.pid1 {
		// The machine's PID 1 must not exit (the kernel would panic): the application was
		// the machine's whole purpose, so its end powers the machine off.
		fmt.Fprintf(r.o.Console, "nsinit: application exited with status %d; powering off\n", status)
		if err := r.sys.PowerOff(); err != nil {
			fmt.Fprintf(r.o.Console, "nsinit: power off failed: %v; freezing\n", err)
		}
		r.sys.Freeze()
	}
	return status
}
