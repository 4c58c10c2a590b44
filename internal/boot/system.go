package boot

import (
	"context"
	"errors"
	"fmt"
	"os"

	"github.com/opencontainers/selinux/go-selinux"
	"golang.org/x/sys/unix"

	"github.com/nsinit/nsinit/internal/detect"
	"github.com/nsinit/nsinit/internal/handoff"
	"github.com/nsinit/nsinit/internal/imagefile"
	"github.com/nsinit/nsinit/internal/procattr"
	"github.com/nsinit/nsinit/internal/resume"
	"github.com/nsinit/nsinit/internal/selinuxfs"
	"github.com/nsinit/nsinit/internal/supervise"
)

// System is every side effect of the bring-up, replaceable in tests: the one way behaviour
// is injected.
type System struct {
	Getenv  func(string) string
	Environ func() []string
	// KernelPID1 reports whether we are PID 1 of the initial PID namespace (exiting would
	// panic the kernel).
	KernelPID1 func() bool
	// MountAPI mounts procfs and sysfs where they are missing.
	MountAPI func(procDir, sysDir string) ([]string, error)
	Detect   func(detect.Options) detect.Result
	// MountSelinuxfs mounts a fresh selinuxfs (selinuxfs.Mount).
	MountSelinuxfs func(dir string) (*selinuxfs.FS, selinuxfs.MountResult, error)
	// Prefetch requests reads of files and lookups of paths ahead of the steps that make them
	// (imagefile.Prefetch); the bring-up runs it in a goroutine of its own.
	Prefetch func(files []imagefile.Ahead, lookups []string)
	// Relabel is the relabel step (FirstBootRelabel).
	Relabel func(ctx context.Context, req RelabelRequest) (string, error)
	// CurrentContext and FileContext read our context and a file's label.
	CurrentContext func() (string, error)
	FileContext    func(path string) (string, error)
	// Policy answers the domain decision's questions through the selinuxfs fs.
	Policy func(fs *selinuxfs.FS) PolicyQuery
	// Reexec re-executes nsinit as the same process in execContext with state
	// (resume.Exec); ReadResume reads the state in the second stage (resume.Read).
	Reexec     func(argv func(fd int) []string, env []string, execContext string, state []byte) error
	ReadResume func(fd int) ([]byte, error)
	Exec       handoff.ExecFunc
	// Supervise runs the target as a supervised child and returns its exit status.
	Supervise func(ctx context.Context, o supervise.Options) (int, error)
	// BeforeHandoff runs right before the exec or the supervisor (stop the bring-up's own
	// signal handling, so that the supervisor can take over the signals).
	BeforeHandoff func()
	// PowerOff syncs and powers the machine off (supervisor mode as the machine's PID 1).
	PowerOff func() error
	// Freeze never returns (a kernel PID 1 that must not exit).
	Freeze func()
}

// RealSystem returns the side effects of a real bring-up, with procfs at procDir and the
// (inherited, possibly prototype) selinuxfs at selinuxfsDir.
func RealSystem(procDir, selinuxfsDir string) System {
	env := detect.DefaultEnvAt(procDir)
	// As a container's PID 1 (the kernel's never asks) detection may mount a fresh
	// selinuxfs at selinuxfsDir to look for the namespace nodes, and unmounts it again;
	// anywhere else (nsinit status) it only looks at one already mounted.
	env.Selinuxfs = func() (selinuxfs.Nodes, error) {
		if os.Getpid() == 1 {
			return selinuxfs.Inspect(procDir, selinuxfsDir)
		}
		return selinuxfs.Look(selinuxfsDir)
	}
	return System{
		Getenv:     os.Getenv,
		Environ:    os.Environ,
		KernelPID1: func() bool { return KernelPID1(procDir) },
		MountAPI:   MountAPI,
		Detect:     func(o detect.Options) detect.Result { return detect.Detect(env, o) },
		MountSelinuxfs: func(dir string) (*selinuxfs.FS, selinuxfs.MountResult, error) {
			return selinuxfs.Mount(procDir, dir)
		},
		// go-selinux's xattr reader holds no cached selinuxfs state, so it is safe here
		// (go-dependencies-and-pid1.md §1.2); our context is read directly (procattr).
		Prefetch:       imagefile.Prefetch,
		Relabel:        FirstBootRelabel,
		CurrentContext: procattr.Current,
		FileContext:    selinux.FileLabel,
		Policy:         func(fs *selinuxfs.FS) PolicyQuery { return fs },
		Reexec:         resume.Exec,
		ReadResume:     func(fd int) ([]byte, error) { return resume.Read(procDir, fd) },
		Exec:           handoff.Exec,
		Supervise:      supervise.Run,
		PowerOff:       powerOff,
		Freeze:         freeze,
	}
}

// powerOff flushes the filesystems and powers the machine off.
func powerOff() error {
	unix.Sync()
	return os.NewSyscallError("reboot(POWER_OFF)", unix.Reboot(unix.LINUX_REBOOT_CMD_POWER_OFF))
}

// KernelPID1 reports whether the calling process is PID 1 of the initial PID namespace, the
// process whose exit panics the kernel (procfs must be mounted at procDir). When the
// namespace cannot be told it answers yes: wrongly freezing a container is recoverable,
// exiting as the kernel's PID 1 is not.
func KernelPID1(procDir string) bool {
	if os.Getpid() != 1 {
		return false
	}
	initial, err := detect.InitialPIDNS(procDir)
	return err != nil || initial
}

// freeze blocks forever without exiting and without looking like a deadlock to the Go
// runtime (a blocked syscall is not one).
func freeze() {
	for {
		_ = unix.Pause()
	}
}

// apiMount is one API filesystem nsinit needs before it can detect anything.
type apiMount struct {
	dir, fstype string
	magic       int64
}

// MountAPI mounts procfs at procDir and sysfs at sysDir where they are not mounted yet (an
// initramfs boot; a container runtime mounts both). It returns what it mounted.
func MountAPI(procDir, sysDir string) ([]string, error) {
	var mounted []string
	var errs []error
	for _, m := range []apiMount{{procDir, "proc", unix.PROC_SUPER_MAGIC}, {sysDir, "sysfs", unix.SYSFS_MAGIC}} {
		dir := m.dir
		var st unix.Statfs_t
		if err := unix.Statfs(dir, &st); err == nil && st.Type == m.magic {
			continue
		}
		if err := os.MkdirAll(dir, 0o555); err != nil {
			errs = append(errs, err)
			continue
		}
		if err := unix.Mount(m.fstype, dir, m.fstype, unix.MS_NOSUID|unix.MS_NODEV|unix.MS_NOEXEC, ""); err != nil {
			errs = append(errs, &os.PathError{Op: "mount " + m.fstype, Path: dir, Err: err})
			continue
		}
		mounted = append(mounted, fmt.Sprintf("%s on %s", m.fstype, dir))
	}
	return mounted, errors.Join(errs...)
}
