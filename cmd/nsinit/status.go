package main

import (
	"fmt"
	"path/filepath"
	"strconv"
	"strings"
	"text/tabwriter"

	"github.com/spf13/pflag"

	"github.com/nsinit/nsinit/internal/boot"
	"github.com/nsinit/nsinit/internal/exitcode"
	"github.com/nsinit/nsinit/internal/selinuxfs"
)

func init() {
	register(&command{
		Name:     "status",
		Synopsis: "nsinit status [--json] [--root DIR] [--proc DIR] [--selinuxfs DIR] [--mode MODE] [--kernel-max N] [-- INIT [ARGS...]]",
		Summary:  "show what the bring-up would decide here: verdict, mode, policy, init and the plan",
		Help: `Show what the bring-up would decide here, without changing anything: the detection
verdict with its evidence, the effective mode and where it comes from, the policy file the
kernel would get (and whether it would be downgraded), the init, and the plan — what the
bring-up would do, or how it would fail. The bring-up and status share one decision
(boot.Decide), so they cannot disagree. Nothing is mounted or loaded; run it by hand on any
machine or inside a container.

The kernel's maximum policy version comes from --kernel-max, else from the policyvers node
of the selinuxfs at --selinuxfs; --kernel-max shows the plan for an image meant for another
kernel.

--json prints the same facts and plan as one JSON object (its schema, versioned by its
"schema" member, is in docs/admin.md). Exit status, also with --json: the status the
bring-up would exit with here when its plan stops (3 refused, 4 fail closed, 5 nothing
to exec, 2 a bad NSINIT_MODE), 1 when etc/selinux/config cannot be read, else 0 (the
bring-up would hand off, with SELinux or, in permissive or disabled mode, without). For
the kernel's current mode in one word use nsinit getenforce.

Examples:
  nsinit status
  nsinit status --json | jq -r .plan.outcome
  nsinit status --root /mnt/image --kernel-max 33     an image, for a kernel accepting ≤ 33`,
		Setup: func(fs *pflag.FlagSet) func(e *env, args []string) int {
			var o boot.Options
			var kernelMax int
			var asJSON bool
			fs.BoolVar(&asJSON, "json", false, "print one JSON object (schema in docs/admin.md) instead of the table")
			fs.StringVar(&o.Root, "root", "/", "`DIR` holding etc/selinux/config, the policy and the init")
			fs.StringVar(&o.ProcDir, "proc", "/proc", "`DIR` where procfs is mounted")
			fs.StringVar(&o.SelinuxfsDir, "selinuxfs", selinuxfs.DefaultDir, "`DIR` of the selinuxfs to report on")
			fs.Var(modeFlag{&o.Mode}, "mode", "show the result as if --mode `MODE` were given")
			fs.IntVar(&kernelMax, "kernel-max", 0, "judge the policy for a kernel accepting versions up to `N` (default: read policyvers)")
			return func(e *env, _ []string) int {
				// Only what follows -- is an init (and its arguments): a stray word is a typo.
				before, after := splitAtDash(fs)
				if len(before) > 0 {
					return usageError(e, commands["status"], fmt.Sprintf("unexpected arguments %q (name an init after --)", before))
				}
				o.Args = after
				return status(e, o, kernelMax, asJSON)
			}
		},
	})
}

// status prints the surveyed facts and the plan (as JSON with asJSON) and returns
// statusExit's status.
func status(e *env, o boot.Options, kernelMax int, asJSON bool) int {
	sys := e.System(o.ProcDir, o.SelinuxfsDir)
	sys.Getenv = e.Getenv
	f := boot.Survey(o, sys, kernelMax)
	plan := boot.Decide(f)
	code := statusExit(f, plan)
	if asJSON {
		if err := writeStatusJSON(e.Stdout, f, plan, readSelinuxfs(o.SelinuxfsDir)); err != nil {
			fmt.Fprintln(e.Stderr, "nsinit status: writing the JSON status:", err)
			return exitcode.Failure
		}
		return code
	}

	w := tabwriter.NewWriter(e.Stdout, 0, 4, 2, ' ', 0)
	defer w.Flush()
	row := func(k, format string, args ...any) { fmt.Fprintf(w, "%s:\t%s\n", k, fmt.Sprintf(format, args...)) }

	det := f.Detection
	row("verdict", "%s (%s)", det.Verdict, det.Signal)
	for _, ev := range det.Evidence {
		row("  evidence", "%s", ev)
	}
	if det.Reason != "" {
		row("  reason", "%s", det.Reason)
	}
	row("context", "%q", det.Context)
	if f.ConfigErr != nil {
		row("config", "ERROR %v", f.ConfigErr)
	} else {
		found := "found"
		if !f.Config.Found {
			found = "missing, libselinux defaults"
		}
		row("config", "%s (%s)", f.Config.Path, found)
		for _, wn := range f.Config.Warnings {
			row("  warning", "%s", wn)
		}
	}
	row("mode", "%s (from %s)", plan.Mode, plan.ModeSource)
	reportSelinuxfs(row, readSelinuxfs(o.SelinuxfsDir))
	if f.Config != nil {
		row("policy type", "%s (%s)", f.Config.Type, plan.Layout.Dir)
		reportPolicy(row, f, plan.Layout.PolicyDir(), kernelMax != 0)
	}
	if f.InitErr == nil {
		row("init", "%s (%s)", strings.Join(f.Init.Argv, " "), f.Init.Source)
	}
	reportPlan(row, plan)
	return code
}

