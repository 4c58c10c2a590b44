package vm

import (
	"fmt"
	"regexp"
	"strings"
)

// sdCheckPrefix starts the line the systemd scenario's unit prints on the console.
const sdCheckPrefix = "SDCHECK: "

// sdCheckUnit is the one unit the systemd scenario boots into (systemd.unit=): it reports
// PID 1's context and the enforce node on the console, then powers off without the
// rest of a shutdown (-ff: reboot(2) at once; nothing else was started).
const sdCheckUnit = `[Unit]
Description=nsinit VM check: PID 1's domain and the mode after systemd's SELinux setup
DefaultDependencies=no

[Service]
Type=oneshot
StandardOutput=tty
ExecStart=/bin/sh -c 'echo "` + sdCheckPrefix + `pid1=$(tr -d "\\000" </proc/1/attr/current) enforce=$(cat /sys/fs/selinux/enforce)"'
ExecStartPost=/bin/systemctl --force --force poweroff
`

// systemdImage turns the standard image into bookworm's minbase with systemd (contents
// and all, labelled on the host), /sbin/init its systemd, plus nsinit and the check unit.
func systemdImage(e Env, im *Image) error {
	im.Skeleton, im.Contents, im.SizeMB = e.MinbaseSystemd(), true, 512
	// The standard image's testinit would be written through the tree's /sbin/init link.
	im.Remove("sbin/init")
	im.Remove("usr/sbin/init")
	im.AddFile("etc/systemd/system/nsinit-check.service", 0o644, []byte(sdCheckUnit))
	return nil
}

// policyLoads matches the kernel's audit record of a policy load (AUDIT_MAC_POLICY_LOAD).
var policyLoads = regexp.MustCompile(`audit: type=1403 `)

// expectOneLoad checks the systemd boot: nsinit left the load to systemd, the kernel
// loaded a policy exactly once, and systemd (PID 1) runs in want with enforce.
func expectOneLoad(want, enforce string) func(*Result) error {
	return func(r *Result) error {
		if n := len(policyLoads.FindAllString(r.Console, -1)); n != 1 {
			return fmt.Errorf("%d policy loads (audit type=1403) on the console, want exactly 1", n)
		}
		if !strings.Contains(r.Console, "policy load left to") {
			return fmt.Errorf("nsinit did not leave the load to systemd (no \"policy load left to\" in its summary)")
		}
		_, line, ok := strings.Cut(r.Console, sdCheckPrefix)
		if !ok {
			return fmt.Errorf("the check unit never reported (%s)", r.Outcome())
		}
		line, _, _ = strings.Cut(line, "\n")
		if got := "pid1=" + want + " enforce=" + enforce; strings.TrimSpace(line) != got {
			return fmt.Errorf("check unit: %q, want %q", line, got)
		}
		if !r.PoweredOff {
			return fmt.Errorf("the guest did not power off (%s)", r.Outcome())
		}
		return nil
	}
}
