package policydb

import (
	"encoding/binary"
	"fmt"
	"path/filepath"
)

// fixHints says what the standard fixes do about each refused feature.
var fixHints = map[string]string{
	featureNeveraudit: "libsepol drops the neveraudit rules with a warning: those types are audited again",
	featureCondXperms: "both fail while the policy has them (libsepol refuses too): move them out of the if blocks or remove them first",
	featureNlmsg:      "the rewritten policy keeps the nlmsg rules: use it only on Linux 6.13 or later, or remove them first",
	featureXpermKind:  "remove those rules first",
}

// Features named by RefusedError.Feature.
const (
	featureNeveraudit = "neveraudit rules"
	featureCondXperms = "extended permission rules inside conditional blocks"
	featureNlmsg      = "nlmsg extended permission rules"
	featureXpermKind  = "extended permission rules of an unknown kind"
	featureOldTarget  = "policy versions below 33"
)

// RefusedError says that a policy image cannot be safely rewritten at an older version and
// which feature stops it. libselinux's loader answers the same situation (libsepol failing
// to write the older version) by trying the next older policy file; so should callers.
type RefusedError struct {
	From, To int
	// Feature names what blocks the downgrade, e.g. "neveraudit rules".
	Feature string
	// Detail says where the feature is used, or why it cannot be dropped.
	Detail string
}

func (e *RefusedError) Error() string {
	s := fmt.Sprintf("cannot downgrade policy version %d to %d: %s", e.From, e.To, e.Feature)
	if e.Detail != "" {
		s += ": " + e.Detail
	}
	return s
}

// Fixes returns the two standard ways to give the kernel a policy it accepts, for the
// policy file named file (e.g. /etc/selinux/default/policy/policy.35), one per line:
// rewrite it offline with checkpolicy, or have libsemanage build the older version.
func (e *RefusedError) Fixes(file string) string {
	s := StandardFixes(file, e.To)
	if hint := fixHints[e.Feature]; hint != "" {
		s += "\n(" + hint + ")"
	}
	return s
}

// StandardFixes returns, one per line, the two standard ways to turn the policy file named
// file into one at version to that a kernel accepts: rewrite it offline with checkpolicy,
// or have libsemanage build that version.
func StandardFixes(file string, to int) string {
	out := filepath.Join(filepath.Dir(file), fmt.Sprintf("policy.%d", to))
	return fmt.Sprintf("fix offline: checkpolicy -M -b -c %d -o %s %s\n"+
		"or in the image: set `policy-version = %d` in /etc/selinux/semanage.conf, then run `semodule -B`",
		to, out, file, to)
}

// Downgrade returns an image of the policy at version to, which must be lower than the
// image's own version. It never modifies data and never touches the disk.
//
// Only the steps whose format changes are trivially byte-level are done, and only after
// Analyze has walked the whole image and proven them safe:
//   - 35 → 34: the neveraudit type bitmap is removed; refused unless it is empty.
//   - 34 → 33: the version word changes; refused if any conditional block holds an
//     extended-permission entry (kernels before 6.14 accept those and then BUG()).
//   - → 33 also refuses nlmsg extended permissions (Linux 6.13, no version of their own),
//     which a kernel reporting 33 may not know and would BUG() on; extended permissions of
//     a kind this package does not know are always refused.
//
// Targets below 33 are refused (compressed filename transitions would need re-encoding).
// A malformed image gives a *HeaderError or *FormatError (libselinux stops its search on a
// parse failure); an unsafe downgrade a *RefusedError (libselinux goes on searching).
func Downgrade(data []byte, to int) ([]byte, error) {
	h, err := ParseHeader(data)
	if err != nil {
		return nil, err
	}
	if to >= h.Version {
		return nil, fmt.Errorf("downgrade to version %d: the image is already version %d", to, h.Version)
	}
	if to < VersionCompFtrans {
		return nil, &RefusedError{From: h.Version, To: to, Feature: featureOldTarget,
			Detail: "nsinit only rewrites versions 35, 34 and 33 (older formats need filename transitions re-encoded and features dropped)"}
	}
	a, err := Analyze(data)
	if err != nil {
		return nil, err
	}
	refuse := func(feature, detail string) error {
		return &RefusedError{From: h.Version, To: to, Feature: feature, Detail: detail}
	}
	if h.Version >= VersionNeveraudit && a.NeverauditTypes > 0 {
		return nil, refuse(featureNeveraudit, fmt.Sprintf("%d type(s) are neveraudit; version %d has no way to express them", a.NeverauditTypes, to))
	}
	if h.Version >= VersionCondXperms && to < VersionCondXperms && a.CondXperms.Count > 0 {
		return nil, refuse(featureCondXperms, a.CondXperms.String()+
			"; kernels older than policy version 34 accept them and then crash (BUG) evaluating them")
	}
	if a.UnknownXperms.Count > 0 {
		return nil, refuse(featureXpermKind, a.UnknownXperms.String())
	}
	if to < VersionCondXperms && a.NlmsgXperms.Count > 0 {
		return nil, refuse(featureNlmsg, a.NlmsgXperms.String()+
			"; a kernel that reports version 33 may predate them (Linux 6.13) and crash (BUG) evaluating them")
	}
	out := make([]byte, 0, len(data))
	if h.Version >= VersionNeveraudit && to < VersionNeveraudit {
		out = append(append(out, data[:a.neverauditStart]...), data[a.neverauditEnd:]...)
	} else {
		out = append(out, data...)
	}
	binary.LittleEndian.PutUint32(out[16:], uint32(to))
	return out, nil
}