// selinuxfsState is what status shows of the selinuxfs at Dir, read once for the table and
// for the JSON object.
type selinuxfsState struct {
	Dir                            string
	Mounted                        bool
	PolicyVers                     int
	Enforce, Loaded                bool
	VersErr, EnforceErr, LoadedErr error
}

// readSelinuxfs reads the nodes status reports of the selinuxfs at dir.
func readSelinuxfs(dir string) selinuxfsState {
	st := selinuxfsState{Dir: dir}
	fs := selinuxfs.Open(dir)
	if st.Mounted = fs.IsMounted(); st.Mounted {
		st.PolicyVers, st.VersErr = fs.PolicyVers()
		st.Enforce, st.EnforceErr = fs.Enforce()
		st.Loaded, st.LoadedErr = fs.PolicyLoaded()
	}
	return st
}

// reportSelinuxfs prints st.
func reportSelinuxfs(row func(k, format string, args ...any), st selinuxfsState) {
	if !st.Mounted {
		row("selinuxfs", "%s: not mounted", st.Dir)
		return
	}
	row("selinuxfs", "%s: policyvers %s, enforce %s, policy loaded %s", st.Dir,
		intOrErr(st.PolicyVers, st.VersErr), boolOrErr(st.Enforce, st.EnforceErr), boolOrErr(st.Loaded, st.LoadedErr))
	if err := selinuxfs.Open(st.Dir).Verify(); err != nil {
		row("  note", "%v (the bring-up mounts a fresh, writable instance)", err)
	}
}

// reportPolicy prints which policy file the bring-up would load.
func reportPolicy(row func(k, format string, args ...any), f boot.Facts, dir string, fromFlag bool) {
	switch {
	case f.KernelMax == 0 && f.PolicyErr == nil:
		row("policy", "kernel maximum unknown (no selinuxfs; pass --kernel-max N); files in %s: %s", dir, listPolicies(dir))
		return
	case f.PolicyErr != nil:
		row("policy", "NOT LOADABLE: %v", f.PolicyErr)
		return
	}
	img := f.Policy
	mls := "non-MLS"
	if img.Header.MLS {
		mls = "MLS"
	}
	how := "as is"
	if img.Downgraded {
		how = fmt.Sprintf("after an in-memory downgrade from %d to %d (proven lossless)", img.FileVersion, img.Header.Version)
	}
	source := "policyvers"
	if fromFlag {
		source = "--kernel-max"
	}
	row("policy", "%s: version %d, %s, handle_unknown %s, %.1f MB; loadable %s (kernel supports ≤ %d, from %s)",
		img.Path, img.FileVersion, mls, img.Header.HandleUnknown, float64(len(img.Data))/1e6, how, f.KernelMax, source)
}

// reportPlan prints what the bring-up would do, or how it would fail.
func reportPlan(row func(k, format string, args ...any), plan boot.Plan) {
	if p := plan.Problem; p != nil {
		out := plan.Outcome(*p)
		switch {
		case out.Stop && out.Emergency:
			row("plan", "FAIL CLOSED (exit %d, or freeze as the machine's PID 1): failed to %s: %v", out.Code, p.What, p.Err)
		case out.Stop:
			row("plan", "STOP (exit %d): failed to %s: %v", out.Code, p.What, p.Err)
		default:
			row("plan", "continue WITHOUT SELinux (%s mode): failed to %s: %v", plan.Mode, p.What, p.Err)
		}
		if p.Hint != "" {
			row("  hint", "%s", p.Hint)
		}
		if out.Stop {
			return
		}
	} else {
		row("plan", "%s", plan.Reason)
	}
	if plan.Load {
		row("  then", "mount selinuxfs, load the policy")
		row("  then", "%s", plan.Domain.Why)
		row("  then", "relabel where needed, set %s", plan.Mode)
	}
	row("  then", "exec %s", plan.Init.Path)
}

// listPolicies names the policy.N files in dir.
func listPolicies(dir string) string {
	m, _ := filepath.Glob(filepath.Join(dir, "policy.*"))
	if len(m) == 0 {
		return "none"
	}
	for i := range m {
		m[i] = filepath.Base(m[i])
	}
	return strings.Join(m, ", ")
}

func boolOrErr(b bool, err error) string {
	if err != nil {
		return "unknown (" + err.Error() + ")"
	}
	if b {
		return "1"
	}
	return "0"
}

func intOrErr(v int, err error) string {
	if err != nil {
		return "unknown (" + err.Error() + ")"
	}
	return strconv.Itoa(v)
}
