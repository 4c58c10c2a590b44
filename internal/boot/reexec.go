package boot

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"time"

	"go.uber.org/zap"

	"github.com/nsinit/nsinit/internal/config"
	"github.com/nsinit/nsinit/internal/detect"
	"github.com/nsinit/nsinit/internal/resume"
	"github.com/nsinit/nsinit/internal/selinuxfs"
)

// domainStep is the step after the load that moves nsinit into the init's domain; the
// second stage continues with the step after it.
const domainStep = "choose the domain"

// enterDomain decides the domain nsinit works in after the load and, when the policy
// allows it, re-executes nsinit into it (the same PID; the second stage continues with
// the relabel). A failed re-exec leaves the process as it was: nsinit goes on in its domain.
func (b *bringUp) enterDomain(context.Context) *Failure {
	from := b.plan.Init.Path
	if b.o.Supervise != nil {
		from = resume.Self
	}
	d := observeDomain(b.sys.Policy(b.fs), b.sys.CurrentContext, b.sys.FileContext, resume.Self, from)
	b.facts.Domain = &d
	b.plan = Decide(b.facts)
	dp := b.plan.Domain
	b.fields = append(b.fields, zap.String("target", dp.Target), zap.Bool("reexec", dp.Switch), zap.String("why", dp.Why))
	b.details = append(b.details, zap.String("context", d.Current), zap.String("self_label", d.Self))
	if !dp.Switch {
		return nil
	}
	state, err := json.Marshal(b.resumeState(d))
	if err == nil {
		b.log.Info(domainStep, b.fields...)
		if ce := b.log.Check(zap.DebugLevel, domainStep+": details"); ce != nil {
			ce.Write(b.details...)
		}
		_ = b.log.Sync()
		if b.o.ResumeArgv == nil {
			err = errors.New("no command line to re-execute nsinit with")
		} else {
			err = b.sys.Reexec(b.o.ResumeArgv, b.sys.Environ(), dp.Target, state)
		}
	}
	b.log.Warn("could not re-execute nsinit into "+dp.Target+"; it goes on in "+d.Current, zap.Error(err))
	b.fields = append(b.fields, zap.NamedError("reexec_error", err))
	return nil
}

// noPolicyLabel is what attr/current reads while no policy is loaded (the kernel initial
// SID's name; detect's labelKernel).
const noPolicyLabel = "kernel"

// resumeVersion is the version of resumeState; a stage 2 of another build refuses a state
// it does not know.
const resumeVersion = 1

// resumeState is what the second stage continues from: what it cannot observe again (the
// detection made before the load, the summary and start of the bring-up) and what it
// verifies against the kernel.
type resumeState struct {
	Version int `json:"version"`
	// PID is the process's; From and Target its context before and after the re-exec.
	PID          int    `json:"pid"`
	From         string `json:"from"`
	Target       string `json:"target"`
	SelinuxfsDir string `json:"selinuxfs"`
	// Detection is the verdict that made stage 1 load the policy.
	Detection detect.Result `json:"detection"`
	// Mode and Init are stage 1's plan: stage 2 must come to the same.
	Mode    config.Mode `json:"mode"`
	Init    string      `json:"init"`
	Summary []string    `json:"summary"`
	// Start is when the bring-up began, Exec when stage 1 re-executed (for the log).
	Start time.Time `json:"start"`
	Exec  time.Time `json:"exec"`
}

func (b *bringUp) resumeState(d DomainFacts) resumeState {
	return resumeState{Version: resumeVersion, PID: os.Getpid(), From: d.Current, Target: b.plan.Domain.Target,
		SelinuxfsDir: b.o.SelinuxfsDir, Detection: b.facts.Detection, Mode: b.plan.Mode, Init: b.plan.Init.Path,
		Summary: b.summary, Start: b.start, Exec: time.Now()}
}

// resumed is what the second stage observes of itself, to check against the state.
type resumed struct {
	PID     int
	Context string
	// Loaded: a policy is loaded in the namespace of the selinuxfs at SelinuxfsDir.
	SelinuxfsDir string
	Loaded       bool
}

