package detect

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"

	"github.com/nsinit/nsinit/internal/lsm"
	"github.com/nsinit/nsinit/internal/selinuxfs"
)

const (
	fsWithSELinux    = "nodev\tsysfs\nnodev\tproc\nnodev\tselinuxfs\n\text4\n"
	fsWithoutSELinux = "nodev\tsysfs\nnodev\tproc\nnodev\tsecurityfs\n\text4\n"
	// asDir in a fake tree makes a directory where a file is expected: reading it fails
	// with EISDIR, standing in for the kernel's EINVAL when no LSM answers attr/current.
	asDir = "\x00dir"
	// threadSelf is the first path Detect reads the label from.
	threadSelf = "thread-self/attr/current"
)

// fake is a fake machine: a proc tree and the answers of every probe.
type fake struct {
	proc        map[string]string // path under ProcDir -> content (or asDir)
	nodes       selinuxfs.Nodes   // what the Selinuxfs probe shows
	nodesErr    error
	plainDir    map[string]string // non-nil: the probe is selinuxfs.Look on a plain directory holding these files
	noNodes     bool              // Selinuxfs probe nil
	release     string
	releaseErr  error
	environ     map[string]string
	pid, tid    int
	unshared    bool
	unsharedErr error
	initial     bool
	pidnsErr    error
	modules     []string
	modulesErr  error
	noModules   bool // Modules probe nil
}

// stock is what a stock kernel's selinuxfs shows: no namespace node.
var stock = selinuxfs.Nodes{Dir: "/sys/fs/selinux"}

// nsNodes is what a namespace-capable kernel's selinuxfs shows.
var nsNodes = selinuxfs.Nodes{Dir: "/sys/fs/selinux", MaxNS: true, MaxNSDepth: true}

// proto is a prototype kernel's selinuxfs with its unshare node reading v.
func proto(v string) selinuxfs.Nodes {
	return selinuxfs.Nodes{Dir: "/sys/fs/selinux", MaxNS: true, MaxNSDepth: true, HasUnshare: true, Unshare: v}
}

// base is a stock Linux 6.18 SELinux kernel, no policy, PID 57 of a container, the LSM
// syscall blocked by seccomp, no SELINUXNS: the Refused situation each case changes.
func base() fake {
	return fake{
		proc:        map[string]string{"filesystems": fsWithSELinux, threadSelf: "kernel\x00"},
		environ:     map[string]string{},
		pid:         57,
		tid:         58,
		unsharedErr: os.NewSyscallError("lsm_get_self_attr(LSM_ATTR_UNSHARE)", syscall.EPERM),
		modules:     []string{"lockdown", "capability", "selinux", "bpf"},
		nodes:       stock,
		release:     "6.18.0-1-amd64",
	}
}

func writeTree(t *testing.T, dir string, files map[string]string) {
	t.Helper()
	for rel, content := range files {
		p := filepath.Join(dir, rel)
		if content == asDir {
			if err := os.MkdirAll(p, 0o755); err != nil {
				t.Fatal(err)
			}
			continue
		}
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
	}
}

// env materialises f: its proc tree under a temp dir and its probes.
func (f fake) env(t *testing.T) Env {
	t.Helper()
	root := t.TempDir()
	proc := filepath.Join(root, "proc")
	writeTree(t, proc, f.proc)
	e := Env{
		ProcDir:      proc,
		Getenv:       func(k string) string { return f.environ[k] },
		Getpid:       func() int { return f.pid },
		Gettid:       func() int { return f.tid },
		Unshared:     func() (bool, error) { return f.unshared, f.unsharedErr },
		InitialPIDNS: func() (bool, error) { return f.initial, f.pidnsErr },
		Modules:      func() ([]string, error) { return f.modules, f.modulesErr },
	}
	if f.noModules {
		e.Modules = nil
	}
	e.Release = func() (string, error) { return f.release, f.releaseErr }
	e.Selinuxfs = func() (selinuxfs.Nodes, error) { return f.nodes, f.nodesErr }
	if f.plainDir != nil {
		dir := filepath.Join(root, "selinuxfs")
		writeTree(t, dir, f.plainDir)
		e.Selinuxfs = func() (selinuxfs.Nodes, error) { return selinuxfs.Look(dir) }
	}
	if f.noNodes {
		e.Selinuxfs = nil
	}
	return e
}

