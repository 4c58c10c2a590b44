// Command loadmutants is the guest PID 1 of the kernel-as-oracle admission test
// (TestAdmissionOracle): it writes N deterministic mutants of the image's policy.33
// (package mutant, the seed and N from its arguments) to selinuxfs's load node, one write
// each, and reports the kernel's answer per mutant:
//
//	MUTANT: 17 begin
//	MUTANT: 17 loaded            (or: MUTANT: 17 refused errno=22)
//
// Kernel messages printed between the two lines belong to that mutant. First it times
// nsinit's admission check and the kernel's load of the unmutated policy
// ("MUTANT: check N µs", "MUTANT: kernel load N µs"). At the end it prints
// "MUTANT: done" and powers off. A successful load replaces the policy in force; the guest
// stays permissive (nothing sets enforce), so the next write is allowed whatever loaded.
package main

import (
	"errors"
	"fmt"
	"os"
	"strconv"
	"time"

	"github.com/nsinit/nsinit/internal/policydb"
	"github.com/nsinit/nsinit/internal/policydb/mutant"
	"golang.org/x/sys/unix"
)

const policy = "/etc/selinux/default/policy/policy.33"

func main() {
	defer powerOff()
	if len(os.Args) != 3 {
		fmt.Println("MUTANT: usage: loadmutants SEED N")
		return
	}
	seed, err1 := strconv.ParseUint(os.Args[1], 10, 64)
	n, err2 := strconv.Atoi(os.Args[2])
	if err := errors.Join(err1, err2); err != nil {
		fmt.Printf("MUTANT: %v\n", err)
		return
	}
	for _, m := range [][3]string{{"proc", "/proc", "proc"}, {"sysfs", "/sys", "sysfs"}, {"selinuxfs", "/sys/fs/selinux", "selinuxfs"}} {
		if err := unix.Mount(m[0], m[1], m[2], 0, ""); err != nil {
			fmt.Printf("MUTANT: mount %s: %v\n", m[1], err)
		}
	}
	data, err := os.ReadFile(policy)
	if err != nil {
		fmt.Printf("MUTANT: %v\n", err)
		return
	}
	// The cost comparison under TCG: nsinit's check and the kernel's load of the
	// unmutated policy, in the same guest.
	for j := 0; j < 3; j++ {
		start := time.Now()
		_, err := policydb.Analyze(data)
		fmt.Printf("MUTANT: check %d µs (%v)\n", time.Since(start).Microseconds(), err)
	}
	start := time.Now()
	err = load(data)
	fmt.Printf("MUTANT: kernel load %d µs (%v)\n", time.Since(start).Microseconds(), err)
	for i := 0; i < n; i++ {
		m := mutant.Mutate(data, seed, i)
		fmt.Printf("MUTANT: %d begin\n", i)
		if err := load(m.Data); err != nil {
			var errno unix.Errno
			errors.As(err, &errno)
			fmt.Printf("MUTANT: %d refused errno=%d\n", i, int(errno))
		} else {
			fmt.Printf("MUTANT: %d loaded\n", i)
		}
	}
	fmt.Println("MUTANT: done")
}

// load writes b to selinuxfs's load node in one write(2).
func load(b []byte) error {
	fd, err := unix.Open("/sys/fs/selinux/load", unix.O_WRONLY|unix.O_CLOEXEC, 0)
	if err != nil {
		return err
	}
	defer unix.Close(fd)
	_, err = unix.Write(fd, b)
	return err
}

// powerOff ends the guest; as PID 1 it must not return.
func powerOff() {
	unix.Sync()
	_ = unix.Reboot(unix.LINUX_REBOOT_CMD_POWER_OFF)
	os.Exit(1)
}