// verifyResume checks a state against the kernel's view of the process: a state that
// did not come from nsinit's own re-exec into the init's domain (a forged or stray
// --resume-fd) must never let nsinit skip the detection and the load.
func verifyResume(st resumeState, now resumed) error {
	switch {
	case st.Version != resumeVersion:
		return fmt.Errorf("state version %d, this nsinit writes %d", st.Version, resumeVersion)
	case st.Detection.Verdict != detect.Boot && st.Detection.Verdict != detect.Unshared:
		return fmt.Errorf("the state's verdict %v is not one under which nsinit loads a policy", st.Detection.Verdict)
	case st.PID != now.PID:
		return fmt.Errorf("the state was written by PID %d, this is PID %d", st.PID, now.PID)
	case st.Target == "" || st.Target == st.From || st.Target == noPolicyLabel:
		// Without a policy attr/current reads "kernel": a target of that name would let
		// a process of a namespace without a policy pass the context check.
		return fmt.Errorf("the state names no domain change (%q to %q)", st.From, st.Target)
	case now.Context != st.Target:
		return fmt.Errorf("running in %q, not in the domain %q the state names", now.Context, st.Target)
	case st.SelinuxfsDir != now.SelinuxfsDir:
		return fmt.Errorf("the state's selinuxfs is %s, this run's %s", st.SelinuxfsDir, now.SelinuxfsDir)
	case !now.Loaded:
		return fmt.Errorf("no policy is loaded in the SELinux namespace of %s", now.SelinuxfsDir)
	}
	return nil
}

// resume is the second stage: it reads and verifies the state, rebuilds the plan and runs
// the steps after domainStep. Any doubt stops the bring-up (fail closed).
func (b *bringUp) resume(ctx context.Context) int {
	b.facts.MachinePID1 = b.sys.KernelPID1()
	b.plan.MachinePID1 = b.facts.MachinePID1
	if err := b.restore(); err != nil {
		f := Failure{What: "resume the bring-up in the init's domain", Err: err, Usage: true, Fatal: true,
			Hint: "--resume-fd is nsinit's own: it is valid only in the process nsinit re-executed into the init's domain; start nsinit without it"}
		return b.stop(f, b.plan.Outcome(f))
	}
	for i, s := range sequence {
		if s.name == domainStep {
			b.from = i + 1
		}
	}
	return b.run(ctx)
}

// restore reads the state, verifies it, and rebuilds the facts and the plan from it.
func (b *bringUp) restore() error {
	data, err := b.sys.ReadResume(b.o.ResumeFD)
	if err != nil {
		return err
	}
	var st resumeState
	if err := json.Unmarshal(data, &st); err != nil {
		return fmt.Errorf("resume state: %w", err)
	}
	now := resumed{PID: os.Getpid(), SelinuxfsDir: b.o.SelinuxfsDir}
	if now.Context, err = b.sys.CurrentContext(); err != nil {
		return fmt.Errorf("read our context: %w", err)
	}
	fs := selinuxfs.Open(b.o.SelinuxfsDir)
	now.Loaded, _ = fs.PolicyLoaded()
	if err := verifyResume(st, now); err != nil {
		return err
	}
	b.facts.Detection, b.facts.Resumed = st.Detection, true
	for _, w := range b.facts.observeConfig(b.o.ProcDir, b.sys.Getenv, b.request()) {
		b.log.Warn(w)
	}
	b.plan = Decide(b.facts)
	if b.plan.Problem != nil || !b.plan.Load || b.plan.Mode != st.Mode || b.plan.Init.Path != st.Init {
		return fmt.Errorf("the plan changed across the re-exec: %s mode, init %s, before %s mode, init %s (%s)", b.plan.Mode, b.plan.Init.Path, st.Mode, st.Init, b.plan.Reason)
	}
	b.fs, b.loaded, b.start = fs, true, st.Start
	b.summary = append(st.Summary, "re-executed into "+st.Target)
	b.log.Info("resumed in the init's domain", zap.Int("pid", now.PID), zap.String("context", now.Context), zap.String("from", st.From),
		zap.Duration("reexec_took", time.Since(st.Exec).Round(time.Microsecond)))
	return nil
}

// currentContext is our context for a step's log line ("" when unreadable).
func (b *bringUp) currentContext() string {
	c, _ := b.sys.CurrentContext()
	return c
}
