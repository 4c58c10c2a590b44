package config

import (
	"strconv"
	"strings"
)

// Layout is the policy root's file layout: the single home of the path suffixes of
// libselinux's file_path_suffixes.h that nsinit uses. Paths are built by plain string
// concatenation, as libselinux does ("/etc/selinux/" + SELINUXTYPE + suffix), so an odd
// SELINUXTYPE (empty, "../x") names exactly the directory libselinux would use.
type Layout struct {
	Dir string // the policy root, e.g. <root>/etc/selinux/default
}

// Layout returns the policy root layout for c's policy type under root ("" or "/" for the
// real root): <root>/etc/selinux/<Type>.
func (c *Config) Layout(root string) Layout {
	return Layout{Dir: strings.TrimRight(root, "/") + "/etc/selinux/" + c.Type}
}

// PolicyDir is the directory holding the binary policies: Dir/policy.
func (l Layout) PolicyDir() string { return l.Dir + "/policy" }

// PolicyFile is the binary policy for one policy version: Dir/policy/policy.N.
func (l Layout) PolicyFile(version int) string {
	return l.PolicyDir() + "/policy." + strconv.Itoa(version)
}

// ContextsDir is Dir/contexts.
func (l Layout) ContextsDir() string { return l.Dir + "/contexts" }

// FileContexts is the main file_contexts file: Dir/contexts/files/file_contexts. The
// compiled form is the same path plus ".bin"; the other file_contexts* files are below.
func (l Layout) FileContexts() string { return l.ContextsDir() + "/files/file_contexts" }

// FileContextsHomedirs is Dir/contexts/files/file_contexts.homedirs (plus ".bin").
func (l Layout) FileContextsHomedirs() string { return l.FileContexts() + ".homedirs" }

// FileContextsLocal is Dir/contexts/files/file_contexts.local (plus ".bin").
func (l Layout) FileContextsLocal() string { return l.FileContexts() + ".local" }

// FileContextsSubs is Dir/contexts/files/file_contexts.subs, the local path substitutions.
func (l Layout) FileContextsSubs() string { return l.FileContexts() + ".subs" }

// FileContextsSubsDist is Dir/contexts/files/file_contexts.subs_dist, the distribution's
// path substitutions.
func (l Layout) FileContextsSubsDist() string { return l.FileContexts() + ".subs_dist" }

// CustomizableTypes is Dir/contexts/customizable_types.
func (l Layout) CustomizableTypes() string { return l.ContextsDir() + "/customizable_types" }
