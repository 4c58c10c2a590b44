package vm

import (
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"math/rand"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"golang.org/x/sys/unix"

	"github.com/nsinit/nsinit/internal/sigpolicy"
	"github.com/nsinit/nsinit/internal/sigpolicy/sigtest"
)

// Contexts and paths the scenarios assert.
const (
	// InitContext is the domain Debian's policy gives PID 1 when it execs an init_exec_t
	// file from kernel_t (type_transition kernel_t init_exec_t:process init_t).
	InitContext = "system_u:system_r:init_t:s0"
	// InitExecLabel is the label file_contexts gives /sbin/init and /usr/sbin/init.
	InitExecLabel = "system_u:object_r:init_exec_t:s0"
	// KernelContext is attr/current before any policy is loaded.
	KernelContext = "kernel"
	// PolicyFile is the policy inside the scenario images.
	PolicyFile = "/etc/selinux/default/policy/policy.33"
)

// Binaries are the programs a scenario image holds.
type Binaries struct {
	// NSInit is the product, installed as /sbin/nsinit; empty leaves it out (the harness's
	// own tests boot testinit right after stage0).
	NSInit string
	// TestInit is test/vm/testinit, installed as /sbin/init and /usr/sbin/init (both
	// init_exec_t in Debian's file_contexts).
	TestInit string
	// TestApp is test/vm/testapp, installed as /usr/bin/testapp (bin_t): the application
	// of the supervisor scenario.
	TestApp string
	// Initrd is the stage0 initramfs.
	Initrd string
}

// Prepare builds the harness's own static binaries (testinit, stage0) and the initramfs,
// and returns them with nsinit, the product binary to install (see BuildNSInit).
func Prepare(e Env, nsinit string) (Binaries, error) {
	b := Binaries{NSInit: nsinit}
	if nsinit != "" {
		if err := requireStatic(nsinit); err != nil {
			return b, err
		}
	}
	var err error
	if b.TestInit, err = e.BuildGo("./test/vm/testinit"); err != nil {
		return b, err
	}
	if b.TestApp, err = e.BuildGo("./test/vm/testapp"); err != nil {
		return b, err
	}
	stage0, err := e.BuildGo("./test/vm/stage0")
	if err != nil {
		return b, err
	}
	b.Initrd, err = e.Initramfs(stage0)
	return b, err
}

// BuildNSInit builds ./cmd/nsinit, static, the way the Makefile does.
func (e Env) BuildNSInit() (string, error) { return e.BuildGo("./cmd/nsinit") }

// RootImage returns the scenarios' root filesystem: nsinit, testinit, Debian's policy
// (SELINUXTYPE=default) with /etc/selinux/config saying SELINUX=mode, the mount points
// nsinit and the kernel need, labelled with the policy's own file_contexts.
func RootImage(e Env, b Binaries, mode string) (*Image, error) {
	im := NewImage(64)
	im.FileContexts = filepath.Join(e.PolicyDir(), "contexts", "files", "file_contexts")
	for _, d := range []string{"dev", "proc", "sys", "run", "root", "etc", "usr/sbin", "sbin"} {
		im.AddDir(d, 0o755)
	}
	im.AddDir("tmp", fs.ModeSticky|0o777)
	if b.NSInit != "" {
		im.AddHostFile("sbin/nsinit", 0o755, b.NSInit)
	}
	im.AddHostFile("sbin/init", 0o755, b.TestInit)
	im.AddHostFile("usr/sbin/init", 0o755, b.TestInit)
	if b.TestApp != "" {
		im.AddHostFile("usr/bin/testapp", 0o755, b.TestApp)
	}
	im.AddFile("etc/selinux/config", 0o644, []byte(fmt.Sprintf(
		"# written by nsinit's VM test harness (test/vm)\nSELINUX=%s\nSELINUXTYPE=default\n", mode)))
	if err := im.AddTree("etc/selinux/default", e.PolicyDir()); err != nil {
		return nil, err
	}
	return im, nil
}

