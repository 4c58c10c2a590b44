package vm

import (
	"bytes"
	"errors"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/nsinit/nsinit/internal/testutil"
)

func TestParseMarker(t *testing.T) {
	tests := []struct {
		name, in string
		want     *Marker
		wantErr  string
	}{
		{
			name: "full",
			in:   `pid=1 context=system_u:system_r:init_t:s0 enforce=1 label=system_u:object_r:init_exec_t:s0 exe=/sbin/init maxrss=9876 argv=["/sbin/init","two words","--x"]`,
			want: &Marker{PID: 1, Context: "system_u:system_r:init_t:s0", Enforce: "1",
				Label: "system_u:object_r:init_exec_t:s0", Exe: "/sbin/init", MaxRSSKiB: 9876, Argv: []string{"/sbin/init", "two words", "--x"}},
		},
		{
			name: "minimal",
			in:   `pid=7 context=kernel enforce=none argv=[]`,
			want: &Marker{PID: 7, Context: "kernel", Enforce: "none", Argv: []string{}},
		},
		{name: "no argv", in: `pid=1 context=kernel enforce=0`, wantErr: "no argv="},
		{name: "argv not json", in: `pid=1 context=kernel enforce=0 argv=[/sbin/init]`, wantErr: "argv"},
		{name: "bad pid", in: `pid=one context=kernel enforce=0 argv=[]`, wantErr: "pid"},
		{name: "bad maxrss", in: `pid=1 context=kernel enforce=0 maxrss=lots argv=[]`, wantErr: "maxrss"},
		{name: "missing context", in: `pid=1 enforce=0 argv=[]`, wantErr: "no context="},
		{name: "repeated", in: `pid=1 pid=2 context=kernel enforce=0 argv=[]`, wantErr: "repeated"},
		{name: "unknown field", in: `pid=1 context=kernel enforce=0 color=red argv=[]`, wantErr: "unknown field"},
		{name: "not key=value", in: `pid=1 context=kernel enforce=0 stray argv=[]`, wantErr: "not key=value"},
		{name: "empty", in: ``, wantErr: "no argv="},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := ParseMarker(tt.in)
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("ParseMarker(%q) error = %v, want one containing %q", tt.in, err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if got.String() != tt.want.String() {
				t.Errorf("ParseMarker(%q) = %s, want %s", tt.in, got, tt.want)
			}
		})
	}
}

func FuzzParseMarker(f *testing.F) {
	f.Add(`pid=1 context=system_u:system_r:init_t:s0 enforce=1 label=x exe=/sbin/init argv=["/sbin/init"]`)
	f.Add(`pid=1 context=kernel enforce=0 argv=["a","b c"]`)
	f.Add(`argv= argv=`)
	f.Fuzz(func(t *testing.T, s string) {
		m, err := ParseMarker(s)
		if err != nil {
			return
		}
		// What parses must survive a round trip through String.
		again, err := ParseMarker(m.String())
		if err != nil {
			t.Fatalf("ParseMarker(%q) = %s, which does not parse again: %v", s, m, err)
		}
		if !slices.Equal(again.Argv, m.Argv) || again.Context != m.Context || again.PID != m.PID {
			t.Fatalf("round trip of %q: %s != %s", s, again, m)
		}
	})
}

