package main

import (
	"bytes"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"golang.org/x/sys/unix"

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
			"/usr/bin\tsystem_u:object_r:usr_t:s0\n/bin//ls\tsystem_u:object_r:usr_t:s0\n"},
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

// setLabel writes path's security.selinux (root; the filesystem need not know SELinux).
func setLabel(t *testing.T, path, ctx string) {
	t.Helper()
	if err := unix.Lsetxattr(path, "security.selinux", append([]byte(ctx), 0), 0); err != nil {
		t.Fatalf("lsetxattr %s: %v", path, err)
	}
}

// TestLookupMatchesMatchpathcon runs Debian's matchpathcon and nsinit lookup with the same
// flags on the same paths and wants the same output and exit status: the type from lstat
// when the path exists (a directory, a file, a missing path against entries of one type),
// -m (every type word of matchpathcon(8) and the short ones), -n, -N, -f, -P, and -V (verified, a wrong type, an MCS range that
// differs, a user that differs, no label, <<none>>), which needs keys that are real paths:
// a directory under /srv, labelled var_t by Debian's policy.
func TestLookupMatchesMatchpathcon(t *testing.T) {
	testutil.RequireRoot(t)
	mpc := testutil.RequireTool(t, "matchpathcon")
	pol := testutil.DebianPolicyDir(t)
	tmp := t.TempDir()
	for _, d := range []string{"d", "l"} {
		os.Mkdir(filepath.Join(tmp, d), 0o755)
	}
	for _, f := range []string{"f", "g", "n"} {
		os.WriteFile(filepath.Join(tmp, f), nil, 0o644)
	}
	os.Symlink("f", filepath.Join(tmp, "s"))
	fc := filepath.Join(tmp, "fc")
	os.WriteFile(fc, []byte(tmp+"/d\t-d\tsystem_u:object_r:dir_t:s0\n"+tmp+"(/.*)?\tsystem_u:object_r:any_t:s0\n"+
		tmp+"/[fs]\t--\tsystem_u:object_r:file_t:s0\n"+tmp+"/s\t-l\tsystem_u:object_r:link_t:s0\n"+tmp+"/n\t<<none>>\n"+
		tmp+"/(g|missing)\t-d\tsystem_u:object_r:dir_t:s0\n"), 0o644) // g is a file: lstat decides
	srv, err := os.MkdirTemp("/srv", "nsinit-lookup-test.")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(srv) })
	for name, ctx := range map[string]string{
		"ok": "system_u:object_r:var_t:s0", "type": "system_u:object_r:etc_t:s0",
		"mcs": "system_u:object_r:var_t:s0:c1", "user": "unconfined_u:object_r:var_t:s0", "none": "",
	} {
		p := filepath.Join(srv, name)
		os.WriteFile(p, nil, 0o644)
		if ctx != "" {
			setLabel(t, p, ctx)
		}
	}
	setLabel(t, filepath.Join(tmp, "g"), "system_u:object_r:var_t:s0")
	j := func(names ...string) []string {
		var ps []string
		for _, n := range names {
			ps = append(ps, filepath.Join(srv, n))
		}
		return ps
	}
	in := func(names ...string) []string {
		var ps []string
		for _, n := range names {
			ps = append(ps, tmp+"/"+n)
		}
		return ps
	}
	for _, args := range [][]string{
		append([]string{"-f", fc}, in("d", "d/", "f", "g", "s", "n", "missing", "l")...),
		append([]string{"-f", fc, "-n"}, in("d", "n", "f")...),
		append([]string{"-f", fc, "-m", "file"}, in("d", "missing")...),
		append([]string{"-f", fc, "-m", "pipe", "-N"}, in("f")...),
		// The type words of matchpathcon(8), and the shorter ones it takes too.
		append([]string{"-f", fc, "-m", "dir"}, in("f", "s", "d")...),
		append([]string{"-f", fc, "-m", "lnk_file"}, in("f", "s", "d")...),
		append([]string{"-f", fc, "-m", "chr_file"}, in("f", "s")...),
		append([]string{"-f", fc, "-m", "blk_file"}, in("f", "s")...),
		append([]string{"-f", fc, "-m", "sock_file"}, in("f", "s")...),
		append([]string{"-f", fc, "-m", "lnk"}, in("s")...),
		append([]string{"-f", fc, "-m", "chr"}, in("s")...),
		append([]string{"-f", fc, "-m", "blk"}, in("s")...),
		append([]string{"-f", fc, "-m", "sock"}, in("s")...),
		{"-P", pol, "/etc/passwd", "/tmp", "/srv/x", "/root", "/nonexistent/for/sure"},
		append([]string{"-P", pol, "-V"}, j("ok", "type", "mcs", "user")...),
		append([]string{"-P", pol, "-V"}, j("ok")...),
		append([]string{"-P", pol, "-V", "-n"}, j("type")...),
		append([]string{"-P", pol, "-V"}, j("user", "none", "ok")...),
		append([]string{"-P", pol, "-V"}, in("g")...),
	} {
		cmd := exec.Command(mpc, args...)
		want, _ := cmd.Output()
		got, errs, code := runCmd("", append([]string{"lookup"}, args...)...)
		if got != string(want) || code != cmd.ProcessState.ExitCode() {
			t.Errorf("%q:\nnsinit (%d, stderr %q):\n%s\nmatchpathcon (%d):\n%s", args, code, errs, got, cmd.ProcessState.ExitCode(), want)
		}
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
