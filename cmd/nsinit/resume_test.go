package main

import (
	"strings"
	"testing"

	"github.com/nsinit/nsinit/internal/exitcode"
)

func TestResumeArgv(t *testing.T) {
	for _, tt := range []struct{ args, want string }{
		{"/sbin/nsinit", "/sbin/nsinit boot --resume-fd=7"},
		{"/sbin/nsinit --mode permissive single", "/sbin/nsinit boot --resume-fd=7 --mode permissive single"},
		{"nsinit boot --root /r -- /sbin/init a", "nsinit boot --resume-fd=7 --root /r -- /sbin/init a"},
		{"", "nsinit boot --resume-fd=7"},
	} {
		if got := strings.Join(resumeArgv(strings.Fields(tt.args))(7), " "); got != tt.want {
			t.Errorf("resumeArgv(%q) = %q, want %q", tt.args, got, tt.want)
		}
	}
}

// TestTypedResumeFlagRefused: a --resume-fd typed by hand (or left in a unit file) names no
// sealed state memfd: the bring-up stops before the detection or anything else, and says
// why; the flag is not offered in the help.
func TestTypedResumeFlagRefused(t *testing.T) {
	m := newFakeMachine(t)
	m.pid1 = true
	for _, fd := range []string{"0", "3", "99"} {
		code, _, stderr := m.run("--root", m.root, "--resume-fd="+fd)
		if code != exitcode.Usage || len(m.execs) != 0 || !strings.Contains(stderr, "resume the bring-up in the init's domain") {
			t.Fatalf("--resume-fd=%s: status %d, execs %d, stderr %q", fd, code, len(m.execs), stderr)
		}
	}
	if _, stdout, _ := m.run("boot", "--help"); strings.Contains(stdout, resumeFlag) {
		t.Errorf("--help shows the internal --%s", resumeFlag)
	}
}
