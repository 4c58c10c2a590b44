package boot

import (
	"context"
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"go.uber.org/zap"
	"go.uber.org/zap/zaptest/observer"

	"github.com/nsinit/nsinit/internal/config"
	"github.com/nsinit/nsinit/internal/detect"
	"github.com/nsinit/nsinit/internal/exitcode"
	"github.com/nsinit/nsinit/internal/resume"
	"github.com/nsinit/nsinit/internal/supervise"
)

const (
	kernelT   = "system_u:system_r:kernel_t:s0"
	initT     = "system_u:system_r:init_t:s0"
	initExecT = "system_u:object_r:init_exec_t:s0"
	binT      = "system_u:object_r:bin_t:s0"
	securityT = "system_u:object_r:security_t:s0"
)

// fakePolicy answers as a loaded policy would: create maps "scon tcon" to the new domain
// (else scon: no transition), deny lists "source target class perm" refused (everything
// else is allowed), undefined the permissions the policy does not define.
type fakePolicy struct {
	create    map[string]string
	deny      map[string]bool
	undefined map[string]bool
	avErr     error
}

var fakeClasses = []string{"", "security", "process", "file", "fd"}

var fakePerms = []string{"setexec", "read", "open", "execute", "transition", "noatsecure", "siginh", "rlimitinh", "entrypoint", "map", "use", "setenforce"}

func (p *fakePolicy) ClassIndex(class string) (int, error) {
	for i, c := range fakeClasses {
		if c == class && i > 0 {
			return i, nil
		}
	}
	return 0, errors.New("no class " + class)
}

func (p *fakePolicy) ComputeCreate(scon, tcon string, _ int) (string, error) {
	if d, ok := p.create[scon+" "+tcon]; ok {
		return d, nil
	}
	return scon, nil
}

func (p *fakePolicy) ComputeAV(scon, tcon string, tclass int) (uint32, error) {
	if p.avErr != nil {
		return 0, p.avErr
	}
	var allowed uint32
	for i, perm := range fakePerms {
		if !p.deny[typeOf(scon)+" "+typeOf(tcon)+" "+fakeClasses[tclass]+" "+perm] {
			allowed |= 1 << i
		}
	}
	return allowed, nil
}

func (p *fakePolicy) PermBit(class, perm string) (uint32, bool, error) {
	if p.undefined[class+" "+perm] {
		return 0, false, nil
	}
	for i, q := range fakePerms {
		if q == perm {
			return 1 << i, true, nil
		}
	}
	return 0, false, errors.New("unknown permission " + perm)
}

func (p *fakePolicy) InitialContext(name string) (string, error) {
	if name != "security" {
		return "", os.ErrNotExist
	}
	return securityT, nil
}

// debianLike is refpolicy as Debian builds it: kernel_t execs init_exec_t into init_t,
// init_t may enter init_exec_t but not bin_t.
func debianLike() *fakePolicy {
	return &fakePolicy{create: map[string]string{kernelT + " " + initExecT: initT},
		deny: map[string]bool{"init_t bin_t file entrypoint": true}}
}

func TestObserveDomain(t *testing.T) {
	const self, init = resume.Self, "/sbin/init"
	labels := func(m map[string]string) func(string) (string, error) {
		return func(p string) (string, error) {
			if l, ok := m[p]; ok {
				return l, nil
			}
			return "", os.ErrNotExist
		}
	}
	cur := func() (string, error) { return kernelT, nil }
	fedora := debianLike()
	fedora.deny["init_t security_t security setenforce"] = true
	undefinedMap := debianLike()
	undefinedMap.undefined = map[string]bool{"file map": true}
	undefinedMap.deny["init_t init_exec_t file map"] = true
	for _, tt := range []struct {
		name    string
		q       *fakePolicy
		labels  map[string]string
		from    string
		target  string
		missing string
		err     string
	}{
		{name: "nsinit init_exec_t: allowed", q: debianLike(), labels: map[string]string{self: initExecT, init: initExecT}, from: init, target: initT},
		{name: "nsinit bin_t: no entrypoint", q: debianLike(), labels: map[string]string{self: binT, init: initExecT}, from: init, target: initT,
			missing: "allow init_t bin_t:file { entrypoint }"},
		{name: "the target may not set the mode", q: fedora, labels: map[string]string{self: initExecT, init: initExecT}, from: init, target: initT,
			missing: "allow init_t security_t:security { setenforce }"},
		{name: "a permission the policy does not define is not asked", q: undefinedMap, labels: map[string]string{self: initExecT, init: initExecT}, from: init, target: initT},
		{name: "mislabelled init: no transition, nothing to ask", q: &fakePolicy{avErr: errors.New("must not be asked")}, labels: map[string]string{self: initExecT, init: binT}, from: init, target: kernelT},
		{name: "supervisor mode: from nsinit's own label", q: debianLike(), labels: map[string]string{self: initExecT}, from: self, target: initT},
		{name: "unreadable label", q: debianLike(), labels: map[string]string{self: initExecT}, from: init, err: "read the label of /sbin/init"},
		{name: "access error", q: &fakePolicy{create: debianLike().create, avErr: errors.New("EACCES")}, labels: map[string]string{self: initExecT, init: initExecT}, from: init, err: "EACCES"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			d := observeDomain(tt.q, cur, labels(tt.labels), self, tt.from)
			if tt.err != "" {
				if d.Err == nil || !strings.Contains(d.Err.Error(), tt.err) {
					t.Fatalf("err %v, want %q", d.Err, tt.err)
				}
				return
			}
			if d.Err != nil || d.Target != tt.target || strings.Join(d.Missing, "; ") != tt.missing {
				t.Fatalf("facts %+v; want target %s, missing %q", d, tt.target, tt.missing)
			}
		})
	}
}

