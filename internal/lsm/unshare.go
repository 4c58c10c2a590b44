package lsm

import (
	"fmt"
	"strings"
	"syscall"
)

// UnshareOp names the unsharing call in errors and logs.
const UnshareOp = "lsm_set_self_attr(LSM_ATTR_UNSHARE)"

// UnshareCtx returns the exact bytes nsinit passes to lsm_set_self_attr(LSM_ATTR_UNSHARE):
// struct lsm_ctx {id = LSM_ID_SELINUX, flags = 0, len = 32, ctx_len = 0}, native-endian.
func UnshareCtx() []byte {
	b := make([]byte, UnshareCtxSize)
	PutCtxHeader(b, CtxHeader{ID: LSM_ID_SELINUX, Len: UnshareCtxSize})
	return b
}

// unshareMeanings is the one table of what lsm_set_self_attr(LSM_ATTR_UNSHARE)'s errnos
// mean (selinux-namespaces reference §1.1 and §6: the LSM framework's checks, the SELinux
// hook and its permission). {domain} is the caller's SELinux type.
var unshareMeanings = map[syscall.Errno]string{
	syscall.ENOSYS: "the kernel has no LSM syscalls: Linux older than 6.8 (on 6.8 or later, " +
		"a seccomp filter answered ENOSYS: systemd-nspawn's and podman's default profiles do)",
	syscall.EOPNOTSUPP: "this kernel has no SELinux namespaces: it needs the SELinux namespace " +
		"patches with CONFIG_SECURITY_SELINUX_NS=y, not in upstream Linux as of 7.3 (or SELinux " +
		"is not the active LSM)",
	syscall.EACCES: "the host policy denies process2 { unshare_selinuxns } to {domain}; add " +
		"`allow {domain} self:process2 unshare_selinuxns;` (CIL: " +
		"`(allow {domain} self (process2 (unshare_selinuxns)))`) to the host policy",
	syscall.EPERM: "the call was blocked: by a seccomp filter (Docker's default profile answers " +
		"EPERM; allow syscall 460, lsm_set_self_attr) or by the host policy, which must allow " +
		"`allow {domain} self:process2 unshare_selinuxns;` (CIL: " +
		"`(allow {domain} self (process2 (unshare_selinuxns)))`)",
	syscall.EINVAL: "the kernel rejected the request (flags, size or the lsm_ctx len): its " +
		"LSM_ATTR_UNSHARE interface differs from the one nsinit speaks (it is not stable ABI yet)",
	syscall.E2BIG: "the kernel rejected the size as larger than a page: its LSM_ATTR_UNSHARE " +
		"interface differs from the one nsinit speaks",
	syscall.ENOSPC: "the kernel's limit on SELinux namespaces was reached (maxns live " +
		"namespaces, or maxnsdepth nesting levels: /sys/fs/selinux/maxns, maxnsdepth)",
	syscall.ENOMEM: "the kernel could not allocate the new SELinux namespace",
}

// UnshareErrorMeaning says what errno from lsm_set_self_attr(LSM_ATTR_UNSHARE) means, for a
// caller whose SELinux type is domain ("" when unknown): the kernel's reason and what to
// change.
func UnshareErrorMeaning(errno syscall.Errno, domain string) string {
	if domain == "" {
		domain = "<the caller's domain>"
	}
	m, ok := unshareMeanings[errno]
	if !ok {
		return fmt.Sprintf("an error the SELinux namespace interface does not document (%v)", errno)
	}
	return strings.ReplaceAll(m, "{domain}", domain)
}
