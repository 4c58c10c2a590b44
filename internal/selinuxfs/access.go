package selinuxfs

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
)

// ComputeAV returns the permissions the loaded policy allows scon on tcon for the class
// tclass (a number from ClassIndex), as a bit set of the values PermBit gives: the access
// node (security_compute_av_user; libselinux security_compute_av). The kernel answers
// without auditing anything, so asking about a permission the policy denies logs no AVC
// record: the way to find out before acting whether an action would be denied.
func (f *FS) ComputeAV(scon, tcon string, tclass int) (uint32, error) {
	if err := validContext(scon); err != nil {
		return 0, err
	}
	if err := validContext(tcon); err != nil {
		return 0, err
	}
	out, err := f.transact("access", fmt.Appendf(nil, "%s %s %d", scon, tcon, tclass))
	if err != nil {
		return 0, fmt.Errorf("compute_av(%s, %s, %d): %w", scon, tcon, tclass, err)
	}
	allowed, err := parseAccess(string(out))
	if err != nil {
		return 0, &os.PathError{Op: "parse", Path: f.path("access"), Err: err}
	}
	return allowed, nil
}

// parseAccess reads the allowed vector of the access node's reply, "allowed decided
// auditallow auditdeny seqno flags" (selinuxfs.c sel_write_access: "%x %x %x %x %u %x").
func parseAccess(reply string) (uint32, error) {
	fields := strings.Fields(reply)
	if len(fields) < 5 {
		return 0, fmt.Errorf("access reply %q: want at least 5 fields", reply)
	}
	v, err := strconv.ParseUint(fields[0], 16, 32)
	if err != nil {
		return 0, fmt.Errorf("access reply %q: allowed vector: %w", reply, err)
	}
	return uint32(v), nil
}

// PermBit returns the bit of permission perm of class in ComputeAV's vector: the policy
// numbers permissions from 1 (class/<class>/perms/<perm>; libselinux string_to_av_perm
// takes 1 << (value-1)). A permission the loaded policy does not define gives ok false: the
// kernel does not check what the policy does not know.
func (f *FS) PermBit(class, perm string) (bit uint32, ok bool, err error) {
	for _, name := range []string{class, perm} {
		if name == "" || strings.ContainsAny(name, "/\x00") {
			return 0, false, fmt.Errorf("invalid class or permission name %q", name)
		}
	}
	n, err := f.readInt(filepath.Join("class", class, "perms", perm))
	switch {
	case errors.Is(err, os.ErrNotExist):
		return 0, false, nil
	case err != nil:
		return 0, false, err
	case n < 1 || n > 32:
		return 0, false, &os.PathError{Op: "parse", Path: f.path(filepath.Join("class", class, "perms", perm)), Err: fmt.Errorf("permission value %d outside 1..32", n)}
	}
	return 1 << (n - 1), true, nil
}
