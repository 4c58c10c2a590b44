package testutil

import (
	"path/filepath"
	"testing"
)

// Trixie returns the directory of newer SELinux compilers unpacked by the provisioning step
// "trixie": bin/checkpolicy-34 and bin/secilc-34 (Debian 13, libsepol 3.8.1, writes up to
// policy version 34), bin/checkpolicy-35 and bin/secilc-35 (sid, 3.11, up to 35), and
// debian-policy/policy.{33,34,35}, Debian's built policy written at each version.
func Trixie(tb testing.TB) string {
	tb.Helper()
	return cached(tb, "trixie", ".done")
}

// TrixieTool returns the path of one of Trixie's wrapper scripts, e.g. "checkpolicy-35".
func TrixieTool(tb testing.TB, name string) string {
	tb.Helper()
	return filepath.Join(Trixie(tb), "bin", name)
}

// TrixieSetfiles returns Debian 13's setfiles (policycoreutils and libselinux 3.8) unpacked
// by the provisioning step "trixie_bench", behind a script that runs it through trixie's
// loader.
func TrixieSetfiles(tb testing.TB) string {
	tb.Helper()
	return filepath.Join(cached(tb, "trixie-bench", ".done"), "bin", "setfiles")
}
