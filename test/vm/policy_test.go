package vm

import (
	"bytes"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/nsinit/nsinit/internal/testutil"
)

// console returns the Result a boot printing lines would give.
func console(lines ...string) *Result {
	r := &Result{}
	for _, l := range lines {
		r.classify(l)
		r.Console += l + "\n"
	}
	return r
}

// TestNSInitDenials runs the check every boot passes (Scenario.Verify) on consoles in the
// kernel's record format: a denial with comm="nsinit" fails it, on the console or relayed,
// unless the scenario allows the permission; other processes' denials and granted records
// do not count, and one record seen twice is reported once.
func TestNSInitDenials(t *testing.T) {
	const (
		associate  = `[    5.3] audit: type=1400 audit(1796171153.864:3): avc:  denied  { associate } for  pid=1 comm="nsinit" name="etc" dev="rootfs" ino=5 scontext=system_u:object_r:etc_t:s0 tcontext=system_u:object_r:root_t:s0 tclass=filesystem permissive=1`
		setenforce = `[    4.6] audit: type=1400 audit(1795641681.300:4): avc:  denied  { setenforce } for  pid=1 comm="nsinit" scontext=system_u:system_r:kernel_t:s0 tcontext=system_u:object_r:security_t:s0 tclass=security permissive=1`
		app        = `[    6.1] audit: type=1400 audit(1795641681.300:5): avc:  denied  { read } for  pid=80 comm="testapp" scontext=system_u:system_r:kernel_t:s0 tcontext=system_u:object_r:etc_t:s0 tclass=file permissive=0`
		granted    = `[    4.6] audit: type=1400 audit(1795641681.300:4): avc:  granted  { setexec } for  pid=1 comm="nsinit" scontext=system_u:system_r:kernel_t:s0 tcontext=system_u:system_r:kernel_t:s0 tclass=process`
		relayed    = `TESTINIT: avc: audit: type=1400 audit(1795641681.300:4): avc:  denied  { setenforce } for  pid=1 comm="nsinit" scontext=system_u:system_r:kernel_t:s0 tcontext=system_u:object_r:security_t:s0 tclass=security permissive=1`
	)
	tests := []struct {
		name    string
		r       *Result
		allowed []string
		want    int // denials reported; 0: the check passes
	}{
		{"clean", console("INFO\tnsinit\thanding off", granted), nil, 0},
		{"another process", console(app), nil, 0},
		{"nsinit denied, permissive", console(setenforce), nil, 1},
		{"relayed only", console(relayed), nil, 1},
		{"console and relayed: one record", console(setenforce, relayed), nil, 1},
		{"allowed permission", console(associate), []string{"associate"}, 0},
		{"allowed and not", console(associate, setenforce), []string{"associate"}, 1},
		{"two", console(associate, setenforce), nil, 2},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := expectNoNSInitDenials(tt.allowed...)(tt.r)
			if tt.want == 0 {
				if err != nil {
					t.Errorf("got %v, want no error", err)
				}
				return
			}
			if err == nil || !strings.HasPrefix(err.Error(), string(rune('0'+tt.want))+" AVC denials") {
				t.Errorf("got %v, want %d denials reported", err, tt.want)
			}
		})
	}
	s := Scenario{Check: func(*Result) error { return nil }}
	if s.Verify(console(setenforce)) == nil {
		t.Error("Verify passed a boot with a denial caused by nsinit")
	}
}

