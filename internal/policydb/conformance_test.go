package policydb

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/nsinit/nsinit/internal/testutil"
)

// decompile returns checkpolicy's CIL dump (-M -b -C) of a binary policy, the oracle for
// semantic equality (libsepol re-serialises, so bytes need not match).
func decompile(t *testing.T, checkpolicy string, policy []byte) []byte {
	t.Helper()
	dir := t.TempDir()
	in, out := filepath.Join(dir, "policy"), filepath.Join(dir, "policy.cil")
	if err := os.WriteFile(in, policy, 0o600); err != nil {
		t.Fatal(err)
	}
	if msg, err := exec.Command(checkpolicy, "-M", "-b", "-C", "-o", out, in).CombinedOutput(); err != nil {
		t.Fatalf("%s -M -b -C: %v\n%s", checkpolicy, err, msg)
	}
	cil, err := os.ReadFile(out)
	if err != nil {
		t.Fatal(err)
	}
	return cil
}

// TestConformanceDebianPolicy: Debian's whole policy, written at 35 (sid's checkpolicy) and
// 34 (trixie's), downgraded by nsinit to 33, decompiles to exactly what the same policy
// written directly at 33 decompiles to; and 35 → 34 matches 34.
func TestConformanceDebianPolicy(t *testing.T) {
	dir := filepath.Join(testutil.Trixie(t), "debian-policy")
	read := func(v string) []byte {
		b, err := os.ReadFile(filepath.Join(dir, "policy."+v))
		if err != nil {
			t.Fatal(err)
		}
		return b
	}
	cp33 := testutil.RequireTool(t, "checkpolicy") // bookworm's: reads up to 33
	cp34 := testutil.TrixieTool(t, "checkpolicy-34")
	want33 := decompile(t, cp33, read("33"))
	want34 := decompile(t, cp34, read("34"))
	for _, tt := range []struct {
		from string
		to   int
		cp   string
		want []byte
	}{
		{"35", 33, cp33, want33},
		{"34", 33, cp33, want33},
		{"35", 34, cp34, want34},
	} {
		t.Run(fmt.Sprintf("%s->%d", tt.from, tt.to), func(t *testing.T) {
			out, err := Downgrade(read(tt.from), tt.to)
			if err != nil {
				t.Fatal(err)
			}
			if got := decompile(t, tt.cp, out); !bytes.Equal(got, tt.want) {
				t.Fatalf("decompiled downgrade (%d bytes of CIL) differs from the policy written at %d (%d bytes)", len(got), tt.to, len(tt.want))
			}
		})
	}
}

// TestConformanceDebianBlocker: Debian's policy with one conditional allowx (compiled by
// secilc at 34) is refused at 33, naming the rule; libsepol refuses to write it at 33 too.
func TestConformanceDebianBlocker(t *testing.T) {
	file := filepath.Join(testutil.Trixie(t), "debian-policy", "condxperm.34")
	data, err := os.ReadFile(file)
	if err != nil {
		t.Fatal(err)
	}
	_, err = Downgrade(data, 33)
	var re *RefusedError
	if !errors.As(err, &re) || re.Feature != featureCondXperms ||
		!strings.HasPrefix(re.Detail, "allowxperm init_t init_t:blk_file ioctl inside `if` on secure_mode_insmod (byte ") {
		t.Fatalf("Downgrade = %v, want the conditional allowx refused", err)
	}
	msg, err := exec.Command(testutil.TrixieTool(t, "checkpolicy-35"), "-M", "-b", "-c", "33", "-o", filepath.Join(t.TempDir(), "out"), file).CombinedOutput()
	if err == nil || !strings.Contains(string(msg), "does not support extended permissions rules in conditional policies") {
		t.Errorf("libsepol wrote it at 33 (err %v): %s", err, msg)
	}
}