func TestClassify(t *testing.T) {
	console := []string{
		"[    0.1] Linux version 6.1.0",
		"stage0: loaded 11 modules",
		"INFO\tnsinit\tconfigured",
		"TESTINIT: note: read /dev/kmsg: permission denied",
		`TESTINIT: pid=1 context=kernel enforce=0 argv=["/sbin/init"]`,
		`TESTINIT: pid=2 context=other enforce=1 argv=[]`,
		"TESTINIT: avc: avc:  denied  { read } for pid=1 comm=\"init\"",
		"[    5.0] reboot: Power down",
	}
	r := &Result{}
	for _, l := range console {
		if r.classify(l) {
			t.Fatalf("classify(%q) asked to stop", l)
		}
	}
	if r.Marker == nil || r.Marker.PID != 1 {
		t.Errorf("Marker = %v, want the first marker (pid=1)", r.Marker)
	}
	if len(r.Notes) != 1 || len(r.Denials) != 1 || !r.PoweredOff {
		t.Errorf("Notes=%q Denials=%q PoweredOff=%v", r.Notes, r.Denials, r.PoweredOff)
	}

	r = &Result{}
	for _, l := range []string{
		"ERROR\tnsinit\tfail closed",
		"nsinit: emergency: no policy: /etc/selinux/default/policy holds no policy.N file",
		"nsinit: emergency: the init was NOT started.",
	} {
		r.classify(l)
	}
	if !r.classify("nsinit: freezing") || !r.Frozen {
		t.Error(`"nsinit: freezing" must stop the run`)
	}
	if err := expectFailClosed("/etc/selinux/default/policy", "not started")(r); err != nil {
		t.Error(err)
	}
	if err := expectFailClosed("magic")(r); err == nil {
		t.Error("expectFailClosed accepted an emergency that does not say why")
	}
	if err := expectInit(KernelContext, "0", "/sbin/init")(r); err == nil {
		t.Error("expectInit accepted a boot without a marker")
	}

	// Supervisor mode: testapp's report, nsinit's verdict line and summary line.
	r = &Result{}
	console = []string{
		"INFO\tnsinit\tstarting the supervised application: policy.33; enforcing; start /usr/bin/testapp as system_u:system_r:kernel_t:s0; total 1ms\t{}",
		"TESTAPP: pid=94 ppid=1 context=system_u:system_r:kernel_t:s0 enforce=1 label=system_u:object_r:bin_t:s0 exe=/usr/bin/testapp",
		"TESTAPP: computed=system_u:system_r:kernel_t:s0",
		"TESTAPP: orphan=104 orphan_ppid=1 orphan_reaped=yes",
		"TESTAPP: zombies=0 exit=7",
		"INFO\tnsinit\tapplication exited\t{\"pid\": 94, \"status\": 7, \"reaped\": 1}",
		"nsinit: application exited with status 7; powering off",
		"[    4.4] reboot: Power down",
	}
	for _, l := range console {
		r.classify(l)
		r.Console += l + "\n"
	}
	if r.AppExit == nil || *r.AppExit != 7 || r.App["orphan"] != "104" {
		t.Errorf("AppExit = %v, App = %v", r.AppExit, r.App)
	}
	if err := expectSupervised(AppPath, 7)(r); err != nil {
		t.Error(err)
	}
	if err := expectSupervised(AppPath, 3)(r); err == nil {
		t.Error("expectSupervised accepted the wrong status")
	}
	r.App["zombies"] = "1"
	if err := expectSupervised(AppPath, 7)(r); err == nil || !strings.Contains(err.Error(), "zombies") {
		t.Errorf("expectSupervised accepted a zombie: %v", err)
	}
	r.App["zombies"] = "0"
	r.App["context"] = "system_u:system_r:other_t:s0"
	if err := expectSupervised(AppPath, 7)(r); err == nil || !strings.Contains(err.Error(), "context") {
		t.Errorf("expectSupervised accepted a domain nsinit did not predict: %v", err)
	}

	// A multi-line error continues the emergency message until a line with an origin.
	r = &Result{}
	for _, l := range []string{
		"nsinit: emergency: enforcing mode requested but failed to read the policy: no loadable policy:",
		"/etc/selinux/default/policy/policy.34 (version 34) cannot be loaded: extended permission rules inside conditional blocks",
		"[    4.1] audit: type=1404",
		"not part of it",
		"nsinit: emergency: the init was NOT started.",
		"nsinit: freezing (PID 1 of the machine must not exit)",
		"also not part of it",
	} {
		r.classify(l)
	}
	if err := expectFailClosed("policy.34", "conditional blocks", "NOT started")(r); err != nil {
		t.Error(err)
	}
	if strings.Contains(r.Emergency, "not part of it") {
		t.Errorf("Emergency took lines after a kernel or freezing line:\n%s", r.Emergency)
	}

	r = &Result{}
	r.classify("[    4.4] Kernel panic - not syncing: Attempted to kill init! exitcode=0x00000400")
	if !strings.HasPrefix(r.Panic, "Kernel panic") || !strings.HasPrefix(r.Outcome(), "Kernel panic") {
		t.Errorf("Panic = %q, Outcome = %q", r.Panic, r.Outcome())
	}
}

