// Package procattr reads and writes the calling thread's SELinux process attributes
// (/proc/thread-self/attr/*; the kernel's security/selinux/hooks.c selinux_setprocattr).
// They are per thread: callers lock their goroutine to its OS thread around a write and the
// exec or fork that consumes it.
package procattr

import (
	"os"
	"path/filepath"
	"strings"

	"golang.org/x/sys/unix"
)

// ExecPath is the calling thread's exec context. thread-self, not self: /proc/self names
// the thread-group leader, and a non-leader thread writing there gets EACCES.
const ExecPath = "/proc/thread-self/attr/exec"

// SetExec sets the context that the calling thread's next execve (or that of a process it
// forks) transitions to, or clears it when ctx is empty (libselinux setexeccon(NULL) writes
// zero bytes). The node is opened without O_CREAT: with it the kernel checks, and logs a
// denial for, file creation, and a file someone created in its place must not be written.
func SetExec(ctx string) error {
	fd, err := unix.Open(ExecPath, unix.O_WRONLY|unix.O_CLOEXEC, 0)
	if err != nil {
		return &os.PathError{Op: "open", Path: ExecPath, Err: err}
	}
	defer unix.Close(fd)
	var b []byte
	if ctx != "" {
		b = append([]byte(ctx), 0) // with its NUL, as libselinux writes it
	}
	for {
		_, err = unix.Write(fd, b)
		if err != unix.EINTR {
			break
		}
	}
	if err != nil {
		op := "write"
		if ctx == "" {
			op = "clear"
		}
		return &os.PathError{Op: op, Path: ExecPath, Err: err}
	}
	return nil
}

// maxContext bounds a context read from the kernel (a page: the kernel's own limit for
// what it hands out through these nodes).
const maxContext = 4096

// Current returns the calling thread's context (libselinux getcon_raw), without the
// kernel's trailing NUL. It reads the node directly: go-selinux's reader first builds a
// private procfs instance (fsopen, fsmount) on first use, a mount at boot that costs more
// than everything else the handoff does under emulation.
func Current() (string, error) { return CurrentIn("/proc") }

// CurrentIn is Current with procfs mounted at procDir (<procDir>/thread-self/attr/current).
func CurrentIn(procDir string) (string, error) {
	path := filepath.Join(procDir, "thread-self", "attr", "current")
	fd, err := unix.Open(path, unix.O_RDONLY|unix.O_CLOEXEC, 0)
	if err != nil {
		return "", &os.PathError{Op: "open", Path: path, Err: err}
	}
	defer unix.Close(fd)
	buf := make([]byte, maxContext)
	var n int
	for {
		n, err = unix.Read(fd, buf)
		if err != unix.EINTR {
			break
		}
	}
	if err != nil {
		return "", &os.PathError{Op: "read", Path: path, Err: err}
	}
	return strings.TrimRight(string(buf[:n]), "\x00\n"), nil
}
