package unshare

import (
	"errors"
	"fmt"
	"runtime"
	"strings"
	"syscall"

	"go.uber.org/zap"
	"golang.org/x/sys/unix"

	"github.com/nsinit/nsinit/internal/lsm"
)

// Sys is every call the sequence makes to the kernel; RealSys makes them, tests fake them.
// Each returns the bare errno on failure.
type Sys interface {
	// Unshare is unshare(2).
	Unshare(flags int) error
	// Mount is mount(2).
	Mount(source, target, fstype string, flags uintptr, data string) error
	// Unmount is umount2(2).
	Unmount(target string, flags int) error
	// SetSelfAttr is lsm_set_self_attr(2) with size len(ctx).
	SetSelfAttr(attr uint64, ctx []byte, flags uint32) error
	// Exec is execve(2); it returns only on failure.
	Exec(path string, argv, env []string) error
}

// RealSys is the kernel.
type RealSys struct{}

// Unshare calls unshare(2).
func (RealSys) Unshare(flags int) error { return unix.Unshare(flags) }

// Mount calls mount(2).
func (RealSys) Mount(source, target, fstype string, flags uintptr, data string) error {
	return unix.Mount(source, target, fstype, flags, data)
}

// Unmount calls umount2(2).
func (RealSys) Unmount(target string, flags int) error { return unix.Unmount(target, flags) }

// SetSelfAttr calls lsm_set_self_attr(2).
func (RealSys) SetSelfAttr(attr uint64, ctx []byte, flags uint32) error {
	return lsm.SetSelfAttr(attr, ctx, flags)
}

// Exec calls execve(2) from the calling thread.
func (RealSys) Exec(path string, argv, env []string) error { return unix.Exec(path, argv, env) }

// Options say what to exec and how.
type Options struct {
	// Path is the program to exec (already resolved: a failure to find it must come
	// before anything is changed), Argv its argv, Env its environment (passed as is:
	// nothing is added, in particular not SELINUXNS, since the kernel can be asked).
	Path      string
	Argv, Env []string
	// NoPrivateMounts skips making MountRoot recursively private (--no-private-mounts):
	// mount events in the new mount namespace then propagate as the inherited tree says.
	NoPrivateMounts bool
	// MountRoot is the tree made private, normally "/".
	MountRoot string
	// SelinuxfsDir is the inherited selinuxfs to unmount, normally /sys/fs/selinux.
	SelinuxfsDir string
	// Domain is the caller's SELinux type, for the policy rule a denial asks for ("" unknown).
	Domain string
	// Log receives one line per step; nil logs nothing.
	Log *zap.Logger
}

// Error is a failed step: which one, the call, its errno and what that means. Everything
// before the exec happens in a mount namespace of nsinit's own, and the SELinux unshare
// only changes the calling thread: a failure leaves nothing changed outside the process.
type Error struct {
	// Step names the step ("unshare the SELinux namespace").
	Step string
	// Op is the call, e.g. "lsm_set_self_attr(LSM_ATTR_UNSHARE)".
	Op string
	// Err is the errno (or the wrapped error).
	Err error
	// Meaning says what the kernel's answer means and what to change.
	Meaning string
}

func (e *Error) Error() string {
	return fmt.Sprintf("step %q failed: %s: %s: %s", e.Step, e.Op, errnoName(e.Err), e.Meaning)
}

// Unwrap returns the errno.
func (e *Error) Unwrap() error { return e.Err }

// step is one call of the sequence, as data.
type step struct {
	name string
	op   func(o *Options) string
	// skip says the options leave the step out.
	skip func(o *Options) bool
	// warn: a failure is logged and the sequence goes on (the inherited selinuxfs).
	warn bool
	call func(s Sys, o *Options) error
	// meanings explain this step's errnos; explain falls back to the errno's text.
	meanings func(o *Options, errno syscall.Errno) (string, bool)
}

