// Package unshare gives a process its own SELinux namespace and execs a program in it: the
// host side of nsinit (`nsinit unshare`, `nsinit unshare --boot`, the entrypoint's
// `--unshare`). The sequence is libselinux's unshareselinux (selinuxns branch):
// unshare(CLONE_NEWNS), make / recursively private, lsm_set_self_attr(LSM_ATTR_UNSHARE),
// unmount the inherited selinuxfs (which shows the parent namespace; a failure is only a
// warning), exec.
//
// The SELinux unshare changes only the calling thread's credentials, so Run locks the
// goroutine to its OS thread and never unlocks it: every step from the unshare to the exec
// runs on that thread, and the exec gives the new program, all of whose threads are cloned
// from it, the new namespace. Sys is the only seam to the kernel.
package unshare
