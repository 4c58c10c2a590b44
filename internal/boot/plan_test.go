package boot

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"go.uber.org/zap"
	"go.uber.org/zap/zaptest/observer"

	"github.com/nsinit/nsinit/internal/config"
	"github.com/nsinit/nsinit/internal/detect"
	"github.com/nsinit/nsinit/internal/exitcode"
	"github.com/nsinit/nsinit/internal/handoff"
	"github.com/nsinit/nsinit/internal/supervise"
)

// policyFixture returns one of policydb's checkpolicy-built fixtures.
func policyFixture(t *testing.T, name string) string {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("..", "policydb", "testdata", name))
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// planFixtures are fake machines on which the bring-up and `nsinit status` must agree.
var planFixtures = []struct {
	name   string
	config string
	setup  func(t *testing.T, w *world)
	opts   Options
}{
	{name: "boot enforcing", config: "SELINUX=enforcing\nSELINUXTYPE=default\n"},
	{name: "permissive container", config: "SELINUX=permissive\nSELINUXTYPE=default\n",
		setup: func(t *testing.T, w *world) { w.pid1 = false; w.verdict = detect.Unshared }},
	{name: "disabled", config: "SELINUX=disabled\nSELINUXTYPE=default\n"},
	{name: "flag overrides config", config: "SELINUX=enforcing\nSELINUXTYPE=default\n", opts: Options{Mode: config.ModePermissive}},
	{name: "env overrides config", config: "SELINUX=permissive\nSELINUXTYPE=default\n",
		setup: func(t *testing.T, w *world) { w.env["NSINIT_MODE"] = "enforcing" }},
	{name: "bad env", config: "SELINUX=permissive\nSELINUXTYPE=default\n",
		setup: func(t *testing.T, w *world) { w.env["NSINIT_MODE"] = "enforce-ish" }},
	{name: "policy.35 only, kernel 33: downgraded", config: "SELINUX=enforcing\nSELINUXTYPE=default\n",
		setup: func(t *testing.T, w *world) {
			os.Remove(filepath.Join(w.root, "etc/selinux/default/policy/policy.33"))
			w.write("etc/selinux/default/policy/policy.35", policyFixture(t, "rich.35"), 0o644)
		}},
	{name: "policy.35 only, kernel 33, not provably lossless: refused", config: "SELINUX=enforcing\nSELINUXTYPE=default\n",
		setup: func(t *testing.T, w *world) {
			os.Remove(filepath.Join(w.root, "etc/selinux/default/policy/policy.33"))
			w.write("etc/selinux/default/policy/policy.35", policyFixture(t, "neveraudit.35"), 0o644)
		}},
	{name: "policy missing, permissive", config: "SELINUX=permissive\nSELINUXTYPE=default\n",
		setup: func(t *testing.T, w *world) { os.Remove(filepath.Join(w.root, "etc/selinux/default/policy/policy.33")) }},
	{name: "refused", config: "SELINUX=enforcing\nSELINUXTYPE=default\n",
		setup: func(t *testing.T, w *world) { w.pid1 = false; w.verdict = detect.Refused }},
	{name: "unavailable, permissive", config: "SELINUX=permissive\nSELINUXTYPE=default\n",
		setup: func(t *testing.T, w *world) { w.pid1 = false; w.verdict = detect.Unavailable }},
	{name: "initialized", config: "SELINUX=enforcing\nSELINUXTYPE=default\n",
		setup: func(t *testing.T, w *world) { w.pid1 = false; w.verdict = detect.Initialized }},
	{name: "no init", config: "SELINUX=enforcing\nSELINUXTYPE=default\n",
		setup: func(t *testing.T, w *world) { w.pid1 = false; os.Remove(filepath.Join(w.root, "sbin/init")) }},
	{name: "config unreadable, --mode permissive", config: "", opts: Options{Mode: config.ModePermissive},
		setup: func(t *testing.T, w *world) {
			os.Remove(filepath.Join(w.root, "etc/selinux/config"))
			os.Mkdir(filepath.Join(w.root, "etc/selinux/config"), 0o755)
		}},
	{name: "config unreadable, no mode", config: "",
		setup: func(t *testing.T, w *world) {
			os.Remove(filepath.Join(w.root, "etc/selinux/config"))
			os.Mkdir(filepath.Join(w.root, "etc/selinux/config"), 0o755)
		}},
	{name: "config missing: libselinux defaults", config: "",
		setup: func(t *testing.T, w *world) { os.Remove(filepath.Join(w.root, "etc/selinux/config")) }},
}

