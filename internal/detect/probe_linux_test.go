package detect

import (
	"errors"
	"fmt"
	"os"
	"os/exec"
	"strings"
	"testing"

	"golang.org/x/sys/unix"

	"github.com/nsinit/nsinit/internal/testutil"
)

// initialPIDNSByReadlink is the oracle: readlink(2) of /proc/self/ns/pid names the
// namespace "pid:[inode]", a different kernel path from the stat(2) InitialPIDNS uses.
func initialPIDNSByReadlink(t *testing.T) bool {
	t.Helper()
	l, err := os.Readlink("/proc/self/ns/pid")
	if err != nil {
		t.Fatal(err)
	}
	return l == fmt.Sprintf("pid:[%d]", procPIDInitIno)
}

func TestInitialPIDNSReal(t *testing.T) {
	got, err := InitialPIDNS("/proc")
	if err != nil {
		t.Fatal(err)
	}
	if want := initialPIDNSByReadlink(t); got != want {
		t.Fatalf("InitialPIDNS = %v, readlink oracle says %v", got, want)
	}
	if _, err := InitialPIDNS(t.TempDir()); !errors.Is(err, os.ErrNotExist) {
		t.Fatalf("InitialPIDNS on an empty dir: %v, want a not-exist *os.PathError", err)
	}
	// DefaultEnv's probe is this function on /proc.
	if got2, err := DefaultEnv().InitialPIDNS(); got2 != got || err != nil {
		t.Fatalf("DefaultEnv().InitialPIDNS() = %v, %v; want %v", got2, err, got)
	}
}

// helperEnv makes the test binary act as TestHelperInPIDNS's child.
const helperEnv = "NSINIT_DETECT_HELPER"

// TestInitialPIDNSInNewPIDNamespace runs this test binary as PID 1 of a new PID namespace
// (unshare -p -f --mount-proc) and checks that it is seen as not initial, so that a
// container's PID 1 is never taken for the kernel's.
func TestInitialPIDNSInNewPIDNamespace(t *testing.T) {
	testutil.RequireRoot(t)
	testutil.RequireTool(t, "unshare")
	cmd := exec.Command("unshare", "-p", "-f", "--mount-proc", os.Args[0], "-test.run=^TestHelperInPIDNS$", "-test.count=1")
	cmd.Env = append(os.Environ(), helperEnv+"=1")
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("helper: %v\n%s", err, out)
	}
	for _, want := range []string{"pid=1 ", "initial=false err=<nil>", "oracle=false", "pid 1 in a non-initial PID namespace"} {
		if !strings.Contains(string(out), want) {
			t.Errorf("helper output lacks %q:\n%s", want, out)
		}
	}
}

// TestHelperInPIDNS is the child of TestInitialPIDNSInNewPIDNamespace; it does nothing in
// a normal run.
func TestHelperInPIDNS(t *testing.T) {
	if os.Getenv(helperEnv) != "1" {
		return
	}
	initial, err := InitialPIDNS("/proc")
	fmt.Printf("pid=%d initial=%v err=%v oracle=%v\n", os.Getpid(), initial, err, initialPIDNSByReadlink(t))
	r := Detect(DefaultEnv(), Options{})
	fmt.Printf("verdict=%v\n%s\n", r.Verdict, strings.Join(r.Evidence, "\n"))
}

// TestDetectHost runs Detect with the real probes. On a kernel without SELinux (this
// project's development host) the verdict must be Unavailable with a reason, and the LSM
// syscall's failure must appear in the evidence as a fallback. Hosts with SELinux are
// covered by the qemu suite.
func TestDetectHost(t *testing.T) {
	b, err := os.ReadFile("/proc/filesystems")
	if err != nil {
		t.Fatal(err)
	}
	if strings.Contains(string(b), "selinuxfs") {
		t.Skip("this host has SELinux; the real-kernel (qemu) suite covers it")
	}
	r := Detect(DefaultEnv(), Options{})
	log := fmt.Sprintf("%v %q\n  %s\nreason: %s", r.Verdict, r.Signal, strings.Join(r.Evidence, "\n  "), r.Reason)
	if r.Verdict != Unavailable || !strings.Contains(r.Reason, "selinuxfs") || r.Signal != "no selinuxfs in /proc/filesystems" {
		t.Fatalf("want unavailable for lack of selinuxfs:\n%s", log)
	}
	want := "(EOPNOTSUPP: SELinux did not answer"
	if lsmSyscallsMissing() {
		want = "has no LSM syscalls (they came in 6.8)"
	}
	if !containsLine(r.Evidence, want) || !containsLine(r.Evidence, "falling back to") {
		t.Fatalf("evidence lacks %q and the fallback:\n%s", want, log)
	}
	if !containsLine(r.Evidence, "active LSMs: ") {
		t.Fatalf("evidence lacks the active LSMs:\n%s", log)
	}
	t.Logf("\n%s", log)
}

// lsmSyscallsMissing reports whether the kernel lacks the LSM syscalls (Linux < 6.8).
func lsmSyscallsMissing() bool {
	_, _, e := unix.Syscall(unix.SYS_LSM_LIST_MODULES, 0, 0, 0)
	return e == unix.ENOSYS
}

// TestKernelRelease compares uname(2) with procfs's osrelease, another kernel path.
func TestKernelRelease(t *testing.T) {
	got, err := KernelRelease()
	if err != nil {
		t.Fatal(err)
	}
	b, err := os.ReadFile("/proc/sys/kernel/osrelease")
	if err != nil {
		t.Fatal(err)
	}
	if want := strings.TrimSpace(string(b)); got != want {
		t.Fatalf("KernelRelease = %q, osrelease says %q", got, want)
	}
}
