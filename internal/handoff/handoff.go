// Package handoff chooses the real init, predicts the SELinux domain it will run in, and
// execs it so that it replaces nsinit as PID 1 with argv, environment and file descriptors
// intact.
package handoff

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"strings"

	"golang.org/x/sys/unix"

	"github.com/nsinit/nsinit/internal/procattr"
	"github.com/nsinit/nsinit/internal/sigpolicy"
)

// DefaultInits are tried in order when nothing names the init: sysvinit's and systemd's usual
// locations (systemd's own search order, minus the shell fallback).
var DefaultInits = []string{"/sbin/init", "/lib/systemd/systemd", "/usr/lib/systemd/systemd"}

// DefaultPath is the search path for a bare program name when the environment has no PATH:
// systemd's default for the processes it starts (DEFAULT_PATH, split-/usr form, so that
// images without a merged /usr are covered), which is also the default PATH of docker and
// podman for an image without one.
const DefaultPath = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"

// Source says where the init was chosen from.
type Source string

// Sources of the init choice.
const (
	FromArgs    Source = "arguments after --"
	FromWords   Source = "the kernel's arguments"
	FromCmdline Source = "init= on the kernel command line"
	FromDefault Source = "default search"
)

// Target is the program nsinit hands PID 1 to.
type Target struct {
	// Path is the file to execute: the init's name joined to the image root.
	Path string
	// Argv is the init's argument vector; Argv[0] is the name as given.
	Argv   []string
	Source Source
}

// Request is what nsinit's command line and the kernel say about the init.
type Request struct {
	// Command is what followed "--" on nsinit's command line: the program and its
	// arguments. A named program is the target, or an error: never a reason to fall back
	// to another init. A name without a slash is looked up in Path.
	Command []string
	// Words are the words before "--" that the kernel hands the machine's PID 1 (such as
	// "single" or "-b"): extra arguments for the init, whichever way it is chosen. When
	// there is no Command and the first word is an absolute path, it is the init: the
	// kernel drops the "--" of "init=/usr/sbin/nsinit -- /lib/systemd/systemd".
	Words []string
	// CmdlineInit is init= from the kernel command line ("" outside a boot).
	CmdlineInit string
	// Path is the search path for a bare program name, the environment's PATH ("":
	// DefaultPath). Its directories are taken below the root; relative ones are skipped.
	Path string
}

// Select picks the init below root (the image root: "/" as PID 1), in this order: the
// program after "--", an absolute path as the first kernel word, init= (unless it names
// nsinit itself, the usual way to boot nsinit), the first of DefaultInits. The result must
// be an executable regular file that is not nsinit itself.
func Select(root string, req Request) (Target, error) {
	var t Target
	switch {
	case len(req.Command) > 0:
		path, err := lookPath(root, req.Command[0], req.Path)
		if err != nil {
			return Target{}, fmt.Errorf("program after --: %w", err)
		}
		t = Target{Path: path, Argv: append(append([]string(nil), req.Command...), req.Words...), Source: FromArgs}
	case len(req.Words) > 0 && strings.HasPrefix(req.Words[0], "/"):
		t = Target{Path: filepath.Join(root, req.Words[0]), Argv: append([]string(nil), req.Words...), Source: FromWords}
	case len(req.Words) > 0 && strings.Contains(req.Words[0], "/"):
		return Target{}, fmt.Errorf("init %q must be an absolute path", req.Words[0])
	case req.CmdlineInit != "" && !isSelf(filepath.Join(root, req.CmdlineInit)):
		t = Target{Path: filepath.Join(root, req.CmdlineInit), Argv: append([]string{req.CmdlineInit}, req.Words...), Source: FromCmdline}
	default:
		for _, p := range DefaultInits {
			if executable(filepath.Join(root, p)) == nil && !isSelf(filepath.Join(root, p)) {
				return Target{Path: filepath.Join(root, p), Argv: append([]string{p}, req.Words...), Source: FromDefault}, nil
			}
		}
		return Target{}, fmt.Errorf("no init found: tried %s below %s; name one after -- (nsinit -- /path/to/init)", strings.Join(DefaultInits, ", "), root)
	}
	if err := executable(t.Path); err != nil {
		return Target{}, fmt.Errorf("init from %s: %w", t.Source, err)
	}
	if isSelf(t.Path) {
		return Target{}, fmt.Errorf("init from %s: %s is nsinit itself (exec-ing it would loop); name the real init after --, e.g. init=%s -- /lib/systemd/systemd", t.Source, t.Path, t.Argv[0])
	}
	return t, nil
}