func errno(e syscall.Errno) error {
	return os.NewSyscallError("lsm_get_self_attr(LSM_ATTR_UNSHARE)", e)
}

func TestDetect(t *testing.T) {
	tests := []struct {
		name     string
		change   func(*fake)
		opts     Options
		want     Verdict
		signal   string   // substring of Signal
		evidence []string // each a substring of some Evidence line
		reason   []string // each a substring of Reason
		absent   []string // in none of Signal, Reason, Evidence
		context  string
	}{
		// Unavailable.
		{
			name:   "no proc",
			change: func(f *fake) { f.proc = map[string]string{} },
			want:   Unavailable, signal: "cannot read",
			evidence: []string{"filesystems: no such file or directory"},
			reason:   []string{"procfs", "mount -t proc proc"},
		},
		{
			name:   "no selinuxfs",
			change: func(f *fake) { f.proc["filesystems"] = fsWithoutSELinux },
			want:   Unavailable, signal: "no selinuxfs in",
			evidence: []string{"does not list selinuxfs"},
			reason:   []string{"security=selinux"},
			context:  "kernel",
		},
		{
			name:   "selinux not an active LSM",
			change: func(f *fake) { f.modules = []string{"lockdown", "capability", "apparmor"} },
			want:   Unavailable, signal: "SELinux is not an active LSM (active: lockdown,capability,apparmor)",
			evidence: []string{"active LSMs: lockdown,capability,apparmor"},
			reason:   []string{"not among the kernel's active LSMs"},
			context:  "kernel",
		},
		{
			name: "AppArmor owns attr/current",
			change: func(f *fake) {
				f.modules = nil
				f.modulesErr = errno(syscall.ENOSYS)
				f.proc[threadSelf] = "unconfined\n"
			},
			want: Unavailable, signal: `attr/current = "unconfined" is not an SELinux context`,
			evidence: []string{"active LSMs unknown", `= "unconfined": not an SELinux context`},
			reason:   []string{"another", "LSM"},
			context:  "unconfined",
		},
		{
			name:   "AppArmor profile",
			change: func(f *fake) { f.proc[threadSelf] = "docker-default (enforce)\n"; f.noModules = true },
			want:   Unavailable, signal: "is not an SELinux context",
			context: "docker-default (enforce)",
		},
		{
			name:   "Smack label",
			change: func(f *fake) { f.proc[threadSelf] = "_\x00"; f.noModules = true },
			want:   Unavailable, signal: "is not an SELinux context",
			context: "_",
		},
		{
			name:   "attr/current unreadable",
			change: func(f *fake) { f.proc[threadSelf] = asDir },
			want:   Unavailable, signal: "attr/current unreadable",
			evidence: []string{"thread-self/attr/current: is a directory"},
			reason:   []string{"does not answer attr/current"},
		},
		{
			name:   "attr/current empty",
			change: func(f *fake) { f.proc[threadSelf] = "\x00" },
			want:   Unavailable, signal: "attr/current unreadable",
			evidence: []string{"is empty"},
			reason:   []string{"it is empty"},
		},

		// Unshared, by the kernel's answer.
		{
			name:   "kernel says unshared",
			change: func(f *fake) { f.unsharedErr = nil; f.unshared = true },
			want:   Unshared, signal: "lsm_get_self_attr(LSM_ATTR_UNSHARE) = 1",
			evidence: []string{"lsm_get_self_attr(LSM_ATTR_UNSHARE) = 1: an unshared SELinux namespace"},
			context:  "kernel",
		},
		{
			name: "kernel says unshared, label odd",
			change: func(f *fake) {
				f.unsharedErr = nil
				f.unshared = true
				f.proc[threadSelf] = "system_u:system_r:kernel_t:s0"
			},
			want: Unshared, signal: "= 1",
			evidence: []string{"trusting the kernel's answer"},
			context:  "system_u:system_r:kernel_t:s0",
		},
		{
			// nsinit unshare --boot from a host shell: not PID 1, the initial PID namespace,
			// no SELINUXNS (unshare does not set it); the kernel's answer alone decides.
			name:   "kernel says unshared to a host command without SELINUXNS",
			change: func(f *fake) { f.unsharedErr = nil; f.unshared = true; f.initial = true },
			want:   Unshared, signal: "lsm_get_self_attr(LSM_ATTR_UNSHARE) = 1", context: "kernel",
			evidence: []string{"SELINUXNS not set", "pid 57 in the initial PID namespace"},
		},
		{
			name:   "kernel says unshared even as PID 1 of the initial PID namespace",
			change: func(f *fake) { f.unsharedErr = nil; f.unshared = true; f.pid = 1; f.initial = true },
			want:   Unshared, signal: "= 1", context: "kernel",
		},

		// Unshared, by the fallbacks: SELINUXNS=1 on a kernel whose selinuxfs shows
		// namespace support.
		{
			name:   "EPERM + SELINUXNS=1 + namespace nodes",
			change: func(f *fake) { f.environ["SELINUXNS"] = "1"; f.pid = 1; f.nodes = nsNodes },
			want:   Unshared, signal: "SELINUXNS=1 in the environment, and /sys/fs/selinux has maxns and maxnsdepth (lsm_get_self_attr: EPERM, seccomp?)",
			evidence: []string{"EPERM: the syscall is blocked, most likely by a seccomp filter", `SELINUXNS="1" in the environment`,
				"pid 1 in a non-initial PID namespace", "/sys/fs/selinux has maxns and maxnsdepth: the kernel has SELinux namespace support"},
			context: "kernel",
		},
		{
			name:   "seccomp ENOSYS on 6.18 + SELINUXNS=1 + namespace nodes (systemd-nspawn --selinux-namespace)",
			change: func(f *fake) { f.environ["SELINUXNS"] = "1"; f.unsharedErr = errno(syscall.ENOSYS); f.nodes = nsNodes },
			want:   Unshared, signal: "(lsm_get_self_attr: ENOSYS from seccomp, Linux 6.18.0-1-amd64)",
			evidence: []string{"ENOSYS: Linux 6.18.0-1-amd64 has the LSM syscalls, so a seccomp filter answered", "kernel release 6.18.0-1-amd64"},
		},
		{
			name: "a fresh selinuxfs was mounted to look",
			change: func(f *fake) {
				f.environ["SELINUXNS"] = "1"
				f.nodes = nsNodes
				f.nodes.Fresh = true
			},
			want: Unshared, evidence: []string{"/sys/fs/selinux (a fresh selinuxfs mounted to look, unmounted again) has maxns and maxnsdepth"},
		},
		{
			name: "Linux 6.1 with namespace nodes (a backport) + SELINUXNS=1",
			change: func(f *fake) {
				f.environ["SELINUXNS"] = "1"
				f.unsharedErr = errno(syscall.ENOSYS)
				f.release = "6.1.0-18-amd64"
				f.nodes = nsNodes
			},
			want: Unshared, signal: "(lsm_get_self_attr: ENOSYS, Linux 6.1.0-18-amd64 < 6.8)",
		},
		{
			name:   "bare errno + SELINUXNS=1",
			change: func(f *fake) { f.environ["SELINUXNS"] = "1"; f.unsharedErr = syscall.EPERM; f.nodes = nsNodes },
			want:   Unshared, signal: "EPERM, seccomp?",
		},
		{
			name:   "other errno + SELINUXNS=1",
			change: func(f *fake) { f.environ["SELINUXNS"] = "1"; f.unsharedErr = errno(syscall.E2BIG); f.nodes = nsNodes },
			want:   Unshared, signal: "(lsm_get_self_attr: E2BIG)",
			evidence: []string{"(E2BIG: unexpected error); falling back"},
		},
		{
			name: "malformed reply + SELINUXNS=1",
			change: func(f *fake) {
				f.environ["SELINUXNS"] = "1"
				f.nodes = nsNodes
				f.unsharedErr = os.NewSyscallError("lsm_get_self_attr(LSM_ATTR_UNSHARE)", fmt.Errorf("%w: 2 entries", lsm.ErrUnexpectedReply))
			},
			want: Unshared, signal: "(lsm_get_self_attr: unexpected answer)",
			evidence: []string{"unexpected reply: 2 entries (unexpected answer); falling back"},
		},
		{
			name:   "probe missing + SELINUXNS=1",
			change: func(f *fake) { f.environ["SELINUXNS"] = "1"; f.unsharedErr = errNotProbed; f.nodes = nsNodes },
			want:   Unshared, signal: "SELINUXNS=1",
		},
		{
			name:   "prototype selinuxfs unshare node",
			change: func(f *fake) { f.unsharedErr = errno(syscall.ENOSYS); f.nodes = proto("1") },
			want:   Unshared, signal: "/sys/fs/selinux/unshare = 1 and attr/current = kernel (prototype kernel)",
			evidence: []string{`unshare = "1" (prototype SELinux namespace kernel)`},
		},
		{
			name:   "prototype node 1 with EOPNOTSUPP",
			change: func(f *fake) { f.unsharedErr = errno(syscall.EOPNOTSUPP); f.nodes = proto("1") },
			want:   Unshared, signal: "(prototype kernel)",
		},

		// Issue 18 item 5: SELINUXNS=1 counts only where the kernel shows namespace support.
		{
			name: "issue18: Linux 6.1 (ENOSYS), SELINUXNS=1, stock selinuxfs: refused",
			change: func(f *fake) {
				f.environ["SELINUXNS"] = "1"
				f.unsharedErr = errno(syscall.ENOSYS)
				f.release = "6.1.0-18-amd64"
				f.pid = 1
			},
			want:     Refused,
			evidence: []string{"ENOSYS: Linux 6.1.0-18-amd64 has no LSM syscalls (they came in 6.8)", "neither maxns nor maxnsdepth", "SELINUXNS=1 ignored"},
			reason: []string{"SELINUXNS=1 is in the environment, yet the kernel shows no SELinux namespace support",
				"neither maxns nor maxnsdepth", "ENOSYS: Linux 6.1.0-18-amd64 has no LSM syscalls", "pid 1 of a container's PID namespace"},
		},
		{
			name:     "issue18: seccomp ENOSYS on 6.18, SELINUXNS=1, stock selinuxfs: refused, and not called Linux < 6.8",
			change:   func(f *fake) { f.environ["SELINUXNS"] = "1"; f.unsharedErr = errno(syscall.ENOSYS); f.pid = 1 },
			want:     Refused,
			evidence: []string{"ENOSYS: Linux 6.18.0-1-amd64 has the LSM syscalls, so a seccomp filter answered"},
			reason:   []string{"a seccomp filter answered", "neither maxns nor maxnsdepth"},
			absent:   []string{"< 6.8", "older than 6.8"},
		},
		{
			name:   "issue18: seccomp EPERM, SELINUXNS=1, stock selinuxfs: refused",
			change: func(f *fake) { f.environ["SELINUXNS"] = "1"; f.pid = 1 },
			want:   Refused,
			reason: []string{"EPERM: the syscall is blocked, most likely by a seccomp filter", "no SELinux namespace support"},
			absent: []string{"< 6.8"},
		},
		{
			name: "issue18: a file named unshare outside a selinuxfs proves nothing",
			change: func(f *fake) {
				f.environ["SELINUXNS"] = "1"
				f.unsharedErr = errno(syscall.ENOSYS)
				f.plainDir = map[string]string{"unshare": "1", "maxns": "65535", "maxnsdepth": "32"}
			},
			want:     Refused,
			evidence: []string{"cannot look for the SELinux namespace nodes", "not a selinuxfs mount"},
			reason:   []string{"no selinuxfs could be looked at"},
		},
		{
			name:   "issue18: only maxns is not the namespace patches' pair",
			change: func(f *fake) { f.environ["SELINUXNS"] = "1"; f.nodes.MaxNS = true },
			want:   Refused, evidence: []string{"has only one of maxns and maxnsdepth"},
			reason: []string{"only one of maxns and maxnsdepth"},
		},
		{
			name: "issue18: selinuxfs probe failed",
			change: func(f *fake) {
				f.environ["SELINUXNS"] = "1"
				f.nodesErr = errors.New("mount selinuxfs /sys/fs/selinux: permission denied")
			},
			want: Refused, reason: []string{"no selinuxfs could be looked at for the maxns and maxnsdepth nodes (mount selinuxfs /sys/fs/selinux: permission denied)"},
		},
		{
			name:   "issue18: no selinuxfs probe",
			change: func(f *fake) { f.environ["SELINUXNS"] = "1"; f.noNodes = true },
			want:   Refused, evidence: []string{"selinuxfs namespace nodes: probe not available"},
		},
		{
			name: "issue18: release unknown: ENOSYS is either",
			change: func(f *fake) {
				f.environ["SELINUXNS"] = "1"
				f.unsharedErr = errno(syscall.ENOSYS)
				f.releaseErr = errors.New("uname: EPERM")
			},
			want:     Refused,
			evidence: []string{"kernel release unknown: uname: EPERM"},
			reason:   []string{"ENOSYS: a kernel older than 6.8 (no LSM syscalls) or a seccomp filter; the kernel release is unknown"},
		},
		{
			name:   "namespace nodes without SELINUXNS: support is not ownership",
			change: func(f *fake) { f.nodes = nsNodes },
			want:   Refused, reason: []string{"SELINUXNS=1 is not in the environment"},
		},

		// Boot.
		{
			name:   "boot, kernel answers 0",
			change: func(f *fake) { f.unsharedErr = nil; f.pid = 1; f.initial = true },
			want:   Boot, signal: "PID 1 of the initial PID namespace and attr/current = kernel",
			evidence: []string{"= 0: not an unshared namespace", "pid 1 in the initial PID namespace", `= "kernel": no policy loaded`},
			context:  "kernel",
		},
		{
			name: "boot on Linux 6.1 (ENOSYS), SELINUXNS from the kernel command line",
			change: func(f *fake) {
				f.unsharedErr = errno(syscall.ENOSYS)
				f.modulesErr = errno(syscall.ENOSYS)
				f.pid, f.initial = 1, true
				f.environ["SELINUXNS"] = "1"
			},
			want: Boot, signal: "PID 1 of the initial PID namespace",
			evidence: []string{"SELINUXNS ignored: nsinit is the kernel's PID 1"},
		},

		// Initialized.
		{
			name:   "policy loaded, kernel answers 0",
			change: func(f *fake) { f.unsharedErr = nil; f.proc[threadSelf] = "system_u:system_r:init_t:s0\x00" },
			want:   Initialized, signal: `attr/current = "system_u:system_r:init_t:s0" (a policy is loaded)`,
			context: "system_u:system_r:init_t:s0",
		},
		{
			name:   "policy loaded, seccomp",
			change: func(f *fake) { f.proc[threadSelf] = "system_u:system_r:container_t:s0:c1,c2\x00" },
			want:   Initialized, signal: "a policy is loaded",
			context: "system_u:system_r:container_t:s0:c1,c2",
		},
		{
			name: "policy loaded at boot",
			change: func(f *fake) {
				f.pid, f.initial = 1, true
				f.proc[threadSelf] = "system_u:system_r:kernel_t:s0-s0:c0.c1023\x00"
			},
			want:    Initialized,
			context: "system_u:system_r:kernel_t:s0-s0:c0.c1023",
		},
		{
			name:    "policy loaded, SELINUXNS=1",
			change:  func(f *fake) { f.environ["SELINUXNS"] = "1"; f.proc[threadSelf] = "u:r:t\x00" },
			want:    Initialized,
			context: "u:r:t",
		},

		// Refused.
		{
			name:     "container, seccomp, no SELINUXNS",
			want:     Refused,
			signal:   "attr/current = kernel, but nsinit is not the boot PID 1",
			evidence: []string{"SELINUXNS not set", "pid 57 in a non-initial PID namespace"},
			reason:   []string{"lsm_get_self_attr: EPERM, seccomp?) and SELINUXNS=1 is not in the environment", "pid 57 of a container's PID namespace", "host's", "--assume-own-namespace", "dangerous"},
			context:  "kernel",
		},
		{
			name:     "kernel answers 0, SELINUXNS=1 does not override it",
			change:   func(f *fake) { f.unsharedErr = nil; f.environ["SELINUXNS"] = "1"; f.pid = 1 },
			want:     Refused,
			evidence: []string{"SELINUXNS ignored: the kernel says this is not an unshared namespace"},
			reason:   []string{"the kernel answered lsm_get_self_attr(LSM_ATTR_UNSHARE) = 0"},
		},
		{
			name:     "SELINUXNS=yes is not 1",
			change:   func(f *fake) { f.environ["SELINUXNS"] = "yes" },
			want:     Refused,
			evidence: []string{`SELINUXNS="yes" ignored`},
		},
		{
			name: "host process, not PID 1",
			change: func(f *fake) {
				f.unsharedErr = errno(syscall.ENOSYS)
				f.initial = true
				f.pid = 300
				f.release = "6.1.0"
			},
			want:   Refused,
			reason: []string{"pid 300, not PID 1, of the initial PID namespace", "ENOSYS, Linux 6.1.0 < 6.8"},
		},
		{
			name:     "PID namespace unknown",
			change:   func(f *fake) { f.pid = 1; f.pidnsErr = errors.New("stat /proc/self/ns/pid: permission denied") },
			want:     Refused,
			evidence: []string{"pid 1; PID namespace unknown: stat /proc/self/ns/pid: permission denied"},
			reason:   []string{"its PID namespace is unknown"},
		},
		{
			name:     "EOPNOTSUPP: SELINUXNS=1 cannot be right",
			change:   func(f *fake) { f.environ["SELINUXNS"] = "1"; f.unsharedErr = errno(syscall.EOPNOTSUPP) },
			want:     Refused,
			evidence: []string{"EOPNOTSUPP: SELinux did not answer", "SELINUXNS ignored: the kernel's SELinux has no namespace support"},
			reason:   []string{"no namespace support (lsm_get_self_attr: EOPNOTSUPP)", "pid 57"},
		},
		{
			name:     "prototype node 0 beats SELINUXNS=1",
			change:   func(f *fake) { f.environ["SELINUXNS"] = "1"; f.nodes = proto("0") },
			want:     Refused,
			evidence: []string{"SELINUXNS ignored: the kernel's unshare node"},
			reason:   []string{`unshare reads "0": this is not shown to be a child SELinux namespace`},
		},
		{
			name:     "prototype node reads 0",
			change:   func(f *fake) { f.nodes = proto("0") },
			want:     Refused,
			evidence: []string{`unshare = "0"`},
		},
		{
			name: "prototype node unreadable",
			change: func(f *fake) {
				f.environ["SELINUXNS"] = "1"
				f.nodes = proto("")
				f.nodes.UnshareErr = &os.PathError{Op: "open", Path: "/sys/fs/selinux/unshare", Err: syscall.EACCES}
			},
			want: Refused, evidence: []string{"cannot read /sys/fs/selinux/unshare: permission denied"},
			reason: []string{"unshare cannot be read (permission denied)"},
		},

		// The override.
		{
			name:     "override in a container",
			opts:     Options{AssumeOwnNamespace: true},
			want:     Unshared,
			signal:   "--assume-own-namespace and attr/current = kernel (UNVERIFIED)",
			evidence: []string{"WARNING: --assume-own-namespace"},
		},
		{
			name:   "override on the host PID namespace",
			change: func(f *fake) { f.unsharedErr = nil; f.initial = true; f.pid = 300 },
			opts:   Options{AssumeOwnNamespace: true},
			want:   Boot, signal: "UNVERIFIED",
		},
		{
			name:   "override does not make a foreign LSM SELinux",
			change: func(f *fake) { f.proc[threadSelf] = "unconfined\n" },
			opts:   Options{AssumeOwnNamespace: true},
			want:   Unavailable,
		},
		{
			name:   "override does not hide a loaded policy",
			change: func(f *fake) { f.proc[threadSelf] = "u:r:t:s0\x00" },
			opts:   Options{AssumeOwnNamespace: true},
			want:   Initialized,
		},

		// Where the label is read from.
		{
			name: "no thread-self: task/<tid>",
			change: func(f *fake) {
				delete(f.proc, threadSelf)
				f.proc["self/task/58/attr/current"] = "u:r:t:s0\x00"
				f.proc["self/attr/current"] = "kernel\x00"
			},
			want:     Initialized,
			evidence: []string{"thread-self/attr/current missing, trying the next path", "self/task/58/attr/current = \"u:r:t:s0\""},
			context:  "u:r:t:s0",
		},
		{
			name: "no thread-self, no task: self",
			change: func(f *fake) {
				delete(f.proc, threadSelf)
				f.proc["self/attr/current"] = "u:r:t:s0\n"
			},
			want:     Initialized,
			evidence: []string{"self/task/58/attr/current missing", "self/attr/current = \"u:r:t:s0\""},
			context:  "u:r:t:s0",
		},
		{
			name:     "thread-self unreadable: no fallback to another thread's label",
			change:   func(f *fake) { f.proc[threadSelf] = asDir; f.proc["self/attr/current"] = "u:r:t:s0" },
			want:     Unavailable,
			evidence: []string{"cannot read"},
		},
		{
			name:     "no label anywhere",
			change:   func(f *fake) { delete(f.proc, threadSelf) },
			want:     Unavailable,
			evidence: []string{"cannot read", "self/attr/current: no such file or directory"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := base()
			if tt.change != nil {
				tt.change(&f)
			}
			r := Detect(f.env(t), tt.opts)
			log := fmt.Sprintf("verdict %v\nsignal %q\ncontext %q\nevidence:\n  %s\nreason: %s",
				r.Verdict, r.Signal, r.Context, strings.Join(r.Evidence, "\n  "), r.Reason)
			if r.Verdict != tt.want {
				t.Fatalf("verdict %v, want %v\n%s", r.Verdict, tt.want, log)
			}
			if r.Signal == "" || !strings.Contains(r.Signal, tt.signal) {
				t.Errorf("signal does not contain %q\n%s", tt.signal, log)
			}
			for _, ev := range tt.evidence {
				if !containsLine(r.Evidence, ev) {
					t.Errorf("no evidence line contains %q\n%s", ev, log)
				}
			}
			if needReason := r.Verdict == Unavailable || r.Verdict == Refused; needReason != (r.Reason != "") {
				t.Errorf("reason %q for verdict %v", r.Reason, r.Verdict)
			}
			for _, s := range tt.reason {
				if !strings.Contains(r.Reason, s) {
					t.Errorf("reason does not contain %q\n%s", s, log)
				}
			}
			for _, a := range tt.absent {
				if strings.Contains(log, a) {
					t.Errorf("the result says %q\n%s", a, log)
				}
			}
			if tt.context != "" && r.Context != tt.context {
				t.Errorf("context %q, want %q", r.Context, tt.context)
			}
		})
	}
}

