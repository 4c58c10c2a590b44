package localmod

import (
	"flag"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/nsinit/nsinit/internal/avc"
	"github.com/nsinit/nsinit/internal/policydb"
)

var update = flag.Bool("update", false, "rewrite the golden files in testdata")

// syms is the part of Debian's policy the fixtures use.
var syms = &policydb.Symbols{
	Types: map[string]policydb.TypeKind{"dhcpc_t": policydb.KindType, "etc_t": policydb.KindType, "ntpd_t": policydb.KindType,
		"var_log_t": policydb.KindType, "tmp_t": policydb.KindType, "unlabeled_t": policydb.KindType, "domain": policydb.KindAttribute},
	Classes: map[string][]string{"file": {"read", "write", "open", "getattr", "append"}, "dir": {"search", "add_name", "write", "read"}},
}

// utc runs the test in UTC: round2.log is ausearch -i output, in local time.
func utc(t *testing.T) {
	old := time.Local
	time.Local = time.UTC
	t.Cleanup(func() { time.Local = old })
}

// round reads the logs (relative names are in testdata) and adds them to m as one round.
func round(t *testing.T, m *Module, logs ...string) Build {
	t.Helper()
	rd := avc.NewReader()
	for _, l := range logs {
		if !filepath.IsAbs(l) {
			l = filepath.Join("testdata", l)
		}
		f, err := os.Open(l)
		if err != nil {
			t.Fatal(err)
		}
		if err := rd.Read(l, f); err != nil {
			t.Fatal(err)
		}
		f.Close()
	}
	res := rd.Result()
	return m.AddRound(avc.Filter{}.Select(res.Events), syms, Stats{res.Counts.Records, res.Counts.Malformed})
}

func cil(t *testing.T, m *Module) string {
	t.Helper()
	var b strings.Builder
	if err := m.WriteCIL(&b); err != nil {
		t.Fatal(err)
	}
	return b.String()
}