// TestDenialChecks runs the AVC checks of the exec-context scenarios (g, g2) on consoles
// with the kernel's own record format: the entrypoint denial of g2's boot, a relayed
// denial, and the create denial on attr/exec that an O_CREAT open would cause.
func TestDenialChecks(t *testing.T) {
	const (
		entrypoint = "[    4.667454] audit: type=1400 audit(1795641681.330:4): avc:  denied  { entrypoint } for  pid=1 comm=\"nsinit\" path=\"/usr/bin/testinit\" dev=\"vda\" ino=63 scontext=system_u:system_r:init_t:s0 tcontext=system_u:object_r:bin_t:s0 tclass=file permissive=0"
		create     = "[    4.6] audit: type=1400 audit(1795641681.300:4): avc:  denied  { create } for  pid=1 comm=\"nsinit\" name=\"exec\" scontext=system_u:system_r:kernel_t:s0 tcontext=system_u:system_r:kernel_t:s0 tclass=file permissive=0"
		granted    = "[    4.6] audit: type=1400 audit(1795641681.300:4): avc:  granted  { setexec } for  pid=1 comm=\"nsinit\" scontext=system_u:system_r:kernel_t:s0 tcontext=system_u:system_r:kernel_t:s0 tclass=process"
	)
	boot := func(lines ...string) *Result {
		r := &Result{}
		for _, l := range lines {
			r.classify(l)
			r.Console += l + "\n"
		}
		return r
	}
	other := strings.Replace(entrypoint, `comm="nsinit"`, `comm="testapp"`, 1)
	tests := []struct {
		name       string
		r          *Result
		allowed    []string
		wantOnly   bool // expectOnlyDenials(allowed...) passes
		wantG2     bool // g2's expectKernelDenied passes
		wantNoSelf bool // expectNoNSInitDenials() passes
	}{
		{"clean", boot("INFO\tnsinit\thanding off", granted), nil, true, false, true},
		{"g2's boot", boot(entrypoint, "nsinit: freezing"), []string{"entrypoint"}, true, true, false},
		{"entrypoint not allowed", boot(entrypoint), nil, false, true, false},
		{"create on attr/exec", boot(create, entrypoint), []string{"entrypoint"}, false, true, false},
		{"relayed create", boot("TESTINIT: avc: 6,300,4667454,-;audit: type=1400 avc:  denied  { create } for name=\"exec\""), nil, false, false, true},
		{"relayed nsinit", boot("TESTINIT: avc: 6,300,4667454,-;audit: type=1400 avc:  denied  { setenforce } for pid=1 comm=\"nsinit\" permissive=1"), nil, false, false, false},
		{"other target", boot(strings.Replace(entrypoint, "bin_t", "usr_t", 1)), []string{"entrypoint"}, true, false, false},
		{"another process", boot(other), nil, false, true, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if err := expectOnlyDenials(tt.allowed...)(tt.r); (err == nil) != tt.wantOnly {
				t.Errorf("expectOnlyDenials(%q) = %v, want pass=%v", tt.allowed, err, tt.wantOnly)
			}
			if err := expectNoNSInitDenials()(tt.r); (err == nil) != tt.wantNoSelf {
				t.Errorf("expectNoNSInitDenials() = %v, want pass=%v", err, tt.wantNoSelf)
			}
			err := expectKernelDenied("entrypoint", "scontext="+InitContext, "tcontext="+BinLabel)(tt.r)
			if (err == nil) != tt.wantG2 {
				t.Errorf("expectKernelDenied = %v, want pass=%v", err, tt.wantG2)
			}
		})
	}
}

