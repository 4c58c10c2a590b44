package detect

import (
	"strings"
	"unicode/utf8"
)

// labelKind classifies what /proc/.../attr/current holds.
type labelKind int

const (
	// labelNone: empty or unreadable.
	labelNone labelKind = iota
	// labelKernel: "kernel", SELinux's answer for SECINITSID_INIT before a policy is loaded
	// (at boot, and in a freshly unshared namespace).
	labelKernel
	// labelSELinux: a full SELinux context, user:role:type[:level]: a policy is loaded.
	labelSELinux
	// labelForeign: anything else, e.g. AppArmor's "unconfined" or "profile (enforce)", or a
	// Smack label: another LSM answers attr/current.
	labelForeign
)

// parseAttr returns the label in the bytes of an attr/current file. SELinux ends it with a
// NUL, AppArmor with a newline; both are trimmed.
func parseAttr(b []byte) string {
	return strings.TrimRight(string(b), "\x00\n")
}

// classifyLabel tells which kind of label s is.
func classifyLabel(s string) labelKind {
	switch {
	case s == "":
		return labelNone
	case s == "kernel":
		return labelKernel
	case isSELinuxContext(s):
		return labelSELinux
	default:
		return labelForeign
	}
}

// isSELinuxContext reports whether s has the shape of an SELinux security context:
// user:role:type, optionally followed by :level (which may itself hold colons, as in
// s0:c0.c1023), with no empty component and no whitespace or control characters. It is a
// syntactic check: only the kernel knows whether the context is valid in its policy.
func isSELinuxContext(s string) bool {
	if !utf8.ValidString(s) {
		return false
	}
	for _, r := range s {
		if r <= ' ' || r == 0x7f {
			return false
		}
	}
	parts := strings.SplitN(s, ":", 4)
	if len(parts) < 3 {
		return false
	}
	for _, p := range parts {
		if p == "" {
			return false
		}
	}
	return true
}

// hasSelinuxfs reports whether a /proc/filesystems listing ("nodev\tselinuxfs" lines)
// names selinuxfs. The kernel registers selinuxfs only when SELinux was enabled at boot.
func hasSelinuxfs(b []byte) bool {
	for line := range strings.Lines(string(b)) {
		f := strings.Fields(line)
		if len(f) > 0 && f[len(f)-1] == "selinuxfs" {
			return true
		}
	}
	return false
}

// parseLSMList splits /sys/kernel/security/lsm ("lockdown,capability,selinux") into names.
func parseLSMList(b []byte) []string {
	var names []string
	for n := range strings.SplitSeq(strings.TrimSpace(string(b)), ",") {
		if n = strings.TrimSpace(n); n != "" {
			names = append(names, n)
		}
	}
	return names
}