func TestDecideDomain(t *testing.T) {
	load := Plan{Load: true}
	facts := func(d DomainFacts) Facts { return Facts{Domain: &d} }
	ok := DomainFacts{Current: kernelT, Self: initExecT, From: "/sbin/init", FromLabel: initExecT, Target: initT}
	missing := ok
	missing.Self, missing.Missing = binT, []string{"allow init_t bin_t:file { entrypoint }"}
	same := ok
	same.Target = kernelT
	broken := DomainFacts{Current: kernelT, Err: errors.New("no create node")}
	for _, tt := range []struct {
		name    string
		p       Plan
		f       Facts
		switch_ bool
		why     string
	}{
		{"nothing loaded", Plan{}, facts(ok), false, "no policy is loaded"},
		{"before the load (status)", load, Facts{}, false, "when the policy allows it"},
		{"second stage", load, Facts{Resumed: true, Domain: &ok}, false, "entered by re-executing"},
		{"allowed", load, facts(ok), true, "re-executing nsinit into " + initT},
		{"refused: the rule and the fix", load, facts(missing), false, "missing allow init_t bin_t:file { entrypoint }; to work in " + initT + ", label nsinit's file"},
		{"no transition", load, facts(same), false, "staying in " + kernelT + ": it is already"},
		{"unobservable", load, facts(broken), false, "no create node"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			got := decideDomain(tt.p, tt.f)
			if got.Switch != tt.switch_ || !strings.Contains(got.Why, tt.why) {
				t.Fatalf("%+v; want switch %v, why containing %q", got, tt.switch_, tt.why)
			}
		})
	}
}

// stage1 runs the first stage on w with the policy allowing the re-exec and returns the
// recorded re-exec.
func stage1(t *testing.T, w *world, o Options) reexec {
	t.Helper()
	w.policy = debianLike()
	o.ResumeArgv = func(fd int) []string { return []string{"nsinit", "boot", "--resume-fd", "9"} }
	w.run(context.Background(), o)
	if len(w.reexecs) != 1 {
		t.Fatalf("%d re-execs, want 1; console %s", len(w.reexecs), w.console.String())
	}
	return w.reexecs[0]
}

// stage2 prepares w as the re-executed process: in the target, the policy loaded, the
// load node reset to see that nothing loads again.
func stage2(t *testing.T, w *world, state []byte) System {
	t.Helper()
	w.context = initT
	if err := os.MkdirAll(filepath.Join(w.sfs, "class", "process"), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(w.sfs, "load"), nil, 0o644); err != nil {
		t.Fatal(err)
	}
	w.execed, w.frozen = nil, false
	sys := w.system()
	sys.ReadResume = func(fd int) ([]byte, error) {
		if fd != 9 {
			t.Errorf("ReadResume(%d), want the fd of the command line", fd)
		}
		return state, nil
	}
	return sys
}

func (w *world) opts(o Options) Options {
	o.Root, o.ProcDir, o.SysDir, o.SelinuxfsDir = w.root, "/nonexistent/proc", "/nonexistent/sys", w.sfs
	if o.Log == nil {
		o.Log = zap.NewNop()
	}
	o.Console = &w.console
	return o
}

