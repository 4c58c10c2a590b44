package supervise

import (
	"fmt"
	"os"
	"runtime"
	"syscall"

	"go.uber.org/zap"
	"golang.org/x/sys/unix"
)

// attrExec is the calling thread's SELinux exec context (the kernel's
// /proc/<pid>/task/<tid>/attr/exec, security/selinux/hooks.c selinux_setprocattr): the
// context the next execve of that thread, or of a process it forks, transitions to. It is
// per thread, so it is only meaningful with the thread locked.
const attrExec = "/proc/thread-self/attr/exec"

// spawn forks and executes the application at path with argv and env, sharing the
// supervisor's standard streams, and returns its pid. With a label the fork happens on a
// locked OS thread whose exec context holds it.
func spawn(path string, argv, env []string, label string, pgrp bool, log *zap.Logger) (int, error) {
	attr := &syscall.ProcAttr{
		Env:   env,
		Files: []uintptr{0, 1, 2},
		Sys:   &syscall.SysProcAttr{Setpgid: pgrp},
	}
	if label == "" {
		return syscall.ForkExec(path, argv, attr)
	}
	type result struct {
		pid int
		err error
	}
	ch := make(chan result, 1)
	go func() {
		// The label lives in this thread's credentials from the write until the clear, and
		// a process forked from here inherits them. If the clear fails the goroutine ends
		// still locked, and the runtime then retires the thread instead of reusing it.
		runtime.LockOSThread()
		if err := writeAttrExec(label); err != nil {
			ch <- result{0, fmt.Errorf("set exec context %q: %w", label, err)}
			return
		}
		pid, err := syscall.ForkExec(path, argv, attr)
		if cerr := writeAttrExec(""); cerr != nil {
			log.Warn("cannot clear the exec context; retiring the thread", zap.Error(cerr))
		} else {
			runtime.UnlockOSThread()
		}
		ch <- result{pid, err}
	}()
	r := <-ch
	return r.pid, r.err
}

// writeAttrExec sets the calling thread's exec context to label, or clears it when label
// is empty (libselinux setexeccon(NULL) writes zero bytes). The node is opened without
// O_CREAT: it must be the kernel's, never a file someone created in its place.
func writeAttrExec(label string) error {
	fd, err := unix.Open(attrExec, unix.O_WRONLY|unix.O_CLOEXEC, 0)
	if err != nil {
		return &os.PathError{Op: "open", Path: attrExec, Err: err}
	}
	defer unix.Close(fd)
	var b []byte
	if label != "" {
		// libselinux writes the terminating NUL too; the kernel strips it.
		b = append([]byte(label), 0)
	}
	for {
		_, err = unix.Write(fd, b)
		if err != unix.EINTR {
			break
		}
	}
	if err != nil {
		op := "write"
		if label == "" {
			op = "clear"
		}
		return &os.PathError{Op: op, Path: attrExec, Err: err}
	}
	return nil
}
