package lsm

import (
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"golang.org/x/sys/unix"

	"github.com/nsinit/nsinit/internal/testutil"
)

func TestDecodeUnshared(t *testing.T) {
	reply := func(v byte) []byte { return entry(LSM_ID_SELINUX, 0, 40, 1, []byte{v}) }
	tests := []struct {
		name    string
		n       int
		buf     []byte
		size    uint32
		want    bool
		wantErr bool
	}{
		{name: "unshared", n: 1, buf: reply(1), size: 40, want: true},
		{name: "not unshared", n: 1, buf: reply(0), size: 40, want: false},
		{name: "no entry", n: 0, buf: reply(1), size: 40, wantErr: true},
		{name: "two entries", n: 2, buf: reply(1), size: 40, wantErr: true},
		{name: "size beyond buffer", n: 1, buf: reply(1), size: 41, wantErr: true},
		{name: "size cuts the entry", n: 1, buf: reply(1), size: 36, wantErr: true},
		{name: "size zero", n: 1, buf: reply(1), size: 0, wantErr: true},
		{name: "other LSM", n: 1, buf: entry(LSM_ID_SMACK, 0, 40, 1, []byte{1}), size: 40, wantErr: true},
		{name: "ctx_len 0", n: 1, buf: entry(LSM_ID_SELINUX, 0, 40, 0, []byte{1}), size: 40, wantErr: true},
		{name: "ctx_len 2", n: 1, buf: entry(LSM_ID_SELINUX, 0, 40, 2, []byte{1, 0}), size: 40, wantErr: true},
		{name: "value 2", n: 1, buf: reply(2), size: 40, wantErr: true},
		{name: "value 0xff", n: 1, buf: reply(0xff), size: 40, wantErr: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := decodeUnshared(tt.n, tt.buf, tt.size)
			if tt.wantErr {
				if !errors.Is(err, ErrUnexpectedReply) {
					t.Fatalf("decodeUnshared = %v, %v; want an error wrapping ErrUnexpectedReply", got, err)
				}
				return
			}
			if err != nil || got != tt.want {
				t.Fatalf("decodeUnshared = %v, %v; want %v", got, err, tt.want)
			}
		})
	}
}

// FuzzDecodeUnshared: any kernel answer is either a clean bool or an ErrUnexpectedReply,
// and true only for the one valid shape.
func FuzzDecodeUnshared(f *testing.F) {
	f.Add(1, entry(LSM_ID_SELINUX, 0, 40, 1, []byte{1}), uint32(40))
	f.Add(1, entry(LSM_ID_SELINUX, 0, 40, 1, []byte{0}), uint32(40))
	f.Add(2, entry(LSM_ID_SELINUX, 0, 40, 1, []byte{1}), uint32(41))
	f.Fuzz(func(t *testing.T, n int, buf []byte, size uint32) {
		v, err := decodeUnshared(n, buf, size)
		if err != nil {
			if !errors.Is(err, ErrUnexpectedReply) || v {
				t.Fatalf("decodeUnshared = %v, %v", v, err)
			}
			return
		}
		c, _, derr := DecodeCtx(buf[:size])
		if n != 1 || derr != nil || c.ID != LSM_ID_SELINUX || c.CtxLen != 1 || v != (c.Value[0] == 1) {
			t.Fatalf("accepted n=%d %+v (%v) as %v", n, c, derr, v)
		}
	})
}

// TestSELinuxUnsharedReal makes the real syscall. This host is not in an unshared SELinux
// namespace, so the answer is false or an error; without SELinux it must be EOPNOTSUPP
// (no LSM answers LSM_FLAG_SINGLE for LSM_ID_SELINUX), which detect treats as a fallback.
func TestSELinuxUnsharedReal(t *testing.T) {
	got, err := SELinuxUnshared()
	if errors.Is(err, unix.ENOSYS) {
		t.Skipf("kernel without LSM syscalls (Linux < 6.8): %v", err)
	}
	if err != nil {
		var se *os.SyscallError
		if !errors.As(err, &se) || !strings.HasPrefix(se.Syscall, "lsm_get_self_attr") {
			t.Fatalf("error %#v is not an *os.SyscallError naming lsm_get_self_attr", err)
		}
	}
	if !selinuxEnabled(t) {
		if !errors.Is(err, unix.EOPNOTSUPP) {
			t.Fatalf("SELinuxUnshared on a kernel without SELinux = %v, %v; want EOPNOTSUPP", got, err)
		}
		return
	}
	if got {
		t.Fatalf("SELinuxUnshared = true on the host: the test runs in an unshared SELinux namespace?")
	}
	t.Logf("SELinuxUnshared = %v, %v", got, err)
}

