// Package detect classifies the SELinux situation nsinit starts in, before it touches
// anything: a freshly unshared SELinux namespace waiting for its policy, a boot without a
// policy, a namespace that already has one, no SELinux at all, or a situation where loading
// a policy could hit the host's namespace and must be refused.
//
// Detect reads <proc>/filesystems, <proc>/thread-self/attr/current, the LSM syscalls, the
// environment, the PID namespace, the kernel release and, when the LSM syscall cannot
// answer, the namespace nodes of a selinuxfs (Env.Selinuxfs). Every probe is injectable
// (Env) so that each case is tested on fake proc trees; DefaultEnv wires the real ones.
// docs/detect.md describes every verdict and its evidence.
package detect

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"syscall"

	"golang.org/x/sys/unix"

	"github.com/nsinit/nsinit/internal/selinuxfs"
)

// Verdict is the outcome of detection.
type Verdict int

const (
	// Unavailable: SELinux cannot be used here (not in the kernel, not enabled, another
	// major LSM owns the process attributes, or /proc could not be read). Nothing to load.
	Unavailable Verdict = iota
	// Refused: attr/current reads "kernel" (no policy) but nothing shows the namespace is
	// nsinit's own; loading would change the host's SELinux namespace.
	Refused
	// Unshared: nsinit runs in a freshly unshared SELinux namespace without a policy: mount
	// a fresh selinuxfs and load the container's policy (container semantics: the kernel
	// command line is the host's and is ignored).
	Unshared
	// Boot: nsinit is the kernel's PID 1 (PID 1 of the initial PID namespace) and no policy
	// is loaded: load it (boot semantics: the kernel command line applies).
	Boot
	// Initialized: a policy is already loaded in nsinit's namespace: skip the load and hand
	// off.
	Initialized
)

var verdictNames = [...]string{"unavailable", "refused", "unshared", "boot", "initialized"}

// String returns the verdict's lower-case name, as logged and printed by `nsinit status`.
func (v Verdict) String() string {
	if v >= 0 && int(v) < len(verdictNames) {
		return verdictNames[v]
	}
	return "verdict(" + strconv.Itoa(int(v)) + ")"
}

// Result is a verdict with what led to it.
type Result struct {
	// Verdict is the classification.
	Verdict Verdict
	// Signal is the observation that decided, human readable, e.g.
	// "lsm_get_self_attr(LSM_ATTR_UNSHARE) = 1".
	Signal string
	// Evidence is every observation, in the order made (for the log and `nsinit status`).
	Evidence []string
	// Context is the label read from attr/current, NUL/newline trimmed ("" if unreadable).
	Context string
	// Reason is, for Unavailable and Refused, the full message for the user: what was
	// found, why it matters and what to do. Empty otherwise.
	Reason string
}

// Env holds every probe Detect uses, so that tests can fake each one. DefaultEnv returns
// the real ones. A nil func counts as a probe that failed.
type Env struct {
	// ProcDir is where procfs is mounted, normally "/proc".
	ProcDir string
	// Getenv reads the environment (for SELINUXNS).
	Getenv func(string) string
	// Getpid returns nsinit's PID as seen in its own PID namespace.
	Getpid func() int
	// Gettid returns the calling thread's id, for the /proc/self/task/<tid> fallback when
	// <proc>/thread-self is missing (Linux < 3.17).
	Gettid func() int
	// Unshared asks the kernel whether the calling thread's SELinux namespace was unshared
	// and has no policy yet (lsm.SELinuxUnshared).
	Unshared func() (bool, error)
	// InitialPIDNS reports whether nsinit is in the initial PID namespace (InitialPIDNS).
	InitialPIDNS func() (bool, error)
	// Modules returns the names of the active LSMs in the kernel's order
	// ("lockdown,capability,selinux"); nil skips this probe.
	Modules func() ([]string, error)
	// Release returns the kernel release (uname -r, "6.1.0-18-amd64"): it tells a kernel
	// without the LSM syscalls (< 6.8) from a seccomp filter answering ENOSYS.
	Release func() (string, error)
	// Selinuxfs returns what a selinuxfs instance of this kernel shows about SELinux
	// namespace support (selinuxfs.Look on an already mounted one, or selinuxfs.Inspect,
	// which mounts a fresh one to look). Called only when the LSM syscall could not answer.
	Selinuxfs func() (selinuxfs.Nodes, error)
}