// TestExpectLoaded checks the policy-version check on nsinit's "read the policy" lines.
func TestExpectLoaded(t *testing.T) {
	line := func(file, version, kmax, downgraded string) string {
		return "INFO\tnsinit\tread the policy\t{\"file\": \"/etc/selinux/default/policy/policy." + file + "\", \"version\": " + version +
			", \"downgraded\": " + downgraded + ", \"kernel_max\": " + kmax + ", \"took\": \"425.64ms\"}"
	}
	// Today's form: the file at info level, the rest in the debug-level details line.
	split := func(file, version, kmax, downgraded string) string {
		return "INFO\tnsinit\tread the policy\t{\"file\": \"/etc/selinux/default/policy/policy." + file + "\", \"took\": \"425.64ms\"}\n" +
			"DEBUG\tnsinit\tread the policy: details\t{\"version\": " + version + ", \"downgraded\": " + downgraded + ", \"kernel_max\": " + kmax + "}"
	}
	const summary = "INFO\tnsinit\thanding off: policy.35, 1.8 MB, loaded in 612ms (downgraded from 35 to 33); enforcing"
	tests := []struct {
		name string
		r    *Result
		ok   bool
	}{
		{"35 on 33, downgraded", console(line("35", "33", "33", "true"), summary), true},
		{"33 on 33", console(line("33", "33", "33", "false")), true},
		{"35 on 35, native", console(line("35", "35", "35", "false")), true},
		{"35 on 33 without the summary", console(line("35", "33", "33", "true")), false},
		{"35 on 33 not downgraded", console(line("35", "35", "33", "false")), false},
		{"34 on 35 downgraded", console(line("34", "33", "35", "true")), false},
		{"split, 35 on 33, downgraded", console(split("35", "33", "33", "true"), summary), true},
		{"split, 35 on 35, native", console(split("35", "35", "35", "false")), true},
		{"split, 35 on 33 not downgraded", console(split("35", "35", "33", "false")), false},
		{"details only", console("DEBUG\tnsinit\tread the policy: details\t{\"version\": 33, \"downgraded\": false, \"kernel_max\": 33}"), false},
		{"no policy read", console("INFO\tnsinit\tconfigure\t{}"), false},
	}
	for _, tt := range tests {
		if err := expectLoaded(tt.r); (err == nil) != tt.ok {
			t.Errorf("%s: expectLoaded = %v, want pass=%v", tt.name, err, tt.ok)
		}
	}
}

// TestExpectNoWarnings: nsinit's warnings and errors and its console WARNING fail the
// check; info lines and others' warnings do not.
func TestExpectNoWarnings(t *testing.T) {
	tests := []struct {
		line string
		ok   bool
	}{
		{"INFO\tnsinit\ttarget domain\t{\"domain\": \"system_u:system_r:init_t:s0\"}", true},
		{"[    5.0] WARNING: CPU: 0 PID: 1 at kernel/foo.c", true},
		{"WARN\tnsinit\tpolicy\t{\"warning\": \"x\"}", false},
		{"ERROR\tnsinit\tthe init would run in the kernel's own domain", false},
		{"nsinit: WARNING: /sbin/init (labelled x) would run in y, not an init domain: relabel it", false},
	}
	for _, tt := range tests {
		if err := expectNoWarnings(console(tt.line)); (err == nil) != tt.ok {
			t.Errorf("%q: expectNoWarnings = %v, want pass=%v", tt.line, err, tt.ok)
		}
	}
}

// TestClassifyLabels: testinit's label lines fill Result.Labels (a path may hold spaces).
func TestClassifyLabels(t *testing.T) {
	r := console("TESTINIT: label system_u:object_r:etc_t:s0 /etc",
		"TESTINIT: label none /a b", "TESTINIT: label broken")
	want := map[string]string{"/etc": "system_u:object_r:etc_t:s0", "/a b": "none"}
	if len(r.Labels) != len(want) || r.Labels["/etc"] != want["/etc"] || r.Labels["/a b"] != want["/a b"] {
		t.Errorf("Labels = %q, want %q", r.Labels, want)
	}
}

