package main

import (
	"bytes"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"golang.org/x/sys/unix"

	"github.com/nsinit/nsinit/internal/exitcode"
	"github.com/nsinit/nsinit/internal/testutil"
)

// fixtures of internal/localmod: two rounds of logs, and the module both make.
var (
	round1Log = filepath.Join("..", "..", "internal", "localmod", "testdata", "round1.log")
	round2Log = filepath.Join("..", "..", "internal", "localmod", "testdata", "round2.log")
	mergedCIL = filepath.Join("..", "..", "internal", "localmod", "testdata", "merged.cil")
)

// denials runs nsinit denials with stdin and returns the status, stdout and stderr.
func denials(t *testing.T, stdin string, args ...string) (int, string, string) {
	t.Helper()
	old := time.Local
	time.Local = time.UTC // round2.log is ausearch -i output, in local time
	defer func() { time.Local = old }()
	var out, errs bytes.Buffer
	code := dispatch(plainEnv(strings.NewReader(stdin), &out, &errs, func(string) string { return "" }), append([]string{"denials"}, args...))
	return code, out.String(), errs.String()
}

// TestDenialsRoundTrip: round 1 from a file, round 2 from stdin merged into the same file
// (-o names the --merge file), against Debian's policy: the module of both logs at once,
// with the host's denial and the missing class listed apart.
func TestDenialsRoundTrip(t *testing.T) {
	policy := filepath.Join(testutil.DebianPolicyDir(t), "policy")
	mod := filepath.Join(t.TempDir(), "local.cil")
	code, out, errs := denials(t, "", "--policy", policy, "-o", mod, round1Log)
	if code != exitcode.OK || out != "" {
		t.Fatalf("round 1: %d %q\n%s", code, out, errs)
	}
	for _, want := range []string{"round 1: 10 lines, 9 records", "round1.log:10: truncated", `name="drift" ino="99" dev="vdb"`,
		"type container_t is not in the policy", "class user_namespace is not in the policy", "new rule: allow ntpd_t var_log_t:dir { search }"} {
		if !strings.Contains(errs, want) {
			t.Errorf("round 1 report lacks %q:\n%s", want, errs)
		}
	}
	log2, err := os.ReadFile(round2Log)
	if err != nil {
		t.Fatal(err)
	}
	te := filepath.Join(filepath.Dir(mod), "local.te")
	code, _, errs = denials(t, string(log2), "--policy", policy, "--merge", mod, "-o", mod, "--te", te, "--explain")
	if code != exitcode.OK {
		t.Fatalf("round 2: %d\n%s", code, errs)
	}
	for _, want := range []string{"module: 4 rules (3 before this round)", "new permissions: allow dhcpc_t etc_t:file { write }",
		"explain: (allow ntpd_t etc_t (file (read)))\n  (from an earlier round", "stdin:4 audit(2025-12-02T01:00:00.000Z:900) denied"} {
		if !strings.Contains(errs, want) {
			t.Errorf("round 2 report lacks %q:\n%s", want, errs)
		}
	}
	got, want := readString(t, mod), readString(t, mergedCIL)
	if got != want {
		t.Errorf("merged module:\n%s\nwant:\n%s", got, want)
	}
	if !strings.Contains(readString(t, te), "module local 2.0;") {
		t.Errorf("te:\n%s", readString(t, te))
	}
	if _, err := os.Stat(mod + ".tmp"); err == nil {
		t.Error("temporary file left behind")
	}
}