// TestReexecIntoInitDomain: with a policy that allows it, nsinit re-executes itself into
// the init's domain right after the load, and the second stage relabels, sets the mode and
// execs the init there, without loading again. Before, nsinit stayed in kernel_t for all
// three (the Fedora setenforce denial).
func TestReexecIntoInitDomain(t *testing.T) {
	w := newWorld(t, "SELINUX=enforcing\nSELINUXTYPE=default\n")
	var relabelled []string
	w.relabel = func(context.Context, RelabelRequest) (string, error) {
		relabelled = append(relabelled, w.context)
		return "", nil
	}
	r := stage1(t, w, Options{})
	if r.target != initT || strings.Join(r.argv, " ") != "nsinit boot --resume-fd 9" {
		t.Fatalf("re-exec %+v", r)
	}
	// The fake re-exec returned: stage 1 went on as before, in kernel_t.
	if len(relabelled) != 1 || relabelled[0] != kernelT || w.execed == nil || w.node("enforce") != "1" {
		t.Fatalf("after a failed re-exec: relabelled in %q, exec %v, enforce %q", relabelled, w.execed, w.node("enforce"))
	}
	sys := stage2(t, w, r.state)
	core, logs := observer.New(zap.InfoLevel)
	if err := os.WriteFile(filepath.Join(w.sfs, "enforce"), []byte("0"), 0o644); err != nil {
		t.Fatal(err)
	}
	code := Run(context.Background(), w.opts(Options{ResumeFD: 9, Log: zap.New(core)}), sys)
	if code != exitcode.FailClosed || w.execed == nil || w.execed.Path != filepath.Join(w.root, "sbin/init") {
		t.Fatalf("stage 2: status %d, exec %v; console %s", code, w.execed, w.console.String())
	}
	if w.node("load") != "" || len(relabelled) != 2 || relabelled[1] != initT || w.node("enforce") != "1" {
		t.Fatalf("stage 2: loaded %d bytes again, relabelled in %q, enforce %q", len(w.node("load")), relabelled, w.node("enforce"))
	}
	for _, step := range []string{"relabel", "set the mode"} {
		e := logs.FilterMessage(step).All()
		if len(e) != 1 || e[0].ContextMap()["context"] != initT {
			t.Errorf("step %q logged %v, want context %s", step, e, initT)
		}
	}
	if e := logs.FilterMessageSnippet("handing off").All(); len(e) != 1 || !strings.Contains(e[0].Message, "re-executed into "+initT) || !strings.Contains(e[0].Message, "loaded in") {
		t.Errorf("summary %v, want stage 1's load and the re-exec", e)
	}
	if len(w.reexecs) != 1 {
		t.Errorf("stage 2 re-executed again")
	}
}

// TestReexecRefusedKeepsBehaviour: a policy without the entrypoint (nsinit labelled bin_t)
// makes nsinit stay, say once why, and bring up as before.
func TestReexecRefusedKeepsBehaviour(t *testing.T) {
	w := newWorld(t, "SELINUX=enforcing\nSELINUXTYPE=default\n")
	w.policy = debianLike()
	w.labels[resume.Self] = binT
	core, logs := observer.New(zap.InfoLevel)
	code := Run(context.Background(), w.opts(Options{Log: zap.New(core), ResumeArgv: func(int) []string { return nil }}), w.system())
	if code != exitcode.FailClosed || w.execed == nil || len(w.reexecs) != 0 || w.node("enforce") != "1" {
		t.Fatalf("status %d, exec %v, re-execs %d, enforce %q", code, w.execed, len(w.reexecs), w.node("enforce"))
	}
	e := logs.FilterMessage(domainStep).All()
	if len(e) != 1 || e[0].Level != zap.InfoLevel {
		t.Fatalf("%d %q lines, want one at info", len(e), domainStep)
	}
	why, _ := e[0].ContextMap()["why"].(string)
	if !strings.Contains(why, "allow init_t bin_t:file { entrypoint }") || !strings.Contains(why, "init_exec_t") {
		t.Fatalf("why %q: want the missing rule and the fix", why)
	}
}

