package unshare

import (
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
)

// Needs says what the program nsinit execs will do in the new namespace, and so what
// Preflight checks before anything is changed.
type Needs int

const (
	// ExecOnly: `nsinit unshare -- CMD`; the program brings its namespace up itself.
	ExecOnly Needs = iota
	// BringUp: nsinit's own bring-up follows (`unshare --boot`, `--unshare`): it mounts a
	// fresh selinuxfs, which has no FS_USERNS_MOUNT, so it needs CAP_SYS_ADMIN in the
	// initial user namespace.
	BringUp
)

// Preflight checks, from <procDir>/self, what the sequence needs and the kernel would only
// answer after something changed: CAP_SYS_ADMIN in the effective set (unshare(CLONE_NEWNS),
// mount, umount), and for BringUp the initial user namespace. It returns an *Error naming
// what is missing and the runtime options that give it.
func Preflight(procDir string, n Needs) error {
	status := filepath.Join(procDir, "self", "status")
	b, err := os.ReadFile(status)
	if err != nil {
		return &Error{Step: "check the capabilities", Op: "read " + status, Err: err,
			Meaning: "cannot tell whether nsinit has CAP_SYS_ADMIN; procfs must be mounted at " + procDir}
	}
	caps, err := capEff(string(b))
	if err != nil {
		return &Error{Step: "check the capabilities", Op: "parse " + status, Err: err, Meaning: "no CapEff line the kernel writes"}
	}
	if caps&(1<<capSysAdmin) == 0 {
		return &Error{Step: "check the capabilities", Op: "CapEff in " + status, Err: fmt.Errorf("CapEff %016x", caps),
			Meaning: "nsinit lacks CAP_SYS_ADMIN, which unshare(CLONE_NEWNS), the mount and the umount of " +
				"selinuxfs need (docker/podman: --cap-add SYS_ADMIN, or --privileged; Kubernetes: " +
				"securityContext.capabilities.add: [SYS_ADMIN])"}
	}
	if n != BringUp {
		return nil
	}
	uidMap := filepath.Join(procDir, "self", "uid_map")
	b, err = os.ReadFile(uidMap)
	if err != nil {
		return &Error{Step: "check the user namespace", Op: "read " + uidMap, Err: err,
			Meaning: "cannot tell whether nsinit is in the initial user namespace; procfs must be mounted at " + procDir}
	}
	if m := strings.Join(strings.Fields(string(b)), " "); m != initialUIDMap {
		return &Error{Step: "check the user namespace", Op: "read " + uidMap, Err: fmt.Errorf("uid_map %q", m),
			Meaning: "nsinit runs in a user namespace: selinuxfs cannot be mounted there (it has no " +
				"FS_USERNS_MOUNT), so the bring-up could not reach the new SELinux namespace; run the " +
				"container without one (rootful podman/docker without --userns or userns-remap; " +
				"Kubernetes: hostUsers: true)"}
	}
	return nil
}

// capEff returns the CapEff mask of a /proc/PID/status text.
func capEff(status string) (uint64, error) {
	for _, l := range strings.Split(status, "\n") {
		if v, ok := strings.CutPrefix(l, "CapEff:"); ok {
			return strconv.ParseUint(strings.TrimSpace(v), 16, 64)
		}
	}
	return 0, fmt.Errorf("no CapEff line")
}