func readString(t *testing.T, path string) string {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// TestDenialsUnchecked: without --policy every denial becomes a rule, and the report says
// nothing was checked; the module goes to standard output.
func TestDenialsUnchecked(t *testing.T) {
	code, out, errs := denials(t, "", "--source", "container_t", round1Log)
	if code != exitcode.OK || !strings.Contains(out, "(allow container_t container_file_t (file (write)))") || strings.Count(out, "(allow") != 1 {
		t.Fatalf("%d\n%s\n%s", code, out, errs)
	}
	if !strings.Contains(errs, "not checked against a policy") || !strings.Contains(errs, "not matching --source/--target/--comm 6") {
		t.Errorf("report:\n%s", errs)
	}
}

// TestDenialsStaleRules: a rule of an earlier round that the policy given now cannot hold is
// kept (--merge keeps every rule) and reported, so that semodule's refusal is no surprise.
func TestDenialsStaleRules(t *testing.T) {
	mod := filepath.Join(t.TempDir(), "local.cil")
	os.WriteFile(mod, []byte("(allow init_t file_t (file (read)))\n(allow ghost_t file_t (file (read)))\n"), 0o644)
	rich := filepath.Join("..", "..", "internal", "policydb", "testdata", "rich.33")
	code, out, errs := denials(t, "", "--policy", rich, "--merge", mod)
	if code != exitcode.OK || !strings.Contains(out, "(allow ghost_t file_t (file (read)))") {
		t.Fatalf("%d\n%s\n%s", code, out, errs)
	}
	if !strings.Contains(errs, "cannot hold") || !strings.Contains(errs, "(allow ghost_t file_t (file (read))): type ghost_t is not in the policy") || strings.Contains(errs, "(allow init_t file_t (file (read))):") {
		t.Errorf("report:\n%s", errs)
	}
}

// TestDenialsOutputNotRegular: -o naming a FIFO (as /dev/stdout or /dev/null would be a
// device) writes into it; it must not be replaced by a regular file, which is what the
// rename of a temporary file did (it replaced this machine's /dev/null once). A symlink
// stays a symlink and its target gets the module.
func TestDenialsOutputNotRegular(t *testing.T) {
	dir := t.TempDir()
	fifo := filepath.Join(dir, "fifo")
	if err := unix.Mkfifo(fifo, 0o600); err != nil {
		t.Fatal(err)
	}
	// The read end is open before the command writes (else what it writes into the pipe is
	// dropped when it closes its end with no reader).
	r, err := os.OpenFile(fifo, os.O_RDONLY|unix.O_NONBLOCK, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	if code, _, errs := denials(t, "", "-o", fifo, round2Log); code != exitcode.OK {
		t.Fatalf("%d %s", code, errs)
	}
	if st, err := os.Lstat(fifo); err != nil || st.Mode()&os.ModeNamedPipe == 0 {
		t.Fatalf("the FIFO was replaced: %v %v", st.Mode(), err)
	}
	if out, err := io.ReadAll(r); err != nil || !strings.Contains(string(out), "(allow dhcpc_t etc_t (file (read write)))") {
		t.Errorf("the FIFO got %q (%v)", out, err)
	}
	target, link := filepath.Join(dir, "target.cil"), filepath.Join(dir, "link.cil")
	os.WriteFile(target, nil, 0o644)
	os.Symlink("target.cil", link)
	if code, _, errs := denials(t, "", "-o", link, round2Log); code != exitcode.OK {
		t.Fatalf("%d %s", code, errs)
	}
	if st, err := os.Lstat(link); err != nil || st.Mode()&os.ModeSymlink == 0 || !strings.Contains(readString(t, target), "(allow ") {
		t.Errorf("symlink: %v %v, target %q", st.Mode(), err, readString(t, target))
	}
}

func TestDenialsErrors(t *testing.T) {
	dir := t.TempDir()
	bad := filepath.Join(dir, "bad.cil")
	os.WriteFile(bad, []byte("(allow a_t b_t (file (read)))\n(typeattributeset x (a_t))\n"), 0o644)
	junk := filepath.Join(dir, "policy.33")
	os.WriteFile(junk, []byte("not a policy"), 0o644)
	for _, tc := range []struct {
		args []string
		code int
		want string
	}{
		{[]string{"--since", "yesterday"}, exitcode.Usage, "--since: time \"yesterday\""},
		{[]string{"--since", "2000", "--until", "1000"}, exitcode.Usage, "--until is before --since"},
		{[]string{"--te", filepath.Join(dir, "1x.te")}, exitcode.Usage, `module name "1x"`},
		{[]string{"--merge", filepath.Join(dir, "nosuch.cil")}, exitcode.Failure, "--merge:"},
		{[]string{"--merge", bad}, exitcode.Failure, "line 2:"},
		{[]string{"--merge", dir}, exitcode.Failure, "--merge:"},
		{[]string{"--policy", junk}, exitcode.Failure, "--policy:"},
		{[]string{filepath.Join(dir, "nosuch.log")}, exitcode.Failure, "nosuch.log"},
		{[]string{dir}, exitcode.Failure, "is a directory"},
		{[]string{"-o", filepath.Join(dir, "no", "such", "x.cil"), round1Log}, exitcode.Failure, "x.cil.tmp"},
	} {
		code, _, errs := denials(t, "", tc.args...)
		if code != tc.code || !strings.Contains(errs, tc.want) {
			t.Errorf("%q: %d %s, want %d …%s…", tc.args, code, errs, tc.code, tc.want)
		}
	}
}

func TestDenialsHelp(t *testing.T) {
	code, out, _ := denials(t, "", "--help")
	if code != exitcode.OK || !strings.Contains(out, "semodule -DB") || !strings.Contains(out, "--merge FILE.cil") {
		t.Errorf("%d\n%s", code, out)
	}
}
