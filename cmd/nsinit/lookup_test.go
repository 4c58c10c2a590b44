package main

import (
	"bytes"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/nsinit/nsinit/internal/exitcode"
	"github.com/nsinit/nsinit/internal/testutil"
)

// runCmd runs `nsinit ARGS...` in-process with stdin and returns stdout, stderr, status.
func runCmd(stdin string, args ...string) (string, string, int) {
	var out, errb bytes.Buffer
	e := plainEnv(strings.NewReader(stdin), &out, &errb, func(string) string { return "" })
	code := dispatch(e, args)
	return out.String(), errb.String(), code
}

// lookupPolicy writes a small policy root: DIR/contexts/files/file_contexts and aliases.
func lookupPolicy(t *testing.T) (dir, fc string) {
	t.Helper()
	dir = t.TempDir()
	files := filepath.Join(dir, "contexts", "files")
	if err := os.MkdirAll(files, 0o755); err != nil {
		t.Fatal(err)
	}
	fc = filepath.Join(files, "file_contexts")
	write := func(name, data string) {
		if err := os.WriteFile(name, []byte(data), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	write(fc, "/\tsystem_u:object_r:root_t:s0\n/.*\tsystem_u:object_r:default_t:s0\n"+
		"/usr(/.*)?\tsystem_u:object_r:usr_t:s0\n/usr/bin(/.*)?\t--\tsystem_u:object_r:bin_t:s0\n/tmp/.*\t<<none>>\n")
	write(fc+".subs_dist", "/bin /usr/bin\n")
	return dir, fc
}

func TestLookupArgs(t *testing.T) {
	dir, fc := lookupPolicy(t)
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"--file-contexts", fc, "/", "/usr/bin/ls", "/tmp/x", "/etc"},
			"/\tsystem_u:object_r:root_t:s0\n/usr/bin/ls\tsystem_u:object_r:bin_t:s0\n/tmp/x\t<<none>>\n/etc\tsystem_u:object_r:default_t:s0\n"},
		{[]string{"--policy-root", dir, "--mode", "dir", "/usr/bin/", "/bin//ls"},
			"/usr/bin/\tsystem_u:object_r:usr_t:s0\n/bin//ls\tsystem_u:object_r:usr_t:s0\n"},
		{[]string{"--file-contexts", fc, "--mode", "0100644", "/bin/ls"}, "/bin/ls\tsystem_u:object_r:bin_t:s0\n"},
		{[]string{"--file-contexts", fc, "--mode", "file", "relative"}, "relative\t<<none>>\n"},
	} {
		out, errs, code := runCmd("", append([]string{"lookup"}, tc.args...)...)
		if code != exitcode.OK || out != tc.want {
			t.Errorf("lookup %q: code %d, stdout %q (stderr %q), want %q", tc.args, code, out, errs, tc.want)
		}
	}
}

func TestLookupBatch(t *testing.T) {
	_, fc := lookupPolicy(t)
	in := "/usr/bin/ls\t100755\n/usr/bin\t40755\n/tmp/a\tb\t0\n/x\t0"
	want := "/usr/bin/ls\tsystem_u:object_r:bin_t:s0\n/usr/bin\tsystem_u:object_r:usr_t:s0\n/tmp/a\tb\t<<none>>\n/x\tsystem_u:object_r:default_t:s0\n"
	out, errs, code := runCmd(in, "lookup", "--file-contexts", fc, "--batch")
	if code != exitcode.OK || out != want {
		t.Errorf("batch: code %d, stdout %q (stderr %q), want %q", code, out, errs, want)
	}
	out, errs, code = runCmd("/usr/bin/ls\t100755\n/bad line\n/y\t0\n", "lookup", "--file-contexts", fc, "--batch")
	if code != exitcode.Failure || !strings.Contains(errs, "stdin line 2") || out != "/usr/bin/ls\tsystem_u:object_r:bin_t:s0\n" {
		t.Errorf("malformed batch: code %d, stdout %q, stderr %q", code, out, errs)
	}
}

