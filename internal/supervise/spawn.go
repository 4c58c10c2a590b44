package supervise

import (
	"fmt"
	"runtime"
	"syscall"

	"go.uber.org/zap"

	"github.com/nsinit/nsinit/internal/procattr"
)

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
		if err := procattr.SetExec(label); err != nil {
			ch <- result{0, fmt.Errorf("set exec context %q: %w", label, err)}
			return
		}
		pid, err := syscall.ForkExec(path, argv, attr)
		if cerr := procattr.SetExec(""); cerr != nil {
			log.Warn("cannot clear the exec context; retiring the thread", zap.Error(cerr))
		} else {
			runtime.UnlockOSThread()
		}
		ch <- result{pid, err}
	}()
	r := <-ch
	return r.pid, r.err
}