// TestAnalyzeDebianBuilt walks the policy.33 that semodule built from Debian's modules (the
// other Debian images are rewrites by checkpolicy) and compares its counts with what libsepol
// reports while reading the same file ("… 291 bools", "… 102340 rules, 27347 cond rules").
func TestAnalyzeDebianBuilt(t *testing.T) {
	file := filepath.Join(testutil.DebianPolicyDir(t), "policy", "policy.33")
	data, err := os.ReadFile(file)
	if err != nil {
		t.Fatal(err)
	}
	a, err := Analyze(data)
	if err != nil {
		t.Fatal(err)
	}
	msg, err := exec.Command(testutil.RequireTool(t, "checkpolicy"), "-M", "-b", "-o", filepath.Join(t.TempDir(), "out"), file).CombinedOutput()
	if err != nil {
		t.Fatalf("checkpolicy: %v\n%s", err, msg)
	}
	m := regexp.MustCompile(`(\d+) bools[\s\S]* (\d+) rules, (\d+) cond rules`).FindStringSubmatch(string(msg))
	if m == nil {
		t.Fatalf("no counts in checkpolicy's output:\n%s", msg)
	}
	if got := fmt.Sprint(a.Booleans, a.Rules, a.CondRules); got != strings.Join(m[1:], " ") {
		t.Errorf("booleans, rules, conditional rules = %s; libsepol says %s", got, strings.Join(m[1:], " "))
	}
}

// TestConformanceSyntheticFixtures: the committed fixtures are what testdata/gen.sh builds
// from src/ with the provisioned compiler, and libsepol agrees with every refusal: it cannot
// write the blockers at 33 either (neveraudit it drops with a warning, which nsinit refuses).
func TestConformanceSyntheticFixtures(t *testing.T) {
	cp35 := testutil.TrixieTool(t, "checkpolicy-35")
	dir := t.TempDir()
	for _, name := range fixtures(t) {
		src := "src/" + strings.SplitN(name, ".", 2)[0] + ".conf"
		v := strings.SplitN(name, ".", 2)[1]
		args := []string{"-c", v, "-o", filepath.Join(dir, name), src}
		if !strings.HasPrefix(name, "nonmls") {
			args = append([]string{"-M"}, args...)
		}
		cmd := exec.Command(cp35, args...)
		cmd.Dir = "testdata"
		if msg, err := cmd.CombinedOutput(); err != nil {
			t.Fatalf("%s: %v\n%s", name, err, msg)
		}
		got, _ := os.ReadFile(filepath.Join(dir, name))
		if !bytes.Equal(got, fixture(t, name)) {
			t.Errorf("testdata/%s is stale: rerun testdata/gen.sh", name)
		}
	}
	for _, tt := range []struct{ src, libsepolSays string }{
		{"src/condxperm.conf", "does not support extended permissions rules in conditional policies"},
	} {
		cmd := exec.Command(cp35, "-M", "-c", "33", "-o", filepath.Join(dir, "out"), tt.src)
		cmd.Dir = "testdata"
		msg, err := cmd.CombinedOutput()
		if err == nil || !strings.Contains(string(msg), tt.libsepolSays) {
			t.Errorf("libsepol wrote %s at 33 (err %v): %s", tt.src, err, msg)
		}
		h := filepath.Base(strings.TrimSuffix(tt.src, ".conf")) + ".34"
		var re *RefusedError
		if _, err := Downgrade(fixture(t, h), 33); !errors.As(err, &re) {
			t.Errorf("nsinit downgraded %s to 33: %v", h, err)
		}
	}
}

// BenchmarkDowngradeDebian measures the work the bring-up adds for a policy.34 on a kernel
// that accepts 33: one full walk plus one copy of Debian's 2 MB policy.
func BenchmarkDowngradeDebian(b *testing.B) {
	data, err := os.ReadFile(filepath.Join(testutil.Trixie(b), "debian-policy", "policy.35"))
	if err != nil {
		b.Fatal(err)
	}
	b.SetBytes(int64(len(data)))
	for b.Loop() {
		if _, err := Downgrade(data, 33); err != nil {
			b.Fatal(err)
		}
	}
}
