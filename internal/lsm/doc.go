// Package lsm is nsinit's thin layer over the kernel's LSM userspace API (Linux 6.8+):
// the constants and struct lsm_ctx of include/uapi/linux/lsm.h, which golang.org/x/sys only
// provides as syscall numbers, a decoder for lsm_ctx buffers, and wrappers for the two
// questions nsinit asks: "was my SELinux namespace unshared, and is it still without a
// policy?" (lsm_get_self_attr with LSM_ATTR_UNSHARE) and "which LSMs are active?"
// (lsm_list_modules).
//
// SELinux attributes belong to a thread's credentials, not to the process: callers that
// combine an answer from this package with other per-thread observations (for example
// /proc/thread-self/attr/current) should hold runtime.LockOSThread around them.
package lsm