// TestResumeRefusesForgeries: a state that is not nsinit's own re-exec into the init's
// domain stops the bring-up before anything runs, and never skips the load silently.
func TestResumeRefusesForgeries(t *testing.T) {
	edit := func(f func(st *resumeState)) func([]byte) []byte {
		return func(good []byte) []byte {
			var st resumeState
			if err := json.Unmarshal(good, &st); err != nil {
				t.Fatal(err)
			}
			f(&st)
			b, _ := json.Marshal(st)
			return b
		}
	}
	keep := func(good []byte) []byte { return good }
	for _, tt := range []struct {
		name  string
		state func(good []byte) []byte
		setup func(w *world, sys *System)
		want  string
	}{
		{name: "not a state", state: func([]byte) []byte { return []byte("--resume-fd=3") }, want: "resume state"},
		{name: "unreadable descriptor", state: keep, setup: func(_ *world, sys *System) {
			sys.ReadResume = func(int) ([]byte, error) { return nil, errors.New("descriptor 3 is not nsinit's state memfd") }
		}, want: "not nsinit's state memfd"},
		{name: "another PID", state: edit(func(st *resumeState) { st.PID++ }), want: "this is PID"},
		{name: "still in the kernel's domain", state: keep, setup: func(w *world, _ *System) { w.context = kernelT }, want: "not in the domain"},
		{name: "no policy loaded", state: keep, setup: func(w *world, _ *System) { os.RemoveAll(filepath.Join(w.sfs, "class", "process")) }, want: "no policy is loaded"},
		{name: "no domain change", state: edit(func(st *resumeState) { st.Target = st.From }), want: "names no domain change"},
		{name: "the label before any policy", state: edit(func(st *resumeState) { st.Target = "kernel" }), setup: func(w *world, _ *System) { w.context = "kernel" }, want: "names no domain change"},
		{name: "a verdict that loads nothing", state: edit(func(st *resumeState) { st.Detection.Verdict = detect.Initialized }), want: "not one under which"},
		{name: "another version", state: edit(func(st *resumeState) { st.Version = 99 }), want: "state version 99"},
		{name: "another selinuxfs", state: edit(func(st *resumeState) { st.SelinuxfsDir = "/elsewhere" }), want: "/elsewhere"},
		{name: "the plan changed", state: edit(func(st *resumeState) { st.Mode = config.ModePermissive }), want: "the plan changed"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			w := newWorld(t, "SELINUX=enforcing\nSELINUXTYPE=default\n")
			w.pid1 = false
			sys := stage2(t, w, tt.state(stage1(t, w, Options{}).state))
			if tt.setup != nil {
				tt.setup(w, &sys)
			}
			var relabelled bool
			sys.Relabel = func(context.Context, RelabelRequest) (string, error) { relabelled = true; return "", nil }
			if err := os.WriteFile(filepath.Join(w.sfs, "enforce"), []byte("0"), 0o644); err != nil {
				t.Fatal(err)
			}
			w.console.Reset()
			code := Run(context.Background(), w.opts(Options{ResumeFD: 9}), sys)
			c := w.console.String()
			if code != exitcode.Usage || w.execed != nil || relabelled || w.node("load") != "" || w.node("enforce") != "0" {
				t.Fatalf("status %d, exec %v, relabelled %v, enforce %q; console %s", code, w.execed, relabelled, w.node("enforce"), c)
			}
			if !strings.Contains(c, "resume the bring-up in the init's domain") || !strings.Contains(c, tt.want) || !strings.Contains(c, "start nsinit without it") {
				t.Fatalf("console %q, want the failure and %q", c, tt.want)
			}
		})
	}
}

// TestSupervisedTargetFromOwnLabel: in supervisor mode nsinit stays PID 1, so its domain
// comes from its own file (systemd's computation), not from the application's (bin_t from
// kernel_t is kernel_generic_helper_t in Fedora's policy).
func TestSupervisedTargetFromOwnLabel(t *testing.T) {
	w := newWorld(t, "SELINUX=enforcing\nSELINUXTYPE=default\n")
	w.pid1 = false
	w.write("usr/bin/app", "", 0o755)
	app := filepath.Join(w.root, "usr/bin/app")
	w.labels[app] = binT
	w.policy = debianLike()
	w.policy.create[kernelT+" "+binT] = "system_u:system_r:kernel_generic_helper_t:s0"
	sys := w.system()
	sys.Supervise = func(context.Context, supervise.Options) (int, error) { return 0, nil }
	o := w.opts(Options{Supervise: &supervise.Options{}, Args: []string{"/usr/bin/app"}, ResumeArgv: func(int) []string { return nil }})
	Run(context.Background(), o, sys)
	if len(w.reexecs) != 1 || w.reexecs[0].target != initT {
		t.Fatalf("re-execs %+v, want one into %s", w.reexecs, initT)
	}
}
