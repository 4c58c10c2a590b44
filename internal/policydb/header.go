// Package policydb reads the binary SELinux kernel policy format (policy.N, the image written
// to /sys/fs/selinux/load) as far as nsinit needs it: the header, validated before anything
// reaches the kernel. Layout and constants: libsepol include/sepol/policydb/policydb.h and
// src/policydb.c (policydb_read); the kernel's security/selinux/ss/policydb.c applies the same
// header checks.
package policydb

import (
	"encoding/binary"
	"fmt"
)

// Constants of the policy image header (libsepol policydb.h; kernel ss/policydb.h).
const (
	// Magic is POLICYDB_MAGIC (== SELINUX_MAGIC) for kernel policies.
	Magic = 0xf97cff8c
	// ModuleMagic is POLICYDB_MOD_MAGIC: a policy module package or base (.pp), not loadable.
	ModuleMagic = 0xf97cff8d
	// Identifier is POLICYDB_STRING; the kernel requires exactly this.
	Identifier = "SE Linux"
	// XenIdentifier is POLICYDB_XEN_STRING: a Xen hypervisor policy.
	XenIdentifier = "XenFlask"

	// MinVersion is POLICYDB_VERSION_MIN (POLICYDB_VERSION_BASE).
	MinVersion = 15
	// MaxVersion is the newest format this package knows (POLICYDB_VERSION_NEVERAUDIT).
	MaxVersion = 35
	// VersionMLS is POLICYDB_VERSION_MLS: MLS policies need at least this version.
	VersionMLS = 19
	// VersionInfiniband is POLICYDB_VERSION_INFINIBAND, from which there are 9 ocontexts.
	VersionInfiniband = 31

	// configMLS is POLICYDB_CONFIG_MLS.
	configMLS = 1
	// configUnknownMask covers POLICYDB_CONFIG_UNKNOWN_MASK (deny 0, reject 2, allow 4).
	configUnknownMask = 6

	// symbolTables is SYM_NUM.
	symbolTables = 8
	// headerSize covers magic, identifier length, identifier, version, config,
	// symbol-table count and object-context count.
	headerSize = 4 + 4 + len(Identifier) + 4 + 4 + 4 + 4
)

// HandleUnknown is the policy's rule for classes and permissions the kernel knows but the
// policy does not define (config bits 1-2).
type HandleUnknown uint32

// HandleUnknown values (SEPOL_DENY_UNKNOWN, SEPOL_REJECT_UNKNOWN, SEPOL_ALLOW_UNKNOWN).
const (
	DenyUnknown   HandleUnknown = 0
	RejectUnknown HandleUnknown = 2
	AllowUnknown  HandleUnknown = 4
)

func (h HandleUnknown) String() string {
	switch h {
	case DenyUnknown:
		return "deny"
	case RejectUnknown:
		return "reject"
	case AllowUnknown:
		return "allow"
	}
	return fmt.Sprintf("invalid(%d)", uint32(h))
}

// Header is the validated start of a kernel policy image.
type Header struct {
	Version       int
	MLS           bool
	HandleUnknown HandleUnknown
	// Symbols and ObjectContexts are the table counts the header declares.
	Symbols, ObjectContexts int
}

// HeaderError says why an image is not a loadable kernel policy.
type HeaderError struct {
	Reason string
}

func (e *HeaderError) Error() string { return e.Reason }

func headerErr(format string, args ...any) error {
	return &HeaderError{Reason: fmt.Sprintf(format, args...)}
}

// ParseHeader validates the header of a kernel policy image. It checks what both libsepol and
// the kernel check first: size, magic (naming the module-package and Xen cases), identifier,
// version range, the MLS/version combination, handle_unknown, and the table counts. It does
// not compare the version with any kernel's maximum: that is the caller's policy.
func ParseHeader(data []byte) (Header, error) {
	if len(data) < 8 {
		return Header{}, headerErr("too short to be a policy (%d bytes)", len(data))
	}
	le := binary.LittleEndian
	switch magic := le.Uint32(data); magic {
	case Magic:
	case ModuleMagic:
		return Header{}, headerErr("a policy module package (.pp), not a kernel policy: build the kernel policy with semodule or checkpolicy")
	default:
		return Header{}, headerErr("bad magic 0x%08x (want 0x%08x): not an SELinux kernel policy", magic, uint32(Magic))
	}
	idLen := le.Uint32(data[4:])
	if idLen != uint32(len(Identifier)) {
		return Header{}, headerErr("identifier length %d (want %d): not an SELinux kernel policy", idLen, len(Identifier))
	}
	if len(data) < headerSize {
		return Header{}, headerErr("truncated: %d bytes, the header alone needs %d", len(data), headerSize)
	}
	switch id := string(data[8:16]); id {
	case Identifier:
	case XenIdentifier:
		return Header{}, headerErr("a Xen hypervisor policy (identifier %q), not a Linux one", id)
	default:
		return Header{}, headerErr("identifier %q (want %q)", id, Identifier)
	}
	h := Header{Version: int(le.Uint32(data[16:]))}
	if h.Version < MinVersion || h.Version > MaxVersion {
		return Header{}, headerErr("policy version %d outside the known range %d-%d", h.Version, MinVersion, MaxVersion)
	}
	config := le.Uint32(data[20:])
	h.MLS = config&configMLS != 0
	h.HandleUnknown = HandleUnknown(config & configUnknownMask)
	if h.HandleUnknown != DenyUnknown && h.HandleUnknown != RejectUnknown && h.HandleUnknown != AllowUnknown {
		return Header{}, headerErr("invalid handle_unknown bits in config 0x%x", config)
	}
	if h.MLS && h.Version < VersionMLS {
		return Header{}, headerErr("MLS policy with version %d (MLS needs %d or later)", h.Version, VersionMLS)
	}
	h.Symbols = int(le.Uint32(data[24:]))
	h.ObjectContexts = int(le.Uint32(data[28:]))
	if h.Symbols != symbolTables {
		return Header{}, headerErr("%d symbol tables (want %d)", h.Symbols, symbolTables)
	}
	if want := objectContexts(h.Version); h.ObjectContexts != want {
		return Header{}, headerErr("%d object-context tables (want %d for version %d)", h.ObjectContexts, want, h.Version)
	}
	return h, nil
}

// objectContexts is OCON_NUM for a Linux policy of the given version.
func objectContexts(version int) int {
	if version >= VersionInfiniband {
		return 9
	}
	return 7
}