// Options change how Detect decides.
type Options struct {
	// AssumeOwnNamespace is the dangerous override (flag --assume-own-namespace): treat
	// attr/current == "kernel" as nsinit's own namespace even when nothing proves it. It can
	// make nsinit load a policy into the HOST's namespace.
	AssumeOwnNamespace bool
}

// errNotProbed stands in for the result of a nil probe.
var errNotProbed = errors.New("probe not available")

// Detect classifies the situation; see docs/detect.md. It never panics and never fails:
// what it cannot observe becomes evidence, and what it cannot prove leads to Unavailable or
// Refused with a Reason. It locks the calling goroutine to its OS thread while it probes,
// because SELinux attributes are per thread.
func Detect(e Env, o Options) Result {
	runtime.LockOSThread()
	defer runtime.UnlockOSThread()
	d := &detection{env: e, opts: o}
	return d.run()
}

// detection is one run of Detect.
type detection struct {
	env  Env
	opts Options
	res  Result
}

// note appends an observation to the evidence.
func (d *detection) note(format string, args ...any) {
	d.res.Evidence = append(d.res.Evidence, fmt.Sprintf(format, args...))
}

// decide sets the verdict and returns the result.
func (d *detection) decide(v Verdict, signal, reason string) Result {
	d.res.Verdict, d.res.Signal, d.res.Reason = v, signal, reason
	return d.res
}

// facts are the observations Detect makes before deciding.
type facts struct {
	fsPath      string // <proc>/filesystems
	fsErr       error  // reading it failed
	selinuxfs   bool   // it lists selinuxfs
	modules     []string
	modulesErr  error // nil with modules == nil: not probed
	unshared    bool  // the kernel answered 1
	unsharedErr error // the LSM_ATTR_UNSHARE probe failed: fall back
	label       string
	labelPath   string
	labelErr    error
	kind        labelKind
	pid         int
	initial     bool  // in the initial PID namespace
	pidnsErr    error // unknown
	selinuxns   string
	release     string // "" if unknown
	nodes       selinuxfs.Nodes
	nodesErr    error // the selinuxfs could not be looked at
}

// run observes everything, each observation becoming evidence, then decides.
func (d *detection) run() Result {
	f := d.observe()
	d.res.Context = f.label
	return d.classify(f)
}

// observe runs every probe, in the order the evidence lists them.
func (d *detection) observe() facts {
	e := d.env
	var f facts

	// Is SELinux in this kernel and enabled at boot? selinuxfs is registered only then.
	f.fsPath = filepath.Join(e.ProcDir, "filesystems")
	b, err := os.ReadFile(f.fsPath)
	switch {
	case err != nil:
		f.fsErr = err
		d.note("cannot read %s: %v", f.fsPath, bare(err))
	default:
		f.selinuxfs = hasSelinuxfs(b)
		if f.selinuxfs {
			d.note("%s lists selinuxfs", f.fsPath)
		} else {
			d.note("%s does not list selinuxfs", f.fsPath)
		}
	}

	// Is SELinux among the active LSMs?
	if e.Modules != nil {
		f.modules, f.modulesErr = e.Modules()
		if f.modulesErr != nil {
			d.note("active LSMs unknown: %v", f.modulesErr)
		} else {
			d.note("active LSMs: %s", strings.Join(f.modules, ","))
		}
	}

	f.release = d.release()

	// The kernel's own answer: unshared and no policy yet?
	f.unsharedErr = errNotProbed
	if e.Unshared != nil {
		f.unshared, f.unsharedErr = e.Unshared()
	}
	switch {
	case f.unsharedErr != nil:
		f.unshared = false
		fallback := "falling back to the boot PID 1 check, the selinuxfs namespace nodes and SELINUXNS"
		if errors.Is(f.unsharedErr, syscall.EOPNOTSUPP) {
			fallback = "falling back to the boot PID 1 check (SELINUXNS cannot count without namespace support)"
		}
		d.note("%v (%s); %s", f.unsharedErr, explain(f.unsharedErr, f.release).long, fallback)
	case f.unshared:
		d.note("lsm_get_self_attr(LSM_ATTR_UNSHARE) = 1: an unshared SELinux namespace without a policy")
	default:
		d.note("lsm_get_self_attr(LSM_ATTR_UNSHARE) = 0: not an unshared namespace waiting for its policy")
	}

	// What does SELinux call this thread?
	f.label, f.labelPath, f.labelErr = d.readLabel()
	f.kind = classifyLabel(f.label)
	switch {
	case f.labelErr != nil:
		d.note("cannot read %s: %v", f.labelPath, bare(f.labelErr))
	case f.kind == labelKernel:
		d.note("%s = %q: no policy loaded in this SELinux namespace", f.labelPath, f.label)
	case f.kind == labelSELinux:
		d.note("%s = %q: an SELinux context, a policy is loaded", f.labelPath, f.label)
	case f.kind == labelNone:
		d.note("%s is empty", f.labelPath)
	default:
		d.note("%s = %q: not an SELinux context (another LSM answers attr/current)", f.labelPath, f.label)
	}

	// Who are we: the kernel's PID 1, a container's, something else?
	f.pid = -1
	if e.Getpid != nil {
		f.pid = e.Getpid()
	}
	f.pidnsErr = errNotProbed
	if e.InitialPIDNS != nil {
		f.initial, f.pidnsErr = e.InitialPIDNS()
	}
	switch {
	case f.pidnsErr != nil:
		f.initial = false
		d.note("pid %d; PID namespace unknown: %v", f.pid, f.pidnsErr)
	case f.initial:
		d.note("pid %d in the initial PID namespace", f.pid)
	default:
		d.note("pid %d in a non-initial PID namespace (a container)", f.pid)
	}

	if e.Getenv != nil {
		f.selinuxns = e.Getenv(SelinuxNSEnv)
	}
	if f.selinuxns == "" {
		d.note("SELINUXNS not set")
	} else {
		d.note("SELINUXNS=%q in the environment", f.selinuxns)
	}

	return f
}

