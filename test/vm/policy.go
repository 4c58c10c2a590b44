package vm

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"sort"
	"strconv"
	"strings"
)

// Policy is a policy directory the scenarios boot with: a distribution's built
// /etc/selinux/NAME tree (policy/policy.N, contexts/files/file_contexts and its
// companions), installed in the images as /etc/selinux/NAME with SELINUXTYPE=NAME, and the
// setfiles that is the oracle of its labels. Nothing in the scenarios of a policy family
// (PolicyScenarios) is specific to one distribution: any such directory can be dropped in
// (DropInPolicy, NSINIT_POLICY_DIR).
type Policy struct {
	// Name prefixes the family's scenario names ("sid" gives "sid-enforcing").
	Name string
	// Dir is the policy directory; its base name is the SELINUXTYPE.
	Dir string
	// Setfiles is the oracle: the setfiles command that labels the images on the host and
	// computes the labels a relabel must give ("" is the host's setfiles on PATH).
	Setfiles string
	// Libselinux is the libselinux.so.1 the oracle runs with. The images hold a copy at
	// ImageLibselinux, so that nsinit's first start (--libselinux auto: the image's own
	// library) looks labels up with the oracle's rules (3.4's and 3.11's differ on a few
	// paths; docs/fcontext.md). "" is the library Setfiles is linked with (ldd).
	Libselinux string
	// Needs names the provisioned input the policy comes from (NeedSidPolicy), or "".
	Needs string
}

// ImageLibselinux is where a family's images hold the oracle's libselinux.so.1.
const ImageLibselinux = "usr/lib/x86_64-linux-gnu/libselinux.so.1"

// Type is the policy's SELINUXTYPE: the directory's base name.
func (p Policy) Type() string { return filepath.Base(p.Dir) }

// FileContexts is the policy's file_contexts (its .homedirs and .subs_dist beside it).
func (p Policy) FileContexts() string {
	return filepath.Join(p.Dir, "contexts", "files", "file_contexts")
}

// ImageDir is the policy directory inside an image: /etc/selinux/<Type>.
func (p Policy) ImageDir() string { return "/etc/selinux/" + p.Type() }

// setfiles returns the oracle command.
func (p Policy) setfiles() string {
	if p.Setfiles == "" {
		return "setfiles"
	}
	return p.Setfiles
}

// PolicyVersion returns the highest N of the policy/policy.N files in the directory: the
// file nsinit loads (downgraded when the kernel's maximum is lower).
func (p Policy) PolicyVersion() (int, error) {
	names, err := filepath.Glob(filepath.Join(p.Dir, "policy", "policy.*"))
	if err != nil {
		return 0, err
	}
	best := 0
	for _, n := range names {
		if v, err := strconv.Atoi(strings.TrimPrefix(filepath.Ext(n), ".")); err == nil && v > best {
			best = v
		}
	}
	if best == 0 {
		return 0, fmt.Errorf("%s: no policy/policy.N file", p.Dir)
	}
	return best, nil
}

// libselinux returns the oracle's libselinux.so.1: Libselinux, or the library the host's
// setfiles is linked with, as ldd names it.
func (p Policy) libselinux() (string, error) {
	if p.Libselinux != "" {
		return p.Libselinux, nil
	}
	bin, err := exec.LookPath(p.setfiles())
	if err != nil {
		return "", err
	}
	out, err := exec.Command("ldd", bin).Output()
	if err != nil {
		return "", fmt.Errorf("ldd %s: %v (name the oracle's libselinux.so.1 with NSINIT_POLICY_LIBSELINUX)", bin, err)
	}
	for _, l := range strings.Split(string(out), "\n") {
		// "	libselinux.so.1 => /lib/x86_64-linux-gnu/libselinux.so.1 (0x...)"
		f := strings.Fields(l)
		if len(f) >= 3 && f[0] == "libselinux.so.1" && f[1] == "=>" {
			return f[2], nil
		}
	}
	return "", fmt.Errorf("ldd %s names no libselinux.so.1 (name it with NSINIT_POLICY_LIBSELINUX)", bin)
}

