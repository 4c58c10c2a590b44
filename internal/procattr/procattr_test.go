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