// classify turns the facts into the verdict (docs/detect.md has the table).
func (d *detection) classify(f facts) Result {
	proc := d.env.ProcDir
	if f.fsErr != nil {
		return d.decide(Unavailable, "cannot read "+f.fsPath, fmt.Sprintf(
			"cannot detect SELinux: cannot read %s: %v. Detection needs procfs mounted at %s "+
				"(mount -t proc proc %s).", f.fsPath, bare(f.fsErr), proc, proc))
	}
	if !f.selinuxfs {
		return d.decide(Unavailable, "no selinuxfs in "+f.fsPath, fmt.Sprintf(
			"SELinux is not available: the kernel does not list selinuxfs in %s, so SELinux "+
				"is not built in or was not enabled at boot. Boot a kernel with "+
				"CONFIG_SECURITY_SELINUX=y and SELinux enabled (security=selinux, or selinux "+
				"in lsm=); a container gets SELinux from its host's kernel.", f.fsPath))
	}
	if f.modulesErr == nil && f.modules != nil && !slices.Contains(f.modules, "selinux") {
		list := strings.Join(f.modules, ",")
		return d.decide(Unavailable, "SELinux is not an active LSM (active: "+list+")", fmt.Sprintf(
			"SELinux is not available: it is not among the kernel's active LSMs (%s). "+
				"Boot with SELinux enabled (security=selinux, or selinux in lsm=).", list))
	}

	// The kernel's answer decides when it can be had.
	if f.unshared {
		if f.kind != labelKernel {
			d.note("note: attr/current should read \"kernel\" in an unshared namespace; trusting the kernel's answer")
		}
		return d.decide(Unshared, "lsm_get_self_attr(LSM_ATTR_UNSHARE) = 1", "")
	}

	switch f.kind {
	case labelSELinux:
		return d.decide(Initialized, fmt.Sprintf("attr/current = %q (a policy is loaded)", f.label), "")
	case labelForeign:
		return d.decide(Unavailable, fmt.Sprintf("attr/current = %q is not an SELinux context", f.label), fmt.Sprintf(
			"SELinux is not available: %s reads %q, which is not an SELinux context, so another "+
				"LSM (AppArmor, Smack, ...) owns the process attributes. Boot with SELinux as "+
				"the major LSM (security=selinux, or selinux before the others in lsm=).",
			f.labelPath, f.label))
	case labelNone:
		why := "it is empty"
		if f.labelErr != nil {
			why = bare(f.labelErr).Error()
		}
		return d.decide(Unavailable, "attr/current unreadable", fmt.Sprintf(
			"SELinux is not available: cannot get this thread's SELinux context from %s: %s. "+
				"SELinux is listed in %s but does not answer attr/current; check that it is the "+
				"major LSM and that procfs is mounted at %s.", f.labelPath, why, f.fsPath, proc))
	}

	// attr/current == "kernel": no policy in this namespace. Whose namespace is it?
	if f.pid == 1 && f.initial {
		if f.selinuxns != "" {
			d.note("SELINUXNS ignored: nsinit is the kernel's PID 1")
		}
		return d.decide(Boot, "PID 1 of the initial PID namespace and attr/current = kernel", "")
	}
	// why collects, for the refusal, each reason the namespace is not shown to be ours.
	var why []string
	if f.unsharedErr == nil {
		// The kernel answered 0: this is the initial SELinux namespace, the host's.
		why = append(why, "the kernel answered lsm_get_self_attr(LSM_ATTR_UNSHARE) = 0: this is not an unshared SELinux namespace")
		if f.selinuxns != "" {
			d.note("SELINUXNS ignored: the kernel says this is not an unshared namespace")
		}
	} else if r, decided := d.fallback(&f, &why); decided {
		return r
	}
	if d.opts.AssumeOwnNamespace {
		d.note("WARNING: --assume-own-namespace: treating this SELinux namespace as nsinit's own " +
			"without proof; if it is the host's, the policy load will change the host")
		v := Unshared
		if f.initial {
			v = Boot
		}
		return d.decide(v, "--assume-own-namespace and attr/current = kernel (UNVERIFIED)", "")
	}
	return d.decide(Refused, "attr/current = kernel, but nsinit is not the boot PID 1 and nothing shows the namespace is its own",
		refusal(f, why))
}

