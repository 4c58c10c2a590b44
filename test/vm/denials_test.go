package vm

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/nsinit/nsinit/internal/testutil"
)

// denappCIL declares the confined domain of test/vm/denapp and nothing it may do: the
// domain, its entrypoint and data types, the transition from PID 1's domain (kernel_t, or
// init_t once nsinit works there), the role and the file contexts. Every permission the
// application needs must come from the local module nsinit denials writes.
const denappCIL = `; test/vm: the confined domain of /usr/bin/denapp, without any permission.
(type denapp_t)
(type denapp_exec_t)
(type denapp_data_t)
(roletype system_r denapp_t)
(roletype object_r denapp_exec_t)
(roletype object_r denapp_data_t)
(typeattributeset file_type (denapp_exec_t denapp_data_t))
(typetransition kernel_t denapp_exec_t process denapp_t)
(typetransition init_t denapp_exec_t process denapp_t)
(filecon "/usr/bin/denapp" file (system_u object_r denapp_exec_t ((s0) (s0))))
(filecon "/srv/denapp(/.*)?" any (system_u object_r denapp_data_t ((s0) (s0))))
`

// hostDenial is a record of the host's own container runtime mixed into the collected
// console: its types are not in the image's policy, so it must be listed apart.
const hostDenial = `Dec 02 00:00:02 buildhost kernel: audit: type=1400 audit(1764633602.000:480): avc:  denied  { write } for  pid=5000 comm="runc" name="x" dev="overlay" ino=5 scontext=system_u:system_r:container_t:s0:c1,c2 tcontext=system_u:object_r:container_file_t:s0:c1,c2 tclass=file permissive=0`

var denappOK = regexp.MustCompile(`DENAPP: ok context=system_u:system_r:denapp_t:s0 read=\d+ appended=(yes|no)`)

// TestDenialsRoundTrip is issue 13's acceptance on a real kernel: an image whose
// application runs in a domain with no permissions. Boot 1, permissive: its denials reach
// the console; nsinit denials (the product binary, on the host) turns the console, plus a
// host-origin record, into a module; semodule -p rebuilds the image's policy with it, as an
// image build would. Boot 2, enforcing: the application succeeds and nothing is denied.
// Round 2 asks for one more permission (-append): a permissive boot's console is merged into
// the module (--merge keeps every rule and adds the new one), and boot 4, enforcing, passes.
func TestDenialsRoundTrip(t *testing.T) {
	e := testEnv(t)
	semodule := testutil.RequireTool(t, "semodule")
	b := binaries(t, e)
	var err error
	if b.NSInit, err = e.BuildNSInit(); err != nil {
		t.Fatal(err)
	}
	app, err := e.BuildGo("./test/vm/denapp")
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	base := filepath.Join(dir, "denapp.cil")
	if err := os.WriteFile(base, []byte(denappCIL), 0o644); err != nil {
		t.Fatal(err)
	}
	module := filepath.Join(dir, "local.cil")

	p0 := rebuildPolicy(t, e, semodule, filepath.Join(dir, "p0"), base)
	console1 := bootDenapp(t, e, b, app, p0, "permissive", false)
	records1 := strings.Count(console1, "avc:  denied")
	if records1 == 0 {
		t.Fatalf("boot 1 (permissive) showed no denial:\n%s", console1)
	}
	report1 := runDenials(t, b.NSInit, p0, console1+hostDenial+"\n", "-o", module)
	mod1 := readFile(t, module)
	if !strings.Contains(report1, "type container_t is not in the policy") || strings.Contains(mod1, "container_t") {
		t.Errorf("the host's denial was not listed apart:\n%s\n%s", report1, mod1)
	}
	if !strings.Contains(mod1, "(allow denapp_t denapp_data_t (file (") {
		t.Errorf("round 1 has no rule for the data file:\n%s", mod1)
	}

	p1 := rebuildPolicy(t, e, semodule, filepath.Join(dir, "p1"), base, module)
	if c := bootDenapp(t, e, b, app, p1, "enforcing", false); strings.Contains(c, "avc:  denied") || !strings.Contains(c, "appended=no") {
		t.Fatalf("boot 2 (enforcing, round 1's module):\n%s", c)
	}

	console3 := bootDenapp(t, e, b, app, p1, "permissive", true)
	records3 := strings.Count(console3, "avc:  denied")
	report2 := runDenials(t, b.NSInit, p1, console3, "--merge", module, "-o", module)
	mod2 := readFile(t, module)
	for _, l := range strings.Split(mod1, "\n") {
		if strings.HasPrefix(l, "(allow ") && !ruleCovered(l, mod2) {
			t.Errorf("round 2 lost %s", l)
		}
	}
	if !strings.Contains(report2, "new permissions: allow denapp_t denapp_data_t:file { append }") {
		t.Errorf("round 2 did not add append:\n%s", report2)
	}
	p2 := rebuildPolicy(t, e, semodule, filepath.Join(dir, "p2"), base, module)
	if c := bootDenapp(t, e, b, app, p2, "enforcing", true); strings.Contains(c, "avc:  denied") || !strings.Contains(c, "appended=yes") {
		t.Fatalf("boot 4 (enforcing, round 2's module):\n%s", c)
	}
	t.Logf("round 1: %d AVC denials on the console of boot 1; round 2: %d on boot 3\n%s\n%s\n--- module ---\n%s", records1, records3, report1, report2, mod2)
}

