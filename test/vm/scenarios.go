package vm

import (
	"context"
	"errors"
	"fmt"
	"io"
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
	// Kernel is the kernel the scenarios boot (Env.Kernel), and Initrd the stage0
	// initramfs with its modules.
	Kernel Kernel
	Initrd string
}

// Prepare builds the harness's own static binaries (testinit, stage0) and the initramfs for
// kernel k, and returns them with nsinit, the product binary to install (see BuildNSInit).
func Prepare(e Env, k Kernel, nsinit string) (Binaries, error) {
	b := Binaries{NSInit: nsinit, Kernel: k}
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
	b.Initrd, err = e.Initramfs(stage0, k)
	return b, err
}

// BuildNSInit builds ./cmd/nsinit, static, the way the Makefile does.
func (e Env) BuildNSInit() (string, error) { return e.BuildGo("./cmd/nsinit") }

// RootImage returns the scenarios' root filesystem with Debian 12's policy
// (SELINUXTYPE=default): PolicyImage with Env.BookwormPolicy.
func RootImage(e Env, b Binaries, mode string) (*Image, error) {
	return PolicyImage(e, b, e.BookwormPolicy(), mode)
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
	// Policy is the policy directory of the image (PolicyImage); nil is Debian 12's
	// (Env.BookwormPolicy), which the constants of this file describe.
	Policy *Policy
	// Change alters the standard image (PolicyImage), e.g. removes the policy.
	Change func(e Env, im *Image) error
	// Initramfs makes the image the machine's initramfs instead of an ext4 disk
	// (Image.Initramfs): the root is rootfs itself, with no labels, no disk is attached, and
	// the kernel runs /sbin/nsinit as PID 1 (rdinit=; as /init its comm would be "init", the
	// init's own, and its AVC records could not be told from the init's).
	Initramfs bool
	// Cmdline holds extra kernel words; Args are nsinit's arguments (see Machine).
	Cmdline, Args []string
	// NoSELinux boots the kernel without security=selinux (see Machine).
	NoSELinux bool
	// Needs lists the provisioned inputs beyond the kernel and the policy that the
	// scenario uses (NeedMinbase, NeedTrixie): tests gate on them.
	Needs []string
	// Kernels are the kernels the scenario boots on (Linux6, Linux7; see On); nil is
	// Linux6 alone. The checks read the kernel from Result.Kernel.
	Kernels []string
	// Inspect, if set, makes the boot writable: the guest boots a copy of the image, and
	// after the power-off Inspect examines what it wrote (disk is the copy; "" for an
	// Initramfs scenario, whose root is gone with the machine: r holds what the guest
	// reported). Its summary and error land in Result.Inspection and Result.InspectErr.
	Inspect func(e Env, im *Image, disk string, r *Result) (string, error)
	// Check returns what is wrong with the boot's result, or nil. Verify adds the checks
	// every boot must pass.
	Check func(r *Result) error
	// NSInitDenials lists the permissions the kernel may deny nsinit itself in this boot
	// (an AVC record with comm="nsinit"): none unless the scenario provokes one.
	NSInitDenials []string
}

// On reports whether the scenario boots on the kernel called kernel.
func (s Scenario) On(kernel string) bool {
	if s.Kernels == nil {
		return kernel == Linux6
	}
	return slices.Contains(s.Kernels, kernel)
}

// bothKernels is Scenario.Kernels for the core scenarios, which boot on 6.1 and on 7.x.
var bothKernels = []string{Linux6, Linux7}

// Provisioned inputs a Scenario may need (Scenario.Needs).
const (
	// NeedMinbase is the debootstrap minbase tree (Env.Minbase).
	NeedMinbase = "minbase"
	// NeedTrixie is the policies written by newer compilers (Env.TrixiePolicy).
	NeedTrixie = "trixie"
	// NeedSidPolicy is Debian sid's built refpolicy (Env.SidPolicy).
	NeedSidPolicy = "sid-policy"
	// NeedSystemd is bookworm's minbase with systemd (Env.MinbaseSystemd).
	NeedSystemd = "minbase-systemd"
)