// Scenario is one real-kernel boot of an issue's acceptance list.
type Scenario struct {
	// Name identifies the scenario (test name, demo flag); ID is its letter in issue 2,
	// or the number (and a letter) for later issues.
	Name, ID string
	// Summary says what it shows.
	Summary string
	// SELinux is the SELINUX= value of /etc/selinux/config.
	SELinux string
	// Change alters the standard image (RootImage), e.g. removes the policy.
	Change func(e Env, im *Image) error
	// Cmdline holds extra kernel words; Args are nsinit's arguments (see Machine).
	Cmdline, Args []string
	// NoSELinux boots the kernel without security=selinux (see Machine).
	NoSELinux bool
	// Needs lists the provisioned inputs beyond the kernel and the policy that the
	// scenario uses (NeedMinbase, NeedTrixie): tests gate on them.
	Needs []string
	// Inspect, if set, makes the boot writable: the guest boots a copy of the image, and
	// after the power-off Inspect examines what it wrote (disk is the copy). Its summary
	// and error land in Result.Inspection and Result.InspectErr.
	Inspect func(e Env, im *Image, disk string) (string, error)
	// Check returns what is wrong with the boot's result, or nil.
	Check func(r *Result) error
}

// Provisioned inputs a Scenario may need (Scenario.Needs).
const (
	// NeedMinbase is the debootstrap minbase tree (Env.Minbase).
	NeedMinbase = "minbase"
	// NeedTrixie is the policies written by newer compilers (Env.TrixiePolicy).
	NeedTrixie = "trixie"
	// NeedSystemd is bookworm's minbase with systemd (Env.MinbaseSystemd).
	NeedSystemd = "minbase-systemd"
)

