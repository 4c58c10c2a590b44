package procattr

import (
	"errors"
	"os"
	"runtime"
	"strings"
	"testing"
)

// TestSetExecWithoutSELinux: on a kernel without SELinux the attribute cannot be set; the
// error names the node and the operation.
func TestSetExecWithoutSELinux(t *testing.T) {
	if b, _ := os.ReadFile("/proc/filesystems"); strings.Contains(string(b), "selinuxfs") {
		t.Skip("SELinux is available here; the failure case needs a kernel without it")
	}
	runtime.LockOSThread()
	defer runtime.UnlockOSThread()
	err := SetExec("system_u:system_r:init_t:s0")
	var pe *os.PathError
	if !errors.As(err, &pe) || pe.Path != ExecPath || pe.Op != "write" {
		t.Fatalf("SetExec on a kernel without SELinux = %v", err)
	}
}

// TestCurrent: Current reads what the node says, without the trailing NUL or newline, and
// an unreadable node is an error naming it.
func TestCurrent(t *testing.T) {
	raw, rerr := os.ReadFile(currentPath)
	got, err := Current()
	switch {
	case rerr != nil:
		if err == nil || !strings.Contains(err.Error(), currentPath) {
			t.Errorf("Current() = %q, %v; want an error naming %s (reading it fails: %v)", got, err, currentPath, rerr)
		}
	case err != nil:
		t.Errorf("Current(): %v; the node reads %q", err, raw)
	case got != strings.TrimRight(string(raw), "\x00\n") || strings.ContainsAny(got, "\x00\n"):
		t.Errorf("Current() = %q; the node reads %q", got, raw)
	}
}

// currentPath is the node Current reads.
const currentPath = "/proc/thread-self/attr/current"
