package boot

import (
	"testing"

	"github.com/nsinit/nsinit/internal/config"
	"github.com/nsinit/nsinit/internal/detect"
	"github.com/nsinit/nsinit/internal/handoff"
	"github.com/nsinit/nsinit/internal/loadpolicy"
)

// TestInitLoads: the load is left to a stock systemd only when its libselinux loads the
// same file in the same mode as nsinit would, at boot; every other case keeps nsinit's
// load (and its guarantees).
func TestInitLoads(t *testing.T) {
	base := func() Facts {
		return Facts{
			Root: "/", MachinePID1: true,
			Detection:  detect.Result{Verdict: detect.Boot},
			Config:     &config.Config{Found: true, Mode: config.ModeEnforcing, Type: "default"},
			Init:       handoff.Target{Path: "/sbin/init"},
			InitLoader: "/lib/systemd/systemd needs libselinux.so.1",
			KernelMax:  33,
			Policy:     &loadpolicy.Image{Path: "/etc/selinux/default/policy/policy.33", FileVersion: 33, Newest: 33},
		}
	}
	tests := []struct {
		name   string
		change func(f *Facts)
		want   bool
	}{
		{"stock systemd at boot, mode from the config", func(*Facts) {}, true},
		{"mode from the kernel command line", func(f *Facts) { f.Cmdline = &config.Cmdline{Enforcing: config.ModePermissive} }, true},
		{"not a systemd that loads", func(f *Facts) { f.InitLoader = "" }, false},
		{"container (unshared): systemd does not load there", func(f *Facts) {
			f.MachinePID1, f.Detection.Verdict = false, detect.Unshared
		}, false},
		{"--mode is nsinit's alone", func(f *Facts) { f.FlagMode = config.ModePermissive }, false},
		{"NSINIT_MODE is nsinit's alone", func(f *Facts) { f.EnvMode = "permissive" }, false},
		{"downgrade: libsepol's is not proven safe", func(f *Facts) { f.Policy.Downgraded = true }, false},
		{"a newer file libselinux with libsepol would open first", func(f *Facts) { f.Policy.Newest = 35 }, false},
		{"supervised application", func(f *Facts) { f.Supervised = true }, false},
		{"no policy: nsinit's failure rule applies", func(f *Facts) {
			f.Policy, f.PolicyErr = nil, &loadpolicy.NoPolicyError{Dir: "/etc/selinux/default/policy"}
		}, false},
		{"disabled", func(f *Facts) { f.Config.Mode = config.ModeDisabled }, false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			f := base()
			tc.change(&f)
			p := Decide(f)
			if p.InitLoads != tc.want {
				t.Errorf("InitLoads = %v, want %v (plan: %s)", p.InitLoads, tc.want, p.Reason)
			}
			if p.InitLoads && !p.Load {
				t.Errorf("InitLoads without Load: the relabel and the policy check must still run")
			}
		})
	}
}