// golden compares got with testdata/name (rewritten with -update).
func golden(t *testing.T, name, got string) {
	t.Helper()
	path := filepath.Join("testdata", name)
	if *update {
		if err := os.WriteFile(path, []byte(got), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if got != string(want) {
		t.Errorf("%s differs (run with -update to accept):\n%s", name, got)
	}
}

// rules returns the allow lines of a CIL module.
func rules(cil string) string {
	var out []string
	for _, l := range strings.Split(cil, "\n") {
		if strings.HasPrefix(l, "(allow") {
			out = append(out, l)
		}
	}
	return strings.Join(out, "\n")
}

func TestRound1(t *testing.T) {
	utc(t)
	m := &Module{}
	b := round(t, m, "round1.log")
	golden(t, "round1.cil", cil(t, m))
	var refused []string
	for _, r := range b.Refused {
		refused = append(refused, r.Item.Denial.Source+" "+r.Item.Denial.Class+": "+r.Reason)
	}
	want := []string{
		"container_t file: type container_t is not in the policy; type container_file_t is not in the policy",
		"ntpd_t user_namespace: class user_namespace is not in the policy",
	}
	if !slices.Equal(refused, want) {
		t.Errorf("refused %q", refused)
	}
	if len(b.Changes) != 3 || !b.Changes[0].New || len(b.Causes[Key{"dhcpc_t", "etc_t", "file"}]) != 2 {
		t.Errorf("changes %+v causes %v", b.Changes, b.Causes)
	}
}

// TestMergeGolden: round 2 merged into round 1's module has exactly the rules of the module
// built from both rounds' logs at once; only the header (one line per round) differs.
func TestMergeGolden(t *testing.T) {
	utc(t)
	first := &Module{}
	round(t, first, "round1.log")
	merged, err := ParseCIL(cil(t, first))
	if err != nil {
		t.Fatal(err)
	}
	b := round(t, merged, "round2.log")
	got := cil(t, merged)
	golden(t, "merged.cil", got)

	once := &Module{}
	round(t, once, "round1.log", "round2.log")
	if rules(got) != rules(cil(t, once)) {
		t.Errorf("merged rules:\n%s\nboth logs at once:\n%s", rules(got), rules(cil(t, once)))
	}
	if len(merged.Rounds) != 2 || !strings.HasPrefix(merged.Rounds[1], "round 2: ") {
		t.Errorf("rounds %q", merged.Rounds)
	}
	// What is new this round: write on the old rule, and a new rule for tmp_t.
	wantChanges := []Change{
		{Key{"dhcpc_t", "etc_t", "file"}, []string{"write"}, false},
		{Key{"ntpd_t", "tmp_t", "dir"}, []string{"add_name", "write"}, true},
	}
	if len(b.Changes) != len(wantChanges) {
		t.Fatalf("changes %+v", b.Changes)
	}
	for i, c := range b.Changes {
		if c.Key != wantChanges[i].Key || c.New != wantChanges[i].New || !slices.Equal(c.Added, wantChanges[i].Added) {
			t.Errorf("change %+v, want %+v", c, wantChanges[i])
		}
	}
	// Merging the same logs again changes nothing but the round count.
	again, _ := ParseCIL(got)
	if b := round(t, again, "round2.log"); len(b.Changes) != 0 || rules(cil(t, again)) != rules(got) {
		t.Errorf("second merge changed %+v", b.Changes)
	}
}

// TestDeterministic: the same records in another order, split across inputs, give the same
// module byte for byte.
func TestDeterministic(t *testing.T) {
	utc(t)
	data, err := os.ReadFile(filepath.Join("testdata", "round1.log"))
	if err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(strings.TrimSpace(string(data)), "\n")
	slices.Reverse(lines)
	dir := t.TempDir()
	os.WriteFile(filepath.Join(dir, "a"), []byte(strings.Join(lines[:4], "\n")+"\n"), 0o644)
	os.WriteFile(filepath.Join(dir, "b"), []byte(strings.Join(lines[4:], "\n")+"\n"), 0o644)
	a, b := &Module{}, &Module{}
	round(t, a, "round1.log")
	round(t, b, filepath.Join(dir, "a"), filepath.Join(dir, "b"))
	if cil(t, a) != cil(t, b) {
		t.Errorf("order changed the module:\n%s\n%s", cil(t, a), cil(t, b))
	}
}

func TestCheck(t *testing.T) {
	for _, tc := range []struct {
		k     Key
		perms []string
		why   string
	}{
		{Key{"ntpd_t", "etc_t", "file"}, []string{"read"}, ""},
		{Key{"domain", "etc_t", "file"}, []string{"read"}, "domain is an attribute, not a type"},
		{Key{"ntpd_t", "etc_t", "file"}, []string{"read", "execute"}, "permission execute is not in class file"},
		{Key{"ntpd_t", "etc_t", "bpf"}, []string{"prog_load"}, "class bpf is not in the policy"},
		{Key{"host_t", "etc_t", "file"}, []string{"read"}, "type host_t is not in the policy"},
	} {
		if got := Check(syms, tc.k, tc.perms); got != tc.why {
			t.Errorf("%v %v: %q, want %q", tc.k, tc.perms, got, tc.why)
		}
	}
}

func TestParseCIL(t *testing.T) {
	m, err := ParseCIL("; a comment\n(allow a_t b_t (file (read)))\n(allow a_t b_t\n  (file (write read)))  ; same key\n(allow a_t c_t (dir (search)))")
	if err != nil {
		t.Fatal(err)
	}
	if got := m.Rules(); len(got) != 2 || got[0].CIL() != "(allow a_t b_t (file (read write)))" || got[1].CIL() != "(allow a_t c_t (dir (search)))" || m.Round() != 1 {
		t.Errorf("%+v", got)
	}
	for _, tc := range []struct{ in, why string }{
		{"(type a_t)", `line 1: "type" where "allow" belongs`},
		{"(allow a_t b_t (file (all)))", `"all" is not a permission name`},
		{"(allow a_t b_t (file (not (read))))", `"not" is not a permission name`},
		{"(allow a_t b_t file_perms)", `"file_perms" where "(" belongs`},
		{"(allow a_t b_t (file ()))", "no permissions"},
		{"\n\n(allow a_t b_t (file (read))", "line 3: unterminated"},
		{"(allow a_t b_t (file (read)))\n(allow a_t", "line 2: unterminated"},
		{`(allow a_t "b" (file (read)))`, "quoted string"},
		{"(allow a_t b_t (file (read))) extra", `"extra" where "(" belongs`},
		{"(allow a_t (b_t) (file (read)))", `"(" is not a name`},
	} {
		_, err := ParseCIL(tc.in)
		if err == nil || !strings.Contains(err.Error(), tc.why) {
			t.Errorf("%q: %v, want …%s…", tc.in, err, tc.why)
		}
	}
}

func TestWriteTE(t *testing.T) {
	utc(t)
	m := &Module{}
	round(t, m, "round1.log")
	round(t, m, "round2.log")
	var b strings.Builder
	if err := m.WriteTE(&b, "local"); err != nil {
		t.Fatal(err)
	}
	golden(t, "merged.te", b.String())
}

// FuzzParseCIL: no --merge input panics; whatever is accepted is written back as a module
// that reads as the same rules.
func FuzzParseCIL(f *testing.F) {
	for _, s := range []string{"(allow a_t b_t (file (read)))", "; round 1: x\n(allow a b (c (d e)))\n", "(allow a b (c (all)))", "((", ")", "(allow a b (c (d))) ;x\n(allow a b (c (e)))", `"`} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, in string) {
		m, err := ParseCIL(in)
		if err != nil {
			return
		}
		var b strings.Builder
		if err := m.WriteCIL(&b); err != nil {
			t.Fatal(err)
		}
		again, err := ParseCIL(b.String())
		if err != nil {
			t.Fatalf("%q: its own output %q does not read: %v", in, b.String(), err)
		}
		if !slices.EqualFunc(m.Rules(), again.Rules(), func(a, b Rule) bool { return a.CIL() == b.CIL() }) || len(again.Rounds) != len(m.Rounds) {
			t.Fatalf("%q: rules or rounds changed through WriteCIL", in)
		}
	})
}