// TestKernelChecks runs the checks whose expectation depends on the kernel on detection,
// policy and relabel lines of real 6.1 and 7.2 boots: each passes on its own kernel's
// console and fails on the other's.
func TestKernelChecks(t *testing.T) {
	const (
		detect6 = "INFO\tnsinit\tdetect\t{\"verdict\": \"boot\", \"evidence\": [\"active LSMs unknown: lsm_list_modules: function not implemented; open /sys/kernel/security/lsm: no such file or directory\", \"lsm_get_self_attr(LSM_ATTR_UNSHARE): function not implemented (ENOSYS: Linux 6.1.0-57-amd64 has no LSM syscalls (they came in 6.8)); falling back\"]}"
		detect7 = "INFO\tnsinit\tdetect\t{\"verdict\": \"boot\", \"evidence\": [\"active LSMs: lockdown,capability,landlock,yama,selinux,bpf,ipe,ima,evm\", \"lsm_get_self_attr(LSM_ATTR_UNSHARE): operation not supported (EOPNOTSUPP: SELinux did not answer\"]}"
		noSE7   = "INFO\tnsinit\tdetect\t{\"evidence\": [\"active LSMs: lockdown,capability,landlock,yama,apparmor\", \"lsm_get_self_attr(LSM_ATTR_UNSHARE): operation not supported (EOPNOTSUPP\"]}"
		read35n = "INFO\tnsinit\tread the policy\t{\"file\": \"/etc/selinux/default/policy/policy.35\", \"version\": 35, \"downgraded\": false, \"kernel_max\": 35}"
		load35d = "INFO\tnsinit\thanding off: policy.35, 2.1 MB, loaded in 300ms (downgraded from 35 to 33); no relabel"
		xattr6  = "INFO\tnsinit\trelabel done\t{\"objects\": 6700, \"xattr_calls\": \"l*xattr via the working directory\"}"
		xattr7  = "INFO\tnsinit\trelabel done\t{\"objects\": 6700, \"xattr_calls\": \"getxattrat/setxattrat\"}"
	)
	k6 := Kernel{Name: Linux6, PolicyVersion: 33}
	k7 := Kernel{Name: Linux7, PolicyVersion: 35, LSMSyscalls: true}
	on := func(k Kernel, lines ...string) *Result {
		return &Result{Kernel: k, Console: strings.Join(lines, "\n") + "\n"}
	}
	tests := []struct {
		name  string
		check func(*Result) error
		r     *Result
		pass  bool
	}{
		{"lsm 6.1", expectLSMSyscalls, on(k6, detect6), true},
		{"lsm 7.x", expectLSMSyscalls, on(k7, detect7), true},
		{"lsm 7.x console on 6.1", expectLSMSyscalls, on(k6, detect7), false},
		{"lsm 6.1 console on 7.x", expectLSMSyscalls, on(k7, detect6), false},
		{"lsm 7.x without selinux", expectLSMSyscalls, on(k7, noSE7), false},
		{"policy.35 native on 7.x", expectPolicyVersion(35), on(k7, read35n), true},
		{"policy.35 downgraded on 6.1", expectPolicyVersion(35), on(k6, load35d), true},
		{"policy.35 downgraded on 7.x", expectPolicyVersion(35), on(k7, read35n, load35d), false},
		{"policy.35 native on 6.1", expectPolicyVersion(35), on(k6, read35n), false},
		{"no kernel", expectPolicyVersion(35), on(Kernel{}, read35n), false},
		{"xattr 6.1", expectXattrCalls, on(k6, xattr6), true},
		{"xattr 7.x", expectXattrCalls, on(k7, xattr7), true},
		{"xattr fallback on 7.x", expectXattrCalls, on(k7, xattr6), false},
		{"xattrat on 6.1", expectXattrCalls, on(k6, xattr7), false},
	}
	for _, tt := range tests {
		if err := tt.check(tt.r); (err == nil) != tt.pass {
			t.Errorf("%s: err = %v, want pass=%v", tt.name, err, tt.pass)
		}
	}
	if got := activeLSMs(on(k7, detect7)); !slices.Equal(got, []string{"lockdown", "capability", "landlock", "yama", "selinux", "bpf", "ipe", "ima", "evm"}) {
		t.Errorf("activeLSMs = %q", got)
	}
}