// fallback decides, when the LSM syscall could not answer, from what the kernel shows
// instead: the prototype's unshare node, then EOPNOTSUPP, then the namespace nodes that
// must back a SELINUXNS=1. It returns decided when the verdict is Unshared; otherwise it
// appends to why the reason the namespace is not shown to be nsinit's own.
func (d *detection) fallback(f *facts, why *[]string) (Result, bool) {
	ex := explain(f.unsharedErr, f.release)
	f.nodes, f.nodesErr = d.lookSelinuxfs()
	unshare := filepath.Join(f.nodes.Dir, "unshare")
	support := f.nodesErr == nil && f.nodes.NamespaceSupport()
	switch {
	case f.nodesErr == nil && f.nodes.HasUnshare && f.nodes.UnshareErr == nil && f.nodes.Unshare == "1":
		return d.decide(Unshared, unshare+" = 1 and attr/current = kernel (prototype kernel)", ""), true
	case f.nodesErr == nil && f.nodes.HasUnshare:
		what := fmt.Sprintf("reads %q", f.nodes.Unshare)
		if f.nodes.UnshareErr != nil {
			what = "cannot be read (" + bare(f.nodes.UnshareErr).Error() + ")"
		}
		*why = append(*why, fmt.Sprintf("the prototype kernel's %s %s: this is not shown to be a child SELinux namespace", unshare, what))
		if f.selinuxns != "" {
			d.note("SELINUXNS ignored: the kernel's unshare node says this is not a child namespace")
		}
	case errors.Is(f.unsharedErr, syscall.EOPNOTSUPP):
		// selinuxfs is registered, so SELinux is active and its own hook refused
		// LSM_ATTR_UNSHARE: this kernel has no SELinux namespaces, whatever SELINUXNS says.
		*why = append(*why, "the kernel's SELinux has no namespace support (lsm_get_self_attr: EOPNOTSUPP), so no child SELinux namespace can exist")
		if f.selinuxns != "" {
			d.note("SELINUXNS ignored: the kernel's SELinux has no namespace support (EOPNOTSUPP)")
		}
	case f.selinuxns != "1":
		*why = append(*why, fmt.Sprintf("the kernel could not be asked (lsm_get_self_attr: %s) and SELINUXNS=1 is not in the environment", ex.hint))
		if f.selinuxns != "" {
			d.note("SELINUXNS=%q ignored: only \"1\" (what systemd-nspawn --selinux-namespace sets) counts", f.selinuxns)
		}
	case support:
		return d.decide(Unshared, fmt.Sprintf("SELINUXNS=1 in the environment, and %s has maxns and maxnsdepth (lsm_get_self_attr: %s)",
			f.nodes.Dir, ex.hint), ""), true
	default:
		shown := "its selinuxfs has neither maxns nor maxnsdepth, the nodes every kernel with SELinux namespaces has"
		switch {
		case f.nodesErr != nil:
			shown = "no selinuxfs could be looked at for the maxns and maxnsdepth nodes (" + f.nodesErr.Error() + ")"
		case f.nodes.MaxNS != f.nodes.MaxNSDepth:
			shown = "its selinuxfs has only one of maxns and maxnsdepth, not the pair of the SELinux namespace patches"
		}
		*why = append(*why, fmt.Sprintf("SELINUXNS=1 is in the environment, yet the kernel shows no SELinux namespace support: "+
			"%s (lsm_get_self_attr: %s), so SELINUXNS=1 cannot be trusted", shown, ex.long))
		d.note("SELINUXNS=1 ignored: the kernel shows no SELinux namespace support")
	}
	return Result{}, false
}