// Scenarios are issue 2's acceptance scenarios (a)-(g), variants of them that reach other
// branches of the failure policy (b2, d2, e2, g2), the reference control, and the
// scenarios of issues 4, 5 and 6.
var Scenarios = []Scenario{
	{
		Name: "enforcing", ID: "a",
		Summary: "SELINUX=enforcing: nsinit loads the policy, enforces and execs /sbin/init, which runs as PID 1 in init_t with enforce=1",
		SELinux: "enforcing",
		Check:   all(expectInit(InitContext, "1", "/sbin/init"), expectLogged("exec /sbin/init")),
	},
	{
		Name: "permissive", ID: "b",
		Summary: "--mode permissive over SELINUX=enforcing: the policy is loaded, enforce stays 0, the init runs (in init_t)",
		SELinux: "enforcing",
		Args:    []string{"--mode", "permissive"},
		Check:   expectInit(InitContext, "0", "/sbin/init"),
	},
	{
		Name: "disabled", ID: "c",
		Summary: "SELINUX=disabled: no policy is loaded (attr/current stays \"kernel\"), the init runs",
		SELinux: "disabled",
		Check:   expectInit(KernelContext, "0", "/sbin/init"),
	},
	{
		Name: "policy-missing", ID: "d",
		Summary: "SELINUX=enforcing without policy.33: nsinit never runs the init, names the missing file and freezes",
		SELinux: "enforcing",
		Change:  removePolicy,
		Check:   expectFailClosed(filepath.Dir(PolicyFile)),
	},
	{
		Name: "policy-corrupt", ID: "e",
		Summary: "SELINUX=enforcing with a policy.33 of random bytes: nsinit never runs the init, says why and freezes",
		SELinux: "enforcing",
		Change: func(_ Env, im *Image) error {
			garbage := make([]byte, 64<<10)
			rand.New(rand.NewSource(2)).Read(garbage)
			im.AddFile(strings.TrimPrefix(PolicyFile, "/"), 0o644, garbage)
			return nil
		},
		Check: expectFailClosed(PolicyFile, "magic"),
	},
	{
		Name: "policy-truncated", ID: "e2",
		Summary: "SELINUX=enforcing with policy.33 cut to its first 64 KiB (a valid header): nsinit's admission check refuses it before the kernel parses it (the kernel itself answered EINVAL before the check existed); nsinit never runs the init, says why (file, section, offset) and freezes",
		SELinux: "enforcing",
		Change: func(_ Env, im *Image) error {
			p := strings.TrimPrefix(PolicyFile, "/")
			data, err := os.ReadFile(im.Entries[p].Src)
			if err != nil {
				return err
			}
			im.AddFile(p, 0o644, data[:64<<10])
			return nil
		},
		Check: expectFailClosed(PolicyFile, "refused before the load", "malformed policy at byte"),
	},
	{
		Name: "permissive-policy-missing", ID: "b2",
		Summary: "SELINUX=permissive without policy.33: nsinit warns and execs the init anyway (no policy: attr/current stays \"kernel\")",
		SELinux: "permissive",
		Change:  removePolicy,
		Check:   expectInit(KernelContext, "0", "/sbin/init"),
	},
	{
		Name: "no-selinux-kernel", ID: "d2",
		Summary: "SELINUX=enforcing on a kernel booted without security=selinux (no selinuxfs): nsinit never runs the init, says SELinux is unavailable and freezes",
		SELinux: "enforcing", NoSELinux: true,
		Check: expectFailClosed("selinuxfs", "security=selinux"),
	},
	{
		Name: "init-args", ID: "f",
		Summary: "nsinit -- /usr/sbin/init alpha 'two words' --gamma: the init gets exactly that argv, in init_t, enforcing",
		SELinux: "enforcing",
		Args:    []string{"--", "/usr/sbin/init", "alpha", "two words", "--gamma"},
		Check:   expectInit(InitContext, "1", "/usr/sbin/init", "alpha", "two words", "--gamma"),
	},
	{
		Name: "exec-context", ID: "g",
		Summary: "nsinit --exec-context " + InitContext + ", enforcing, /sbin/init init_exec_t: nsinit writes the context to attr/exec and execs; the init runs in exactly that context with enforce=1 and no AVC denial (none for creating attr/exec)",
		SELinux: "enforcing",
		Args:    []string{"--exec-context", InitContext},
		Check: all(expectInit(InitContext, "1", "/sbin/init"), expectInitLabel(InitExecLabel),
			expectLogged("exec /sbin/init as "+InitContext+" (--exec-context)"), expectOnlyDenials()),
	},
	{
		Name: "exec-context-denied", ID: "g2",
		Summary: "nsinit --exec-context " + InitContext + " -- " + BinInitPath + " (testinit labelled bin_t, not an entrypoint of init_t), enforcing: the kernel refuses the exec; nsinit never runs the init, names the exec failure and freezes",
		SELinux: "enforcing",
		Change:  addBinInit,
		Args:    []string{"--exec-context", InitContext, "--", BinInitPath},
		Check: all(expectFailClosed("execute the init "+BinInitPath, "permission denied"),
			expectLogged("exec "+BinInitPath+" as "+InitContext+" (--exec-context)"),
			expectKernelDenied("entrypoint", "scontext="+InitContext, "tcontext="+BinLabel), expectOnlyDenials("entrypoint")),
	},
	{
		Name: "systemd", ID: "15",
		Summary: "nsinit before bookworm's stock systemd 252 at boot, SELINUX=enforcing: nsinit checks the policy and execs systemd, which loads it once (one audit type=1403), runs in init_t and enforces",
		SELinux: "enforcing",
		Needs:   []string{NeedSystemd},
		Change:  systemdImage,
		Cmdline: []string{"systemd.unit=nsinit-check.service"},
		Check:   expectOneLoad(InitContext, "1"),
	},
	{
		Name: "reference-loader", ID: "control",
		Summary: "no nsinit: testinit as PID 1 loads the policy itself, enforces and re-execs /sbin/init; proves the image, labels and kernel independently of nsinit",
		SELinux: "enforcing",
		Cmdline: []string{"STAGE0_INIT=/sbin/init", "TESTINIT_LOAD=" + PolicyFile, "TESTINIT_ENFORCE=1"},
		Check:   expectInit(InitContext, "1", "/sbin/init"),
	},
	{
		Name: "first-boot-relabel", ID: "4",
		Summary: "an unlabelled root (minbase's names, the image's files) with an empty /.autorelabel: nsinit relabels, enforces, the init runs in init_t; after the power-off the marker is gone and every label in the image equals Debian's setfiles on the same tree",
		SELinux: "enforcing",
		Needs:   []string{NeedMinbase},
		Change:  unlabelledMinbase(""),
		Inspect: inspectRelabel(false),
		// The relabel keeps the bring-up running for seconds: stage0's signaller sends the
		// machine's PID 1 every signal that does not abort the bring-up, meanwhile.
		Cmdline: []string{"STAGE0_SIGNALS=1"},
		Check: all(expectInit(InitContext, "1", "/sbin/init"), expectInitLabel(InitExecLabel),
			expectLogged(`"reason": "/`+autorelabel+` exists (requested, or an earlier relabel did not finish)", "force": false`), expectLogged("relabelled"), expectInspected,
			expectBringUpSignals),
	},
	{
		Name: "first-boot-relabel-force", ID: "4b",
		Summary: "the same unlabelled root with /.autorelabel saying -F: nsinit relabels with force; every label in the image equals setfiles -F on the same tree",
		SELinux: "enforcing",
		Needs:   []string{NeedMinbase},
		Change:  unlabelledMinbase("-F\n"),
		Inspect: inspectRelabel(true),
		Check: all(expectInit(InitContext, "1", "/sbin/init"), expectInitLabel(InitExecLabel),
			expectLogged(`"reason": "/`+autorelabel+` exists (requested, or an earlier relabel did not finish)", "force": true`), expectLogged("relabelled"), expectInspected),
	},
	{
		Name: "supervise", ID: "5",
		Summary: "nsinit --supervise -- /usr/bin/testapp -signals -exit 7 (bin_t), enforcing: the application runs in the domain the policy gives it, sends every signal 1-64 to PID 1 (kill and sigqueue; relayed ones come back, SIGKILL and SIGSTOP are discarded, nsinit survives all), its orphan is reaped, no zombie remains, and its status 7 is the machine's verdict",
		SELinux: "enforcing",
		Args:    []string{"--supervise", "--", AppPath, "-signals", "-exit", "7"},
		Check:   all(expectSupervised(AppPath, 7), expectSignalsSurvived),
	},
	{
		Name: "policy-34", ID: "6a",
		Summary: "the only policy is policy.34 (Debian's policy written by a newer checkpolicy), the kernel accepts 33: nsinit downgrades it in memory, enforces, the init runs in init_t",
		SELinux: "enforcing",
		Needs:   []string{NeedTrixie},
		Change:  onlyPolicy("policy.34", "policy.34"),
		Check:   all(expectInit(InitContext, "1", "/sbin/init"), expectLogged("(downgraded from 34 to 33)")),
	},
	{
		Name: "policy-35", ID: "6b",
		Summary: "the only policy is policy.35: nsinit downgrades it 35 -> 34 -> 33 in memory, enforces, the init runs in init_t",
		SELinux: "enforcing",
		Needs:   []string{NeedTrixie},
		Change:  onlyPolicy("policy.35", "policy.35"),
		Check:   all(expectInit(InitContext, "1", "/sbin/init"), expectLogged("(downgraded from 35 to 33)")),
	},
	{
		Name: "policy-condxperm", ID: "6c",
		Summary: "the only policy is a policy.34 with extended permission rules inside a conditional block, which no 33 kernel may get: nsinit refuses it, names the feature and the file, and freezes",
		SELinux: "enforcing",
		Needs:   []string{NeedTrixie},
		Change:  onlyPolicy("policy.34", "condxperm.34"),
		Check:   expectFailClosed("extended permission rules inside conditional blocks", filepath.Join(filepath.Dir(PolicyFile), "policy.34")),
	},
	{
		Name: "containers", ID: "18",
		Summary: "testinit as the machine's PID 1 (SELinux enabled, no policy) runs nsinit as PID 1 of containers (new PID and private mount namespaces): without a policy, with and without SELINUXNS=1 (also with nothing mounted at --selinuxfs), every run is refused with the Refused code and says why; then with Debian's policy loaded permissive and enforcing every run finds it and starts the init; the host's policy, enforce, PID 1's context and /dev labels never change",
		SELinux: "enforcing",
		Cmdline: []string{"STAGE0_INIT=/sbin/init", "TESTINIT_CONTAINERS=1"},
		Check:   expectContainers,
	},
}