// lookPath resolves a program name as execvp(3) would inside root: a name with a slash
// must be absolute and is taken as it is; a bare name is searched in the directories of
// path ("": DefaultPath), the first executable regular file winning. Relative and empty
// directories (which would mean the working directory) are skipped.
func lookPath(root, name, path string) (string, error) {
	switch {
	case name == "":
		return "", errors.New("empty program name")
	case strings.HasPrefix(name, "/"):
		return filepath.Join(root, name), nil
	case strings.Contains(name, "/"):
		return "", fmt.Errorf("%q must be an absolute path or a bare name looked up in PATH", name)
	}
	if path == "" {
		path = DefaultPath
	}
	var tried []string
	for _, dir := range filepath.SplitList(path) {
		if !filepath.IsAbs(dir) {
			continue
		}
		p := filepath.Join(root, dir, name)
		if executable(p) == nil {
			return p, nil
		}
		tried = append(tried, dir)
	}
	if len(tried) == 0 {
		return "", fmt.Errorf("%q not found: PATH %q has no absolute directory", name, path)
	}
	return "", fmt.Errorf("%q not found: no executable file of that name in %s below %s", name, strings.Join(tried, ":"), root)
}

// selfExe names the running program; a variable so tests can point it elsewhere.
var selfExe = "/proc/self/exe"

// isSelf reports whether path is the running nsinit binary (for example /sbin/init
// pointing at nsinit, or init=/sbin/nsinit without --): exec-ing it would loop forever.
func isSelf(path string) bool {
	a, err := os.Stat(path)
	if err != nil {
		return false
	}
	b, err := os.Stat(selfExe)
	return err == nil && os.SameFile(a, b)
}

// executable checks that path is a regular file with an execute bit.
func executable(path string) error {
	st, err := os.Stat(path)
	if err != nil {
		return err
	}
	if !st.Mode().IsRegular() {
		return &os.PathError{Op: "exec", Path: path, Err: fmt.Errorf("not a regular file (%s)", st.Mode().Type())}
	}
	if st.Mode().Perm()&0o111 == 0 {
		return &os.PathError{Op: "exec", Path: path, Err: unix.EACCES}
	}
	return nil
}

// Computer is the part of selinuxfs that predicts transitions (*selinuxfs.FS).
type Computer interface {
	ClassIndex(class string) (int, error)
	ComputeCreate(scon, tcon string, tclass int) (string, error)
}

// Transition is the domain change an exec will cause.
type Transition struct {
	// Current is our context, FileContext the init file's label, Expected the domain the
	// init will run in (Current when the policy has no transition for the file).
	Current, FileContext, Expected string
}

// Stays reports whether the init would keep our domain, which for a PID 1 right after the
// policy load means kernel_t: almost always a mislabelled init.
func (t Transition) Stays() bool { return t.Expected == t.Current }

// Predict computes the domain an exec of a file labelled fileContext by a process in current
// will land in, as the kernel does for an exec without an explicit exec context (the
// process class's type_transition rules), through selinuxfs's create node.
func Predict(c Computer, current, fileContext string) (Transition, error) {
	tr := Transition{Current: current, FileContext: fileContext}
	idx, err := c.ClassIndex("process")
	if err != nil {
		return tr, fmt.Errorf("process class index: %w", err)
	}
	tr.Expected, err = c.ComputeCreate(current, fileContext, idx)
	return tr, err
}

// ExecFunc replaces the process image; Exec in production, a fake in tests.
type ExecFunc func(t Target, env []string, execContext string) error

// Exec changes to "/", sets the exec context when execContext is non-empty, resets
// inherited ignored signals to their defaults, and execs t with env. It returns only on failure. The exec context is a per-thread attribute that the
// kernel consumes at the next execve of that thread, so the goroutine is locked to its OS
// thread for good: on failure the attribute is cleared, and the thread is never reused for
// unrelated work.
func Exec(t Target, env []string, execContext string) error {
	runtime.LockOSThread()
	if err := unix.Chdir("/"); err != nil {
		return &os.PathError{Op: "chdir", Path: "/", Err: err}
	}
	if execContext != "" {
		if err := procattr.SetExec(execContext); err != nil {
			return fmt.Errorf("set exec context %q: %w", execContext, err)
		}
	}
	sigpolicy.ResetIgnored()
	err := unix.Exec(t.Path, t.Argv, env)
	if execContext != "" {
		// Best effort: the failure to exec is the error that matters.
		_ = procattr.SetExec("")
	}
	return &os.PathError{Op: "execve", Path: t.Path, Err: err}
}