// sequence is libselinux's unshareselinux: the order is the interface (the SELinux
// unshare expects its caller in a private mount namespace, and the selinuxfs to unmount is
// the one the new mount namespace inherited).
var sequence = []step{
	{
		name: "unshare the mount namespace",
		op:   func(*Options) string { return "unshare(CLONE_NEWNS)" },
		call: func(s Sys, _ *Options) error { return s.Unshare(unix.CLONE_NEWNS) },
		meanings: table(map[syscall.Errno]string{
			syscall.EPERM: "nsinit lacks CAP_SYS_ADMIN, or a seccomp filter blocks unshare(2) (Docker's default " +
				"profile allows it only with CAP_SYS_ADMIN): run with --cap-add SYS_ADMIN",
			syscall.ENOSPC: "the limit on mount namespaces is reached (/proc/sys/user/max_mnt_namespaces)",
			syscall.EINVAL: "the kernel has no mount namespaces (CONFIG_NAMESPACES)",
			syscall.ENOMEM: "the kernel could not allocate the mount namespace",
		}),
	},
	{
		name: "make the mount tree recursively private",
		op:   func(o *Options) string { return fmt.Sprintf("mount(%q, MS_REC|MS_PRIVATE)", o.MountRoot) },
		skip: func(o *Options) bool { return o.NoPrivateMounts },
		call: func(s Sys, o *Options) error {
			return s.Mount("none", o.MountRoot, "", unix.MS_REC|unix.MS_PRIVATE, "")
		},
		meanings: table(map[syscall.Errno]string{
			syscall.EPERM:  "nsinit lacks CAP_SYS_ADMIN in its user namespace",
			syscall.EINVAL: "the directory is not a mount point",
			syscall.ENOENT: "the directory does not exist",
		}),
	},
	{
		name: "unshare the SELinux namespace",
		op:   func(*Options) string { return lsm.UnshareOp },
		call: func(s Sys, _ *Options) error { return s.SetSelfAttr(lsm.LSM_ATTR_UNSHARE, lsm.UnshareCtx(), 0) },
		meanings: func(o *Options, errno syscall.Errno) (string, bool) {
			return lsm.UnshareErrorMeaning(errno, o.Domain), true
		},
	},
	{
		name: "unmount the inherited selinuxfs",
		op:   func(o *Options) string { return fmt.Sprintf("umount(%q)", o.SelinuxfsDir) },
		warn: true,
		call: func(s Sys, o *Options) error { return s.Unmount(o.SelinuxfsDir, 0) },
		meanings: table(map[syscall.Errno]string{
			syscall.EINVAL: "nothing is mounted there: there is no inherited selinuxfs to hide",
			syscall.ENOENT: "the directory does not exist: there is no inherited selinuxfs to hide",
			syscall.EPERM: "the mount cannot be removed here (in a user namespace inherited mounts are " +
				"locked); the program still sees the parent namespace's selinuxfs there and must mount its own",
			syscall.EBUSY: "the mount is in use; the program still sees the parent namespace's selinuxfs there",
		}),
	},
	{
		name: "exec the program",
		op:   func(o *Options) string { return fmt.Sprintf("execve(%q)", o.Path) },
		call: func(s Sys, o *Options) error { return s.Exec(o.Path, o.Argv, o.Env) },
		meanings: table(map[syscall.Errno]string{
			syscall.EACCES: "not executable: the file mode, a noexec mount, or a policy (the parent " +
				"namespaces check execute_no_trans on the file) forbids it",
			syscall.ENOENT:  "the program or its interpreter is missing",
			syscall.ENOEXEC: "not an executable format the kernel knows",
		}),
	},
}

// table adapts a map of meanings to a step's meanings function.
func table(m map[syscall.Errno]string) func(*Options, syscall.Errno) (string, bool) {
	return func(_ *Options, errno syscall.Errno) (string, bool) {
		s, ok := m[errno]
		return s, ok
	}
}

// Run runs the sequence on the calling goroutine, locked to its OS thread for good (the
// thread's credentials are the new namespace's; Go must never schedule other work on it),
// and execs o.Path. It returns only on failure, with an *Error for the step that failed.
func Run(s Sys, o Options) error {
	runtime.LockOSThread()
	log := o.Log
	if log == nil {
		log = zap.NewNop()
	}
	for _, st := range sequence {
		op := st.op(&o)
		if st.skip != nil && st.skip(&o) {
			log.Info("skipped", zap.String("step", st.name), zap.String("call", op))
			continue
		}
		err := st.call(s, &o)
		if err == nil {
			log.Info("done", zap.String("step", st.name), zap.String("call", op))
			continue
		}
		e := &Error{Step: st.name, Op: op, Err: err, Meaning: explain(st, &o, err)}
		if st.warn {
			log.Warn("failed, continuing", zap.String("step", st.name), zap.String("call", op),
				zap.String("errno", errnoName(err)), zap.String("meaning", e.Meaning))
			continue
		}
		return e
	}
	// Exec returned nil: only a fake does that.
	return &Error{Step: sequence[len(sequence)-1].name, Op: "execve", Err: errExecReturned,
		Meaning: "exec returned without an error"}
}

// errExecReturned stands for an exec that came back without an errno.
var errExecReturned = errors.New("exec returned")

// explain says what err means for step st.
func explain(st step, o *Options, err error) string {
	var errno syscall.Errno
	if !errors.As(err, &errno) {
		return err.Error()
	}
	if m, ok := st.meanings(o, errno); ok {
		return m
	}
	return errno.Error()
}

// errnoName returns "EPERM" for an errno, the error's text otherwise.
func errnoName(err error) string {
	var errno syscall.Errno
	if errors.As(err, &errno) {
		if errno == syscall.EOPNOTSUPP {
			return "EOPNOTSUPP" // x/sys names 95 ENOTSUP; the kernel's code says EOPNOTSUPP
		}
		if n := unix.ErrnoName(errno); n != "" {
			return strings.ToUpper(n)
		}
	}
	return err.Error()
}
