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

// FileContexts is the main file_contexts file: Dir/contexts/files/file_contexts. Its
// companions (.bin, .local, .homedirs, .subs, .subs_dist) are fcontext.Load's to find.
func (l Layout) FileContexts() string { return l.ContextsDir() + "/files/file_contexts" }

// CustomizableTypes is Dir/contexts/customizable_types.
func (l Layout) CustomizableTypes() string { return l.ContextsDir() + "/customizable_types" }
