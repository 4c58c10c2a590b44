package boot

import (
	"errors"

	"github.com/nsinit/nsinit/internal/config"
	"github.com/nsinit/nsinit/internal/detect"
	"github.com/nsinit/nsinit/internal/handoff"
	"github.com/nsinit/nsinit/internal/loadpolicy"
	"github.com/nsinit/nsinit/internal/selinuxfs"
)

// observeConfig reads what the mode and the init depend on: the config, the kernel command
// line (only as the machine's PID 1), NSINIT_MODE, and the init named by req (its command
// and words; the command line's init= and PATH are filled in here) or found in the root. It returns the warnings worth logging.
func (f *Facts) observeConfig(procDir string, getenv func(string) string, req handoff.Request) []string {
	var warnings []string
	f.Config, f.ConfigErr = config.Load(f.Root)
	if f.ConfigErr == nil {
		for _, w := range f.Config.Warnings {
			warnings = append(warnings, "config: "+w.String())
		}
	} else {
		f.Config = nil
	}
	var cmdlineInit string
	if f.MachinePID1 {
		c, err := config.ReadCmdline(procDir)
		if err != nil {
			warnings = append(warnings, "cannot read the kernel command line: "+err.Error())
		} else {
			f.Cmdline, cmdlineInit = &c, c.Init
		}
	}
	f.EnvMode = getenv(config.EnvVar)
	req.CmdlineInit, req.Path = cmdlineInit, getenv("PATH")
	f.Init, f.InitErr = handoff.Select(f.Root, req)
	if f.InitErr == nil && f.MachinePID1 && !f.Supervised {
		_, f.InitLoader = handoff.LoadsPolicy(f.Root, f.Init)
	}
	return warnings
}

// observePolicy records which policy a kernel accepting versions up to kernelMax would get,
// and whether it passes the admission check: the one loadability answer, so that status
// reports a policy the load step would refuse as not loadable (and the load does not check
// the same bytes again).
func (f *Facts) observePolicy(layout config.Layout, kernelMax int) {
	f.KernelMax = kernelMax
	f.Policy, f.PolicyErr = loadpolicy.Read(layout.PolicyDir(), kernelMax)
	if f.PolicyErr == nil {
		if f.PolicyErr = loadpolicy.Admit(f.Policy); f.PolicyErr != nil {
			f.Policy = nil
		}
	}
}

// Survey observes what the bring-up would, without mounting, loading or writing anything:
// the detection (with the inherited selinuxfs at o.SelinuxfsDir), the config, the command
// line, the init, and the policy for kernelMax (0: the selinuxfs's policyvers, when one is
// mounted). Decide(Survey(...)) is the plan `nsinit status` prints.
func Survey(o Options, sys System, kernelMax int) Facts {
	f := Facts{Root: o.Root, FlagMode: o.Mode, MachinePID1: sys.KernelPID1()}
	f.Detection = sys.Detect(detect.Options{AssumeOwnNamespace: o.AssumeOwnNamespace})
	f.observeConfig(o.ProcDir, sys.Getenv, handoff.Request{Command: o.Args, Words: o.Words})
	if kernelMax == 0 {
		fs := selinuxfs.Open(o.SelinuxfsDir)
		if !fs.IsMounted() {
			return f
		}
		v, err := fs.PolicyVers()
		if err != nil {
			f.PolicyErr = errors.Join(errors.New("cannot read the kernel's policy version"), err)
			return f
		}
		kernelMax = v
	}
	if f.Config != nil {
		f.observePolicy(f.Config.Layout(f.Root), kernelMax)
	}
	return f
}
