package main

import (
	"errors"
	"path/filepath"
	"reflect"
	"strings"
	"syscall"
	"testing"

	"github.com/nsinit/nsinit/internal/exitcode"
	"github.com/nsinit/nsinit/internal/unshare"
)

// TestUnshareCommand checks what each way in asks the unshare sequence for, on a fake
// machine where the sequence only records its options.
func TestUnshareCommand(t *testing.T) {
	m := newFakeMachine(t)
	initPath := filepath.Join(m.root, "sbin", "init")
	environ := []string{"PATH=/usr/bin:/bin", "KEEP=1"}
	tests := []struct {
		name       string
		pid1, mach bool
		args       []string
		want       *unshareCall // nil: no unshare
		code       int
		stderr     []string
	}{
		{name: "command", args: []string{"unshare", "--", initPath, "-x"}, code: exitcode.Failure,
			want:   &unshareCall{unshare.ExecOnly, "/proc", unshare.Options{Path: initPath, Argv: []string{initPath, "-x"}, Env: environ, MountRoot: "/", SelinuxfsDir: "/sys/fs/selinux"}},
			stderr: []string{"nsinit unshare: error: no new SELinux namespace for " + initPath + " -x: fake exec", "NOT started: " + initPath + " -x;", "nothing outside this process"}},
		{name: "command without --", args: []string{"unshare", initPath}, code: exitcode.Failure,
			want: &unshareCall{unshare.ExecOnly, "/proc", unshare.Options{Path: initPath, Argv: []string{initPath}, Env: environ, MountRoot: "/", SelinuxfsDir: "/sys/fs/selinux"}}},
		{name: "no private mounts", args: []string{"unshare", "--no-private-mounts", "--log-level", "debug", "--", initPath}, code: exitcode.Failure,
			want: &unshareCall{unshare.ExecOnly, "/proc", unshare.Options{Path: initPath, Argv: []string{initPath}, Env: environ, NoPrivateMounts: true, MountRoot: "/", SelinuxfsDir: "/sys/fs/selinux"}}},
		{name: "no command", args: []string{"unshare"}, code: exitcode.Usage, stderr: []string{"no command given"}},
		{name: "missing command", args: []string{"unshare", "--", "nsinit-no-such-program"}, code: exitcode.ExecFailed,
			stderr: []string{"nsinit-no-such-program", "nothing was changed"}},
		{name: "bring-up flag without --boot", args: []string{"unshare", "--mode", "permissive", "--", initPath}, code: exitcode.Usage,
			stderr: []string{"--mode only applies with --boot"}},
		{name: "boot", args: []string{"unshare", "--boot", "--mode", "permissive", "--jobs", "3", "--root", m.root, "--", "/sbin/init", "a"}, code: exitcode.Failure,
			want: &unshareCall{unshare.BringUp, "/proc", unshare.Options{Path: "/usr/sbin/nsinit",
				Argv: []string{"/usr/sbin/nsinit", "boot", "--jobs=3", "--mode=permissive", "--root=" + m.root, "--", "/sbin/init", "a"},
				Env:  environ, MountRoot: "/", SelinuxfsDir: "/sys/fs/selinux"}},
			stderr: []string{"no new SELinux namespace for the bring-up, then /sbin/init a:", "NOT started: the bring-up, then /sbin/init a;"}},
		{name: "boot, default init, --proc", args: []string{"unshare", "--boot", "--proc", "/p"}, code: exitcode.Failure,
			want: &unshareCall{unshare.BringUp, "/p", unshare.Options{Path: "/usr/sbin/nsinit",
				Argv: []string{"/usr/sbin/nsinit", "boot", "--proc=/p"}, Env: environ, MountRoot: "/", SelinuxfsDir: "/sys/fs/selinux"}},
			stderr: []string{"no new SELinux namespace for the bring-up, then the default init:"}},
		{name: "boot with --no-private-mounts", args: []string{"unshare", "--boot", "--no-private-mounts", "--", "/sbin/init"}, code: exitcode.Usage,
			stderr: []string{"cannot be used with --boot"}},
		{name: "boot with words", args: []string{"unshare", "--boot", "single"}, code: exitcode.Usage, stderr: []string{`unexpected "single"`}},
		{name: "entrypoint", pid1: true, args: []string{"--unshare", "--root", m.root, "--supervise", "--", "/bin/app"}, code: exitcode.Failure,
			want: &unshareCall{unshare.BringUp, "/proc", unshare.Options{Path: "/usr/sbin/nsinit",
				Argv: []string{"/usr/sbin/nsinit", "boot", "--root=" + m.root, "--supervise=true", "--", "/bin/app"},
				Env:  environ, MountRoot: "/", SelinuxfsDir: "/sys/fs/selinux"}},
			stderr: []string{"nsinit boot: error: no new SELinux namespace for the bring-up, then /bin/app:"}},
		{name: "boot --unshare by name", args: []string{"boot", "--unshare", "--root", m.root}, code: exitcode.Failure,
			want: &unshareCall{unshare.BringUp, "/proc", unshare.Options{Path: "/usr/sbin/nsinit",
				Argv: []string{"/usr/sbin/nsinit", "boot", "--root=" + m.root}, Env: environ, MountRoot: "/", SelinuxfsDir: "/sys/fs/selinux"}}},
		{name: "machine PID 1", pid1: true, mach: true, args: []string{"--unshare", "--root", m.root}, code: exitcode.Usage,
			stderr: []string{"--unshare is for a container's PID 1", "the init was NOT started"}},
		{name: "not PID 1", args: []string{"--unshare", "--root", m.root}, code: exitcode.Usage, stderr: []string{"no command given"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			m.unshares, m.execs, m.frozen = nil, nil, 0
			m.pid1, m.machine = tt.pid1, tt.mach
			code, _, stderr := m.run(tt.args...)
			if code != tt.code {
				t.Errorf("status %d, want %d\n%s", code, tt.code, stderr)
			}
			for _, s := range tt.stderr {
				if !strings.Contains(stderr, s) {
					t.Errorf("stderr lacks %q:\n%s", s, stderr)
				}
			}
			if len(m.execs) > 0 {
				t.Errorf("the bring-up ran in this process: %+v", m.execs)
			}
			if tt.want == nil {
				if len(m.unshares) > 0 {
					t.Fatalf("unshared: %+v", m.unshares)
				}
				return
			}
			if len(m.unshares) != 1 {
				t.Fatalf("%d unshares, want 1\n%s", len(m.unshares), stderr)
			}
			got := m.unshares[0]
			if got.o.Log == nil {
				t.Error("no logger")
			}
			got.o.Log = nil
			if !reflect.DeepEqual(got, *tt.want) {
				t.Errorf("unshare\n  %+v\nwant\n  %+v", got, *tt.want)
			}
		})
	}
}