// lookSelinuxfs runs the Selinuxfs probe and notes what it showed.
func (d *detection) lookSelinuxfs() (selinuxfs.Nodes, error) {
	if d.env.Selinuxfs == nil {
		d.note("selinuxfs namespace nodes: %v", errNotProbed)
		return selinuxfs.Nodes{}, errNotProbed
	}
	n, err := d.env.Selinuxfs()
	where := n.Dir
	if n.Fresh {
		where += " (a fresh selinuxfs mounted to look, unmounted again)"
	}
	switch {
	case err != nil:
		d.note("cannot look for the SELinux namespace nodes: %v", err)
		return n, err
	case n.MaxNS && n.MaxNSDepth:
		d.note("%s has maxns and maxnsdepth: the kernel has SELinux namespace support", where)
	case n.MaxNS || n.MaxNSDepth:
		d.note("%s has only one of maxns and maxnsdepth", where)
	default:
		d.note("%s has neither maxns nor maxnsdepth: a kernel without SELinux namespace support", where)
	}
	switch {
	case !n.HasUnshare:
	case n.UnshareErr != nil:
		d.note("cannot read %s: %v", filepath.Join(n.Dir, "unshare"), bare(n.UnshareErr))
	default:
		d.note("%s = %q (prototype SELinux namespace kernel)", filepath.Join(n.Dir, "unshare"), n.Unshare)
	}
	return n, nil
}

// release runs the Release probe and notes the answer; "" when unknown.
func (d *detection) release() string {
	if d.env.Release == nil {
		return ""
	}
	r, err := d.env.Release()
	if err != nil || r == "" {
		d.note("kernel release unknown: %v", err)
		return ""
	}
	d.note("kernel release %s", r)
	return r
}

// refusal builds the Refused message from the reasons classify found and the PID facts.
func refusal(f facts, why []string) string {
	pid, initial, perr := f.pid, f.initial, f.pidnsErr
	switch {
	case perr != nil:
		why = append(why, fmt.Sprintf("nsinit is pid %d and its PID namespace is unknown (%v)", pid, perr))
	case initial:
		why = append(why, fmt.Sprintf("nsinit is pid %d, not PID 1, of the initial PID namespace", pid))
	default:
		why = append(why, fmt.Sprintf("nsinit is pid %d of a container's PID namespace, not the kernel's PID 1", pid))
	}
	return "refusing to load an SELinux policy: no policy is loaded (attr/current reads \"kernel\"), " +
		"but " + strings.Join(why, "; ") + ". This is most likely the host's SELinux namespace, " +
		"and loading a policy would replace the host's. Give the container its own SELinux namespace " +
		"(lsm_set_self_attr(LSM_ATTR_UNSHARE) before exec, e.g. unshareselinux or " +
		"systemd-nspawn --selinux-namespace) and, where seccomp blocks lsm_get_self_attr, put " +
		"SELINUXNS=1 in its environment; at boot, run nsinit as the kernel's PID 1. " +
		"--assume-own-namespace skips this check: it is dangerous, because on a host it loads the " +
		"policy into the host's namespace."
}

// readLabel reads this thread's SELinux label: <proc>/thread-self/attr/current, else
// <proc>/self/task/<tid>/attr/current, else <proc>/self/attr/current (the thread group
// leader's, the last resort). Only a missing file moves on to the next path. It returns the
// path it used (or tried last).
func (d *detection) readLabel() (string, string, error) {
	proc := d.env.ProcDir
	paths := []string{filepath.Join(proc, "thread-self", "attr", "current")}
	if d.env.Gettid != nil {
		if tid := d.env.Gettid(); tid > 0 {
			paths = append(paths, filepath.Join(proc, "self", "task", strconv.Itoa(tid), "attr", "current"))
		}
	}
	paths = append(paths, filepath.Join(proc, "self", "attr", "current"))
	last := len(paths) - 1
	for _, p := range paths[:last] {
		b, err := os.ReadFile(p)
		if err == nil {
			return parseAttr(b), p, nil
		}
		if !errors.Is(err, os.ErrNotExist) {
			return "", p, err
		}
		d.note("%s missing, trying the next path", p)
	}
	b, err := os.ReadFile(paths[last])
	if err != nil {
		return "", paths[last], err
	}
	return parseAttr(b), paths[last], nil
}

