package unshare

// capSysAdmin is CAP_SYS_ADMIN's bit in the capability sets of /proc/PID/status: needed for
// unshare(CLONE_NEWNS), for mount(2) and umount(2), and (in the initial user namespace) for
// the bring-up's fresh selinuxfs mount.
//
// Matches Linux include/uapi/linux/capability.h: CAP_SYS_ADMIN.
const capSysAdmin = 21

// initialUIDMap is /proc/PID/uid_map in the initial user namespace: the identity map of
// every uid (user_namespaces(7)), as the kernel prints it.
const initialUIDMap = "0 0 4294967295"