// TestUnshareForwardsFlags checks that the bring-up nsinit re-executes itself into parses
// the flags exactly as `nsinit boot` would have parsed them.
func TestUnshareForwardsFlags(t *testing.T) {
	flags := []string{"--root", "/img", "--proc", "/p", "--sys", "/s", "--selinuxfs", "/sfs", "--mode", "enforcing",
		"--exec-context", "system_u:system_r:init_t:s0", "--relabel", "always", "--jobs", "2", "--assume-own-namespace",
		"--supervise", "--process-group", "--status-file", "/run/st", "--grace", "1m30s", "--log-format", "json", "--log-level", "warn",
		"--cpuprofile", "/run/boot.pprof"}
	m := newFakeMachine(t)
	if code, _, stderr := m.run(append([]string{"unshare", "--boot"}, append(flags, "--", "/sbin/init")...)...); code != exitcode.Failure || len(m.unshares) != 1 {
		t.Fatalf("status %d, %d unshares: %s", code, len(m.unshares), stderr)
	}
	argv := m.unshares[0].o.Argv
	if argv[1] != bringUp {
		t.Fatalf("argv %q", argv)
	}
	direct := parseWith(t, commands[bringUp], append(flags, "--", "/sbin/init"))
	forwarded := parseWith(t, commands[bringUp], argv[2:])
	if !reflect.DeepEqual(direct, forwarded) {
		t.Errorf("forwarded %q parses to\n  %+v\nwant\n  %+v", argv, forwarded, direct)
	}
	// Every bring-up flag is covered, so a new one cannot be left out of forwarding.
	for name := range direct.flags {
		if name == unshareFlag || name == versionFlag || name == "help" || name == resumeFlag {
			continue // not forwarded; a typed --resume-fd is refused (TestUnshareRefusesResumeFlag)
		}
		if !strings.Contains(strings.Join(flags, " "), "--"+name) {
			t.Errorf("bring-up flag --%s is not in this test", name)
		}
	}
}

// TestUnshareRefusesResumeFlag checks that the hidden flag of nsinit's own re-exec, typed
// after unshare --boot or with the entrypoint's --unshare, is refused before anything changes.
func TestUnshareRefusesResumeFlag(t *testing.T) {
	for _, args := range [][]string{
		{"unshare", "--boot", "--resume-fd=3", "--", "/sbin/init"},
		{"boot", "--unshare", "--resume-fd=3", "--", "/sbin/init"},
	} {
		m := newFakeMachine(t)
		code, _, stderr := m.run(args...)
		if code != exitcode.Usage || len(m.unshares) != 0 || !strings.Contains(stderr, "--resume-fd is nsinit's own") {
			t.Errorf("%q: status %d, %d unshares:\n%s", args, code, len(m.unshares), stderr)
		}
	}
}

// TestUnshareError checks that the sequence's error reaches the user whole.
func TestUnshareError(t *testing.T) {
	m := newFakeMachine(t)
	m.unshareErr = &unshare.Error{Step: "unshare the SELinux namespace", Op: "lsm_set_self_attr(LSM_ATTR_UNSHARE)",
		Err: syscall.ENOSYS, Meaning: "the kernel has no LSM syscalls"}
	code, _, stderr := m.run("unshare", "--", filepath.Join(m.root, "sbin", "init"))
	if code != exitcode.Failure || !strings.Contains(stderr, `step "unshare the SELinux namespace" failed: lsm_set_self_attr(LSM_ATTR_UNSHARE): ENOSYS: the kernel has no LSM syscalls`) {
		t.Fatalf("status %d:\n%s", code, stderr)
	}
	if !errors.Is(m.unshareErr, syscall.ENOSYS) {
		t.Fatal("unshare.Error does not unwrap to its errno")
	}
}