// AppPath is where the images hold testapp (bin_t in Debian's file_contexts).
const AppPath = "/usr/bin/testapp"

// BinInitPath is where addBinInit puts a second copy of testinit: bin_t in Debian's
// file_contexts (/usr/(.*/)?bin(/.*)?), a type init_t may execute but not enter.
const BinInitPath = "/usr/bin/testinit"

// BinLabel is the label file_contexts gives BinInitPath and AppPath.
const BinLabel = "system_u:object_r:bin_t:s0"

// addBinInit installs the image's testinit a second time, at BinInitPath.
func addBinInit(_ Env, im *Image) error {
	init, ok := im.Entries["sbin/init"]
	if !ok || init.Src == "" {
		return errors.New("the image has no sbin/init to copy")
	}
	im.AddHostFile(strings.TrimPrefix(BinInitPath, "/"), 0o755, init.Src)
	return nil
}

// onlyPolicy returns a Change that replaces policy.33 with the Trixie policy file src,
// installed under the name name.
func onlyPolicy(name, src string) func(e Env, im *Image) error {
	return func(e Env, im *Image) error {
		if err := removePolicy(e, im); err != nil {
			return err
		}
		im.AddHostFile(strings.TrimPrefix(filepath.Join(filepath.Dir(PolicyFile), name), "/"), 0o644, e.TrixiePolicy(src))
		return nil
	}
}