// BookwormPolicy is Debian 12's built policy (provisioning step policy, Env.PolicyDir),
// labelled by the host's setfiles: the policy of the scenarios without a Policy.
func (e Env) BookwormPolicy() Policy {
	return Policy{Name: "bookworm", Dir: e.PolicyDir()}
}

// SidPolicy is Debian sid's refpolicy 2.2026 (provisioning step sid_policy: policy.35,
// userspace_initial_context, .subs_dist mapping /sbin to /usr/bin), with sid's setfiles
// 3.11 and its libselinux as the oracle.
func (e Env) SidPolicy() Policy {
	root := filepath.Join(e.Cache, "sid-policy")
	return Policy{
		Name:       "sid",
		Dir:        filepath.Join(root, "etc", "selinux", "default"),
		Setfiles:   filepath.Join(root, "tools", "bin", "setfiles"),
		Libselinux: filepath.Join(root, "tools", "usr", "lib", "x86_64-linux-gnu", "libselinux.so.1"),
		Needs:      NeedSidPolicy,
	}
}

// Environment variables that drop a policy directory into the suite (DropInPolicy).
const (
	// PolicyDirEnv names the policy directory, e.g. /etc/selinux/targeted on Fedora.
	PolicyDirEnv = "NSINIT_POLICY_DIR"
	// PolicySetfilesEnv names its oracle setfiles (default: the host's).
	PolicySetfilesEnv = "NSINIT_POLICY_SETFILES"
	// PolicyLibselinuxEnv names the oracle's libselinux.so.1 (default: ldd of setfiles).
	PolicyLibselinuxEnv = "NSINIT_POLICY_LIBSELINUX"
	// PolicyNameEnv names the family (default: the SELINUXTYPE, the directory's name).
	PolicyNameEnv = "NSINIT_POLICY_NAME"
)

// DropInPolicy returns the policy directory named by getenv(PolicyDirEnv), whose family
// scenarios run besides sid's, or false when it is not set. Its name is
// getenv(PolicyNameEnv), else its SELINUXTYPE ("targeted-enforcing").
func DropInPolicy(getenv func(string) string) (Policy, bool, error) {
	dir := getenv(PolicyDirEnv)
	if dir == "" {
		return Policy{}, false, nil
	}
	dir, err := filepath.Abs(dir)
	if err != nil {
		return Policy{}, false, err
	}
	p := Policy{Dir: dir, Setfiles: getenv(PolicySetfilesEnv), Libselinux: getenv(PolicyLibselinuxEnv)}
	if p.Name = getenv(PolicyNameEnv); p.Name == "" {
		p.Name = p.Type()
	}
	if _, err := os.Stat(p.FileContexts()); err != nil {
		return p, true, fmt.Errorf("%s=%s is not a policy directory: %w", PolicyDirEnv, dir, err)
	}
	if _, err := p.PolicyVersion(); err != nil {
		return p, true, fmt.Errorf("%s=%s: %w", PolicyDirEnv, dir, err)
	}
	return p, true, nil
}

// PolicyImage returns the scenarios' root filesystem for policy p: nsinit at /sbin/nsinit,
// testinit at /sbin/init and /usr/sbin/init, testapp at /usr/bin/testapp, p's directory at
// /etc/selinux/<type> with /etc/selinux/config saying SELINUX=mode and SELINUXTYPE=<type>,
// the oracle's libselinux.so.1 (ImageLibselinux), the mount points nsinit and the kernel need, labelled with p's own
// file_contexts by p's setfiles.
func PolicyImage(e Env, b Binaries, p Policy, mode string) (*Image, error) {
	im := NewImage(64)
	im.FileContexts = p.FileContexts()
	im.Setfiles = p.Setfiles
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
		im.AddHostFile(strings.TrimPrefix(AppPath, "/"), 0o755, b.TestApp)
	}
	im.AddFile("etc/selinux/config", 0o644, []byte(fmt.Sprintf(
		"# written by nsinit's VM test harness (test/vm)\nSELINUX=%s\nSELINUXTYPE=%s\n", mode, p.Type())))
	if err := im.AddTree(strings.TrimPrefix(p.ImageDir(), "/"), p.Dir); err != nil {
		return nil, err
	}
	lib, err := p.libselinux()
	if err != nil {
		return nil, err
	}
	im.AddHostFile(ImageLibselinux, 0o644, lib)
	return im, nil
}