func TestLookupErrors(t *testing.T) {
	dir, fc := lookupPolicy(t)
	bad := filepath.Join(t.TempDir(), "file_contexts")
	if err := os.WriteFile(bad, []byte("/ok\tsystem_u:object_r:a_t:s0\n/bad\t-x\tsystem_u:object_r:a_t:s0\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		args []string
		code int
		msg  string
	}{
		{[]string{"--file-contexts", fc, "--policy-root", dir, "/"}, exitcode.Usage, "exclude each other"},
		{[]string{"--file-contexts", fc}, exitcode.Usage, "no PATH"},
		{[]string{"--file-contexts", fc, "--batch", "/x"}, exitcode.Usage, "no PATH arguments"},
		{[]string{"--file-contexts", fc, "--mode", "bogus", "/"}, exitcode.Usage, "invalid mode"},
		{[]string{"--file-contexts", bad, "/"}, exitcode.Failure, bad + ":2: invalid file type -x"},
		{[]string{"--file-contexts", filepath.Join(dir, "missing"), "/"}, exitcode.Failure, "missing"},
	} {
		_, errs, code := runCmd("", append([]string{"lookup"}, tc.args...)...)
		if code != tc.code || !strings.Contains(errs, tc.msg) {
			t.Errorf("lookup %q: code %d stderr %q, want %d and %q", tc.args, code, errs, tc.code, tc.msg)
		}
	}
}

// TestLookupBatchMatchesLibselinux feeds every object of the minbase tree through
// `nsinit lookup --batch` and through libselinux (the fcontext oracle driver, same line
// format) and wants byte-identical output.
func TestLookupBatchMatchesLibselinux(t *testing.T) {
	oracle := testutil.LibselinuxOracle(t)
	fc := filepath.Join(testutil.DebianPolicyDir(t), "contexts", "files", "file_contexts")
	input := testutil.BatchInput(testutil.TreeKeys(t, testutil.Minbase(t)))
	cmd := exec.Command(oracle, fc)
	cmd.Stdin = strings.NewReader(input)
	want, err := cmd.Output()
	if err != nil {
		t.Fatalf("oracle: %v", err)
	}
	got, errs, code := runCmd(input, "lookup", "--file-contexts", fc, "--batch")
	if code != exitcode.OK {
		t.Fatalf("nsinit lookup --batch: %d %s", code, errs)
	}
	if got != string(want) {
		g, w := strings.Split(got, "\n"), strings.Split(string(want), "\n")
		for i := range min(len(g), len(w)) {
			if g[i] != w[i] {
				t.Fatalf("line %d: nsinit %q, libselinux %q (%d vs %d lines)", i+1, g[i], w[i], len(g), len(w))
			}
		}
		t.Fatalf("outputs differ in length: %d vs %d lines", len(g), len(w))
	}
}

// TestLookupLibselinux: --libselinux selects the rule for several exact lines of one path
// (3.4: the last that fits, 3.11: the first); a release nsinit does not offer is bad usage.
func TestLookupLibselinux(t *testing.T) {
	fc := filepath.Join(t.TempDir(), "file_contexts")
	if err := os.WriteFile(fc, []byte("/t\t-d\tsystem_u:object_r:dir_t:s0\n/t\t-l\tsystem_u:object_r:lnk_t:s0\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		v, want string
	}{{"3.4", "lnk_t"}, {"3.7", "lnk_t"}, {"3.11", "dir_t"}, {"3.9", "dir_t"}} {
		out, errs, code := runCmd("", "lookup", "--libselinux", tc.v, "--file-contexts", fc, "/t")
		if code != exitcode.OK || out != "/t\tsystem_u:object_r:"+tc.want+":s0\n" {
			t.Errorf("--libselinux %s: code %d, stdout %q (stderr %q), want %s", tc.v, code, out, errs, tc.want)
		}
	}
	for _, v := range []string{"3.8", "", "latest"} {
		_, errs, code := runCmd("", "lookup", "--libselinux", v, "--file-contexts", fc, "/t")
		if code != exitcode.Usage || !strings.Contains(errs, "3.4") {
			t.Errorf("--libselinux %q: code %d, stderr %q, want usage", v, code, errs)
		}
	}
}