// summarize is the part of a plan both sides can know before acting.
func summarize(p Plan) string {
	problem := "none"
	if p.Problem != nil {
		problem = fmt.Sprintf("%s (%v) -> %+v", p.Problem.What, p.Problem.Err, p.Outcome(*p.Problem))
	}
	policy := "none"
	if p.Policy != nil {
		policy = fmt.Sprintf("%s v%d downgraded=%v", p.Policy.Path, p.Policy.Header.Version, p.Policy.Downgraded)
	}
	return fmt.Sprintf("verdict %v; mode %v from %q; load %v; problem %s; policy %s; init %s",
		p.Verdict, p.Mode, p.ModeSource, p.Load, problem, policy, p.Init.Path)
}

// TestStatusAgreesWithBringUp runs the bring-up and the survey `nsinit status` makes on the
// same fake machine, and compares the plans.
func TestStatusAgreesWithBringUp(t *testing.T) {
	for _, fx := range planFixtures {
		t.Run(fx.name, func(t *testing.T) {
			w := newWorld(t, fx.config)
			if fx.setup != nil {
				fx.setup(t, w)
			}
			o := fx.opts
			o.Root, o.ProcDir, o.SysDir, o.SelinuxfsDir = w.root, "/nonexistent/proc", "/nonexistent/sys", w.sfs
			o.Log, o.Console = zap.NewNop(), &w.console
			// The survey first: the bring-up writes to the fake selinuxfs.
			surveyed := Decide(Survey(o, w.system(), 33))
			_, ran := execute(context.Background(), o, w.system())
			if got, want := summarize(surveyed), summarize(ran); got != want {
				t.Fatalf("status and the bring-up disagree:\nstatus:   %s\nbring-up: %s\nconsole:\n%s", got, want, w.console.String())
			}
		})
	}
}

// TestPolicy35OnKernel33: the case where status once said NOT LOADABLE while the bring-up
// loaded the policy after a downgrade.
func TestPolicy35OnKernel33(t *testing.T) {
	w := newWorld(t, "SELINUX=enforcing\nSELINUXTYPE=default\n")
	os.Remove(filepath.Join(w.root, "etc/selinux/default/policy/policy.33"))
	w.write("etc/selinux/default/policy/policy.35", policyFixture(t, "rich.35"), 0o644)
	p := Decide(Survey(Options{Root: w.root, SelinuxfsDir: w.sfs}, w.system(), 33))
	if p.Problem != nil || p.Policy == nil || !p.Policy.Downgraded || !p.Load {
		t.Fatalf("plan: %s", summarize(p))
	}
	if code := w.run(context.Background(), Options{}); code != exitcode.FailClosed || w.node("load") == "" || !strings.Contains(w.console.String(), "fake exec") {
		t.Fatalf("bring-up: status %d, loaded %d bytes, console %q", code, len(w.node("load")), w.console.String())
	}
}

// TestOutcomeRule is the failure rule's table.
func TestOutcomeRule(t *testing.T) {
	plain, fatal, refused := Failure{}, Failure{Fatal: true}, Failure{Refused: true}
	for _, tt := range []struct {
		mode    config.Mode
		machine bool
		f       Failure
		want    Outcome
	}{
		{config.ModeEnforcing, false, plain, Outcome{Stop: true, Emergency: true, Code: exitcode.FailClosed}},
		{config.ModeEnforcing, true, plain, Outcome{Stop: true, Emergency: true, Freeze: true, Code: exitcode.FailClosed}},
		{config.ModeEnforcing, false, refused, Outcome{Stop: true, Emergency: true, Code: exitcode.Refused}},
		{config.ModeEnforcing, false, fatal, Outcome{Stop: true, Emergency: true, Code: exitcode.FailClosed}},
		{config.ModeUnset, false, Failure{Usage: true, Fatal: true}, Outcome{Stop: true, Emergency: true, Code: exitcode.Usage}},
		{config.ModePermissive, false, plain, Outcome{}},
		{config.ModePermissive, false, refused, Outcome{}},
		{config.ModePermissive, false, fatal, Outcome{Stop: true, Code: exitcode.ExecFailed}},
		{config.ModePermissive, true, fatal, Outcome{Stop: true, Emergency: true, Freeze: true, Code: exitcode.ExecFailed}},
		{config.ModeDisabled, false, fatal, Outcome{Stop: true, Code: exitcode.ExecFailed}},
	} {
		p := Plan{Mode: tt.mode, MachinePID1: tt.machine}
		if got := p.Outcome(tt.f); got != tt.want {
			t.Errorf("mode %v, machine PID 1 %v, %+v: %+v, want %+v", tt.mode, tt.machine, tt.f, got, tt.want)
		}
	}
}