// TestImageInitramfs unpacks an image's initramfs with GNU cpio: every parent directory
// comes before its children, the entries keep modes (and /tmp its sticky bit) and contents,
// and /dev/console and /dev/kmsg are there.
func TestImageInitramfs(t *testing.T) {
	testutil.RequireTool(t, "cpio")
	e := Env{Cache: t.TempDir()}
	src := filepath.Join(t.TempDir(), "src")
	if err := os.WriteFile(src, []byte("host"), 0o600); err != nil {
		t.Fatal(err)
	}
	im := NewImage(8)
	im.AddDir("tmp", fs.ModeSticky|0o777)
	im.AddFile("etc/selinux/config", 0o644, []byte("SELINUX=enforcing\n"))
	im.AddHostFile("usr/sbin/init", 0o755, src)
	path, err := im.Initramfs(e)
	if err != nil {
		t.Fatal(err)
	}
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command("cpio", "-it", "--quiet")
	cmd.Stdin = bytes.NewReader(data)
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("cpio -it: %v", err)
	}
	names := strings.Fields(string(out))
	want := []string{"dev", "dev/console", "dev/kmsg", "etc", "etc/selinux", "etc/selinux/config", "tmp", "usr", "usr/sbin", "usr/sbin/init"}
	if strings.Join(names, " ") != strings.Join(want, " ") {
		t.Errorf("cpio lists %q, want %q", names, want)
	}
	dir := t.TempDir()
	cmd = exec.Command("cpio", "-id", "--quiet", "--no-absolute-filenames", "--nonmatching", "dev/*")
	cmd.Dir, cmd.Stdin = dir, bytes.NewReader(data)
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("cpio -id: %v\n%s", err, out)
	}
	for name, mode := range map[string]fs.FileMode{"tmp": fs.ModeDir | fs.ModeSticky | 0o777, "usr/sbin/init": 0o755, "etc/selinux/config": 0o644} {
		if fi, err := os.Lstat(filepath.Join(dir, name)); err != nil || fi.Mode() != mode {
			t.Errorf("%s: %v %v, want mode %v", name, fi.Mode(), err, mode)
		}
	}
	if b, err := os.ReadFile(filepath.Join(dir, "usr/sbin/init")); err != nil || string(b) != "host" {
		t.Errorf("usr/sbin/init = %q, %v; want the host file's content", b, err)
	}
	im.Skeleton = t.TempDir()
	if _, err := im.Initramfs(e); err == nil {
		t.Error("an image with a skeleton was packed as an initramfs")
	}
}

// TestDropInPolicy: NSINIT_POLICY_DIR unset adds nothing, a directory without a policy or
// file_contexts is an error, a policy directory becomes a family named by its type.
func TestDropInPolicy(t *testing.T) {
	env := func(m map[string]string) func(string) string { return func(k string) string { return m[k] } }
	if _, ok, err := DropInPolicy(env(nil)); ok || err != nil {
		t.Errorf("unset: ok=%v err=%v, want neither", ok, err)
	}
	dir := filepath.Join(t.TempDir(), "targeted")
	if _, _, err := DropInPolicy(env(map[string]string{PolicyDirEnv: dir})); err == nil {
		t.Error("a missing directory was accepted")
	}
	for _, f := range []string{"contexts/files/file_contexts", "policy/policy.33", "policy/policy.35", "policy/policy.bak"} {
		p := filepath.Join(dir, f)
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, nil, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	p, ok, err := DropInPolicy(env(map[string]string{PolicyDirEnv: dir, PolicySetfilesEnv: "/opt/setfiles"}))
	if !ok || err != nil {
		t.Fatalf("ok=%v err=%v", ok, err)
	}
	if p.Name != "targeted" || p.Type() != "targeted" || p.ImageDir() != "/etc/selinux/targeted" || p.Setfiles != "/opt/setfiles" {
		t.Errorf("policy %+v", p)
	}
	if v, err := p.PolicyVersion(); v != 35 || err != nil {
		t.Errorf("PolicyVersion = %d, %v; want 35", v, err)
	}
	if p, _, _ := DropInPolicy(env(map[string]string{PolicyDirEnv: dir, PolicyNameEnv: "fedora"})); p.Name != "fedora" || p.Type() != "targeted" {
		t.Errorf("with %s: name %q type %q, want fedora, targeted", PolicyNameEnv, p.Name, p.Type())
	}
	names := map[string]bool{}
	for _, s := range PolicyScenarios(p) {
		if names[s.Name] || !strings.HasPrefix(s.Name, "targeted-") || s.Policy == nil || s.Policy.Dir != dir {
			t.Errorf("scenario %s (%s): not a targeted family member", s.Name, s.ID)
		}
		names[s.Name] = true
	}
	if err := os.Remove(filepath.Join(dir, "contexts/files/file_contexts")); err != nil {
		t.Fatal(err)
	}
	if _, _, err := DropInPolicy(env(map[string]string{PolicyDirEnv: dir})); err == nil {
		t.Error("a directory without file_contexts was accepted")
	}
}
