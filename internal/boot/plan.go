package boot

import (
	"errors"
	"fmt"

	"github.com/nsinit/nsinit/internal/config"
	"github.com/nsinit/nsinit/internal/detect"
	"github.com/nsinit/nsinit/internal/exitcode"
	"github.com/nsinit/nsinit/internal/handoff"
	"github.com/nsinit/nsinit/internal/loadpolicy"
)

// Facts are what the bring-up observes before it acts. `nsinit status` observes the same
// (Survey, without mounting or loading anything), so that both get their Plan from Decide
// and cannot disagree.
type Facts struct {
	// Root is the image root ("/" as PID 1).
	Root string
	// MachinePID1 is true for PID 1 of the initial PID namespace: the kernel command line is
	// ours, and exiting would panic the kernel.
	MachinePID1 bool
	Detection   detect.Result
	// Config is the parsed <root>/etc/selinux/config; nil when ConfigErr is set.
	Config    *config.Config
	ConfigErr error
	// Cmdline is the kernel command line, read only as the machine's PID 1 (inside a
	// container /proc/cmdline is the host's); nil otherwise or when unreadable.
	Cmdline *config.Cmdline
	// FlagMode is --mode, EnvMode the value of NSINIT_MODE.
	FlagMode config.Mode
	EnvMode  string
	// Init is the program the bring-up hands off to, or InitErr why there is none.
	Init    handoff.Target
	InitErr error
	// Supervised is --supervise: the target is an application nsinit starts as its child.
	Supervised bool
	// InitLoader, when not empty, says why the init loads the policy itself as the
	// machine's PID 1 (handoff.LoadsPolicy: a stock systemd); observed only as the
	// machine's PID 1.
	InitLoader string
	// KernelMax is the kernel's maximum policy version, 0 while unknown.
	KernelMax int
	// Policy and PolicyErr are loadpolicy.Read's answer for KernelMax (both nil while it is
	// unknown): the one loadability answer.
	Policy    *loadpolicy.Image
	PolicyErr error
	// Domain is what the loaded policy says about the domain nsinit works in after the load
	// (nil before the load); Resumed is true in the second stage, after nsinit re-executed
	// itself into the init's domain.
	Domain  *DomainFacts
	Resumed bool
}

// Plan is what the bring-up will do, as Decide derives it from the Facts.
type Plan struct {
	Verdict detect.Verdict
	// Mode is the effective mode and ModeSource where it comes from. ModeUnset means it
	// could not be determined: failures then fail closed, as when enforcing.
	Mode       config.Mode
	ModeSource config.Source
	// Layout is the policy root the config names (zero without a config).
	Layout config.Layout
	// Load is true when the SELinux steps run: mount selinuxfs, load the policy, relabel,
	// set the mode. Reason says why they run or not.
	Load   bool
	Reason string
	// Problem is the first failure the facts show, nil when none; Outcome says what it does.
	Problem *Failure
	// Init is the program handed off to; Policy the image that will be loaded (nil when
	// nothing will be, or while the kernel's maximum is unknown).
	Init   handoff.Target
	Policy *loadpolicy.Image
	// MachinePID1: stopping freezes instead of exiting.
	MachinePID1 bool
	// Domain is the domain nsinit works in after the load.
	Domain DomainPlan
	// InitLoads is true when the policy load and the mode are left to the init (a stock
	// systemd, which loads at every boot whoever loaded first): nsinit checks the policy,
	// relabels and execs, and the kernel parses the policy once (docs/integration.md).
	InitLoads bool
}

// Failure is a failed step, or a plan that cannot be carried out.
type Failure struct {
	// What completes "failed to ...", e.g. "load the policy".
	What string
	Err  error
	// Hint says what to do.
	Hint string
	// Refused: the namespace is not nsinit's own (exit Refused rather than FailClosed).
	Refused bool
	// Fatal: there is nothing safe to hand off to (no init, an unknown mode), so the failure
	// stops the bring-up in every mode.
	Fatal bool
	// Usage: the operator's input is wrong (a bad NSINIT_MODE): exit Usage.
	Usage bool
}

// Outcome is what a failure does under a plan.
type Outcome struct {
	// Stop: the init is not started.
	Stop bool
	// Emergency: print the "nsinit: emergency:" message; Freeze: then freeze (the machine's
	// PID 1 must not exit) instead of exiting with Code.
	Emergency, Freeze bool
	Code              int
}

// Outcome is the failure rule, written once. When the mode is enforcing, or unknown,
// every failure fails closed: the emergency message, then exit (FailClosed, Refused or
// Usage) or, as the machine's PID 1, freeze. Otherwise a failure that leaves nothing to
// hand off to stops with ExecFailed (an emergency and a freeze as the machine's PID 1),
// and any other is a warning: the bring-up goes on without SELinux.
func (p *Plan) Outcome(f Failure) Outcome {
	if p.Mode == config.ModeEnforcing || p.Mode == config.ModeUnset {
		code := exitcode.FailClosed
		switch {
		case f.Usage:
			code = exitcode.Usage
		case f.Refused:
			code = exitcode.Refused
		}
		return Outcome{Stop: true, Emergency: true, Freeze: p.MachinePID1, Code: code}
	}
	if f.Fatal {
		return Outcome{Stop: true, Emergency: p.MachinePID1, Freeze: p.MachinePID1, Code: exitcode.ExecFailed}
	}
	return Outcome{}
}