// TestInitEnvDropsSELINUXNS: once the namespace has its policy, the init must not see the
// runtime's request to set it up (a patched systemd would set SELinux up again).
func TestInitEnvDropsSELINUXNS(t *testing.T) {
	for _, tt := range []struct {
		name     string
		verdict  detect.Verdict
		config   string
		dropped  bool
		wantExec bool
	}{
		{"loaded by nsinit", detect.Unshared, "SELINUX=permissive\nSELINUXTYPE=default\n", true, true},
		{"already loaded", detect.Initialized, "SELINUX=permissive\nSELINUXTYPE=default\n", true, true},
		{"refused, permissive: nothing was set up", detect.Refused, "SELINUX=permissive\nSELINUXTYPE=default\n", false, true},
		{"disabled: nothing was set up", detect.Unshared, "SELINUX=disabled\nSELINUXTYPE=default\n", false, true},
	} {
		t.Run(tt.name, func(t *testing.T) {
			w := newWorld(t, tt.config)
			w.pid1, w.verdict = false, tt.verdict
			var env []string
			sys := w.system()
			sys.Environ = func() []string { return []string{"A=1", "SELINUXNS=1", "SELINUXNSX=2"} }
			sys.Exec = func(_ handoff.Target, e []string, _ string) error { env = e; return errFakeExec }
			o := Options{Root: w.root, ProcDir: "/x", SysDir: "/x", SelinuxfsDir: w.sfs, Log: zap.NewNop(), Console: &w.console}
			Run(context.Background(), o, sys)
			got := strings.Join(env, " ")
			want := "A=1 SELINUXNS=1 SELINUXNSX=2"
			if tt.dropped {
				want = "A=1 SELINUXNSX=2"
			}
			if got != want {
				t.Fatalf("init environment %q, want %q", got, want)
			}
		})
	}
}

// TestStatusFile: with --status-file an orchestrator can tell an application's exit status
// from nsinit's own, which share numbers (an application may exit 4).
func TestStatusFile(t *testing.T) {
	for _, tt := range []struct {
		name   string
		config string
		app    int
		appErr error
		want   string
	}{
		{"application exits 4", "SELINUX=enforcing\nSELINUXTYPE=default\n", 4, nil, `{"by":"application","status":4}`},
		{"nsinit fails closed with 4", "SELINUX=enforcing\nSELINUXTYPE=default\n", 0, errFakeExec,
			`{"by":"nsinit","status":4,"reason":"failed to start the application /ROOT/sbin/init"}`},
		{"permissive start failure", "SELINUX=permissive\nSELINUXTYPE=default\n", 5, errFakeExec,
			`{"by":"nsinit","status":5,"reason":"failed to start the application /ROOT/sbin/init"}`},
	} {
		t.Run(tt.name, func(t *testing.T) {
			w := newWorld(t, tt.config)
			w.pid1 = false
			sys := w.system()
			sys.Supervise = func(context.Context, supervise.Options) (int, error) { return tt.app, tt.appErr }
			file := filepath.Join(t.TempDir(), "status.json")
			o := Options{Root: w.root, ProcDir: "/x", SysDir: "/x", SelinuxfsDir: w.sfs, Log: zap.NewNop(), Console: &w.console,
				Supervise: &supervise.Options{}, StatusFile: file}
			code := Run(context.Background(), o, sys)
			b, err := os.ReadFile(file)
			if err != nil {
				t.Fatal(err)
			}
			got := strings.ReplaceAll(strings.TrimSpace(string(b)), w.root, "/ROOT")
			if got != tt.want || !strings.Contains(got, fmt.Sprintf(`"status":%d`, code)) {
				t.Fatalf("status %d, file %s; want %s", code, got, tt.want)
			}
		})
	}
}