// PolicyScenarios are the scenarios of a policy family (issue 12), the same for every
// policy directory: an enforcing and a permissive boot (the init in its domain, no AVC
// denial caused by nsinit, no warning), a first-boot relabel of an unlabelled ext4 root
// compared with p's setfiles, and a root that is the initramfs itself relabelled by
// --relabel=auto. Each names p (Name "sid-enforcing").
func PolicyScenarios(p Policy) []Scenario {
	pp := &p
	needs := func(more ...string) []string {
		if p.Needs != "" {
			more = append(more, p.Needs)
		}
		return more
	}
	return []Scenario{
		{
			Name: p.Name + "-enforcing", ID: "12a",
			Summary: "policy " + p.Dir + ", SELINUX=enforcing: nsinit loads it (downgraded in memory where the kernel's maximum is lower), enforces and execs /sbin/init, which runs in init_t with enforce=1; no warning, no AVC denial caused by nsinit",
			SELinux: "enforcing", Policy: pp, Needs: needs(),
			// Debug: expectLoaded reads the version and kernel maximum, debug-level details.
			Args:    []string{"--log-level", "debug"},
			Kernels: bothKernels,
			Check: all(expectInit(InitContext, "1", "/sbin/init"), expectInitLabel(InitExecLabel),
				expectLogged("exec /sbin/init"), expectLoaded, expectNoWarnings),
		},
		{
			Name: p.Name + "-permissive", ID: "12b",
			Summary: "policy " + p.Dir + ", SELINUX=permissive: loaded, enforce stays 0, the init runs in init_t; no warning, no AVC denial caused by nsinit (a permissive boot logs every denial it would have made)",
			SELinux: "permissive", Policy: pp, Needs: needs(),
			// Debug: expectLoaded reads the version and kernel maximum, debug-level details.
			Args:    []string{"--log-level", "debug"},
			Kernels: bothKernels,
			Check: all(expectInit(InitContext, "0", "/sbin/init"), expectInitLabel(InitExecLabel),
				expectLoaded, expectNoWarnings),
		},
		{
			Name: p.Name + "-first-boot-relabel", ID: "12c",
			Summary: "policy " + p.Dir + ": an unlabelled ext4 root (minbase's names) with an empty /.autorelabel: nsinit relabels, enforces, the init runs in init_t; after the power-off every label equals the policy's own setfiles on the same tree",
			SELinux: "enforcing", Policy: pp, Needs: needs(NeedMinbase),
			// Debug: expectLoaded reads the version and kernel maximum, debug-level details.
			Args:    []string{"--log-level", "debug"},
			Change:  unlabelledMinbase(""),
			Inspect: inspectRelabel(pp, false),
			Check: all(expectInit(InitContext, "1", "/sbin/init"), expectInitLabel(InitExecLabel),
				expectLogged(`"reason": "/`+autorelabel+` exists`), expectLogged("relabelled"), expectInspected,
				expectLoaded, expectNoWarnings),
		},
		initramfsScenario(pp, "12d", needs()),
	}
}

// AllScenarios are Scenarios, then the policy families: Debian sid's refpolicy and, when
// NSINIT_POLICY_DIR names one, a dropped-in policy directory (an invalid one is an error).
func (e Env) AllScenarios() ([]Scenario, error) {
	out := append([]Scenario{}, Scenarios...)
	out = append(out, initramfsScenario(nil, "12d", nil))
	out = append(out, PolicyScenarios(e.SidPolicy())...)
	p, ok, err := DropInPolicy(os.Getenv)
	if err != nil {
		return nil, err
	}
	if ok {
		out = append(out, PolicyScenarios(p)...)
	}
	return out, nil
}