// Decide derives the plan from the facts. It is pure: the bring-up calls it as facts
// arrive, `nsinit status` once on what it surveyed.
func Decide(f Facts) Plan {
	p := decide(f)
	p.Domain = decideDomain(p, f)
	return p
}

// decide is Decide without the domain after the load.
func decide(f Facts) Plan {
	p := Plan{Verdict: f.Detection.Verdict, Init: f.Init, MachinePID1: f.MachinePID1}
	if f.Config != nil {
		p.Layout = f.Config.Layout(f.Root)
	}
	configPath := config.Path(f.Root)
	mode, source, err := config.Resolve(config.Inputs{Flag: f.FlagMode, Env: f.EnvMode, Cmdline: f.Cmdline, Config: f.Config})
	switch {
	case err != nil:
		p.ModeSource = config.Source("unknown: " + err.Error())
		return p.fails(Failure{What: "determine the SELinux mode", Err: err, Usage: true, Fatal: true,
			Hint: "fix " + config.EnvVar + " (enforcing, permissive or disabled), or unset it"})
	case f.ConfigErr != nil && f.FlagMode == config.ModeUnset && f.EnvMode == "":
		p.ModeSource = "unknown: the configuration cannot be read"
		return p.fails(Failure{What: "read the SELinux configuration", Err: f.ConfigErr, Fatal: true,
			Hint: "make " + configPath + " readable, or set the mode with --mode"})
	}
	p.Mode, p.ModeSource = mode, source
	if f.InitErr != nil {
		hint := "pass the init after --, e.g. nsinit -- /lib/systemd/systemd"
		if f.Supervised {
			hint = "name the application after --, e.g. nsinit --supervise -- /usr/bin/myapp"
		}
		return p.fails(Failure{What: "find the " + f.noun(), Err: f.InitErr, Fatal: true, Hint: hint})
	}
	switch {
	case f.ConfigErr != nil:
		// The mode came from --mode or NSINIT_MODE, but without the config the policy type
		// (SELINUXTYPE) is unknown: nothing can be loaded.
		return p.fails(Failure{What: "read the SELinux configuration", Err: f.ConfigErr, Hint: "make " + configPath + " a readable regular file"})
	case mode == config.ModeDisabled:
		p.Reason = "SELinux disabled: no policy is loaded"
		return p
	}
	return p.claim(f)
}

// claim is Decide for an enabled mode: act on the detection verdict and the policy.
func (p Plan) claim(f Facts) Plan {
	det := f.Detection
	switch det.Verdict {
	case detect.Initialized:
		p.Reason = "a policy is already loaded in this namespace: not loading"
		return p
	case detect.Refused:
		return p.fails(Failure{What: "claim the SELinux namespace", Err: errors.New(det.Reason), Refused: true,
			Hint: "run nsinit in its own SELinux namespace (runtime sets SELINUXNS=1) or as the machine's PID 1"})
	case detect.Unavailable:
		hint := "boot with security=selinux (or lsm=...,selinux)"
		if p.Mode == config.ModeEnforcing {
			hint += ", or set SELINUX=permissive/--mode permissive to run without it"
		}
		return p.fails(Failure{What: "find SELinux in the kernel", Err: errors.New(det.Reason), Hint: hint})
	case detect.Unshared, detect.Boot:
	default:
		return p.fails(Failure{What: "classify the SELinux state", Err: fmt.Errorf("unknown verdict %v", det.Verdict)})
	}
	p.Load, p.Reason = true, "the SELinux namespace is nsinit's own and has no policy ("+det.Verdict.String()+")"
	if f.PolicyErr != nil {
		return p.fails(Failure{What: "read the policy", Err: f.PolicyErr,
			Hint: "install the policy for SELINUXTYPE in the image (" + p.Layout.PolicyDir() + "), or fix SELINUXTYPE in " + config.Path(f.Root)})
	}
	p.Policy = f.Policy
	p.InitLoads = f.initLoads(p)
	return p
}

// initLoads reports whether the load can be left to the init: a stock systemd as the
// machine's PID 1 calls libselinux's selinux_init_load_policy, which loads whatever is
// loaded already. It must then load exactly what nsinit would, in the same mode: the
// same file (nsinit's choice is libselinux's search from the kernel's maximum down, and no
// newer file exists that libselinux with libsepol would try first), no downgrade (nsinit
// proves its downgrades safe, libsepol does not), and the mode from the command line or the
// config (libselinux's own precedence; --mode and NSINIT_MODE are nsinit's alone).
func (f Facts) initLoads(p Plan) bool {
	return f.InitLoader != "" && f.MachinePID1 && p.Verdict == detect.Boot && !f.Supervised &&
		f.FlagMode == config.ModeUnset && f.EnvMode == "" &&
		f.Policy != nil && !f.Policy.Downgraded && f.Policy.Newest <= f.KernelMax
}

// noun names what the bring-up hands off to, for messages.
func (f Facts) noun() string {
	if f.Supervised {
		return "application"
	}
	return "init"
}

// fails records the plan's problem; a plan with a problem loads nothing.
func (p Plan) fails(f Failure) Plan {
	p.Problem, p.Load = &f, false
	p.Reason = "failed to " + f.What
	return p
}