// TestKernelRelease reads the release from each provisioned kernel's image (the 7.x
// package names it, the 6.1 image package too) and refuses files that are no bzImage.
func TestKernelRelease(t *testing.T) {
	for _, tc := range []struct {
		gate   func(testing.TB) string
		prefix string // of the package file, before the release
	}{
		{testutil.Kernel, "linux-image-"},
		{testutil.Kernel7, "linux-base-"},
	} {
		dir := tc.gate(t)
		pkg, err := os.ReadFile(filepath.Join(dir, "package"))
		if err != nil {
			t.Fatal(err)
		}
		got, err := KernelRelease(filepath.Join(dir, "vmlinuz"))
		if err != nil {
			t.Fatal(err)
		}
		if !strings.HasPrefix(string(pkg), tc.prefix+got) {
			t.Errorf("%s: release %q, package %q", dir, got, pkg)
		}
	}
	short := filepath.Join(t.TempDir(), "short")
	if err := os.WriteFile(short, []byte("MZ"), 0o644); err != nil {
		t.Fatal(err)
	}
	for _, p := range []string{"/proc/self/exe", short, filepath.Join(t.TempDir(), "missing")} {
		if r, err := KernelRelease(p); err == nil {
			t.Errorf("KernelRelease(%s) = %q, want an error", p, r)
		}
	}
}

func TestKernelCmdline(t *testing.T) {
	tests := []struct {
		args     []string
		wantTail string
		wantFile []string
	}{
		{nil, "rdinit=/init", nil},
		{[]string{"--mode", "permissive", "x=y"}, "rdinit=/init -- --mode permissive x=y", nil},
		{[]string{"--", "/sbin/init"}, "rdinit=/init", []string{"--", "/sbin/init"}},
		{[]string{"two words"}, "rdinit=/init", []string{"two words"}},
		{[]string{`"quoted"`}, "rdinit=/init", []string{`"quoted"`}},
		{[]string{""}, "rdinit=/init", []string{""}},
	}
	for _, tt := range tests {
		m := &Machine{Args: tt.args}
		cmdline, file := m.kernelCmdline()
		if !strings.HasSuffix(cmdline, tt.wantTail) || !strings.Contains(cmdline, "security=selinux") {
			t.Errorf("args %q: cmdline %q, want it to end with %q", tt.args, cmdline, tt.wantTail)
		}
		if !slices.Equal(file, tt.wantFile) {
			t.Errorf("args %q: /stage0.args gets %q, want %q", tt.args, file, tt.wantFile)
		}
	}
}

// TestCpioWriter checks the newc writer against GNU cpio, which must list and extract
// exactly what was written (the kernel's unpacker is stricter about alignment than cpio,
// and the boots of TestScenarios cover it).
func TestCpioWriter(t *testing.T) {
	testutil.RequireTool(t, "cpio")
	var buf bytes.Buffer
	c := &cpioWriter{w: &buf}
	c.Dir("dev", 0o755)
	c.CharDev("dev/console", 0o600, 5, 1)
	c.File("a", 0o644, []byte("x"))     // data needs padding
	c.File("bb", 0o755, []byte("four")) // data needs none
	c.File("empty", 0o644, nil)         // no data at all
	c.File("stage0.args", 0o644, []byte("--\x00two words\x00\x00"))
	if err := c.Close(); err != nil {
		t.Fatal(err)
	}
	if buf.Len()%4 != 0 {
		t.Errorf("archive length %d is not a multiple of 4", buf.Len())
	}
	cmd := exec.Command("cpio", "-itv", "--quiet")
	cmd.Stdin = bytes.NewReader(buf.Bytes())
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("cpio -itv: %v\n%s", err, out)
	}
	listing := string(out)
	for _, want := range []string{"drwxr-xr-x", "crw-------", "5,   1", " dev/console", " a\n", " bb\n", " empty\n", " stage0.args\n"} {
		if !strings.Contains(listing, want) {
			t.Errorf("cpio -itv lacks %q:\n%s", want, listing)
		}
	}
	for name, want := range map[string]string{"a": "x", "bb": "four", "stage0.args": "--\x00two words\x00\x00"} {
		cmd := exec.Command("cpio", "-i", "--quiet", "--to-stdout", name)
		cmd.Stdin = bytes.NewReader(buf.Bytes())
		got, err := cmd.Output()
		if err != nil || string(got) != want {
			t.Errorf("cpio extracts %s = %q, %v; want %q", name, got, err, want)
		}
	}
}

