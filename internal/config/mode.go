package config

import (
	"errors"
	"fmt"
)

// Mode is an SELinux enforcement mode as nsinit resolves it.
type Mode int

// The modes. ModeUnset means "not specified here": a lower-precedence source decides.
const (
	ModeUnset Mode = iota
	ModeDisabled
	ModePermissive
	ModeEnforcing
)

// String returns "unset", "disabled", "permissive" or "enforcing".
func (m Mode) String() string {
	switch m {
	case ModeUnset:
		return "unset"
	case ModeDisabled:
		return "disabled"
	case ModePermissive:
		return "permissive"
	case ModeEnforcing:
		return "enforcing"
	}
	return fmt.Sprintf("Mode(%d)", int(m))
}

// valid reports whether m is one of the four named modes.
func (m Mode) valid() bool { return m >= ModeUnset && m <= ModeEnforcing }

// ErrInvalidMode is wrapped by the errors ParseMode and Resolve return for a bad mode value.
var ErrInvalidMode = errors.New("invalid SELinux mode")

// ParseMode parses a mode given on nsinit's command line (--mode) or in NSINIT_MODE: the
// whole word enforcing, permissive or disabled in any ASCII case, or "1" (enforcing) /
// "0" (permissive), the values of /sys/fs/selinux/enforce and setenforce. Unlike the
// config file's prefix match, nothing else is accepted: an operator's typo must not
// silently pick a mode.
func ParseMode(s string) (Mode, error) {
	switch {
	case s == "1", equalFoldASCII(s, "enforcing"):
		return ModeEnforcing, nil
	case s == "0", equalFoldASCII(s, "permissive"):
		return ModePermissive, nil
	case equalFoldASCII(s, "disabled"):
		return ModeDisabled, nil
	}
	return ModeUnset, fmt.Errorf("%w %q: want enforcing, permissive, disabled, 1 or 0", ErrInvalidMode, s)
}
