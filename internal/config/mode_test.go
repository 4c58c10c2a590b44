package config

import (
	"errors"
	"testing"
)

func TestParseMode(t *testing.T) {
	for _, tc := range []struct {
		in   string
		want Mode
		ok   bool
	}{
		{"enforcing", ModeEnforcing, true},
		{"ENFORCING", ModeEnforcing, true},
		{"Permissive", ModePermissive, true},
		{"disabled", ModeDisabled, true},
		{"1", ModeEnforcing, true},
		{"0", ModePermissive, true},
		{"", ModeUnset, false},
		{"enforce", ModeUnset, false},
		{"enforcing ", ModeUnset, false},
		{" enforcing", ModeUnset, false},
		{"enforcingX", ModeUnset, false},
		{"permiſſive", ModeUnset, false}, // U+017F folds to 's' in Unicode, not in ASCII
		{"2", ModeUnset, false},
		{"01", ModeUnset, false},
		{"unset", ModeUnset, false},
	} {
		got, err := ParseMode(tc.in)
		if got != tc.want || (err == nil) != tc.ok {
			t.Errorf("ParseMode(%q) = %v, %v; want %v, ok=%v", tc.in, got, err, tc.want, tc.ok)
		}
		if err != nil && !errors.Is(err, ErrInvalidMode) {
			t.Errorf("ParseMode(%q) error %v does not wrap ErrInvalidMode", tc.in, err)
		}
	}
}

func TestModeString(t *testing.T) {
	for m, want := range map[Mode]string{ModeUnset: "unset", ModeDisabled: "disabled",
		ModePermissive: "permissive", ModeEnforcing: "enforcing", Mode(9): "Mode(9)"} {
		if got := m.String(); got != want {
			t.Errorf("Mode(%d).String() = %q, want %q", int(m), got, want)
		}
		if m.valid() {
			if back, err := ParseMode(want); err != nil && m != ModeUnset || err == nil && back != m {
				t.Errorf("ParseMode(%q) = %v, %v: does not round-trip", want, back, err)
			}
		}
	}
}
