package boot

import (
	"context"
	"fmt"
	"strings"
	"time"

	"go.uber.org/zap"

	"github.com/nsinit/nsinit/internal/config"
	"github.com/nsinit/nsinit/internal/detect"
	"github.com/nsinit/nsinit/internal/handoff"
	"github.com/nsinit/nsinit/internal/selinuxfs"
)

// handoff predicts the target's domain, logs the summary and execs the init or starts the
// supervised application: the one path out of the bring-up.
func (b *bringUp) handoff(ctx context.Context) int {
	target := b.plan.Init
	domain := b.predict(target)
	total := time.Since(b.start).Round(10 * time.Microsecond)
	verb, lead := "exec", "handing off: "
	if b.o.Supervise != nil {
		verb, lead = "start", "starting the supervised application: "
	}
	line := strings.Join(append(b.summary, fmt.Sprintf("%s %s%s", verb, target.Path, domain), fmt.Sprintf("total %s", total)), "; ")
	b.log.Info(lead+line, zap.Strings("argv", target.Argv), zap.String("target_from", string(target.Source)))
	_ = b.log.Sync()

	b.resumeGC()
	if b.sys.BeforeHandoff != nil {
		b.sys.BeforeHandoff()
	}
	env := initEnv(b.sys.Environ(), b.loaded || b.plan.Verdict == detect.Initialized)
	if b.o.Supervise != nil {
		return b.supervise(ctx, target, env)
	}
	err := b.sys.Exec(target, env, b.o.ExecContext)
	f := Failure{What: "execute the init " + target.Path, Err: err, Fatal: true,
		Hint: "check that the init exists, is executable, and (in enforcing mode) is labelled as the policy expects (init_exec_t)"}
	return b.stop(f, b.plan.Outcome(f))
}

// initEnv is the environment handed to the target. Once the namespace has a policy,
// SELINUXNS (the runtime's "set up your SELinux namespace") is removed: it is done, and a
// patched systemd that saw it would set SELinux up again (reload, the host's enforcing=,
// the enforce node rewritten).
func initEnv(environ []string, initialized bool) []string {
	if !initialized {
		return environ
	}
	out := make([]string, 0, len(environ))
	for _, kv := range environ {
		if !strings.HasPrefix(kv, detect.SelinuxNSEnv+"=") {
			out = append(out, kv)
		}
	}
	return out
}

// predict logs the domain the target will run in and returns " as <domain>" for the summary.
func (b *bringUp) predict(target handoff.Target) string {
	if b.o.ExecContext != "" {
		return " as " + b.o.ExecContext + " (--exec-context)"
	}
	fs := selinuxfs.Open(b.o.SelinuxfsDir)
	if loaded, err := fs.PolicyLoaded(); err != nil || !loaded {
		return ""
	}
	tr, err := handoff.PredictTarget(fs, b.sys.CurrentContext, b.sys.FileContext, target.Path)
	if err != nil {
		b.log.Warn("cannot predict the target's domain", zap.Error(err))
		return ""
	}
	fields := []zap.Field{zap.String("path", target.Path), zap.String("file_context", tr.FileContext), zap.String("domain", tr.Expected)}
	switch {
	case tr.Stays() && b.o.Supervise != nil:
		// For an application, keeping nsinit's domain is a normal policy answer, but at
		// boot that domain is kernel_t: worth saying, not an error.
		b.log.Warn("the application runs in nsinit's own domain (the policy has no transition for its label): give it the entrypoint type of a confined domain, or use --exec-context", fields...)
	case b.plan.Mode == config.ModeEnforcing && b.runsAsKernel(fs, tr):
		b.log.Error("the init would run in the kernel's own domain: it is probably mislabelled (expected a type such as init_exec_t), so the policy's init rules will not confine it", fields...)
		fmt.Fprintf(b.o.Console, "nsinit: WARNING: %s (labelled %s) would run in %s, not an init domain: relabel it\n", target.Path, tr.FileContext, tr.Expected)
	}
	b.log.Debug("target domain", fields...)
	return " as " + tr.Expected
}

// runsAsKernel reports whether the init would run in the kernel's domain (mislabelled):
// the policy's kernel initial context when it can be read, else our own domain.
func (b *bringUp) runsAsKernel(fs *selinuxfs.FS, tr handoff.Transition) bool {
	kernel, err := fs.InitialContext("kernel")
	if err != nil {
		return tr.Stays()
	}
	return handoff.Mislabelled(tr, kernel)
}

// supervise runs the target as nsinit's supervised child and returns its exit status.
// Signals no longer abort anything: from here on they are relayed to the application.
func (b *bringUp) supervise(ctx context.Context, target handoff.Target, env []string) int {
	so := *b.o.Supervise
	so.Path, so.Argv, so.Env, so.ExecLabel = target.Path, target.Argv, env, b.o.ExecContext
	if so.Log == nil {
		so.Log = b.log
	}
	status, err := b.sys.Supervise(context.WithoutCancel(ctx), so)
	if err != nil {
		f := Failure{What: "start the application " + target.Path, Err: err, Fatal: true,
			Hint: "check that the application exists, is executable, and may be executed from nsinit's domain"}
		return b.stop(f, b.plan.Outcome(f))
	}
	_ = b.log.Sync()
	b.report(status, "application", "")
	if b.facts.MachinePID1 {
		// The machine's PID 1 must not exit (the kernel would panic): the application was
		// the machine's whole purpose, so its end powers the machine off.
		fmt.Fprintf(b.o.Console, "nsinit: application exited with status %d; powering off\n", status)
		if err := b.sys.PowerOff(); err != nil {
			fmt.Fprintf(b.o.Console, "nsinit: power off failed: %v; freezing\n", err)
		}
		b.sys.Freeze()
	}
	return status
}
