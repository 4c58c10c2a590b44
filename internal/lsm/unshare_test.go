package lsm

import (
	"bytes"
	"encoding/binary"
	"strings"
	"syscall"
	"testing"
)

// TestUnshareCtx checks the bytes against include/uapi/linux/lsm.h's struct lsm_ctx: four
// native-endian __u64 at offsets 0 (id), 8 (flags), 16 (len), 24 (ctx_len), no ctx bytes,
// with the values libselinux's selinux_unshare() passes.
func TestUnshareCtx(t *testing.T) {
	b := UnshareCtx()
	if len(b) != 32 || UnshareCtxSize != 32 {
		t.Fatalf("size %d (UnshareCtxSize %d), want 32 = sizeof(struct lsm_ctx)", len(b), UnshareCtxSize)
	}
	for _, f := range []struct {
		name string
		off  int
		want uint64
	}{{"id", 0, 101}, {"flags", 8, 0}, {"len", 16, 32}, {"ctx_len", 24, 0}} {
		if got := binary.NativeEndian.Uint64(b[f.off:]); got != f.want {
			t.Errorf("%s at offset %d = %d, want %d", f.name, f.off, got, f.want)
		}
	}
	want := make([]byte, 32)
	want[16] = 32 // len, little-endian
	want[0] = 101 // id
	if binary.NativeEndian.Uint16([]byte{1, 0}) == 1 && !bytes.Equal(b, want) {
		t.Errorf("bytes % x, want % x", b, want)
	}
	// The framework's own checks (security_setselfattr): size >= 32, len <= size,
	// len >= 32 + ctx_len, flags (the syscall's) = 0, and the SELinux id routes it.
	c, rest, err := DecodeCtx(b)
	if err != nil || len(rest) != 0 || c.ID != LSM_ID_SELINUX || c.Len != uint64(len(b)) {
		t.Errorf("DecodeCtx = %+v rest %d err %v", c, len(rest), err)
	}
	if LSM_ATTR_UNSHARE != 106 {
		t.Errorf("LSM_ATTR_UNSHARE = %d, want 106", LSM_ATTR_UNSHARE)
	}
}

func TestUnshareErrorMeaning(t *testing.T) {
	for _, tt := range []struct {
		errno syscall.Errno
		want  []string
	}{
		{syscall.ENOSYS, []string{"no LSM syscalls", "older than 6.8", "seccomp"}},
		{syscall.EOPNOTSUPP, []string{"no SELinux namespaces", "CONFIG_SECURITY_SELINUX_NS", "not in upstream Linux as of 7.3"}},
		{syscall.EACCES, []string{"process2 { unshare_selinuxns }", "allow container_t self:process2 unshare_selinuxns;", "(allow container_t self (process2 (unshare_selinuxns)))"}},
		{syscall.EPERM, []string{"seccomp", "allow container_t self:process2 unshare_selinuxns;"}},
		{syscall.EINVAL, []string{"flags, size or the lsm_ctx len", "not stable ABI"}},
		{syscall.E2BIG, []string{"larger than a page"}},
		{syscall.ENOSPC, []string{"maxns", "maxnsdepth"}},
		{syscall.ENOMEM, []string{"allocate"}},
		{syscall.EBADF, []string{"does not document", "bad file descriptor"}},
	} {
		got := UnshareErrorMeaning(tt.errno, "container_t")
		for _, w := range tt.want {
			if !strings.Contains(got, w) {
				t.Errorf("%v: %q lacks %q", tt.errno, got, w)
			}
		}
	}
	if got := UnshareErrorMeaning(syscall.EACCES, ""); !strings.Contains(got, "allow <the caller's domain> self:process2") {
		t.Errorf("unknown domain: %q", got)
	}
}
