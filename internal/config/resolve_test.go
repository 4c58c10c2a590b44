package config

import (
	"errors"
	"strings"
	"testing"
)

func TestResolve(t *testing.T) {
	cfg := func(m Mode, line int) *Config {
		return &Config{Path: "/etc/selinux/config", Found: true, Mode: m, ModeLine: line, Type: DefaultType}
	}
	cmd := func(m Mode) *Cmdline { return &Cmdline{Enforcing: m} }
	for _, tc := range []struct {
		name string
		in   Inputs
		mode Mode
		src  Source
	}{
		{"nothing", Inputs{}, ModePermissive, SourceDefault},
		{"missing config", Inputs{Config: &Config{Path: "/etc/selinux/config", Type: DefaultType}}, ModePermissive, SourceDefault},
		{"config", Inputs{Config: cfg(ModeEnforcing, 7)}, ModeEnforcing, "/etc/selinux/config:7 SELINUX="},
		{"config disabled", Inputs{Config: cfg(ModeDisabled, 2)}, ModeDisabled, "/etc/selinux/config:2 SELINUX="},
		{"cmdline over config", Inputs{Cmdline: cmd(ModePermissive), Config: cfg(ModeEnforcing, 1)}, ModePermissive, SourceCmdline},
		{"cmdline over unset config", Inputs{Cmdline: cmd(ModeEnforcing), Config: cfg(ModeUnset, 0)}, ModeEnforcing, SourceCmdline},
		{"cmdline without enforcing=", Inputs{Cmdline: &Cmdline{Init: "/x"}, Config: cfg(ModeEnforcing, 1)}, ModeEnforcing, "/etc/selinux/config:1 SELINUX="},
		{"cmdline does not override disabled", Inputs{Cmdline: cmd(ModeEnforcing), Config: cfg(ModeDisabled, 4)}, ModeDisabled,
			"/etc/selinux/config:4 SELINUX= (kernel command line enforcing= does not override disabled, as in libselinux)"},
		{"env over cmdline and config", Inputs{Env: "Permissive", Cmdline: cmd(ModeEnforcing), Config: cfg(ModeEnforcing, 1)}, ModePermissive, SourceEnv},
		{"env 1", Inputs{Env: "1"}, ModeEnforcing, SourceEnv},
		{"env overrides disabled", Inputs{Env: "enforcing", Config: cfg(ModeDisabled, 1)}, ModeEnforcing, SourceEnv},
		{"flag over everything", Inputs{Flag: ModeDisabled, Env: "enforcing", Cmdline: cmd(ModeEnforcing), Config: cfg(ModeEnforcing, 1)}, ModeDisabled, SourceFlag},
		{"flag over invalid env", Inputs{Flag: ModeEnforcing, Env: "bogus"}, ModeEnforcing, SourceFlag},
	} {
		m, src, err := Resolve(tc.in)
		if err != nil || m != tc.mode || src != tc.src {
			t.Errorf("%s: Resolve = %v, %q, %v; want %v, %q", tc.name, m, src, err, tc.mode, tc.src)
		}
	}
}

func TestResolveErrors(t *testing.T) {
	for _, in := range []Inputs{{Env: "enforce"}, {Env: " enforcing"}, {Flag: Mode(42)}} {
		m, _, err := Resolve(in)
		if err == nil || m != ModeUnset || !errors.Is(err, ErrInvalidMode) {
			t.Errorf("Resolve(%+v) = %v, %v; want an ErrInvalidMode error", in, m, err)
		}
		if in.Env != "" && !strings.Contains(err.Error(), EnvVar) {
			t.Errorf("error %q does not name %s", err, EnvVar)
		}
	}
}

func TestLayout(t *testing.T) {
	c := &Config{Type: "default"}
	for root, dir := range map[string]string{"": "/etc/selinux/default", "/": "/etc/selinux/default", "/mnt/r/": "/mnt/r/etc/selinux/default"} {
		l := c.Layout(root)
		if l.Dir != dir {
			t.Errorf("Layout(%q).Dir = %q, want %q", root, l.Dir, dir)
		}
	}
	l := c.Layout("/r")
	for got, want := range map[string]string{
		l.PolicyDir():         "/r/etc/selinux/default/policy",
		l.PolicyFile(33):      "/r/etc/selinux/default/policy/policy.33",
		l.ContextsDir():       "/r/etc/selinux/default/contexts",
		l.FileContexts():      "/r/etc/selinux/default/contexts/files/file_contexts",
		l.CustomizableTypes(): "/r/etc/selinux/default/contexts/customizable_types",
	} {
		if got != want {
			t.Errorf("got %q, want %q", got, want)
		}
	}
	// As libselinux, no cleaning: the type is concatenated as is.
	if got := (&Config{Type: "../x"}).Layout("/").PolicyDir(); got != "/etc/selinux/../x/policy" {
		t.Errorf("odd type: %q", got)
	}
}