// removePolicy deletes policy.33 from the image.
func removePolicy(_ Env, im *Image) error {
	im.Remove(strings.TrimPrefix(PolicyFile, "/"))
	return nil
}

// ScenarioByName returns the scenario called name.
func ScenarioByName(name string) (Scenario, bool) {
	for _, s := range Scenarios {
		if s.Name == name || s.ID == name {
			return s, true
		}
	}
	return Scenario{}, false
}

// Run builds the scenario's image and boots it. console, if not nil, receives the console
// as it arrives.
func (s Scenario) Run(ctx context.Context, e Env, b Binaries, console io.Writer) (*Result, error) {
	im, err := RootImage(e, b, s.SELinux)
	if err != nil {
		return nil, err
	}
	if s.Change != nil {
		if err := s.Change(e, im); err != nil {
			return nil, err
		}
	}
	disk, err := im.Build(e)
	if err != nil {
		return nil, err
	}
	m := &Machine{Env: e, Initrd: b.Initrd, Disk: disk, Cmdline: s.Cmdline, Args: s.Args,
		NoSELinux: s.NoSELinux, Console: console}
	if s.Inspect == nil {
		return m.Boot(ctx)
	}
	// The cached image must stay pristine: the guest writes to a copy.
	f, err := os.CreateTemp(e.vmDir(), ".run-*.ext4")
	if err != nil {
		return nil, err
	}
	f.Close()
	defer os.Remove(f.Name())
	if err := run("cp", "--sparse=always", disk, f.Name()); err != nil {
		return nil, err
	}
	m.Disk, m.Writable = f.Name(), true
	r, err := m.Boot(ctx)
	if err != nil {
		return r, err
	}
	began := time.Now()
	r.Inspection, r.InspectErr = s.Inspect(e, im, f.Name())
	r.InspectTime = time.Since(began)
	if r.Inspection == "" && r.InspectErr == nil {
		r.InspectErr = errors.New("the inspection reported nothing")
	}
	return r, nil
}

// expectInit checks that the test init ran as PID 1 in context with the enforce value
// and argv.
func expectInit(context, enforce string, argv ...string) func(*Result) error {
	return func(r *Result) error {
		if r.Marker == nil {
			return fmt.Errorf("the test init never reported (%s)%s", r.Outcome(), emergencySuffix(r))
		}
		m := r.Marker
		var errs []string
		if m.PID != 1 {
			errs = append(errs, fmt.Sprintf("pid=%d, want 1", m.PID))
		}
		if m.Context != context {
			errs = append(errs, fmt.Sprintf("context=%s, want %s", m.Context, context))
		}
		if m.Enforce != enforce {
			errs = append(errs, fmt.Sprintf("enforce=%s, want %s", m.Enforce, enforce))
		}
		if !slices.Equal(m.Argv, argv) {
			errs = append(errs, fmt.Sprintf("argv=%q, want %q", m.Argv, argv))
		}
		if r.Emergency != "" {
			errs = append(errs, "unexpected "+r.Emergency)
		}
		if !r.PoweredOff {
			errs = append(errs, "the guest did not power off: "+r.Outcome())
		}
		if len(errs) > 0 {
			return fmt.Errorf("test init: %s (marker: %s)", strings.Join(errs, "; "), m)
		}
		return nil
	}
}

// expectInitLabel checks the label of the test init's own file as the guest saw it (a
// first-boot relabel gave it).
func expectInitLabel(label string) func(*Result) error {
	return func(r *Result) error {
		if r.Marker == nil || r.Marker.Label != label {
			return fmt.Errorf("the test init's file is not labelled %s (marker: %v)", label, r.Marker)
		}
		return nil
	}
}

