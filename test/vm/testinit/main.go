// Command testinit is the "real init" of the VM tests: the program nsinit hands over to. It
// reports what it was given, in one marker line on the console, then powers the machine off:
//
//	TESTINIT: pid=1 context=system_u:system_r:init_t:s0 enforce=1 label=system_u:object_r:init_exec_t:s0 exe=/sbin/init maxrss=9876 argv=["/sbin/init"]
//
// context is /proc/self/attr/current, enforce is /sys/fs/selinux/enforce ("none" when
// selinuxfs cannot be read), label is the security.selinux xattr of its own executable,
// maxrss is getrusage(RUSAGE_SELF)'s peak resident set in KiB (the kernel carries it across
// execve, so it includes the programs that ran before in this process: nsinit's peak) and
// argv is its argument vector as a JSON array (always last: it may contain spaces). Then it
// relays every AVC record of the kernel log (/dev/kmsg, complete and not rate-limited,
// unlike the console) as "TESTINIT: avc: ..." and ends with "TESTINIT: poweroff", remounts
// the root read-only (so that a writable image is left clean for the host to read) and
// powers off.
//
// With TESTINIT_LABELS=1 it prints, after the marker line, "TESTINIT: label CONTEXT PATH"
// for every object of the root's filesystem.
//
// It mounts /proc, /sys and selinuxfs itself when they are missing, so it also works as the
// first program the kernel runs; mounting them changes no SELinux state.
//
// Reference loader (a control for the tests, independent of nsinit): when it runs as PID 1
// in the "kernel" context and TESTINIT_LOAD names a policy file, it loads that policy with
// one write(2) to selinuxfs, sets enforce to TESTINIT_ENFORCE (0 or 1, default 0), removes
// both variables and execs itself again by its argv[0], so that the kernel applies the
// policy's transition for the file's label.
//
// Containers (TESTINIT_CONTAINERS=1, as the machine's PID 1 with no policy loaded): it runs
// nsinit as PID 1 of containers (containers.go) on this host in three states, no policy,
// a policy loaded permissive, then enforcing, and reports each run and the host's SELinux
// state around it. As the init of such a container (TESTINIT_CHILD=1) it only prints one
// line and exits.
//
// Unshare (TESTINIT_UNSHARE=1, likewise): it runs nsinit's three ways into a new SELinux
// namespace (unshare.go) without a policy and with one enforcing, reported as containers.
package main

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"

	"golang.org/x/sys/unix"
)

const (
	selinuxfs = "/sys/fs/selinux"
	prefix    = "TESTINIT: "
)

func main() {
	if os.Getenv("TESTINIT_CHILD") == "1" {
		ctx, err := readAttr("/proc/self/attr/current")
		fmt.Printf("%scontainer-child pid=%d context=%s err=%v\n", prefix, os.Getpid(), orNone(ctx), err)
		return
	}
	mountIfMissing("/proc/self", "proc", "/proc", "proc")
	if os.Getenv("TESTINIT_CONTAINERS") == "1" && os.Getpid() == 1 {
		runContainers()
	}
	if os.Getenv("TESTINIT_UNSHARE") == "1" && os.Getpid() == 1 {
		runUnshare()
	}
	ctx, err := readAttr("/proc/self/attr/current")
	if err != nil {
		note("read attr/current: %v", err)
	}
	if policy := os.Getenv("TESTINIT_LOAD"); policy != "" && os.Getpid() == 1 && ctx == "kernel" {
		if err := referenceLoad(policy, os.Getenv("TESTINIT_ENFORCE")); err != nil {
			note("reference load failed: %v", err)
			powerOff()
		}
	}
	enforce := readEnforce()
	label := "none"
	if exe, err := os.Readlink("/proc/self/exe"); err == nil {
		if l, err := getLabel(exe); err == nil {
			label = l
		}
	}
	exe, _ := os.Readlink("/proc/self/exe")
	var ru unix.Rusage
	_ = unix.Getrusage(unix.RUSAGE_SELF, &ru)
	argv, _ := json.Marshal(os.Args)
	fmt.Fprintf(os.Stdout, "%spid=%d context=%s enforce=%s label=%s exe=%s maxrss=%d argv=%s\n",
		prefix, os.Getpid(), orNone(ctx), enforce, label, orNone(exe), ru.Maxrss, argv)
	if os.Getenv("TESTINIT_LABELS") == "1" {
		listLabels("/")
	}
	relayAVCs()
	powerOff()
}

// note prints an explanatory line that the harness keeps with the marker.
func note(format string, args ...any) {
	fmt.Fprintf(os.Stdout, prefix+"note: "+format+"\n", args...)
}

func orNone(s string) string {
	if s == "" {
		return "none"
	}
	return s
}

// mountIfMissing mounts fstype on target unless probe exists.
func mountIfMissing(probe, source, target, fstype string) {
	if _, err := os.Stat(probe); err == nil {
		return
	}
	_ = os.MkdirAll(target, 0o755)
	if err := unix.Mount(source, target, fstype, unix.MS_NOSUID|unix.MS_NODEV|unix.MS_NOEXEC, ""); err != nil {
		note("mount %s on %s: %v", fstype, target, err)
	}
}

// readAttr reads a /proc attr file; the kernel ends the value with a NUL byte.
func readAttr(path string) (string, error) {
	b, err := os.ReadFile(path)
	return strings.TrimRight(string(b), "\x00\n"), err
}