// rebuildPolicy copies Debian's module store and policy tree to root, installs the modules
// with semodule -p (what an image build does) and returns the rebuilt etc/selinux/default.
func rebuildPolicy(t *testing.T, e Env, semodule, root string, modules ...string) string {
	t.Helper()
	src := filepath.Join(e.Cache, "policy")
	for _, d := range []string{"var/lib", "etc"} {
		if err := os.MkdirAll(filepath.Join(root, d), 0o755); err != nil {
			t.Fatal(err)
		}
	}
	testutil.CopyTree(t, filepath.Join(src, "var", "lib", "selinux"), filepath.Join(root, "var", "lib"))
	testutil.CopyTree(t, filepath.Join(src, "etc", "selinux"), filepath.Join(root, "etc"))
	args := []string{"-p", root, "-s", "default", "-n"}
	for _, m := range modules {
		args = append(args, "-i", m)
	}
	if out, err := exec.Command(semodule, args...).CombinedOutput(); err != nil {
		t.Fatalf("semodule %s: %v\n%s", strings.Join(args, " "), err, out)
	}
	return filepath.Join(root, "etc", "selinux", "default")
}

// bootDenapp boots an image with the policy tree policyDir (and its file contexts), SELINUX=mode,
// nsinit supervising denapp, and returns the console. The application must succeed.
func bootDenapp(t *testing.T, e Env, b Binaries, app, policyDir, mode string, appendLine bool) string {
	t.Helper()
	im, err := RootImage(e, b, mode)
	if err != nil {
		t.Fatal(err)
	}
	im.Remove("etc/selinux/default")
	if err := im.AddTree("etc/selinux/default", policyDir); err != nil {
		t.Fatal(err)
	}
	im.FileContexts = filepath.Join(policyDir, "contexts", "files", "file_contexts")
	im.AddHostFile("usr/bin/denapp", 0o755, app)
	im.AddFile("srv/denapp/data", 0o644, []byte("data for denapp\n"))
	disk, err := im.Build(e)
	if err != nil {
		t.Fatal(err)
	}
	args := []string{"--supervise", "--", "/usr/bin/denapp"}
	if appendLine {
		args = append(args, "-append")
	}
	r, err := (&Machine{Kernel: b.Kernel, Initrd: b.Initrd, Disk: disk, Args: args}).Boot(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if !denappOK.MatchString(r.Console) || r.AppExit == nil || *r.AppExit != 0 {
		t.Fatalf("%s boot: denapp did not succeed (%s)\n--- console ---\n%s", mode, r.Outcome(), r.Console)
	}
	return r.Console
}

// runDenials runs the product's nsinit denials on input against the policy tree's policy
// and returns its report (standard error).
func runDenials(t *testing.T, nsinit, policyDir, input string, args ...string) string {
	t.Helper()
	cmd := exec.Command(nsinit, append([]string{"denials", "--policy", filepath.Join(policyDir, "policy")}, args...)...)
	cmd.Stdin = strings.NewReader(input)
	var stderr strings.Builder
	cmd.Stderr = &stderr
	if out, err := cmd.Output(); err != nil {
		t.Fatalf("nsinit denials %q: %v\n%s%s", args, err, out, stderr.String())
	}
	return stderr.String()
}

func readFile(t *testing.T, path string) string {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// ruleCovered reports whether module has a rule for the same (source, target, class) as
// the allow line with at least its permissions.
func ruleCovered(line, module string) bool {
	head, perms, ok := strings.Cut(strings.TrimSuffix(line, ")))"), " (")
	if !ok {
		return false
	}
	class, list, _ := strings.Cut(perms, " (")
	for _, l := range strings.Split(module, "\n") {
		h, p, ok := strings.Cut(strings.TrimSuffix(l, ")))"), " (")
		c, have, _ := strings.Cut(p, " (")
		if !ok || h != head || c != class {
			continue
		}
		for _, want := range strings.Fields(list) {
			if !strings.Contains(" "+have+" ", " "+want+" ") {
				return false
			}
		}
		return true
	}
	return false
}