func TestTopoSort(t *testing.T) {
	graph := map[string][]string{
		"ext4":       {"jbd2", "mbcache", "crc16"},
		"jbd2":       nil,
		"mbcache":    nil,
		"crc16":      nil,
		"virtio_pci": {"virtio_ring", "virtio"},
		"virtio_blk": {"virtio", "virtio_ring"},
		"virtio":     nil, "virtio_ring": nil,
		"a": {"b"}, "b": {"c"}, "c": {"a"},
	}
	deps := func(n string) ([]string, error) {
		d, ok := graph[n]
		if !ok {
			return nil, errors.New("no module " + n)
		}
		return d, nil
	}
	got, err := topoSort([]string{"virtio_pci", "virtio-blk", "ext4"}, deps)
	if err != nil {
		t.Fatal(err)
	}
	want := []string{"virtio_ring", "virtio", "virtio_pci", "virtio_blk", "jbd2", "mbcache", "crc16", "ext4"}
	if !slices.Equal(got, want) {
		t.Errorf("topoSort = %q, want %q", got, want)
	}
	if _, err := topoSort([]string{"a"}, deps); err == nil || !strings.Contains(err.Error(), "cycle: a -> b -> c -> a") {
		t.Errorf("cycle: err = %v", err)
	}
	if _, err := topoSort([]string{"missing"}, deps); err == nil {
		t.Error("a missing module was accepted")
	}
}

func TestParseModinfoMalformed(t *testing.T) {
	for name, data := range map[string][]byte{
		"empty":     nil,
		"not elf":   []byte("depends=ext4\x00"),
		"truncated": []byte("\x7fELF\x02\x01\x01\x00"),
	} {
		if _, err := parseModinfo(data); err == nil {
			t.Errorf("%s: parseModinfo accepted it", name)
		}
	}
	self, err := os.ReadFile("/proc/self/exe") // an ELF file without .modinfo
	if err != nil {
		t.Fatal(err)
	}
	if _, err := parseModinfo(self); err == nil || !strings.Contains(err.Error(), ".modinfo") {
		t.Errorf("ELF without .modinfo: err = %v", err)
	}
}

// TestModuleOrderDebian resolves the boot modules of each provisioned kernel: exactly the
// modules the kernel does not build in, each after what its depends= names and after the
// provider of its softdep pre: names (ext4 and jbd2 ask for crypto-crc32c: crc32c_generic on
// 6.1, where crc32c-intel also claims the alias but needs SSE4.2, which qemu64 lacks;
// crc32c-cryptoapi on 7.x). On 7.x virtio and virtio_pci are built in and the files are .ko.xz.
func TestModuleOrderDebian(t *testing.T) {
	for _, tc := range []struct {
		kernel string
		gate   func(testing.TB) string
		want   []string
	}{
		{Linux6, testutil.Kernel, []string{"virtio_ring", "virtio_pci_modern_dev", "virtio_pci_legacy_dev", "virtio",
			"virtio_pci", "virtio_blk", "crc32c_generic", "jbd2", "mbcache", "crc16", "ext4"}},
		{Linux7, testutil.Kernel7, []string{"virtio_blk", "crc32c_cryptoapi", "jbd2", "crc16", "mbcache", "ext4"}},
	} {
		t.Run(tc.kernel, func(t *testing.T) {
			dir := filepath.Join(tc.gate(t), "modules")
			paths, err := ModuleOrder(dir, BootModules)
			if err != nil {
				t.Fatal(err)
			}
			names := make([]string, len(paths))
			for i, p := range paths {
				names[i] = moduleName(p)
			}
			if !slices.Equal(names, tc.want) {
				t.Errorf("ModuleOrder = %q, want %q", names, tc.want)
			}
			pos := map[string]int{}
			for i, n := range names {
				pos[n] = i
			}
			for _, p := range paths {
				data, err := readModule(p)
				if err != nil {
					t.Fatal(err)
				}
				info, err := parseModinfo(data)
				if err != nil {
					t.Fatal(err)
				}
				for _, d := range strings.Split(strings.Join(info["depends"], ","), ",") {
					if d == "" {
						continue
					}
					if i, ok := pos[moduleName(d)]; !ok || i > pos[moduleName(p)] {
						t.Errorf("%s depends on %s, which is not loaded before it (order %q)", moduleName(p), d, names)
					}
				}
			}
		})
	}
}

