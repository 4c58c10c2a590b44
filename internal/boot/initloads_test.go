package boot

import (
	"context"
	"math"
	"os"
	"path/filepath"
	"runtime/debug"
	"strings"
	"testing"

	"github.com/nsinit/nsinit/internal/config"
	"github.com/nsinit/nsinit/internal/detect"
	"github.com/nsinit/nsinit/internal/handoff"
	"github.com/nsinit/nsinit/internal/loadpolicy"
	"github.com/nsinit/nsinit/internal/testutil"
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

// TestBringUpLeavesTheLoadToSystemd: before bookworm's systemd (its binary and the library
// that needs libselinux copied into the fake root) the bring-up relabels and execs but
// neither loads nor sets the mode; with --mode (nsinit's alone) it loads as before.
func TestBringUpLeavesTheLoadToSystemd(t *testing.T) {
	tree := testutil.MinbaseSystemd(t)
	for _, tc := range []struct {
		name     string
		opts     Options
		wantLoad bool
	}{
		{"mode from the config", Options{}, false},
		{"--mode", Options{Mode: config.ModeEnforcing}, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			w := newWorld(t, "SELINUX=enforcing\nSELINUXTYPE=default\n")
			for _, rel := range []string{"lib/systemd/systemd", "usr/lib/x86_64-linux-gnu/systemd/libsystemd-core-252.so"} {
				data, err := os.ReadFile(filepath.Join(tree, rel))
				if err != nil {
					t.Fatal(err)
				}
				w.write(rel, string(data), 0o755)
			}
			os.Remove(filepath.Join(w.root, "sbin/init"))
			if err := os.Symlink("/lib/systemd/systemd", filepath.Join(w.root, "sbin/init")); err != nil {
				t.Fatal(err)
			}
			relabelled := false
			w.relabel = func(context.Context, RelabelRequest) (string, error) { relabelled = true; return "", nil }
			w.run(context.Background(), tc.opts)
			if w.execed == nil || !relabelled {
				t.Fatalf("exec %v, relabel %v: want both", w.execed, relabelled)
			}
			if loaded := w.node("load") != ""; loaded != tc.wantLoad {
				t.Errorf("policy written to load: %v, want %v", loaded, tc.wantLoad)
			}
			if want := map[bool]string{true: "1", false: "0"}[tc.wantLoad]; strings.TrimSpace(w.node("enforce")) != want {
				t.Errorf("enforce = %q, want %q (the mode is systemd's to set when it loads)", w.node("enforce"), want)
			}
		})
	}
}

// TestPauseGC: the pause turns the collector off under a memory limit, and its resume
// (twice: before the relabel and at the handoff) restores what was set before.
func TestPauseGC(t *testing.T) {
	defer debug.SetGCPercent(debug.SetGCPercent(77))
	defer debug.SetMemoryLimit(debug.SetMemoryLimit(math.MaxInt64))
	resume := pauseGC()
	if p := debug.SetGCPercent(-1); p != -1 {
		t.Errorf("GC percent during the pause = %d, want -1 (off)", p)
	}
	if l := debug.SetMemoryLimit(-1); l != bringUpHeapLimit {
		t.Errorf("memory limit during the pause = %d, want %d", l, bringUpHeapLimit)
	}
	resume()
	debug.SetGCPercent(5) // a later change must survive a second resume
	resume()
	if p := debug.SetGCPercent(5); p != 5 {
		t.Errorf("GC percent after a second resume = %d, want 5 (the resume acts once)", p)
	}
	if l := debug.SetMemoryLimit(-1); l != math.MaxInt64 {
		t.Errorf("memory limit after the resume = %d, want the previous %d", l, int64(math.MaxInt64))
	}
}