func containsLine(lines []string, sub string) bool {
	for _, l := range lines {
		if strings.Contains(l, sub) {
			return true
		}
	}
	return false
}

// TestDetectNilProbes: an Env with only ProcDir must not panic; with nothing proving the
// namespace is ours, "kernel" is refused.
func TestDetectNilProbes(t *testing.T) {
	dir := t.TempDir()
	writeTree(t, dir, map[string]string{"filesystems": fsWithSELinux, threadSelf: "kernel\x00"})
	r := Detect(Env{ProcDir: dir}, Options{})
	if r.Verdict != Refused || !containsLine(r.Evidence, "probe not available") {
		t.Fatalf("got %v %q %q", r.Verdict, r.Signal, r.Evidence)
	}
}

func TestVerdictString(t *testing.T) {
	for v, want := range map[Verdict]string{
		Unavailable: "unavailable", Refused: "refused", Unshared: "unshared", Boot: "boot",
		Initialized: "initialized", Verdict(5): "verdict(5)", Verdict(-1): "verdict(-1)",
	} {
		if got := v.String(); got != want {
			t.Errorf("Verdict(%d).String() = %q, want %q", int(v), got, want)
		}
	}
}

func TestReleaseAge(t *testing.T) {
	for rel, want := range map[string]kernelAge{
		"6.1.0-18-amd64": ageOld, "5.15.0": ageOld, "6.7.12": ageOld, "6.8": ageNew, "6.8.0-rc1": ageNew,
		"6.18.44-fc-v669": ageNew, "7.2.0-1-amd64": ageNew, "10.0": ageNew, "": ageUnknown, "6": ageUnknown,
		"x.y": ageUnknown, "6.x": ageUnknown, "-1.2": ageOld,
	} {
		if got := releaseAge(rel); got != want {
			t.Errorf("releaseAge(%q) = %d, want %d", rel, got, want)
		}
	}
}

