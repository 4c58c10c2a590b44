package main

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"strings"
	"syscall"

	"golang.org/x/sys/unix"
)

// policyPath is the policy the containers scenario loads into the host between phases.
const policyPath = "/etc/selinux/default/policy/policy.33"

// FreshDir is where one case points nsinit's --selinuxfs: nothing is mounted there, so
// detection mounts a fresh selinuxfs to look (and must unmount it again).
const freshDir = "/run/nsinit-sfs"

// containerCase is one run of nsinit as a container's PID 1.
type containerCase struct {
	name string
	env  []string
	args []string
	// host runs nsinit in testinit's own namespaces, as an admin's command on the host,
	// instead of as PID 1 of new PID and mount namespaces.
	host bool
}

// runContainers runs every case of the three host states and reports, for each, a line
//
//	TESTINIT: container: NAME exit=N before=STATE after=STATE
//
// preceded by nsinit's output, each line as "TESTINIT: container: NAME out: LINE".
func runContainers() {
	mountIfMissing("/sys/fs", "sysfs", "/sys", "sysfs")
	mountIfMissing(selinuxfs+"/enforce", "selinuxfs", selinuxfs, "selinuxfs")
	if err := os.MkdirAll(freshDir, 0o755); err != nil {
		note("mkdir %s: %v", freshDir, err)
	}
	// Debug: the checks read detection's evidence, a debug-level detail of the bring-up.
	plain := []string{"--log-level", "debug", "--root", "/", "--", "/sbin/init"}
	ns := []string{"SELINUXNS=1"}
	phase := func(prefix string) []containerCase {
		return []containerCase{{name: prefix, args: plain}, {name: prefix + "-selinuxns", env: ns, args: plain}}
	}
	run := func(cases []containerCase) {
		for _, c := range cases {
			runContainer(c)
		}
	}
	run(append(phase("nopolicy"), containerCase{name: "nopolicy-selinuxns-fresh", env: ns,
		args: append([]string{"--selinuxfs", freshDir}, plain...)}))
	for _, enforce := range []string{"0", "1"} {
		if _, err := loadPolicy(policyPath, enforce); err != nil {
			note("containers: load %s (enforce=%s): %v", policyPath, enforce, err)
			return
		}
		name := map[string]string{"0": "permissive", "1": "enforcing"}[enforce]
		run(phase(name))
	}
}

// runContainer runs /sbin/nsinit ARGS as PID 1 of new PID and mount namespaces (the mount
// namespace made private, as container runtimes and unshare(1) do).
func runContainer(c containerCase) {
	before := hostState()
	cmd := exec.Command("/sbin/nsinit", c.args...)
	cmd.Env = append([]string{"PATH=/usr/sbin:/usr/bin:/sbin:/bin", "TESTINIT_CHILD=1"}, c.env...)
	if !c.host {
		cmd.SysProcAttr = &syscall.SysProcAttr{Cloneflags: unix.CLONE_NEWPID, Unshareflags: unix.CLONE_NEWNS}
	}
	out, err := cmd.CombinedOutput()
	code := 0
	var ee *exec.ExitError
	switch {
	case errors.As(err, &ee):
		code = ee.ExitCode()
	case err != nil:
		code = -1
		note("container %s: %v", c.name, err)
	}
	sc := bufio.NewScanner(bytes.NewReader(out))
	for sc.Scan() {
		fmt.Printf("%scontainer: %s out: %s\n", prefix, c.name, sc.Text())
	}
	fmt.Printf("%scontainer: %s exit=%d before=%s after=%s\n", prefix, c.name, code, before, hostState())
}

// hostState is the host's SELinux state in one word: whether a policy is loaded (the
// class directory is empty until the first load), enforce, PID 1's context, the labels of
// /dev and /dev/null, whether a selinuxfs is mounted at freshDir, and whether the host's
// own selinuxfs is still mounted.
func hostState() string {
	classes := "none"
	if ents, err := os.ReadDir(selinuxfs + "/class"); err == nil && len(ents) > 0 {
		classes = "loaded"
	}
	enforce := "none"
	if b, err := os.ReadFile(selinuxfs + "/enforce"); err == nil {
		enforce = strings.TrimSpace(string(b))
	}
	init, _ := readAttr("/proc/1/attr/current")
	label := func(p string) string {
		l, err := getLabel(p)
		if err != nil {
			return "none"
		}
		return l
	}
	mounted := func(dir, yes string) string {
		var st unix.Statfs_t
		if unix.Statfs(dir, &st) == nil && uint32(st.Type) == uint32(unix.SELINUX_MAGIC) {
			return yes
		}
		return "unmounted"
	}
	return fmt.Sprintf("policy:%s,enforce:%s,init:%s,dev:%s,null:%s,fresh:%s,selinuxfs:%s",
		classes, enforce, orNone(init), label("/dev"), label("/dev/null"), mounted(freshDir, "selinuxfs"),
		mounted(selinuxfs, "mounted"))
}