// answer explains one failure of the LSM_ATTR_UNSHARE probe: long for the evidence and
// the refusal, hint for the one-line Signal.
type answer struct{ long, hint string }

// The first release with the LSM syscalls (lsm_get_self_attr): 6.8.
const lsmSyscallsMajor, lsmSyscallsMinor = 6, 8

// kernelAge says whether a release has the LSM syscalls.
type kernelAge int

const (
	ageUnknown kernelAge = iota // the release could not be read or parsed
	ageOld                      // < 6.8: ENOSYS is the kernel's own answer
	ageNew                      // >= 6.8: ENOSYS can only be a seccomp filter's
)

// answers is the one table of the probe's errnos: for each (errno, kernel age) what it
// means; ageUnknown rows also stand for any age when there is no more specific row. {release}
// is the kernel release.
var answers = []struct {
	errno syscall.Errno
	age   kernelAge
	answer
}{
	{syscall.ENOSYS, ageOld, answer{"ENOSYS: Linux {release} has no LSM syscalls (they came in 6.8)", "ENOSYS, Linux {release} < 6.8"}},
	{syscall.ENOSYS, ageNew, answer{"ENOSYS: Linux {release} has the LSM syscalls, so a seccomp filter answered " +
		"(systemd-nspawn's and podman's default errno)", "ENOSYS from seccomp, Linux {release}"}},
	{syscall.ENOSYS, ageUnknown, answer{"ENOSYS: a kernel older than 6.8 (no LSM syscalls) or a seccomp filter; " +
		"the kernel release is unknown", "ENOSYS, Linux < 6.8 or seccomp"}},
	{syscall.EPERM, ageUnknown, answer{"EPERM: the syscall is blocked, most likely by a seccomp filter " +
		"(container runtimes do not allow it) or a permission check", "EPERM, seccomp?"}},
	{syscall.EOPNOTSUPP, ageUnknown, answer{"EOPNOTSUPP: SELinux did not answer: the kernel has no SELinux " +
		"namespace support (LSM_ATTR_UNSHARE), or SELinux is not active", "EOPNOTSUPP, no SELinux namespace support"}},
}

// explain returns what the probe's error err means on the kernel release rel ("" unknown).
func explain(err error, rel string) answer {
	var errno syscall.Errno
	if !errors.As(err, &errno) {
		return answer{"unexpected answer", "unexpected answer"}
	}
	age := releaseAge(rel)
	for _, row := range answers {
		if row.errno == errno && (row.age == age || row.age == ageUnknown) {
			return answer{strings.ReplaceAll(row.long, "{release}", rel), strings.ReplaceAll(row.hint, "{release}", rel)}
		}
	}
	return answer{errnoName(errno) + ": unexpected error", errnoName(errno)}
}

// releaseAge classifies a kernel release ("6.1.0-18-amd64", "6.18.0") by its major.minor.
func releaseAge(rel string) kernelAge {
	major, rest, ok := strings.Cut(rel, ".")
	if !ok {
		return ageUnknown
	}
	minor := rest
	if i := strings.IndexFunc(rest, func(r rune) bool { return r < '0' || r > '9' }); i >= 0 {
		minor = rest[:i]
	}
	ma, err1 := strconv.Atoi(major)
	mi, err2 := strconv.Atoi(minor)
	if err1 != nil || err2 != nil {
		return ageUnknown
	}
	if ma > lsmSyscallsMajor || ma == lsmSyscallsMajor && mi >= lsmSyscallsMinor {
		return ageNew
	}
	return ageOld
}

// errnoName returns "EPERM" for EPERM, or the errno's text when it has no known name.
func errnoName(errno syscall.Errno) string {
	if n := unix.ErrnoName(errno); n != "" {
		return n
	}
	return errno.Error()
}

// bare strips the *os.PathError around err, for messages that already name the path.
func bare(err error) error {
	if pe, ok := err.(*os.PathError); ok {
		return pe.Err
	}
	return err
}
