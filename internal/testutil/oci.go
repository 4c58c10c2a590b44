package testutil

import "testing"

// MinbaseSystemd returns the debootstrap --variant=minbase bookworm tree with systemd,
// systemd-sysv and dbus (provisioning step "systemd"): the root of test/oci's "nsinit before
// systemd" image. Tests must not modify it.
func MinbaseSystemd(tb testing.TB) string {
	tb.Helper()
	return cached(tb, "minbase-systemd", ".done")
}

// Missing skips or fails tb, as the package doc says, for a prerequisite the test found
// missing by trying it, such as a container runtime that cannot start any container here.
func Missing(tb testing.TB, why string) {
	tb.Helper()
	missing(tb, why)
}