// TestGetSelfAttrReadsOurBuffer shows that the kernel reads the lsm_ctx id from the buffer
// we pass: with LSM_FLAG_SINGLE, id 0 is EINVAL, while LSM_ID_SELINUX reaches the LSM
// dispatch (an answer, or EOPNOTSUPP without SELinux).
func TestGetSelfAttrReadsOurBuffer(t *testing.T) {
	call := func(id uint64) (uint32, error) {
		buf := make([]byte, unshareBufSize)
		PutCtxHeader(buf, CtxHeader{ID: id, Len: unshareBufSize})
		size := uint32(len(buf))
		_, err := getSelfAttr(LSM_ATTR_UNSHARE, buf, &size, LSM_FLAG_SINGLE)
		return size, err
	}
	if _, err := call(LSM_ID_SELINUX); errors.Is(err, unix.ENOSYS) {
		t.Skipf("kernel without LSM syscalls: %v", err)
	}
	if _, err := call(LSM_ID_UNDEF); !errors.Is(err, unix.EINVAL) {
		t.Fatalf("id 0 with LSM_FLAG_SINGLE: %v, want EINVAL", err)
	}
	if _, err := call(LSM_ID_SELINUX); errors.Is(err, unix.EINVAL) {
		t.Fatalf("LSM_ID_SELINUX with LSM_FLAG_SINGLE: EINVAL, the kernel did not see our id")
	}
	buf := make([]byte, unshareBufSize)
	PutCtxHeader(buf, CtxHeader{ID: LSM_ID_SELINUX, Len: unshareBufSize})
	size := uint32(len(buf))
	if _, err := getSelfAttr(LSM_ATTR_UNSHARE, buf, &size, 2); !errors.Is(err, unix.EINVAL) {
		t.Fatalf("flags 2: %v, want EINVAL", err)
	}
}

// TestListModulesReal compares lsm_list_modules with securityfs's lsm file, the kernel's
// other report of the same list (mounted in a private mount namespace when needed).
func TestListModulesReal(t *testing.T) {
	ids, err := ListModules()
	if errors.Is(err, unix.ENOSYS) {
		t.Skipf("kernel without LSM syscalls: %v", err)
	}
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, id := range ids {
		got = append(got, IDName(id))
	}
	want := strings.Split(strings.TrimSpace(securityfsLSM(t)), ",")
	if !slices.Equal(got, want) {
		t.Fatalf("ListModules = %v, securityfs lsm = %v", got, want)
	}

	// A buffer too small: E2BIG and the size the kernel needs.
	_, size, err := listModules(make([]uint64, 1))
	if len(ids) > 1 && (!errors.Is(err, unix.E2BIG) || size != uint32(8*len(ids))) {
		t.Fatalf("listModules with 1 slot = size %d, %v; want E2BIG and %d", size, err, 8*len(ids))
	}
}

// securityfsLSM returns the content of securityfs's lsm file.
func securityfsLSM(t *testing.T) string {
	t.Helper()
	if b, err := os.ReadFile("/sys/kernel/security/lsm"); err == nil {
		return string(b)
	}
	testutil.RequireRoot(t)
	testutil.RequireTool(t, "unshare")
	mnt := filepath.Join(t.TempDir(), "securityfs")
	if err := os.Mkdir(mnt, 0o755); err != nil {
		t.Fatal(err)
	}
	out, err := exec.Command("unshare", "-m", "sh", "-c",
		`mount -t securityfs securityfs "$1" && cat "$1/lsm"`, "sh", mnt).Output()
	if err != nil {
		t.Fatalf("mount securityfs in a new mount namespace: %v", err)
	}
	return string(out)
}

// selinuxEnabled reports whether the running kernel has SELinux enabled, from
// /proc/filesystems (selinuxfs is registered only then).
func selinuxEnabled(t *testing.T) bool {
	t.Helper()
	b, err := os.ReadFile("/proc/filesystems")
	if err != nil {
		t.Fatal(err)
	}
	return strings.Contains(string(b), "\tselinuxfs\n")
}
