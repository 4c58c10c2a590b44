package main

import (
	"bytes"
	"context"
	"errors"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/nsinit/nsinit/internal/boot"
	"github.com/nsinit/nsinit/internal/detect"
	"github.com/nsinit/nsinit/internal/handoff"
	"github.com/nsinit/nsinit/internal/imagefile"
	"github.com/nsinit/nsinit/internal/relabel"
	"github.com/nsinit/nsinit/internal/resume"
	"github.com/nsinit/nsinit/internal/selinuxfs"
	"github.com/nsinit/nsinit/internal/supervise"
	"github.com/nsinit/nsinit/internal/unshare"
)

// fakeMachine is where a test runs dispatch: what nsinit's PID is, and a record of every
// side effect a command attempted, none of which happens. The bring-up sees SELinux as
// unavailable, mounts nothing, and its exec and supervisor only record the target, which
// must lie in the image root.
type fakeMachine struct {
	t *testing.T
	// pid1: PID 1 of a PID namespace; machine: of the initial one.
	pid1, machine bool
	// root is a fake image root (permissive config, an executable /sbin/init).
	root  string
	vars  map[string]string
	stdin string

	execs      []handoff.Target
	supervised []supervise.Options
	frozen     int
	relabels   []relabel.Options
	unshares   []unshareCall
	// unshareErr is what the fake unshare returns (nil: errFakeExec, the exec reached).
	unshareErr error
	stdout     bytes.Buffer
	stderr     bytes.Buffer
}

func newFakeMachine(t *testing.T) *fakeMachine {
	t.Helper()
	m := &fakeMachine{t: t, root: t.TempDir(), vars: map[string]string{}}
	for name, content := range map[string]string{
		"etc/selinux/config": "SELINUX=permissive\nSELINUXTYPE=default\n",
		"sbin/init":          "#!/bin/sh\n",
		"usr/bin/echo":       "#!/bin/sh\n",
	} {
		p := filepath.Join(m.root, name)
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(content), 0o755); err != nil {
			t.Fatal(err)
		}
	}
	return m
}

var errFakeExec = errors.New("fake exec: the process image would be replaced here")

// env returns the env of this machine. Relabel records its options; Create refuses.
func (m *fakeMachine) env() *env {
	return &env{
		Stdin: strings.NewReader(m.stdin), Stdout: &m.stdout, Stderr: &m.stderr,
		Getenv:      func(k string) string { return m.vars[k] },
		PID1:        func() bool { return m.pid1 },
		MachinePID1: func() bool { return m.machine },
		Freeze:      func() { m.frozen++ },
		System:      m.system,
		Relabel: func(_ context.Context, o relabel.Options) (relabel.Stats, error) {
			m.relabels = append(m.relabels, o)
			return relabel.Stats{}, nil
		},
		Create: func(path string) (io.WriteCloser, error) {
			return nil, &os.PathError{Op: "create", Path: path, Err: errors.New("no files are created in this test")}
		},
		Environ:    func() []string { return []string{"PATH=/usr/bin:/bin", "KEEP=1"} },
		Executable: func() (string, error) { return "/usr/sbin/nsinit", nil },
		Unshare: func(needs unshare.Needs, procDir string, o unshare.Options) error {
			m.unshares = append(m.unshares, unshareCall{needs, procDir, o})
			if m.unshareErr != nil {
				return m.unshareErr
			}
			return errFakeExec
		},
	}
}

// unshareCall is one unshare a command asked the env for.
type unshareCall struct {
	needs   unshare.Needs
	procDir string
	o       unshare.Options
}

// inRoot checks that a program the bring-up would start lies in the fake image root.
func (m *fakeMachine) inRoot(path string) {
	if rel, err := filepath.Rel(m.root, path); err != nil || rel == ".." || strings.HasPrefix(rel, "../") {
		m.t.Errorf("the bring-up would start %s, outside the image root %s", path, m.root)
	}
}

func (m *fakeMachine) system(procDir, selinuxfsDir string) boot.System {
	return boot.System{
		Getenv:     func(k string) string { return m.vars[k] },
		Environ:    func() []string { return nil },
		KernelPID1: func() bool { return m.machine },
		MountAPI:   func(string, string) ([]string, error) { return nil, nil },
		Detect: func(detect.Options) detect.Result {
			return detect.Result{Verdict: detect.Unavailable, Signal: "fake", Reason: "fake machine"}
		},
		MountSelinuxfs: func(dir string) (*selinuxfs.FS, selinuxfs.MountResult, error) {
			return nil, selinuxfs.MountResult{}, &os.PathError{Op: "mount", Path: dir, Err: errors.New("fake machine")}
		},
		// The real prefetch: it only reads ahead under the image root.
		Prefetch:       imagefile.Prefetch,
		CurrentContext: func() (string, error) { return "", errors.New("fake machine") },
		FileContext:    func(string) (string, error) { return "", errors.New("fake machine") },
		// The real reader: a typed --resume-fd names no state memfd of this process.
		ReadResume: func(fd int) ([]byte, error) { return resume.Read("/proc", fd) },
		Exec: func(t handoff.Target, _ []string, _ string) error {
			m.inRoot(t.Path)
			m.execs = append(m.execs, t)
			return errFakeExec
		},
		Supervise: func(_ context.Context, o supervise.Options) (int, error) {
			m.inRoot(o.Path)
			m.supervised = append(m.supervised, o)
			return 0, nil
		},
		BeforeHandoff: func() {},
		PowerOff:      func() error { return nil },
		Freeze:        func() { m.frozen++ },
	}
}

// run dispatches args on m and returns the status, stdout and stderr.
func (m *fakeMachine) run(args ...string) (int, string, string) {
	m.stdout.Reset()
	m.stderr.Reset()
	code := dispatch(m.env(), args)
	return code, m.stdout.String(), m.stderr.String()
}

// plainEnv is the env of a command run by hand on a host (not PID 1): real relabels and
// files, for the tests of the subcommands; a bring-up is a test failure (panic).
func plainEnv(stdin io.Reader, stdout, stderr io.Writer, getenv func(string) string) *env {
	noBringUp := func() { panic("this test must not reach the bring-up") }
	return &env{
		Stdin: stdin, Stdout: stdout, Stderr: stderr, Getenv: getenv,
		PID1:        func() bool { return false },
		MachinePID1: func() bool { return false },
		Freeze:      noBringUp,
		System:      func(string, string) boot.System { noBringUp(); return boot.System{} },
		Relabel:     relabel.Run,
		Create:      func(path string) (io.WriteCloser, error) { return os.Create(path) },
		Environ:     func() []string { noBringUp(); return nil },
		Executable:  func() (string, error) { noBringUp(); return "", nil },
		Unshare:     func(unshare.Needs, string, unshare.Options) error { noBringUp(); return nil },
	}
}
