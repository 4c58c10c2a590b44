package detect

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"

	"golang.org/x/sys/unix"

	"github.com/nsinit/nsinit/internal/lsm"
	"github.com/nsinit/nsinit/internal/selinuxfs"
)

// procPIDInitIno is the inode number of the initial PID namespace in nsfs: fixed, so that
// any process can tell whether it is in the initial PID namespace by stat(2) on
// /proc/self/ns/pid. Child namespaces get numbers from 0xF0000000 up.
//
// Matches Linux include/linux/proc_ns.h: PROC_PID_INIT_INO.
const procPIDInitIno = 0xEFFFFFFC

// securityfsLSM lists the active LSMs on kernels without lsm_list_modules, when securityfs
// is mounted.
const securityfsLSM = "/sys/kernel/security/lsm"

// DefaultEnv returns the real probes with procfs at /proc and selinuxfs at /sys/fs/selinux.
func DefaultEnv() Env { return DefaultEnvAt("/proc") }

// DefaultEnvAt is DefaultEnv with procfs at procDir (for --proc-dir style flags). Its
// Selinuxfs probe only looks at an already mounted selinuxfs at selinuxfs.DefaultDir and
// never mounts; the bring-up replaces it with one that mounts a fresh instance to look
// when none is mounted (selinuxfs.Inspect).
func DefaultEnvAt(procDir string) Env {
	return Env{
		ProcDir:      procDir,
		Getenv:       os.Getenv,
		Getpid:       os.Getpid,
		Gettid:       unix.Gettid,
		Unshared:     lsm.SELinuxUnshared,
		InitialPIDNS: func() (bool, error) { return InitialPIDNS(procDir) },
		Modules:      ActiveLSMs,
		Release:      KernelRelease,
		Selinuxfs:    func() (selinuxfs.Nodes, error) { return selinuxfs.Look(selinuxfs.DefaultDir) },
	}
}

// KernelRelease returns uname(2)'s release, e.g. "6.1.0-18-amd64".
func KernelRelease() (string, error) {
	var u unix.Utsname
	if err := unix.Uname(&u); err != nil {
		return "", os.NewSyscallError("uname", err)
	}
	return unix.ByteSliceToString(u.Release[:]), nil
}

// InitialPIDNS reports whether the caller is in the initial PID namespace: the inode of
// <procDir>/self/ns/pid is PROC_PID_INIT_INO. Errors are *os.PathError.
func InitialPIDNS(procDir string) (bool, error) {
	p := filepath.Join(procDir, "self", "ns", "pid")
	var st unix.Stat_t
	if err := unix.Stat(p, &st); err != nil {
		return false, &os.PathError{Op: "stat", Path: p, Err: err}
	}
	return st.Ino == procPIDInitIno, nil
}

// ActiveLSMs returns the names of the active LSMs in the kernel's order, from
// lsm_list_modules(2), or from /sys/kernel/security/lsm when the syscall is missing (ENOSYS,
// Linux < 6.8) or blocked (EPERM).
func ActiveLSMs() ([]string, error) {
	ids, err := lsm.ListModules()
	if err == nil {
		names := make([]string, len(ids))
		for i, id := range ids {
			names[i] = lsm.IDName(id)
		}
		return names, nil
	}
	if !errors.Is(err, unix.ENOSYS) && !errors.Is(err, unix.EPERM) {
		return nil, err
	}
	b, ferr := os.ReadFile(securityfsLSM)
	if ferr != nil {
		return nil, fmt.Errorf("%w; %w", err, ferr)
	}
	return parseLSMList(b), nil
}