// expectFailClosed checks that the init never ran and that nsinit printed an emergency
// line containing every one of words (case-insensitive), then froze.
func expectFailClosed(words ...string) func(*Result) error {
	return func(r *Result) error {
		if r.Marker != nil {
			return fmt.Errorf("the test init ran but must not have: %s", r.Marker)
		}
		if r.Emergency == "" {
			return fmt.Errorf("no %q line (%s)", emergencyMarker, r.Outcome())
		}
		for _, w := range words {
			if !strings.Contains(strings.ToLower(r.Emergency), strings.ToLower(w)) {
				return fmt.Errorf("the emergency line does not mention %q: %s", w, r.Emergency)
			}
		}
		if !r.Frozen {
			return fmt.Errorf("nsinit did not print %q (%s)", freezingMarker, r.Outcome())
		}
		return nil
	}
}

// expectBringUpSignals checks stage0's signaller report: every signal 1-64 but the
// bring-up's abort signals and SIGKILL/SIGSTOP, by kill and by sigqueue, sent while PID 1 was
// still nsinit, and no Go crash dump on the console.
func expectBringUpSignals(r *Result) error {
	want := 0
	for sig := unix.Signal(1); sig <= 64; sig++ {
		if rule, ok := sigpolicy.Lookup(sig); !ok || (rule.BringUp != sigpolicy.Abort && rule.BringUp != sigpolicy.Uncatchable) {
			want++
		}
	}
	line := fmt.Sprintf("stage0: signals: sent=%d failed=0 pid1_still_nsinit=true", want*len(sigtest.Methods))
	if !strings.Contains(r.Console, line) {
		return fmt.Errorf("the console lacks %q", line)
	}
	if sigtest.CrashDump(r.Console) {
		return fmt.Errorf("a Go crash dump on the console")
	}
	return nil
}

// expectLogged checks that nsinit logged a line containing text (its summary line names
// the init it execs).
func expectLogged(text string) func(*Result) error {
	return func(r *Result) error {
		for _, l := range strings.Split(r.Console, "\n") {
			if strings.Contains(l, "nsinit") && strings.Contains(l, text) {
				return nil
			}
		}
		return fmt.Errorf("no nsinit log line contains %q", text)
	}
}

// expectOnlyDenials checks that the kernel denied nothing but the permissions in allowed:
// neither in the AVC records testinit relayed (from /dev/kmsg, complete) nor on the
// console. nsinit opens attr/exec without O_CREAT, so in particular it never causes a
// "create" denial there.
func expectOnlyDenials(allowed ...string) func(*Result) error {
	return func(r *Result) error {
		var bad []string
		for _, d := range r.Denials {
			if strings.Contains(d, "denied") && !deniesOneOf(d, allowed) {
				bad = append(bad, "relayed: "+d)
			}
		}
		for _, l := range consoleDenials(r) {
			if !deniesOneOf(l, allowed) {
				bad = append(bad, "console: "+l)
			}
		}
		if len(bad) > 0 {
			return fmt.Errorf("unexpected AVC denials:\n%s", strings.Join(bad, "\n"))
		}
		return nil
	}
}

// deniesOneOf reports whether the AVC record denies exactly one of perms.
func deniesOneOf(record string, perms []string) bool {
	for _, p := range perms {
		if strings.Contains(record, "{ "+p+" }") {
			return true
		}
	}
	return false
}

// expectKernelDenied checks that the console shows the kernel's AVC denial of perm
// containing every one of words (e.g. scontext=..., tcontext=...).
func expectKernelDenied(perm string, words ...string) func(*Result) error {
	return func(r *Result) error {
	lines:
		for _, l := range consoleDenials(r) {
			if !strings.Contains(l, "{ "+perm+" }") {
				continue
			}
			for _, w := range words {
				if !strings.Contains(l, w) {
					continue lines
				}
			}
			return nil
		}
		return fmt.Errorf("no AVC denial of %q with %q on the console", perm, words)
	}
}

// consoleDenials returns the kernel's AVC denial records on the console.
func consoleDenials(r *Result) []string {
	var out []string
	for _, l := range strings.Split(r.Console, "\n") {
		if strings.Contains(l, "avc:") && strings.Contains(l, "denied") && !strings.HasPrefix(l, markerPrefix) {
			out = append(out, l)
		}
	}
	return out
}

// all combines checks: the first error wins.
func all(checks ...func(*Result) error) func(*Result) error {
	return func(r *Result) error {
		for _, c := range checks {
			if err := c(r); err != nil {
				return err
			}
		}
		return nil
	}
}

func emergencySuffix(r *Result) string {
	if r.Emergency != "" {
		return ": " + r.Emergency
	}
	return ""
}