// TestExplain: the errno table gives each errno one long and one short text, and ENOSYS
// depends on the release.
func TestExplain(t *testing.T) {
	for _, tt := range []struct {
		err        error
		rel        string
		long, hint string
	}{
		{errno(syscall.ENOSYS), "6.1.0", "ENOSYS: Linux 6.1.0 has no LSM syscalls", "ENOSYS, Linux 6.1.0 < 6.8"},
		{errno(syscall.ENOSYS), "7.2.0", "so a seccomp filter answered", "ENOSYS from seccomp, Linux 7.2.0"},
		{errno(syscall.ENOSYS), "", "or a seccomp filter; the kernel release is unknown", "ENOSYS, Linux < 6.8 or seccomp"},
		{errno(syscall.EPERM), "6.1.0", "EPERM: the syscall is blocked", "EPERM, seccomp?"},
		{errno(syscall.EOPNOTSUPP), "7.2.0", "EOPNOTSUPP: SELinux did not answer", "EOPNOTSUPP, no SELinux namespace support"},
		{errno(syscall.EINVAL), "7.2.0", "EINVAL: unexpected error", "EINVAL"},
		{errors.New("odd"), "7.2.0", "unexpected answer", "unexpected answer"},
	} {
		a := explain(tt.err, tt.rel)
		if !strings.Contains(a.long, tt.long) || a.hint != tt.hint {
			t.Errorf("explain(%v, %q) = %+v, want long ~ %q, hint %q", tt.err, tt.rel, a, tt.long, tt.hint)
		}
	}
}
