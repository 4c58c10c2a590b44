package config

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestParseCmdline(t *testing.T) {
	for _, tc := range []struct {
		in   string
		want Cmdline
	}{
		{"", Cmdline{}},
		{"BOOT_IMAGE=/vmlinuz root=/dev/sda1 ro quiet\n", Cmdline{}},
		{"enforcing=1", Cmdline{Enforcing: ModeEnforcing}},
		{"ro enforcing=0\n", Cmdline{Enforcing: ModePermissive}},
		// libselinux ≥ 3.10: the last valid occurrence wins.
		{"enforcing=1 enforcing=0", Cmdline{Enforcing: ModePermissive}},
		{"enforcing=0 enforcing=1", Cmdline{Enforcing: ModeEnforcing}},
		// Only at a word start; a later valid one still counts (< 3.10 ignored it).
		{"xenforcing=1", Cmdline{}},
		{"xenforcing=0 enforcing=1", Cmdline{Enforcing: ModeEnforcing}},
		{"enforcing=1 selinux.enforcing=0", Cmdline{Enforcing: ModeEnforcing}},
		{"a\tenforcing=1", Cmdline{Enforcing: ModeEnforcing}},
		// strtol(…, 0): any base, sign, leading blanks; not a number is 0.
		{"enforcing=2", Cmdline{Enforcing: ModeEnforcing}},
		{"enforcing=-1", Cmdline{Enforcing: ModeEnforcing}},
		{"enforcing=0x1", Cmdline{Enforcing: ModeEnforcing}},
		{"enforcing=0x0", Cmdline{Enforcing: ModePermissive}},
		{"enforcing=0x", Cmdline{Enforcing: ModePermissive}},
		{"enforcing=010", Cmdline{Enforcing: ModeEnforcing}},
		{"enforcing=08", Cmdline{Enforcing: ModePermissive}}, // octal: "0" then stop at 8
		{"enforcing=00", Cmdline{Enforcing: ModePermissive}},
		{"enforcing=1abc", Cmdline{Enforcing: ModeEnforcing}},
		{"enforcing=on", Cmdline{Enforcing: ModePermissive}},
		{"enforcing=", Cmdline{Enforcing: ModePermissive}},
		{"enforcing= 1", Cmdline{Enforcing: ModeEnforcing}}, // strtol skips the blank
		{"enforcing=+0", Cmdline{Enforcing: ModePermissive}},
		{"enforcing=99999999999999999999999", Cmdline{Enforcing: ModeEnforcing}},
		// Substring semantics: after "--" and inside quotes it still counts for libselinux.
		{"ro -- enforcing=1", Cmdline{Enforcing: ModeEnforcing}},
		{`x="a enforcing=1"`, Cmdline{Enforcing: ModeEnforcing}},
		// Only the first line, and only up to a NUL.
		{"ro\nenforcing=1", Cmdline{}},
		{"ro\x00 enforcing=1", Cmdline{}},
		// init=: the kernel's last one, quotes removed; none after "--".
		{"init=/sbin/init", Cmdline{Init: "/sbin/init"}},
		{"init=/a init=/b", Cmdline{Init: "/b"}},
		{`init="/my init"`, Cmdline{Init: "/my init"}},
		{`"init=/my init" ro`, Cmdline{Init: "/my init"}},
		{"init=/a -- init=/b", Cmdline{Init: "/a"}},
		{"rdinit=/init", Cmdline{}},
		{"init=", Cmdline{}},
		{"=init=/x", Cmdline{}}, // a leading '=' is part of the name for the kernel
		{"autorelabel", Cmdline{Autorelabel: true}},
		{"autorelabel=1", Cmdline{Autorelabel: true}},
		{"autorelabel=0", Cmdline{}},
		{"noautorelabel", Cmdline{}},
		{"-- autorelabel", Cmdline{}},
		{"BOOT_IMAGE=/vmlinuz-6.1.0 root=UUID=x ro security=selinux selinux=1 enforcing=1 autorelabel init=/usr/sbin/nsinit -- /sbin/init\n",
			Cmdline{Enforcing: ModeEnforcing, Init: "/usr/sbin/nsinit", Autorelabel: true}},
	} {
		if got := ParseCmdline(tc.in); got != tc.want {
			t.Errorf("ParseCmdline(%q) = %+v, want %+v", tc.in, got, tc.want)
		}
	}
}

// TestCmdlineOnePage checks libselinux's one-page fgets: enforcing= past it is not read.
func TestCmdlineOnePage(t *testing.T) {
	pad := strings.Repeat("a", pageSize-1-len(" enforcing=1"))
	if got := ParseCmdline(pad + " enforcing=1"); got.Enforcing != ModeEnforcing {
		t.Errorf("enforcing= ending at byte %d: got %v", pageSize-1, got.Enforcing)
	}
	if got := ParseCmdline(pad + "a enforcing=1"); got.Enforcing != ModePermissive {
		t.Errorf("enforcing= cut after '=': got %v, want permissive (empty value)", got.Enforcing)
	}
	if got := ParseCmdline(pad + "aa enforcing=1"); got.Enforcing != ModeUnset {
		t.Errorf("enforcing= past the page: got %v", got.Enforcing)
	}
}

func FuzzParseCmdline(f *testing.F) {
	for _, s := range []string{"", "enforcing=1", "init=/a -- x", `"init=/a b" enforcing=0x`, "autorelabel", "=\"", "\"", "enforcing=-0x1f"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		c := ParseCmdline(s)
		if !c.Enforcing.valid() || c.Enforcing != ModeUnset && !strings.Contains(s, "enforcing=") {
			t.Fatalf("enforcing %v from %q", c.Enforcing, s)
		}
		if c.Init != "" && !strings.Contains(s, "init=") {
			t.Fatalf("init %q from %q", c.Init, s)
		}
	})
}

func TestReadCmdline(t *testing.T) {
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "cmdline"), []byte("console=ttyS0 enforcing=1 autorelabel init=/sbin/nsinit\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	c, err := ReadCmdline(dir)
	if err != nil || c.Enforcing != ModeEnforcing || !c.Autorelabel || c.Init != "/sbin/nsinit" {
		t.Fatalf("ReadCmdline = %+v, %v", c, err)
	}
	if _, err := ReadCmdline(filepath.Join(dir, "missing")); !errors.Is(err, os.ErrNotExist) {
		t.Fatalf("ReadCmdline of a missing procfs = %v", err)
	}
}
