package main

import (
	"bytes"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/nsinit/nsinit/internal/exitcode"
	"github.com/nsinit/nsinit/internal/testutil"
)

// buildNsinit builds the static binary once per test run.
func buildNsinit(t *testing.T) string {
	t.Helper()
	bin := filepath.Join(t.TempDir(), "nsinit")
	cmd := exec.Command("go", "build", "-o", bin, ".")
	cmd.Env = append(os.Environ(), "CGO_ENABLED=0")
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	return bin
}

// imageRoot writes a minimal image root with an SELinux config.
func imageRoot(t *testing.T, config string) string {
	t.Helper()
	root := t.TempDir()
	for _, d := range []string{"etc/selinux", "bin"} {
		if err := os.MkdirAll(filepath.Join(root, d), 0o755); err != nil {
			t.Fatal(err)
		}
	}
	// The init is looked up below the image root: a static busybox is its shell.
	if out, err := exec.Command("cp", testutil.RequireTool(t, "busybox"), filepath.Join(root, "bin/busybox")).CombinedOutput(); err != nil {
		t.Fatalf("copy busybox: %v %s", err, out)
	}
	if err := os.WriteFile(filepath.Join(root, "etc/selinux/config"), []byte(config), 0o644); err != nil {
		t.Fatal(err)
	}
	return root
}

// TestPID1InNamespace runs nsinit as PID 1 of a new PID namespace on this host (a kernel
// without SELinux): the container situation. Permissive → the init runs with argv, env,
// cwd and signal state intact; enforcing → the init never runs and nsinit exits 4.
func TestPID1InNamespace(t *testing.T) {
	testutil.RequireRoot(t)
	unshare := testutil.RequireTool(t, "unshare")
	if b, _ := os.ReadFile("/proc/filesystems"); strings.Contains(string(b), "selinuxfs") {
		t.Skip("this host has SELinux; the container case without SELinux needs a kernel without it")
	}
	bin := buildNsinit(t)
	script := `echo "pid=$$ argv=$0,$1 cwd=$PWD x=$NSINIT_TEST_X"; grep -E '^Sig(Blk|Ign)' /proc/self/status | tr '\n' ' '`
	run := func(config string, extra ...string) (string, string, int) {
		root := imageRoot(t, config)
		args := append([]string{"-pf", "--mount-proc", bin, "--root", root}, extra...)
		args = append(args, "--", "/bin/busybox", "sh", "-c", script, "sh", "arg1")
		cmd := exec.Command(unshare, args...)
		cmd.Env = []string{"NSINIT_TEST_X=kept", "PATH=/usr/bin:/bin"}
		cmd.Dir = "/tmp"
		var stdout, stderr bytes.Buffer
		cmd.Stdout, cmd.Stderr = &stdout, &stderr
		err := cmd.Run()
		code := 0
		var ee *exec.ExitError
		if errors.As(err, &ee) {
			code = ee.ExitCode()
		} else if err != nil {
			t.Fatal(err)
		}
		return stdout.String(), stderr.String(), code
	}

	out, logs, code := run("SELINUX=permissive\nSELINUXTYPE=default\n")
	if code != 0 || !strings.Contains(out, "pid=1 argv=sh,arg1 cwd=/ x=kept") {
		t.Fatalf("permissive: status %d, init printed %q\nlogs:\n%s", code, out, logs)
	}
	if !strings.Contains(out, "SigBlk:\t0000000000000000") || !strings.Contains(out, "SigIgn:\t0000000000000000") {
		t.Errorf("the init inherited blocked or ignored signals: %q", out)
	}

	// Behind a runtime's --init (catatonit, tini), nsinit is the child of the container's
	// PID 1: still its entrypoint, so the bring-up runs without "boot".
	cmd := exec.Command(unshare, "-pf", "--mount-proc", "/bin/sh", "-c", `"$@"; exit $?`, "sh",
		bin, "--root", imageRoot(t, "SELINUX=permissive\nSELINUXTYPE=default\n"), "--", "/bin/busybox", "sh", "-c", "echo child-of-init ppid=$PPID")
	cmd.Env, cmd.Dir = []string{"PATH=/usr/bin:/bin"}, "/tmp"
	if b, err := cmd.CombinedOutput(); err != nil || !strings.Contains(string(b), "child-of-init ppid=1") {
		t.Fatalf("behind an --init: %v\n%s", err, b)
	}

	out, logs, code = run("SELINUX=enforcing\nSELINUXTYPE=default\n")
	if code != exitcode.FailClosed || out != "" || !strings.Contains(logs, "nsinit: emergency:") || !strings.Contains(logs, "selinuxfs") {
		t.Fatalf("enforcing without SELinux: status %d (want %d), init printed %q\nlogs:\n%s", code, exitcode.FailClosed, out, logs)
	}

	// Supervisor mode: nsinit stays PID 1 and exits with the application's status.
	root := imageRoot(t, "SELINUX=permissive\n")
	cmd = exec.Command(unshare, "-pf", "--mount-proc", bin, "--root", root, "--supervise", "--", "/bin/busybox", "sh", "-c", `echo "app pid=$$"; exit 7`)
	sout, err := cmd.Output()
	var ee *exec.ExitError
	// The application is a child of PID 1 (not PID 1 itself; nsinit's threads use PIDs too).
	if !errors.As(err, &ee) || ee.ExitCode() != 7 || !strings.HasPrefix(string(sout), "app pid=") || strings.HasPrefix(string(sout), "app pid=1\n") {
		t.Fatalf("--supervise: %v, app printed %q", err, sout)
	}

	out, logs, code = run("SELINUX=enforcing\n", "--mode", "disabled")
	if code != 0 || !strings.Contains(out, "pid=1") {
		t.Fatalf("--mode disabled: status %d, init printed %q\nlogs:\n%s", code, out, logs)
	}
}

func TestUsage(t *testing.T) {
	var out, errb bytes.Buffer
	e := plainEnv(nil, &out, &errb, func(string) string { return "" })
	if code := dispatch(e, []string{"--help"}); code != exitcode.OK || !strings.Contains(out.String(), "Fail closed") || !strings.Contains(out.String(), "status") {
		t.Fatalf("--help: status %d, output %q", code, out.String())
	}
	out.Reset()
	if code := dispatch(e, []string{"boot", "--mode", "sometimes"}); code != exitcode.Usage || !strings.Contains(errb.String(), "sometimes") {
		t.Fatalf("bad --mode: status %d, stderr %q", code, errb.String())
	}
}
