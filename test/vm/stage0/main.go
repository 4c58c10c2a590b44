// Command stage0 is the test harness's pre-init: the /init of the initramfs that the VM
// tests boot. It does what a distribution's initramfs does before handing over to the real
// root, and nothing more:
//
//  1. mounts devtmpfs on /dev (the kernel only does that for a real root, not for rootfs);
//  2. loads the kernel modules in /modules with finit_module(2), in file-name order (the
//     harness numbers them in dependency order, read from each module's depends= and
//     softdep=); a .ko.xz is handed over compressed with MODULE_INIT_COMPRESSED_FILE and
//     the kernel decompresses it (CONFIG_MODULE_DECOMPRESS, Debian's 7.x);
//  3. waits for /dev/vda, mounts it (ext4) on /newroot and moves /dev there;
//  4. switches root the way an initramfs must (rootfs cannot be pivot_root'ed): chdir into
//     the new root, move-mount it over /, chroot(".");
//  5. execs the next init, /sbin/nsinit unless STAGE0_INIT names another, with stage0's own
//     arguments, or with the NUL-terminated arguments in /stage0.args when that file exists
//     (the kernel command line cannot carry a literal "--" or an argument with spaces).
//
// The PID stays 1 and no policy is loaded, so /proc/self/attr/current still reads "kernel":
// the next init sees exactly what it would see after a real initramfs. stage0 deliberately
// does not mount /proc or /sys; that is nsinit's job.
//
// Environment (from KEY=VALUE words on the kernel command line), removed before the exec:
//
//	STAGE0_INIT     program to exec instead of /sbin/nsinit
//	STAGE0_SIGNALS  1: a copy of stage0 sends PID 1 every non-aborting signal during the
//	                bring-up (signals.go)
//
// On any failure stage0 prints one line starting with "stage0: error:" and powers the machine
// off, so the harness sees the reason at once instead of waiting for its timeout.
package main

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"time"

	"golang.org/x/sys/unix"
)

const (
	modulesDir = "/modules"     // kernel modules, loaded in name order
	argsFile   = "/stage0.args" // optional NUL-terminated argv for the next init
	rootDev    = "/dev/vda"     // the virtio disk holding the ext4 root
	newRoot    = "/newroot"     // where the root is mounted before the switch
	defaultRun = "/sbin/nsinit" // the next init unless STAGE0_INIT says otherwise
	devWait    = 20 * time.Second
)

func main() {
	if isSignaller() {
		signaller()
		return
	}
	start := time.Now()
	if err := run(start); err != nil {
		fmt.Fprintf(os.Stderr, "stage0: error: %v\n", err)
		unix.Sync()
		_ = unix.Reboot(unix.LINUX_REBOOT_CMD_POWER_OFF)
		// Powering off failed: returning from PID 1 panics the kernel, which with
		// panic=-1 and qemu's -no-reboot also ends the run.
		os.Exit(1)
	}
}

func run(start time.Time) error {
	target := os.Getenv("STAGE0_INIT")
	if target == "" {
		target = defaultRun
	}
	args, err := nextArgs(os.Args[1:])
	if err != nil {
		return err
	}
	if err := unix.Mount("devtmpfs", "/dev", "devtmpfs", unix.MS_NOSUID, "mode=0755"); err != nil && !errors.Is(err, unix.EBUSY) {
		return fmt.Errorf("mount devtmpfs on /dev: %w", err)
	}
	n, err := loadModules(modulesDir)
	if err != nil {
		return err
	}
	if err := waitFor(rootDev, devWait); err != nil {
		return err
	}
	if err := unix.Mount(rootDev, newRoot, "ext4", 0, ""); err != nil {
		return fmt.Errorf("mount %s (ext4) on %s: %w", rootDev, newRoot, err)
	}
	if err := unix.Mount("/dev", filepath.Join(newRoot, "dev"), "", unix.MS_MOVE, ""); err != nil {
		return fmt.Errorf("move /dev to %s/dev: %w", newRoot, err)
	}
	if err := startSignaller(); err != nil {
		return err
	}
	if err := switchRoot(newRoot); err != nil {
		return err
	}
	env := make([]string, 0, len(os.Environ()))
	for _, kv := range os.Environ() {
		if !strings.HasPrefix(kv, "STAGE0_") {
			env = append(env, kv)
		}
	}
	argv := append([]string{target}, args...)
	fmt.Fprintf(os.Stderr, "stage0: loaded %d modules, mounted %s (ext4) as /, exec %q after %v\n",
		n, rootDev, argv, time.Since(start).Round(time.Millisecond))
	if err := unix.Exec(target, argv, env); err != nil {
		return fmt.Errorf("exec %s: %w", target, err)
	}
	return nil
}

// nextArgs returns the next init's arguments: the NUL-terminated words of argsFile when it
// exists, else kernelArgs unchanged.
func nextArgs(kernelArgs []string) ([]string, error) {
	b, err := os.ReadFile(argsFile)
	if errors.Is(err, os.ErrNotExist) {
		return kernelArgs, nil
	}
	if err != nil {
		return nil, err
	}
	// Each argument is terminated by a NUL byte, so an empty file is no argument and an
	// empty argument survives.
	if len(b) == 0 {
		return nil, nil
	}
	if b[len(b)-1] != 0 {
		return nil, fmt.Errorf("%s: the last argument is not NUL-terminated", argsFile)
	}
	return strings.Split(string(b[:len(b)-1]), "\x00"), nil
}

// loadModules loads every *.ko and *.ko.xz in dir in name order and returns how many it
// loaded. A module that is already present (EEXIST) counts as loaded.
func loadModules(dir string) (int, error) {
	var names []string
	for _, pattern := range []string{"*.ko", "*.ko.xz"} {
		m, err := filepath.Glob(filepath.Join(dir, pattern))
		if err != nil {
			return 0, err
		}
		names = append(names, m...)
	}
	sort.Strings(names)
	for _, name := range names {
		f, err := os.Open(name)
		if err != nil {
			return 0, err
		}
		flags := 0
		if strings.HasSuffix(name, ".xz") {
			flags = unix.MODULE_INIT_COMPRESSED_FILE
		}
		err = unix.FinitModule(int(f.Fd()), "", flags)
		f.Close()
		if err != nil && !errors.Is(err, unix.EEXIST) {
			return 0, &os.PathError{Op: "finit_module", Path: name, Err: err}
		}
	}
	return len(names), nil
}

// waitFor polls until path exists: devtmpfs creates the node when the driver has probed
// the device, which happens asynchronously after the module is loaded.
func waitFor(path string, limit time.Duration) error {
	deadline := time.Now().Add(limit)
	for {
		_, err := os.Stat(path)
		if err == nil {
			return nil
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("%s did not appear within %v: %w", path, limit, err)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// switchRoot makes dir the root of the process, the way switch_root(8) does from an
// initramfs: rootfs cannot be unmounted or pivoted, so the new root is moved over it.
func switchRoot(dir string) error {
	if err := unix.Chdir(dir); err != nil {
		return &os.PathError{Op: "chdir", Path: dir, Err: err}
	}
	if err := unix.Mount(".", "/", "", unix.MS_MOVE, ""); err != nil {
		return fmt.Errorf("move %s to /: %w", dir, err)
	}
	if err := unix.Chroot("."); err != nil {
		return &os.PathError{Op: "chroot", Path: dir, Err: err}
	}
	if err := unix.Chdir("/"); err != nil {
		return &os.PathError{Op: "chdir", Path: "/", Err: err}
	}
	return nil
}
