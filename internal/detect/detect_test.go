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
	selinuxfs   map[string]string // path under SelinuxfsDir; nil: no selinuxfs dir
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

// base is an SELinux kernel, no policy, PID 57 of a container, the LSM syscall blocked by
// seccomp, no SELINUXNS: the Refused situation each case changes.
func base() fake {
	return fake{
		proc:        map[string]string{"filesystems": fsWithSELinux, threadSelf: "kernel\x00"},
		environ:     map[string]string{},
		pid:         57,
		tid:         58,
		unsharedErr: os.NewSyscallError("lsm_get_self_attr(LSM_ATTR_UNSHARE)", syscall.EPERM),
		modules:     []string{"lockdown", "capability", "selinux", "bpf"},
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
	if f.selinuxfs != nil {
		e.SelinuxfsDir = filepath.Join(root, "selinuxfs")
		writeTree(t, e.SelinuxfsDir, f.selinuxfs)
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
			name:   "kernel says unshared even as PID 1 of the initial PID namespace",
			change: func(f *fake) { f.unsharedErr = nil; f.unshared = true; f.pid = 1; f.initial = true },
			want:   Unshared, signal: "= 1", context: "kernel",
		},

		// Unshared, by the fallbacks.
		{
			name:   "EPERM + SELINUXNS=1",
			change: func(f *fake) { f.environ["SELINUXNS"] = "1"; f.pid = 1 },
			want:   Unshared, signal: "SELINUXNS=1 in the environment (lsm_get_self_attr: EPERM, seccomp?)",
			evidence: []string{"EPERM: the syscall is blocked, most likely by a seccomp filter", `SELINUXNS="1" in the environment`, "pid 1 in a non-initial PID namespace"},
			context:  "kernel",
		},
		{
			name:   "ENOSYS + SELINUXNS=1",
			change: func(f *fake) { f.environ["SELINUXNS"] = "1"; f.unsharedErr = errno(syscall.ENOSYS) },
			want:   Unshared, signal: "(lsm_get_self_attr: ENOSYS, Linux < 6.8)",
			evidence: []string{"ENOSYS: the kernel has no LSM syscalls, Linux < 6.8"},
		},
		{
			name:   "bare errno + SELINUXNS=1",
			change: func(f *fake) { f.environ["SELINUXNS"] = "1"; f.unsharedErr = syscall.EPERM },
			want:   Unshared, signal: "EPERM, seccomp?",
		},
		{
			name:   "other errno + SELINUXNS=1",
			change: func(f *fake) { f.environ["SELINUXNS"] = "1"; f.unsharedErr = errno(syscall.E2BIG) },
			want:   Unshared, signal: "(lsm_get_self_attr: E2BIG)",
			evidence: []string{"(E2BIG: unexpected error); falling back"},
		},
		{
			name: "malformed reply + SELINUXNS=1",
			change: func(f *fake) {
				f.environ["SELINUXNS"] = "1"
				f.unsharedErr = os.NewSyscallError("lsm_get_self_attr(LSM_ATTR_UNSHARE)", fmt.Errorf("%w: 2 entries", lsm.ErrUnexpectedReply))
			},
			want: Unshared, signal: "(lsm_get_self_attr: unexpected answer)",
			evidence: []string{"unexpected reply: 2 entries (unexpected answer); falling back"},
		},
		{
			name:   "probe missing + SELINUXNS=1",
			change: func(f *fake) { f.environ["SELINUXNS"] = "1"; f.unsharedErr = errNotProbed },
			want:   Unshared, signal: "SELINUXNS=1",
		},
		{
			name:   "prototype selinuxfs unshare node",
			change: func(f *fake) { f.unsharedErr = errno(syscall.ENOSYS); f.selinuxfs = map[string]string{"unshare": "1"} },
			want:   Unshared, signal: "unshare = 1 and attr/current = kernel (prototype kernel)",
			evidence: []string{`unshare = "1" (prototype SELinux namespace kernel)`},
		},

		{
			name: "prototype node 1 with EOPNOTSUPP",
			change: func(f *fake) {
				f.unsharedErr = errno(syscall.EOPNOTSUPP)
				f.selinuxfs = map[string]string{"unshare": "1\n"}
			},
			want: Unshared, signal: "(prototype kernel)",
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
			name:   "host process, not PID 1",
			change: func(f *fake) { f.unsharedErr = errno(syscall.ENOSYS); f.initial = true; f.pid = 300 },
			want:   Refused,
			reason: []string{"pid 300, not PID 1, of the initial PID namespace", "ENOSYS, Linux < 6.8"},
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
			change:   func(f *fake) { f.environ["SELINUXNS"] = "1"; f.selinuxfs = map[string]string{"unshare": "0"} },
			want:     Refused,
			evidence: []string{"SELINUXNS ignored: the kernel's unshare node"},
			reason:   []string{`unshare reads "0": this is not a child SELinux namespace`},
		},
		{
			name:     "prototype node reads 0",
			change:   func(f *fake) { f.selinuxfs = map[string]string{"unshare": "0\n"} },
			want:     Refused,
			evidence: []string{`unshare = "0"`},
		},
		{
			name:   "prototype node unreadable",
			change: func(f *fake) { f.selinuxfs = map[string]string{"unshare": asDir} },
			want:   Refused, evidence: []string{"unshare: is a directory"},
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
