package lsm

import (
	"errors"
	"os"
	"runtime"
	"syscall"
	"testing"

	"golang.org/x/sys/unix"
)

// onThrowawayThread runs f on a locked OS thread that is never unlocked, so that the Go
// runtime destroys it afterwards: a successful unshare must not leak into the test binary.
func onThrowawayThread(f func()) {
	done := make(chan struct{})
	go func() {
		runtime.LockOSThread()
		defer close(done)
		f()
	}()
	<-done
}

// TestUnshareReal makes the real call. The LSM framework checks flags, size and len before
// it routes the call by id, so on a kernel with the LSM syscalls and no SELinux namespaces
// the answer must be EOPNOTSUPP, never EINVAL or E2BIG: the kernel accepted our 32 bytes.
// The control, a len the framework must reject, shows the checks run here. On a namespace
// kernel the call succeeds and the same thread must then read as unshared.
func TestUnshareReal(t *testing.T) {
	var err, ctlErr, flagsErr error
	var unshared bool
	var askErr error
	onThrowawayThread(func() {
		bad := UnshareCtx()
		PutCtxHeader(bad, CtxHeader{ID: LSM_ID_SELINUX, Len: 31})
		ctlErr = SetSelfAttr(LSM_ATTR_UNSHARE, bad, 0)
		flagsErr = SetSelfAttr(LSM_ATTR_UNSHARE, UnshareCtx(), 1)
		err = Unshare()
		if err == nil {
			unshared, askErr = SELinuxUnshared()
		}
	})
	if errors.Is(err, unix.ENOSYS) {
		t.Skipf("kernel without LSM syscalls (Linux < 6.8): %v", err)
	}
	if !errors.Is(ctlErr, unix.EINVAL) || !errors.Is(flagsErr, unix.EINVAL) {
		t.Fatalf("len 31: %v, flags 1: %v; want EINVAL from the framework's checks", ctlErr, flagsErr)
	}
	if err == nil {
		if !unshared || askErr != nil {
			t.Fatalf("Unshare succeeded but the thread reads SELinuxUnshared = %v, %v", unshared, askErr)
		}
		t.Log("this kernel has SELinux namespaces: the unsharing thread reads as unshared")
		return
	}
	var se *os.SyscallError
	var errno syscall.Errno
	if !errors.As(err, &se) || se.Syscall != UnshareOp || !errors.As(err, &errno) {
		t.Fatalf("error %#v is not an *os.SyscallError(%s) around an errno", err, UnshareOp)
	}
	if errno == unix.EINVAL || errno == unix.E2BIG {
		t.Fatalf("the kernel rejected the lsm_ctx: %v", err)
	}
	if !selinuxEnabled(t) && errno != unix.EOPNOTSUPP {
		t.Fatalf("Unshare on a kernel without SELinux = %v; want EOPNOTSUPP", err)
	}
	if _, ok := unshareMeanings[errno]; !ok {
		t.Errorf("the kernel answered %v, which the meaning table does not explain", errno)
	}
	t.Logf("Unshare: %v: %s", err, UnshareErrorMeaning(errno, ""))
}