// readEnforce returns selinuxfs's enforce value, mounting sysfs and selinuxfs if needed.
func readEnforce() string {
	read := func() (string, error) {
		b, err := os.ReadFile(selinuxfs + "/enforce")
		return strings.TrimSpace(string(b)), err
	}
	if v, err := read(); err == nil {
		return v
	}
	mountIfMissing("/sys/fs", "sysfs", "/sys", "sysfs")
	mountIfMissing(selinuxfs+"/enforce", "selinuxfs", selinuxfs, "selinuxfs")
	v, err := read()
	if err != nil {
		note("read %s/enforce: %v", selinuxfs, err)
		return "none"
	}
	return v
}

// getLabel returns path's security.selinux attribute.
func getLabel(path string) (string, error) {
	buf := make([]byte, 256)
	n, err := unix.Getxattr(path, "security.selinux", buf)
	if err != nil {
		return "", err
	}
	return strings.TrimRight(string(buf[:n]), "\x00"), nil
}

// listLabels prints "label CONTEXT PATH" for every object of root's filesystem (it
// crosses no mount point: a root that is the initramfs itself, whose labels vanish with the
// machine, is read here for the host to compare with its oracle).
func listLabels(root string) {
	var rootSt unix.Stat_t
	if err := unix.Lstat(root, &rootSt); err != nil {
		note("lstat %s: %v", root, err)
		return
	}
	err := filepath.WalkDir(root, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			note("walk %s: %v", p, err)
			return nil
		}
		var st unix.Stat_t
		if err := unix.Lstat(p, &st); err != nil || st.Dev != rootSt.Dev {
			if d.IsDir() {
				return filepath.SkipDir
			}
			return nil
		}
		buf := make([]byte, 256)
		n, err := unix.Lgetxattr(p, "security.selinux", buf)
		ctx := "none"
		if err == nil {
			ctx = strings.TrimRight(string(buf[:n]), "\x00")
		}
		fmt.Fprintf(os.Stdout, "%slabel %s %s\n", prefix, ctx, p)
		return nil
	})
	if err != nil {
		note("walk %s: %v", root, err)
	}
}

// relayAVCs prints the AVC records in the kernel's log buffer. It uses raw read(2): the
// os package would park a non-blocking descriptor in the poller and wait instead of
// returning EAGAIN at the end of the buffer.
func relayAVCs() {
	fd, err := unix.Open("/dev/kmsg", unix.O_RDONLY|unix.O_NONBLOCK|unix.O_CLOEXEC, 0)
	if err != nil {
		note("open /dev/kmsg: %v", err)
		return
	}
	defer unix.Close(fd)
	buf := make([]byte, 8192)
	for {
		n, err := unix.Read(fd, buf)
		if errors.Is(err, unix.EPIPE) { // a record was overwritten: go on with the next
			continue
		}
		if err != nil || n <= 0 { // EAGAIN: the end of the buffer
			if err != nil && !errors.Is(err, unix.EAGAIN) {
				note("read /dev/kmsg: %v", err)
			}
			return
		}
		// A record is "prio,seq,time,flags;message\n" followed by continuation lines.
		rec := buf[:n]
		if i := bytes.IndexByte(rec, ';'); i >= 0 {
			msg := rec[i+1:]
			if j := bytes.IndexByte(msg, '\n'); j >= 0 {
				msg = msg[:j]
			}
			if bytes.Contains(msg, []byte("avc:")) {
				fmt.Fprintf(os.Stdout, "%savc: %s\n", prefix, msg)
			}
		}
	}
}

// referenceLoad loads the policy at path and sets enforce, then re-execs this program.
func referenceLoad(path, enforce string) error {
	if enforce == "" {
		enforce = "0"
	}
	policy, err := loadPolicy(path, enforce)
	if err != nil {
		return err
	}
	env := make([]string, 0, len(os.Environ()))
	for _, kv := range os.Environ() {
		if !strings.HasPrefix(kv, "TESTINIT_") {
			env = append(env, kv)
		}
	}
	fmt.Fprintf(os.Stdout, "%sreference loader: loaded %s (%d bytes), enforce=%s, exec %s\n",
		prefix, path, len(policy), enforce, os.Args[0])
	return unix.Exec(os.Args[0], os.Args, env)
}

// loadPolicy loads the policy at path with one write(2) and sets enforce ("0" or "1"); it
// returns the policy's bytes.
func loadPolicy(path, enforce string) ([]byte, error) {
	mountIfMissing("/sys/fs", "sysfs", "/sys", "sysfs")
	mountIfMissing(selinuxfs+"/load", "selinuxfs", selinuxfs, "selinuxfs")
	policy, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	if err := writeFile(selinuxfs+"/load", policy); err != nil {
		return nil, err
	}
	return policy, writeFile(selinuxfs+"/enforce", []byte(enforce))
}

// writeFile writes b to an existing file in one write(2), as selinuxfs requires.
func writeFile(path string, b []byte) error {
	f, err := os.OpenFile(path, os.O_WRONLY, 0)
	if err != nil {
		return err
	}
	if _, err := f.Write(b); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}

// powerOff remounts the root read-only (as any init's shutdown does: the journal is
// flushed and the filesystem marked clean, so a host can read what the guest wrote), then
// powers the machine off; as PID 1 it must not return.
func powerOff() {
	fmt.Fprintf(os.Stdout, "%spoweroff\n", prefix)
	unix.Sync()
	if err := unix.Mount("", "/", "", unix.MS_REMOUNT|unix.MS_RDONLY, ""); err != nil {
		note("remount / read-only: %v", err)
	}
	if err := unix.Reboot(unix.LINUX_REBOOT_CMD_POWER_OFF); err != nil {
		note("reboot(POWER_OFF): %v", err)
	}
	// Only reached if reboot failed or we are not PID 1: exiting PID 1 panics the kernel,
	// which ends the run as well (panic=-1, qemu -no-reboot).
	os.Exit(1)
}
