package main

import (
	"fmt"
	"path/filepath"
	"strings"
	"text/tabwriter"

	"github.com/spf13/pflag"

	"github.com/nsinit/nsinit/internal/boot"
	"github.com/nsinit/nsinit/internal/config"
	"github.com/nsinit/nsinit/internal/detect"
	"github.com/nsinit/nsinit/internal/exitcode"
	"github.com/nsinit/nsinit/internal/loadpolicy"
	"github.com/nsinit/nsinit/internal/selinuxfs"
)

func init() {
	register(&command{
		Name:     "status",
		Synopsis: "nsinit status [--root DIR] [--proc DIR] [--selinuxfs DIR]",
		Summary:  "show the detection verdict, effective mode, policy and enforcing state",
		Help: `Show what the bring-up would decide here, without changing anything: the detection
verdict with its evidence, the effective mode and where it comes from, the policy type and
the policy file the kernel would get, and the state of the selinuxfs at --selinuxfs.
Nothing is mounted or loaded; run it by hand on any machine or inside a container.

Example:
  nsinit status
  nsinit status --root /mnt/image     inspect an image's configuration and policy`,
		Setup: func(fs *pflag.FlagSet) func(e *env, args []string) int {
			var root, proc, sfs string
			var mode config.Mode
			fs.StringVar(&root, "root", "/", "`DIR` holding etc/selinux/config and the policy")
			fs.StringVar(&proc, "proc", "/proc", "`DIR` where procfs is mounted")
			fs.StringVar(&sfs, "selinuxfs", selinuxfs.DefaultDir, "`DIR` of the selinuxfs to report on")
			fs.Var(modeFlag{&mode}, "mode", "show the result as if --mode `MODE` were given")
			return func(e *env, args []string) int {
				if len(args) > 0 {
					fmt.Fprintf(e.Stderr, "nsinit status: unexpected arguments %q\n", args)
					return exitcode.Usage
				}
				return status(e, root, proc, sfs, mode)
			}
		},
	})
}

// status prints the report; it fails only when the configuration cannot be read.
func status(e *env, root, procDir, sfsDir string, flagMode config.Mode) int {
	w := tabwriter.NewWriter(e.Stdout, 0, 4, 2, ' ', 0)
	defer w.Flush()
	row := func(k, format string, args ...any) { fmt.Fprintf(w, "%s:\t%s\n", k, fmt.Sprintf(format, args...)) }

	// The bring-up's own detection, with the same procfs and selinuxfs.
	det := boot.RealSystem(procDir, sfsDir).Detect(detect.Options{})
	row("verdict", "%s (%s)", det.Verdict, det.Signal)
	for _, ev := range det.Evidence {
		row("  evidence", "%s", ev)
	}
	if det.Reason != "" {
		row("  reason", "%s", det.Reason)
	}
	row("context", "%q", det.Context)

	code := exitcode.OK
	cfg, err := config.Load(root)
	if err != nil {
		row("config", "ERROR %v", err)
		code = exitcode.Failure
	} else {
		found := "found"
		if !cfg.Found {
			found = "missing, libselinux defaults"
		}
		row("config", "%s (%s)", cfg.Path, found)
		for _, wn := range cfg.Warnings {
			row("  warning", "%s", wn)
		}
	}
	// The kernel command line counts only for the machine's PID 1, as in the bring-up.
	var cmdline *config.Cmdline
	if boot.KernelPID1(procDir) {
		if c, err := config.ReadCmdline(procDir); err == nil {
			cmdline = &c
		}
	}
	mode, source, err := config.Resolve(config.Inputs{Flag: flagMode, Env: e.Getenv("NSINIT_MODE"), Cmdline: cmdline, Config: cfg})
	if err != nil {
		row("mode", "ERROR %v", err)
		code = exitcode.Failure
	} else {
		row("mode", "%s (from %s)", mode, source)
	}

	fs := selinuxfs.Open(sfsDir)
	kernelMax := 0
	if fs.IsMounted() {
		kernelMax, _ = fs.PolicyVers()
		enforce, eerr := fs.Enforce()
		loaded, lerr := fs.PolicyLoaded()
		row("selinuxfs", "%s: policyvers %d, enforce %s, policy loaded %s", sfsDir, kernelMax, boolOrErr(enforce, eerr), boolOrErr(loaded, lerr))
		if verr := fs.Verify(); verr != nil {
			row("  note", "%v (the bring-up mounts a fresh, writable instance)", verr)
		}
	} else {
		row("selinuxfs", "%s: not mounted", sfsDir)
	}

	if cfg != nil {
		layout := cfg.Layout(root)
		row("policy type", "%s (%s)", cfg.Type, layout.Dir)
		reportPolicy(row, layout.PolicyDir(), kernelMax)
	}
	return code
}

// reportPolicy prints which policy file the bring-up would load.
func reportPolicy(row func(k, format string, args ...any), dir string, kernelMax int) {
	if kernelMax == 0 {
		row("policy", "kernel maximum unknown (no selinuxfs); files in %s: %s", dir, listPolicies(dir))
		return
	}
	img, err := loadpolicy.Read(dir, kernelMax, nil)
	if err != nil {
		row("policy", "NOT LOADABLE: %v", err)
		return
	}
	mls := "non-MLS"
	if img.Header.MLS {
		mls = "MLS"
	}
	row("policy", "%s: version %d, %s, handle_unknown %s, %.1f MB; loadable (kernel supports ≤ %d)",
		img.Path, img.Header.Version, mls, img.Header.HandleUnknown, float64(len(img.Data))/1e6, kernelMax)
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