// TestParseSoftdep reads the pre: names of a softdep= value; post: names are not needed
// before the module loads.
func TestParseSoftdep(t *testing.T) {
	for _, tc := range []struct {
		in   string
		want []string
	}{
		{"pre: crypto-crc32c", []string{"crypto-crc32c"}},
		{"pre: a b post: c", []string{"a", "b"}},
		{"post: c pre: d", []string{"d"}},
		{"post: c", nil},
		{"", nil},
	} {
		if got := softdepPre(tc.in); !slices.Equal(got, tc.want) {
			t.Errorf("softdepPre(%q) = %q, want %q", tc.in, got, tc.want)
		}
	}
}

// TestImageLabels builds a small labelled image and reads the labels back from the ext4
// file with debugfs: setfiles on the host plus mkfs.ext4 -d must carry them.
func TestImageLabels(t *testing.T) {
	fc := filepath.Join(testutil.DebianPolicyDir(t), "contexts", "files", "file_contexts")
	for _, tool := range []string{"setfiles", "mkfs.ext4", "debugfs"} {
		testutil.RequireTool(t, tool)
	}
	e := Env{Cache: t.TempDir()}
	im := NewImage(8)
	im.FileContexts = fc
	im.AddFile("sbin/init", 0o755, []byte("#!/bin/true\n"))
	im.AddFile("etc/selinux/config", 0o644, []byte("SELINUX=enforcing\n"))
	im.AddDir("tmp", fs.ModeSticky|0o777)
	img, err := im.Build(e)
	if err != nil {
		t.Fatal(err)
	}
	for path, want := range map[string]string{
		"/sbin/init":          "system_u:object_r:init_exec_t:s0",
		"/etc/selinux/config": "system_u:object_r:selinux_config_t:s0",
		"/tmp":                "system_u:object_r:tmp_t:s0",
	} {
		out, err := exec.Command("debugfs", "-R", "ea_get "+path+" security.selinux", img).CombinedOutput()
		if err != nil || !strings.Contains(string(out), want) {
			t.Errorf("label of %s in the image: %s %v, want %s", path, out, err, want)
		}
	}
	out, _ := exec.Command("debugfs", "-R", "stat /tmp", img).CombinedOutput()
	if !strings.Contains(string(out), "Mode:  01777") {
		t.Errorf("/tmp mode not kept:\n%s", out)
	}
	// Same description, same key: the second Build is a cache hit.
	again, err := im.Build(e)
	if err != nil || again != img {
		t.Errorf("rebuild = %s, %v; want the cached %s", again, err, img)
	}
	im.AddFile("etc/selinux/config", 0o644, []byte("SELINUX=permissive\n"))
	if other, err := im.Build(e); err != nil || other == img {
		t.Errorf("a changed image got %s, %v; want a new file", other, err)
	}
}

// TestScenarioKernels checks the kernel selection: a scenario without Kernels boots on 6.1
// alone, and every kernel a scenario names is one Env.Kernel knows.
func TestScenarioKernels(t *testing.T) {
	if s := (Scenario{}); !s.On(Linux6) || s.On(Linux7) {
		t.Errorf("a scenario without Kernels: On(6.1) = %v, On(7.x) = %v; want true, false", s.On(Linux6), s.On(Linux7))
	}
	if s := (Scenario{Kernels: []string{Linux7}}); s.On(Linux6) || !s.On(Linux7) {
		t.Errorf("Kernels [linux7]: On(6.1) = %v, On(7.x) = %v; want false, true", s.On(Linux6), s.On(Linux7))
	}
	for _, s := range Scenarios {
		for _, k := range s.Kernels {
			if _, ok := kernelLayout[k]; !ok {
				t.Errorf("scenario %s names kernel %q, which Env.Kernel does not know", s.Name, k)
			}
		}
	}
	if _, err := (Env{Cache: t.TempDir()}).Kernel("linux5"); err == nil {
		t.Error("Env.Kernel accepted an unknown kernel")
	}
}
