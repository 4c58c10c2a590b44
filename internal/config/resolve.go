package config

import "fmt"

// Source says where the effective mode came from, for logs and `nsinit status`.
type Source string

// The fixed sources. A mode from the config file has the Source ConfigSource returns.
const (
	SourceFlag    Source = "--mode flag"
	SourceEnv     Source = "NSINIT_MODE environment variable"
	SourceCmdline Source = "kernel command line enforcing="
	SourceDefault Source = "default: permissive, as libselinux"
)

// ConfigSource is the Source of a mode read from line line of the config file at path:
// "<path>:<line> SELINUX=".
func ConfigSource(path string, line int) Source {
	return Source(fmt.Sprintf("%s:%d SELINUX=", path, line))
}

// EnvVar is the environment variable that sets the mode, below the --mode flag.
const EnvVar = "NSINIT_MODE"

// Inputs are the mode sources Resolve weighs.
type Inputs struct {
	Flag    Mode     // --mode; ModeUnset when not given
	Env     string   // the value of NSINIT_MODE, "" when unset
	Cmdline *Cmdline // the kernel command line, only at boot: nil in a container, whose /proc/cmdline is the host's
	Config  *Config  // the parsed config; nil means none
}

// Resolve returns the effective mode and its source. The precedence is: the --mode flag,
// NSINIT_MODE, the kernel command line's enforcing= (boot only), the config's SELINUX=,
// and finally permissive, libselinux's default for an unspecified mode.
//
// As in libselinux (selinux_init_load_policy), enforcing= on the kernel command line does
// not override SELINUX=disabled: libselinux then skips the policy load whatever the
// command line says, so the result is ModeDisabled from the config.
//
// An NSINIT_MODE that ParseMode rejects, or an invalid Flag, is an error (wrapping
// ErrInvalidMode): the caller must not guess what the operator meant.
func Resolve(in Inputs) (Mode, Source, error) {
	if !in.Flag.valid() {
		return ModeUnset, SourceFlag, fmt.Errorf("%w: %v", ErrInvalidMode, in.Flag)
	}
	if in.Flag != ModeUnset {
		return in.Flag, SourceFlag, nil
	}
	if in.Env != "" {
		m, err := ParseMode(in.Env)
		if err != nil {
			return ModeUnset, SourceEnv, fmt.Errorf("%s: %w", EnvVar, err)
		}
		return m, SourceEnv, nil
	}
	cfg, src := ModeUnset, SourceDefault
	if in.Config != nil && in.Config.Mode != ModeUnset {
		cfg, src = in.Config.Mode, ConfigSource(in.Config.Path, in.Config.ModeLine)
	}
	if in.Cmdline != nil && in.Cmdline.Enforcing != ModeUnset {
		if cfg == ModeDisabled {
			return ModeDisabled, src + " (kernel command line enforcing= does not override disabled, as in libselinux)", nil
		}
		return in.Cmdline.Enforcing, SourceCmdline, nil
	}
	if cfg != ModeUnset {
		return cfg, src, nil
	}
	return ModePermissive, SourceDefault, nil
}