// expectLoaded checks nsinit's policy read against the file it chose (the "file" of the
// "read the policy" line, policy.N) and the kernel's maximum (its debug-level details, so
// the scenario runs at --log-level debug): the version read is the lower of the two, and
// the policy is downgraded in memory exactly when the file's is higher ("(downgraded from
// N to K)").
func expectLoaded(r *Result) error {
	var line, fileLine string
	for _, l := range strings.Split(r.Console, "\n") {
		if !strings.Contains(l, "\tnsinit\t") {
			continue
		}
		if line == "" && strings.Contains(l, `"kernel_max": `) {
			line = l
		}
		if fileLine == "" && strings.Contains(l, "\tread the policy\t") && strings.Contains(l, `"file": "`) {
			fileLine = l
		}
	}
	if line == "" {
		return errors.New("no nsinit log line names the kernel's maximum policy version (--log-level debug)")
	}
	_, rest, _ := strings.Cut(fileLine, `"file": "`)
	path, _, _ := strings.Cut(rest, `"`)
	file, err := strconv.Atoi(strings.TrimPrefix(filepath.Ext(path), "."))
	if err != nil {
		return fmt.Errorf("no policy.N file in the \"read the policy\" line %q", fileLine)
	}
	version, kmax := jsonInt(line, "version"), jsonInt(line, "kernel_max")
	downgraded := strings.Contains(line, `"downgraded": true`)
	if version != min(file, kmax) || downgraded != (file > kmax) {
		return fmt.Errorf("policy.%d on a kernel with maximum %d: nsinit read version %d, downgraded=%v: %q", file, kmax, version, downgraded, line)
	}
	if downgraded {
		return expectLogged(fmt.Sprintf("(downgraded from %d to %d)", file, kmax))(r)
	}
	return nil
}

// jsonInt returns the integer field key of a zap console line's JSON part, or -1.
func jsonInt(line, key string) int {
	_, rest, ok := strings.Cut(line, `"`+key+`": `)
	if !ok {
		return -1
	}
	end := strings.IndexAny(rest, ",}")
	if end < 0 {
		return -1
	}
	n, err := strconv.Atoi(strings.TrimSpace(rest[:end]))
	if err != nil {
		return -1
	}
	return n
}

// expectNoWarnings checks that nsinit logged no warning or error and printed no console
// WARNING: a boot with a policy that suits the image must not alarm the user (issue 12
// item 2: the mislabelled-init alarm under userspace_initial_context).
func expectNoWarnings(r *Result) error {
	var bad []string
	for _, l := range strings.Split(r.Console, "\n") {
		if strings.HasPrefix(l, "WARN\tnsinit") || strings.HasPrefix(l, "ERROR\tnsinit") || strings.HasPrefix(l, "nsinit: WARNING") {
			bad = append(bad, l)
		}
	}
	if len(bad) > 0 {
		return fmt.Errorf("nsinit warned:\n%s", strings.Join(bad, "\n"))
	}
	return nil
}