// Scenarios are issue 2's acceptance scenarios (a)-(g), variants of them that reach other
// branches of the failure policy (b2, d2, e2, g2), the reference control, and the
// scenarios of issues 4, 5 and 6.
var Scenarios = []Scenario{
	{
		Name: "enforcing", ID: "a",
		Summary: "SELINUX=enforcing: nsinit loads the policy, enforces and execs /sbin/init, which runs as PID 1 in init_t with enforce=1; no AVC denial names nsinit (the boot table's scenario: the default log level)",
		SELinux: "enforcing",
		Kernels: bothKernels,
		Check:   all(expectInit(InitContext, "1", "/sbin/init"), expectLogged("exec /sbin/init"), expectNoWarnings),
	},
	{
		Name: "permissive", ID: "b",
		Summary: "--mode permissive over SELINUX=enforcing: the policy is loaded, enforce stays 0, the init runs (in init_t); no AVC record (which permissive mode prints for what enforcing would deny) names nsinit; at debug level, detection's evidence shows the kernel's LSM syscalls (7.x) or their absence (6.1)",
		SELinux: "enforcing",
		// Debug: the detection's evidence is a debug-level detail.
		Args:    []string{"--mode", "permissive", "--log-level", "debug"},
		Kernels: bothKernels,
		Check:   all(expectInit(InitContext, "0", "/sbin/init"), expectNoWarnings, expectLSMSyscalls),
	},
	{
		Name: "disabled", ID: "c",
		Summary: "SELINUX=disabled: no policy is loaded (attr/current stays \"kernel\"), the init runs",
		SELinux: "disabled",
		Kernels: bothKernels,
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
		NSInitDenials: []string{"entrypoint"},
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
		Summary: "an unlabelled root (minbase's names, the image's files) with an empty /.autorelabel: nsinit relabels (with getxattrat/setxattrat on 7.x, l*xattr on 6.1), enforces, the init runs in init_t; after the power-off the marker is gone and every label in the image equals Debian's setfiles on the same tree",
		SELinux: "enforcing",
		Needs:   []string{NeedMinbase},
		Kernels: bothKernels,
		Change:  unlabelledMinbase(""),
		Inspect: inspectRelabel(nil, false),
		// The relabel keeps the bring-up running for seconds: stage0's signaller sends the
		// machine's PID 1 every signal that does not abort the bring-up, meanwhile.
		Cmdline: []string{"STAGE0_SIGNALS=1"},
		Check: all(expectInit(InitContext, "1", "/sbin/init"), expectInitLabel(InitExecLabel),
			expectLogged(`"reason": "/`+autorelabel+` exists (requested, or an earlier relabel did not finish)", "force": false`), expectLogged("relabelled"), expectInspected,
			expectBringUpSignals, expectXattrCalls),
	},
	{
		Name: "first-boot-relabel-force", ID: "4b",
		Summary: "the same unlabelled root with /.autorelabel saying -F: nsinit relabels with force; every label in the image equals setfiles -F on the same tree",
		SELinux: "enforcing",
		Needs:   []string{NeedMinbase},
		Change:  unlabelledMinbase("-F\n"),
		Inspect: inspectRelabel(nil, true),
		Check: all(expectInit(InitContext, "1", "/sbin/init"), expectInitLabel(InitExecLabel),
			expectLogged(`"reason": "/`+autorelabel+` exists (requested, or an earlier relabel did not finish)", "force": true`), expectLogged("relabelled"), expectInspected),
	},
	{
		Name: "supervise", ID: "5",
		Summary: "nsinit --supervise -- /usr/bin/testapp -signals -exit 7 (bin_t), enforcing: the application runs in the domain the policy gives it, sends every signal 1-64 to PID 1 (kill and sigqueue; relayed ones come back, SIGKILL and SIGSTOP are discarded, nsinit survives all), its orphan is reaped, no zombie remains, and its status 7 is the machine's verdict",
		SELinux: "enforcing",
		Args:    []string{"--supervise", "--", AppPath, "-signals", "-exit", "7"},
		Kernels: bothKernels,
		Check:   all(expectSupervised(AppPath, 7), expectSignalsSurvived),
	},
	{
		Name: "policy-34", ID: "6a",
		Summary: "the only policy is policy.34 (Debian's policy written by a newer checkpolicy), the kernel accepts 33: nsinit downgrades it in memory, enforces, the init runs in init_t",
		SELinux: "enforcing",
		Needs:   []string{NeedTrixie},
		Change:  onlyPolicy("policy.34", "policy.34"),
		Check:   all(expectInit(InitContext, "1", "/sbin/init"), expectPolicyVersion(34)),
	},
	{
		Name: "policy-35", ID: "6b",
		Summary: "the only policy is policy.35: on 6.1 nsinit downgrades it 35 -> 34 -> 33 in memory, on 7.x it loads it as it is (native); enforces, the init runs in init_t",
		SELinux: "enforcing",
		Needs:   []string{NeedTrixie},
		Kernels: bothKernels,
		Change:  onlyPolicy("policy.35", "policy.35"),
		// Debug: the policy's version and kernel maximum are debug-level details.
		Args:  []string{"--log-level", "debug"},
		Check: all(expectInit(InitContext, "1", "/sbin/init"), expectPolicyVersion(35)),
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
	{
		Name: "unshare", ID: "14",
		Summary: "testinit as the machine's PID 1 runs nsinit unshare -- CMD and nsinit unshare --boot on the host and nsinit --unshare as a container's PID 1, without a policy and with Debian's policy enforcing: on a kernel without SELinux namespaces each fails at lsm_set_self_attr(LSM_ATTR_UNSHARE) with exit 1 and the kernel's answer explained (ENOSYS before Linux 6.8, EOPNOTSUPP from 6.8 on, by the guest's release), the program never starts, and the host's policy, enforce, PID 1's context, /dev labels and selinuxfs mount never change",
		SELinux: "enforcing",
		Cmdline: []string{"STAGE0_INIT=/sbin/init", "TESTINIT_UNSHARE=1"},
		Check:   expectUnshare,
		// 7.x is where the answer changes (EOPNOTSUPP: LSM syscalls, no namespaces).
		Kernels: bothKernels,
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

// ScenarioByName returns the scenario of list called name, or the first with that ID.
func ScenarioByName(list []Scenario, name string) (Scenario, bool) {
	for _, s := range list {
		if s.Name == name {
			return s, true
		}
	}
	for _, s := range list {
		if s.ID == name {
			return s, true
		}
	}
	return Scenario{}, false
}

// policy returns the scenario's policy directory.
func (s Scenario) policy(e Env) Policy {
	if s.Policy != nil {
		return *s.Policy
	}
	return e.BookwormPolicy()
}

// Image returns the scenario's image: PolicyImage with its policy and mode, then Change.
func (s Scenario) Image(e Env, b Binaries) (*Image, error) {
	im, err := PolicyImage(e, b, s.policy(e), s.SELinux)
	if err != nil {
		return nil, err
	}
	if s.Change != nil {
		if err := s.Change(e, im); err != nil {
			return nil, err
		}
	}
	return im, nil
}

// Run builds the scenario's image and boots it. console, if not nil, receives the console
// as it arrives.
func (s Scenario) Run(ctx context.Context, e Env, b Binaries, console io.Writer) (*Result, error) {
	im, err := s.Image(e, b)
	if err != nil {
		return nil, err
	}
	m := &Machine{Kernel: b.Kernel, Initrd: b.Initrd, Cmdline: s.Cmdline, Args: s.Args,
		NoSELinux: s.NoSELinux, Console: console}
	var disk string
	switch {
	case s.Initramfs:
		if m.Initrd, err = im.Initramfs(e); err != nil {
			return nil, err
		}
		m.RDInit = "/sbin/nsinit"
	case s.Inspect == nil:
		if m.Disk, err = im.Build(e); err != nil {
			return nil, err
		}
	default:
		if disk, err = im.Build(e); err != nil {
			return nil, err
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
		disk = f.Name()
		m.Disk, m.Writable = disk, true
	}
	r, err := m.Boot(ctx)
	if err != nil || s.Inspect == nil {
		return r, err
	}
	began := time.Now()
	r.Inspection, r.InspectErr = s.Inspect(e, im, disk, r)
	r.InspectTime = time.Since(began)
	if r.Inspection == "" && r.InspectErr == nil {
		r.InspectErr = errors.New("the inspection reported nothing")
	}
	return r, nil
}

// Verify returns what is wrong with the boot: the scenario's Check, then what every boot
// must show, no AVC denial caused by nsinit itself beyond NSInitDenials.
func (s Scenario) Verify(r *Result) error {
	if err := s.Check(r); err != nil {
		return err
	}
	return expectNoNSInitDenials(s.NSInitDenials...)(r)
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

// expectPolicyVersion checks the policy load of a policy.<version> file against the kernel
// that booted: downgraded in memory to the kernel's newest version when that is older
// (nsinit's summary says "(downgraded from 35 to 33)"), else loaded at its own version.
func expectPolicyVersion(version int) func(*Result) error {
	return func(r *Result) error {
		kmax := r.Kernel.PolicyVersion
		if kmax == 0 {
			return fmt.Errorf("the result names no kernel policy version (kernel %q)", r.Kernel.Name)
		}
		if kmax < version {
			return expectLogged(fmt.Sprintf("(downgraded from %d to %d)", version, kmax))(r)
		}
		if err := expectLogged(fmt.Sprintf(`"version": %d, "downgraded": false, "kernel_max": %d`, version, kmax))(r); err != nil {
			return fmt.Errorf("policy.%d on a kernel loading %d: not read natively: %w", version, kmax, err)
		}
		if strings.Contains(r.Console, "(downgraded from") {
			return fmt.Errorf("policy.%d on a kernel loading %d was downgraded", version, kmax)
		}
		return nil
	}
}

// expectLSMSyscalls checks what nsinit's detection logged about the LSM syscalls against
// the kernel that booted: on 7.x lsm_list_modules answers (securityfs is not mounted at
// that point, so the list can only come from the syscall) with SELinux among the LSMs, and
// lsm_get_self_attr(LSM_ATTR_UNSHARE) answers EOPNOTSUPP (a stock kernel has no SELinux
// namespaces); on 6.1 both are ENOSYS.
func expectLSMSyscalls(r *Result) error {
	want := []string{"active LSMs unknown: lsm_list_modules: function not implemented",
		"lsm_get_self_attr(LSM_ATTR_UNSHARE): function not implemented (ENOSYS"}
	if r.Kernel.LSMSyscalls {
		want = []string{"active LSMs: ", "lsm_get_self_attr(LSM_ATTR_UNSHARE): operation not supported (EOPNOTSUPP"}
	}
	for _, w := range want {
		if err := expectLogged(w)(r); err != nil {
			return fmt.Errorf("kernel %s: %w", r.Kernel.Name, err)
		}
	}
	if lsms := activeLSMs(r); r.Kernel.LSMSyscalls && !slices.Contains(lsms, "selinux") {
		return fmt.Errorf("kernel %s: selinux is not among the active LSMs %q", r.Kernel.Name, lsms)
	}
	return nil
}

// activeLSMs returns the active LSMs nsinit's detection logged ("active LSMs: a,b,..."), or
// nil when it logged none.
func activeLSMs(r *Result) []string {
	const note = `"active LSMs: `
	i := strings.Index(r.Console, note)
	if i < 0 {
		return nil
	}
	list, _, _ := strings.Cut(r.Console[i+len(note):], `"`)
	return strings.Split(list, ",")
}

// expectXattrCalls checks the calls the relabel summary says it labelled with against the
// kernel that booted: getxattrat/setxattrat where they exist (Linux 6.13, so 7.x), l*xattr
// through the worker's working directory on 6.1.
func expectXattrCalls(r *Result) error {
	calls := "l*xattr via the working directory"
	if r.Kernel.Name == Linux7 {
		calls = "getxattrat/setxattrat"
	}
	return expectLogged(`"xattr_calls": "` + calls + `"`)(r)
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

// expectNoNSInitDenials checks that the kernel denied nsinit itself (comm="nsinit")
// nothing but the permissions in allowed, neither in the records testinit relayed nor on
// the console. In a permissive boot the kernel logs (and grants) every denial: each is a
// permission nsinit would lack when enforcing.
func expectNoNSInitDenials(allowed ...string) func(*Result) error {
	return func(r *Result) error {
		var bad []string
		seen := map[string]bool{}
		add := func(src, rec string) {
			if !strings.Contains(rec, "denied") || !strings.Contains(rec, `comm="nsinit"`) || deniesOneOf(rec, allowed) {
				return
			}
			if _, avc, ok := strings.Cut(rec, "avc:"); ok && !seen[avc] {
				seen[avc] = true
				bad = append(bad, src+": "+rec)
			}
		}
		for _, d := range r.Denials {
			add("relayed", d)
		}
		for _, l := range consoleDenials(r) {
			add("console", l)
		}
		if len(bad) > 0 {
			return fmt.Errorf("%d AVC denials caused by nsinit itself:\n%s", len(bad), strings.Join(bad, "\n"))
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
