package vm

import (
	"context"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/nsinit/nsinit/internal/testutil"
)

// testEnv gates a real-kernel test on its prerequisites (skip, or fail under
// NSINIT_REQUIRE_REAL=1) and returns the harness's environment.
func testEnv(t *testing.T) Env {
	t.Helper()
	testutil.Kernel(t)
	testutil.PolicyRoot(t)
	for _, tool := range []string{"qemu-system-x86_64", "setfiles", "mkfs.ext4", "debugfs", "e2fsck", "xz", "go"} {
		testutil.RequireTool(t, tool)
	}
	return Env{Repo: testutil.RepoRoot(t), Cache: testutil.CacheDir(t)}
}

// requireInputs gates a scenario on the provisioned inputs it needs.
func requireInputs(t *testing.T, s Scenario) {
	t.Helper()
	for _, n := range s.Needs {
		switch n {
		case NeedMinbase:
			testutil.Minbase(t)
		case NeedTrixie:
			testutil.Trixie(t)
		case NeedSidPolicy:
			testutil.SidPolicyDir(t)
		case NeedSystemd:
			testutil.MinbaseSystemd(t)
		default:
			t.Fatalf("scenario %s needs %q, which no gate knows", s.Name, n)
		}
	}
}

var (
	prepareMu sync.Mutex
	prepared  = map[string]Binaries{}
)

// binaries is binariesFor Debian's 6.1.
func binaries(t *testing.T, e Env) Binaries { return binariesFor(t, e, Linux6) }

// binariesFor builds testinit, stage0 and the initramfs for the kernel called name once per
// test binary. A kernel that is not provisioned skips (or fails, NSINIT_REQUIRE_REAL=1).
func binariesFor(t *testing.T, e Env, name string) Binaries {
	t.Helper()
	if name == Linux7 {
		testutil.Kernel7(t)
	}
	prepareMu.Lock()
	defer prepareMu.Unlock()
	if b, ok := prepared[name]; ok {
		return b
	}
	k, err := e.Kernel(name)
	if err != nil {
		t.Fatal(err)
	}
	b, err := Prepare(e, k, "")
	if err != nil {
		t.Fatal(err)
	}
	prepared[name] = b
	return b
}

// TestScenarios boots Debian's 6.1 kernel once per scenario (Env.AllScenarios: those of
// issues 2, 4, 5, 6 and 18, then the policy families of issue 12) and checks the console
// with Scenario.Verify (the scenario's checks, and no AVC denial caused by nsinit). The
// boots run one after the other: on two busy cores two TCG guests in parallel took longer
// than the same two in a row. About 7-12 s per boot on an idle machine.
func TestScenarios(t *testing.T) { runScenarios(t, Linux6) }

// TestScenariosLinux7 boots Debian sid's 7.x kernel once per scenario whose Kernels name it
// (the core subset, docs/testing.md).
func TestScenariosLinux7(t *testing.T) { runScenarios(t, Linux7) }

// runScenarios boots every scenario that runs on the kernel called kernel.
func runScenarios(t *testing.T, kernel string) {
	e := testEnv(t)
	b := binariesFor(t, e, kernel)
	var err error
	if b.NSInit, err = e.BuildNSInit(); err != nil {
		t.Fatal(err)
	}
	t.Logf("kernel %s: %s", kernel, b.Kernel.Release)
	scenarios, err := e.AllScenarios()
	if err != nil {
		t.Fatal(err)
	}
	for _, s := range scenarios {
		if !s.On(kernel) {
			continue
		}
		t.Run(s.ID+"-"+s.Name, func(t *testing.T) {
			requireInputs(t, s)
			r, err := s.Run(context.Background(), e, b, nil)
			if err != nil {
				t.Fatal(err)
			}
			t.Logf("%s: %s in %v", s.Summary, r.Outcome(), r.Elapsed.Round(100*time.Millisecond))
			if r.Marker != nil {
				t.Logf("marker: %s", r.Marker)
			}
			if lsms := activeLSMs(r); lsms != nil {
				t.Logf("active LSMs (nsinit's detection): %s", strings.Join(lsms, ","))
			}
			if r.Inspection != "" {
				t.Logf("disk (inspected in %v): %s", r.InspectTime.Round(100*time.Millisecond), r.Inspection)
			}
			if r.App != nil {
				t.Logf("application: %v", r.App)
			}
			for _, d := range r.Denials {
				t.Logf("AVC: %s", d)
			}
			if err := s.Verify(r); err != nil {
				t.Errorf("%v\n--- console ---\n%s--- end of console ---", err, r.Console)
			}
		})
	}
}

// TestStage0PassesArgvThrough boots testinit directly after stage0 (no nsinit, no policy)
// and checks the boot chain itself: PID 1 and attr/current "kernel" after the switch to the
// ext4 root, and an argument vector the kernel command line cannot carry (a literal "--",
// a space, an empty word) passed through /stage0.args. Scenario (b) passes nsinit's
// arguments on the command line.
func TestStage0PassesArgvThrough(t *testing.T) {
	e := testEnv(t)
	b := binaries(t, e)
	im, err := RootImage(e, b, "enforcing")
	if err != nil {
		t.Fatal(err)
	}
	disk, err := im.Build(e)
	if err != nil {
		t.Fatal(err)
	}
	args := []string{"--", "with space", "", "--flag=x"}
	m := &Machine{Kernel: b.Kernel, Initrd: b.Initrd, Disk: disk, Cmdline: []string{"STAGE0_INIT=/sbin/init"}, Args: args}
	r, err := m.Boot(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if err := expectInit(KernelContext, "0", append([]string{"/sbin/init"}, args...)...)(r); err != nil {
		t.Errorf("%v\n--- console ---\n%s--- end of console ---", err, r.Console)
	}
}