// initramfsScenario is the scenario of a root that is the initramfs itself, with policy p
// (nil: Debian 12's): the image packed as a cpio (Scenario.Initramfs), /sbin/nsinit run
// by the kernel as PID 1 from rootfs (a tmpfs: it stores security.selinux once a policy is
// loaded). Nothing in a cpio is labelled: after the load every object reads
// as rootfs's own label, which is also file_contexts' label for "/", so --relabel=auto must
// look past the root directory (issue 12 item 3).
func initramfsScenario(p *Policy, id string, needs []string) Scenario {
	name, of := "initramfs-relabel", "Debian 12's policy"
	if p != nil {
		name, of = p.Name+"-"+name, "policy "+p.Dir
	}
	return Scenario{
		Name: name, ID: id,
		Summary: of + ": the root is the initramfs itself (rootfs, no labels: every object reads as rootfs's label, file_contexts' label for / too), nsinit as PID 1 (rdinit=/sbin/nsinit) with --relabel=auto, SELINUX=enforcing: the auto decision looks past / and relabels, the init runs in init_t with enforce=1, and every object's label as the guest reads it equals the policy's setfiles on the same tree",
		SELinux: "enforcing", Policy: p, Needs: needs, Initramfs: true,
		Kernels: bothKernels,
		// Debug: expectLoaded reads the version and kernel maximum, debug-level details.
		Args:    []string{"--relabel=auto", "--log-level", "debug"},
		Cmdline: []string{"TESTINIT_LABELS=1"},
		Inspect: inspectInitramfs(p),
		Check: all(expectInit(InitContext, "1", "/sbin/init"), expectInitLabel(InitExecLabel),
			expectLogged(`"reason": "/etc is labelled`), expectLogged("relabelled"), expectInspected,
			expectLoaded, expectNoWarnings),
		// Every label written on rootfs is checked as `filesystem { associate }` from the
		// new label to rootfs's own (genfscon rootfs: root_t), which neither Debian 12's nor
		// sid's policy allows: one denial per type, permissive=1 (the relabel runs before
		// enforcing). The policy's rule, whatever nsinit's domain; on ext4 (fs_t) and tmpfs
		// (tmpfs_t) there is none. docs/differences.md.
		NSInitDenials: []string{"associate"},
	}
}

// initramfsMounts are the directories of an initramfs root that are mount points when
// testinit lists the labels (nsinit mounts procfs and sysfs; devtmpfs is not mounted).
var initramfsMounts = []string{"/proc", "/sys"}

// inspectInitramfs returns the check of the labels testinit listed on the initramfs root
// (Result.Labels) against the oracle: p's setfiles without -F on the same tree, every
// object labelled first as rootfs's own label (read from nsinit's relabel reason), which
// is what the guest's relabel without force started from.
func inspectInitramfs(p *Policy) func(e Env, im *Image, _ string, r *Result) (string, error) {
	return func(e Env, im *Image, _ string, r *Result) (string, error) {
		pol := e.BookwormPolicy()
		if p != nil {
			pol = *p
		}
		if r.Labels == nil {
			return "", errors.New("testinit listed no labels")
		}
		_, rest, ok := strings.Cut(r.Console, `is labelled \"`)
		initial, _, _ := strings.Cut(rest, `\"`)
		if !ok || initial == "" {
			return "", errors.New("nsinit's relabel reason names no label of rootfs")
		}
		want, err := SetfilesLabels(im, pol.FileContexts(), initial)
		if err != nil {
			return "", err
		}
		var errs []string
		checked, skipped, changed := 0, 0, 0
		for _, path := range sortedKeys(want) {
			if slices.ContainsFunc(initramfsMounts, func(m string) bool { return path == m || strings.HasPrefix(path, m+"/") }) {
				skipped++
				continue
			}
			w := strings.TrimSuffix(want[path], "\x00")
			got, ok := r.Labels[path]
			if !ok {
				got = "(not listed)"
			}
			if got != w && len(errs) < 20 {
				errs = append(errs, fmt.Sprintf("%s: the guest read %s, setfiles (from %s, without -F) gives %s", path, got, initial, w))
			}
			if w != initial {
				changed++
			}
			checked++
		}
		if len(errs) > 0 {
			return "", fmt.Errorf("labels on the initramfs root after the boot:\n  %s", strings.Join(errs, "\n  "))
		}
		return fmt.Sprintf("%d objects of the initramfs labelled exactly as %s without -F from %s (%d changed), %d under %s not compared",
			checked, pol.setfiles(), initial, changed, skipped, strings.Join(initramfsMounts, " ")), nil
	}
}

// sortedKeys returns m's keys in order.
func sortedKeys(m map[string]string) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}
