package localmod

import (
	"compress/bzip2"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/nsinit/nsinit/internal/policydb"
	"github.com/nsinit/nsinit/internal/testutil"
)

// TestDebianToolchain builds the fixtures' modules against Debian's policy (the provisioned
// policy.33 and its module store) and compiles every one with Debian's own toolchain: secilc
// on the store's CIL plus the modules, and semodule -p on a private copy of the store with
// the CIL modules and the .te one (checkmodule, semodule_package) installed together. A
// module with the host-origin denial the check refused is compiled too, and must fail:
// that is what the check protects the build from.
func TestDebianToolchain(t *testing.T) {
	secilc := testutil.RequireTool(t, "secilc")
	semodule := testutil.RequireTool(t, "semodule")
	checkmodule := testutil.RequireTool(t, "checkmodule")
	pkg := testutil.RequireTool(t, "semodule_package")
	root := testutil.PolicyRoot(t)
	utc(t)
	data, err := os.ReadFile(filepath.Join(testutil.DebianPolicyDir(t), "policy", "policy.33"))
	if err != nil {
		t.Fatal(err)
	}
	real, err := policydb.ReadSymbols(data)
	if err != nil {
		t.Fatal(err)
	}
	old := syms
	syms = real
	t.Cleanup(func() { syms = old })

	dir := t.TempDir()
	write := func(name, text string) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, []byte(text), 0o644); err != nil {
			t.Fatal(err)
		}
		return p
	}
	first := &Module{}
	b1 := round(t, first, "round1.log")
	merged, err := ParseCIL(cil(t, first))
	if err != nil {
		t.Fatal(err)
	}
	round(t, merged, "round2.log")
	if len(b1.Refused) != 2 || !strings.Contains(b1.Refused[0].Reason, "type container_t is not in the policy") ||
		!strings.Contains(b1.Refused[1].Reason, "class user_namespace is not in the policy") {
		t.Fatalf("Debian's policy refused %+v", b1.Refused)
	}
	// Debian's policy has what the fake one has: the same modules.
	if rules(cil(t, merged)) != rules(mustRead(t, "testdata/merged.cil")) {
		t.Errorf("against Debian's policy:\n%s", cil(t, merged))
	}
	round1 := write("round1.cil", cil(t, first))
	mergedCIL := write("merged.cil", cil(t, merged))
	var te strings.Builder
	if err := merged.WriteTE(&te, "local"); err != nil {
		t.Fatal(err)
	}
	teFile := write("local.te", te.String())
	host := &Module{}
	host.add(Key{b1.Refused[0].Item.Denial.Source, b1.Refused[0].Item.Denial.Target, "file"}, []string{"write"})
	hostCIL := write("host.cil", cil(t, host))

	store := filepath.Join(root, "var", "lib", "selinux", "default", "active", "modules")
	srcs := storeCIL(t, store, filepath.Join(dir, "store"))
	run := func(name string, args ...string) (string, error) {
		out, err := exec.Command(name, args...).CombinedOutput()
		return string(out), err
	}
	base := append([]string{"-c", "33", "-o", filepath.Join(dir, "policy.33"), "-f", os.DevNull}, srcs...)
	if out, err := run(secilc, append(base, round1, mergedCIL)...); err != nil {
		t.Fatalf("secilc: %v\n%s", err, out)
	}
	if out, err := run(secilc, append(base, hostCIL)...); err == nil || !strings.Contains(out, "Failed to resolve allow statement") {
		t.Errorf("secilc accepted the host's rule (%v):\n%s", err, out)
	}

	mod, pp := filepath.Join(dir, "local.mod"), filepath.Join(dir, "local.pp")
	if out, err := run(checkmodule, "-M", "-m", "-o", mod, teFile); err != nil {
		t.Fatalf("checkmodule: %v\n%s", err, out)
	}
	if out, err := run(pkg, "-o", pp, "-m", mod); err != nil {
		t.Fatalf("semodule_package: %v\n%s", err, out)
	}
	priv := filepath.Join(dir, "root")
	for _, d := range []string{"var/lib", "etc"} {
		os.MkdirAll(filepath.Join(priv, d), 0o755)
	}
	testutil.CopyTree(t, filepath.Join(root, "var", "lib", "selinux"), filepath.Join(priv, "var", "lib"))
	testutil.CopyTree(t, filepath.Join(root, "etc", "selinux"), filepath.Join(priv, "etc"))
	built := filepath.Join(priv, "etc", "selinux", "default", "policy", "policy.33")
	os.Remove(built)
	if out, err := run(semodule, "-p", priv, "-s", "default", "-n", "-i", round1, "-i", mergedCIL, "-i", pp); err != nil {
		t.Fatalf("semodule -p: %v\n%s", err, out)
	}
	if _, err := os.Stat(built); err != nil {
		t.Fatalf("semodule -p wrote no policy: %v", err)
	}
	out, err := run(semodule, "-p", priv, "-s", "default", "-l")
	for _, m := range []string{"round1", "merged", "local"} {
		if !strings.Contains("\n"+out, "\n"+m+"\n") {
			t.Errorf("semodule -l lacks %s (%v):\n%s", m, err, out)
		}
	}
}

func mustRead(t *testing.T, path string) string {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// storeCIL unpacks the enabled modules of a semodule store (modules/PRIORITY/NAME/cil,
// bzip2; modules/disabled/NAME marks a disabled one) into dir and returns the files.
func storeCIL(t *testing.T, store, dir string) []string {
	t.Helper()
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	cils, err := filepath.Glob(filepath.Join(store, "[0-9]*", "*", "cil"))
	if err != nil || len(cils) == 0 {
		t.Fatalf("no modules in %s: %v", store, err)
	}
	var out []string
	for _, c := range cils {
		name := filepath.Base(filepath.Dir(c))
		if _, err := os.Stat(filepath.Join(store, "disabled", name)); err == nil {
			continue
		}
		f, err := os.Open(c)
		if err != nil {
			t.Fatal(err)
		}
		dst := filepath.Join(dir, name+".cil")
		w, err := os.Create(dst)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := io.Copy(w, bzip2.NewReader(f)); err != nil {
			t.Fatalf("%s: %v", c, err)
		}
		f.Close()
		w.Close()
		out = append(out, dst)
	}
	return out
}
