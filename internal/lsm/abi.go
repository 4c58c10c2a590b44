package lsm

import (
	"fmt"
	"structs"
)

// LSM identifiers.
//
// Matches Linux include/uapi/linux/lsm.h: LSM_ID_* (IMA, EVM and IPE since Linux 6.12/6.13).
const (
	LSM_ID_UNDEF      = 0
	LSM_ID_CAPABILITY = 100
	LSM_ID_SELINUX    = 101
	LSM_ID_SMACK      = 102
	LSM_ID_TOMOYO     = 103
	LSM_ID_APPARMOR   = 104
	LSM_ID_YAMA       = 105
	LSM_ID_LOADPIN    = 106
	LSM_ID_SAFESETID  = 107
	LSM_ID_LOCKDOWN   = 108
	LSM_ID_BPF        = 109
	LSM_ID_LANDLOCK   = 110
	LSM_ID_IMA        = 111
	LSM_ID_EVM        = 112
	LSM_ID_IPE        = 113
)

// LSM attributes.
//
// Matches Linux include/uapi/linux/lsm.h: LSM_ATTR_*.
const (
	LSM_ATTR_UNDEF      = 0
	LSM_ATTR_CURRENT    = 100
	LSM_ATTR_EXEC       = 101
	LSM_ATTR_FSCREATE   = 102
	LSM_ATTR_KEYCREATE  = 103
	LSM_ATTR_PREV       = 104
	LSM_ATTR_SOCKCREATE = 105
)

// LSM_ATTR_UNSHARE is the SELinux-namespace attribute. It is not in an upstream kernel yet:
// it comes from "[PATCH v2] lsm,uapi: introduce LSM_ATTR_UNSHARE" (2025-10-03) and the
// selinuxns libselinux branch (is_selinux_unshared, selinux_unshare). Other forks reuse 106
// (GrapheneOS: LSM_ATTR_GRAPHENEOS_FLAGS), which is harmless here because nsinit always asks
// with LSM_FLAG_SINGLE and LSM_ID_SELINUX, so only SELinux answers.
const LSM_ATTR_UNSHARE = 106

// Flags of lsm_get_self_attr.
//
// Matches Linux include/uapi/linux/lsm.h: LSM_FLAG_*.
const (
	// LSM_FLAG_SINGLE asks only the LSM named by the id field of the caller's buffer.
	LSM_FLAG_SINGLE = 0x0001
)

// CtxHeader is the fixed part of struct lsm_ctx; the ctx bytes (CtxLen of them) and any
// padding up to Len follow it. All fields are native-endian.
//
// Matches Linux include/uapi/linux/lsm.h:
//
//	struct lsm_ctx {
//		__u64 id;
//		__u64 flags;
//		__u64 len;
//		__u64 ctx_len;
//		__u8 ctx[] __counted_by(ctx_len);
//	};
type CtxHeader struct {
	_ structs.HostLayout

	// ID is the LSM that owns the entry (LSM_ID_*).
	ID uint64
	// Flags are LSM-specific; zero when unused.
	Flags uint64
	// Len is the size of the whole entry: header, ctx and padding.
	Len uint64
	// CtxLen is the size of the ctx value.
	CtxLen uint64
}

// CtxHeaderSize is sizeof(struct lsm_ctx), the header without the flexible ctx array.
const CtxHeaderSize = 32

// idNames are the names the kernel uses for each LSM (as in /sys/kernel/security/lsm and
// the lsm= boot parameter), indexed by LSM_ID_* - LSM_ID_CAPABILITY.
var idNames = [...]string{
	"capability", "selinux", "smack", "tomoyo", "apparmor", "yama", "loadpin",
	"safesetid", "lockdown", "bpf", "landlock", "ima", "evm", "ipe",
}

// IDName returns the kernel's name for an LSM id ("selinux" for LSM_ID_SELINUX), or
// "lsm-id-N" for an id this package does not know.
func IDName(id uint64) string {
	if id >= LSM_ID_CAPABILITY && id-LSM_ID_CAPABILITY < uint64(len(idNames)) {
		return idNames[id-LSM_ID_CAPABILITY]
	}
	return fmt.Sprintf("lsm-id-%d", id)
}

// UnshareCtxSize is the size nsinit passes to lsm_set_self_attr(LSM_ATTR_UNSHARE): a bare
// struct lsm_ctx (no ctx bytes), as libselinux's selinux_unshare() on the selinuxns branch
// does. The framework accepts size >= sizeof(struct lsm_ctx) and len <= size, len >=
// sizeof(struct lsm_ctx) + ctx_len.
const UnshareCtxSize = CtxHeaderSize