// TestStepLogsCarryFields: each step's log line carries what the step reported (the
// detection's verdict and evidence, the mode and its source, ...), with its duration.
func TestStepLogsCarryFields(t *testing.T) {
	w := newWorld(t, "SELINUX=permissive\nSELINUXTYPE=default\n")
	core, logs := observer.New(zap.InfoLevel)
	o := Options{Root: w.root, ProcDir: "/x", SysDir: "/x", SelinuxfsDir: w.sfs, Log: zap.New(core), Console: &w.console}
	Run(context.Background(), o, w.system())
	for step, field := range map[string]string{"detect": "verdict", "configure": "mode", "read the policy": "file", "load the policy": "kernel_load", "set the mode": "mode"} {
		entries := logs.FilterMessage(step).All()
		if len(entries) != 1 {
			t.Errorf("%d log lines for step %q, want 1", len(entries), step)
			continue
		}
		ctx := entries[0].ContextMap()
		if _, ok := ctx[field]; !ok {
			t.Errorf("step %q logged %v, want a %q field", step, ctx, field)
		}
		if _, ok := ctx["took"]; !ok {
			t.Errorf("step %q logged no duration", step)
		}
	}
}

// TestStepLogsAreShort: at the default level each step is one short line (every byte of a
// boot console costs emulated UART time: the detect line with its evidence was 700 bytes),
// and the evidence is there at debug level, in a "<step>: details" line.
func TestStepLogsAreShort(t *testing.T) {
	w := newWorld(t, "SELINUX=permissive\nSELINUXTYPE=default\n")
	core, logs := observer.New(zap.DebugLevel)
	o := Options{Root: w.root, ProcDir: "/x", SysDir: "/x", SelinuxfsDir: w.sfs, Log: zap.New(core), Console: &w.console}
	Run(context.Background(), o, w.system())
	for _, s := range sequence {
		for _, e := range logs.FilterMessage(s.name).All() {
			if e.Level != zap.InfoLevel {
				continue
			}
			if n := len(e.Context); n > 4 {
				t.Errorf("step %q logs %d fields at info level, want at most 4 (took included): %v", s.name, n, e.ContextMap())
			}
		}
	}
	details := logs.FilterMessage("detect: details").All()
	if len(details) != 1 || details[0].Level != zap.DebugLevel || details[0].ContextMap()["evidence"] == nil {
		t.Errorf("detect: details = %v, want one debug line with the evidence", details)
	}
	// Every step's details say what it cost the process (where a boot's time went under
	// emulation: docs/performance.md), whether or not the step has evidence of its own.
	for _, s := range sequence {
		for _, e := range logs.FilterMessage(s.name + ": details").All() {
			m := e.ContextMap()
			for _, k := range []string{"user", "system", "minor_faults", "major_faults", "blocks_read"} {
				if _, ok := m[k]; !ok {
					t.Errorf("%s: details lacks %s: %v", s.name, k, m)
				}
			}
		}
	}
	if n := len(logs.FilterMessageSnippet(": details").All()); n < 5 {
		t.Errorf("%d details lines, want one per step that ran", n)
	}
}

// TestStatusSeesTheAdmissionRefusal: a policy whose header is valid but whose body is not
// is not loadable, and status says so before the bring-up tries (it once reported it
// loadable, and only the load step refused it).
func TestStatusSeesTheAdmissionRefusal(t *testing.T) {
	w := newWorld(t, "SELINUX=enforcing\nSELINUXTYPE=default\n")
	good := policyFixture(t, "rich.33")
	w.write("etc/selinux/default/policy/policy.33", good[:len(good)/2], 0o644)
	p := Decide(Survey(Options{Root: w.root, SelinuxfsDir: w.sfs}, w.system(), 33))
	if p.Problem == nil || p.Problem.What != "read the policy" || !strings.Contains(p.Problem.Err.Error(), "refused before the load") {
		t.Fatalf("plan: %s", summarize(p))
	}
	if code := w.run(context.Background(), Options{}); code != exitcode.FailClosed || w.node("load") != "" || !strings.Contains(w.console.String(), "failed to read the policy") {
		t.Fatalf("bring-up: status %d, loaded %d bytes, console %q", code, len(w.node("load")), w.console.String())
	}
}
