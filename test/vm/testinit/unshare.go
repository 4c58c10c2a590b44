package main

import (
	"fmt"

	"golang.org/x/sys/unix"
)

// unshareCases are nsinit's three ways into a new SELinux namespace: an admin's
// `nsinit unshare -- CMD` and `nsinit unshare --boot` on the host, and `nsinit --unshare`
// as a container's PID 1. The CMD and the init are testinit as a container child: it
// prints a line only if it runs, which it must not on a kernel without SELinux namespaces.
var unshareCases = []containerCase{
	{name: "unshare-cmd", args: []string{"unshare", "--", "/sbin/init"}, host: true},
	{name: "unshare-boot", args: []string{"unshare", "--boot", "--root", "/", "--", "/sbin/init"}, host: true},
	{name: "unshare-entrypoint", args: []string{"--unshare", "--root", "/", "--", "/sbin/init"}},
}

// runUnshare prints the kernel release (the expected errno depends on it), then runs the
// unshare cases with no policy loaded and again with the policy loaded enforcing, each
// reported as a container ("nopolicy-unshare-cmd", "enforcing-unshare-boot", ...).
func runUnshare() {
	var u unix.Utsname
	if err := unix.Uname(&u); err != nil {
		note("uname: %v", err)
	}
	fmt.Printf("%skernel release=%s\n", prefix, unix.ByteSliceToString(u.Release[:]))
	mountIfMissing("/sys/fs", "sysfs", "/sys", "sysfs")
	mountIfMissing(selinuxfs+"/enforce", "selinuxfs", selinuxfs, "selinuxfs")
	run := func(phase string) {
		for _, c := range unshareCases {
			c.name = phase + "-" + c.name
			runContainer(c)
		}
	}
	run("nopolicy")
	if _, err := loadPolicy(policyPath, "1"); err != nil {
		note("unshare: load %s (enforce=1): %v", policyPath, err)
		return
	}
	run("enforcing")
}
