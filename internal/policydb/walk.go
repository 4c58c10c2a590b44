package policydb

import (
	"fmt"
	"strings"
)

// Policy versions whose formats the walker reads (POLICYDB_VERSION_* in libsepol policydb.h;
// what each adds: docs/policy-versions.md).
const (
	// VersionCompFtrans (33) compresses filename transitions; the oldest format walked.
	VersionCompFtrans = 33
	// VersionCondXperms (34) allows extended-permission entries in conditional lists.
	VersionCondXperms = 34
	// VersionNeveraudit (35) adds the neveraudit type bitmap after the permissive one.
	VersionNeveraudit = 35
)

// Symbol tables, in file order (SYM_* in policydb.h).
const (
	symCommons = iota
	symClasses
	symRoles
	symTypes
	symUsers
	symBools
	symLevels
	symCats
)

// Object-context lists, in file order (OCON_* in the kernel's ss/policydb.h).
const (
	oconISID = iota
	oconFS
	oconPort
	oconNetif
	oconNode
	oconFSUse
	oconNode6
	oconIBPkey
	oconIBEndport
)

// avtab key.specified bits (kernel ss/avtab.h).
const (
	// avtabAV is AVTAB_ALLOWED|AVTAB_AUDITALLOW|AVTAB_AUDITDENY: access-vector rules.
	avtabAV = 0x0007
	// avtabType is AVTAB_TRANSITION|AVTAB_MEMBER|AVTAB_CHANGE: type rules.
	avtabType           = 0x0070
	avtabXpermsAllowed  = 0x0100
	avtabXpermsAuditAll = 0x0200
	avtabXpermsDontAud  = 0x0400
	avtabXperms         = avtabXpermsAllowed | avtabXpermsAuditAll | avtabXpermsDontAud
	// avtabKinds: every entry has exactly one of these bits (the kernel's avtab_read_item
	// check).
	avtabKinds = avtabAV | avtabType | avtabXperms
	// avtabXpermWords is the size of an xperms bitmap: 256 bits.
	avtabXpermWords = 8
)

// Extended-permission kinds (AVTAB_XPERMS_* in ss/avtab.h).
const (
	XpermsIoctlFunction = 1
	XpermsIoctlDriver   = 2
	// XpermsNlmsg (Linux 6.13) has no policy version of its own.
	XpermsNlmsg = 3
)

// Conditional expression node types (COND_BOOL .. COND_NEQ in ss/conditional.h).
const (
	condBool = 1
	condLast = 7
)

// Constraint expression node types (CEXPR_NOT .. CEXPR_NAMES in ss/constraint.h).
const (
	cexprLast  = 5
	cexprNames = 5
)

// typeFlagPrimary is TYPEDATUM_PROPERTY_PRIMARY: the entry is a type, not an alias.
const typeFlagPrimary = 1

// XpermRule is one extended-permission entry of the access vector table.
type XpermRule struct {
	// Offset is the entry's byte offset in the image.
	Offset int
	// Rule is the source statement: allowxperm, auditallowxperm or dontauditxperm.
	Rule                  string
	Source, Target, Class string
	// Kind is XpermsIoctlFunction, XpermsIoctlDriver, XpermsNlmsg or an unknown value.
	Kind uint8
	// Booleans names the booleans of the enclosing conditional block; nil when unconditional.
	Booleans []string
}

func (x XpermRule) String() string {
	kind := map[uint8]string{XpermsIoctlFunction: "ioctl", XpermsIoctlDriver: "ioctl (driver)", XpermsNlmsg: "nlmsg"}[x.Kind]
	if kind == "" {
		kind = fmt.Sprintf("kind %d", x.Kind)
	}
	s := fmt.Sprintf("%s %s %s:%s %s", x.Rule, x.Source, x.Target, x.Class, kind)
	if x.Booleans != nil {
		s += " inside `if` on " + strings.Join(x.Booleans, ", ")
	}
	return s + fmt.Sprintf(" (byte %d)", x.Offset)
}

// Analysis is what a complete walk of a policy image established. The walk reads every
// section the kernel reads, in order, and succeeds only if the image ends exactly where the
// last section does.
type Analysis struct {
	Header Header
	// Types counts the type table's entries (types, aliases and attributes); Booleans,
	// Rules (unconditional access-vector entries), CondBlocks and CondRules (entries in
	// the blocks' true and false lists) count what their names say.
	Types, Booleans, Rules, CondBlocks, CondRules int
	// NeverauditTypes is the number of bits set in the neveraudit bitmap (version 35).
	NeverauditTypes int
	// CondXperms are the extended-permission entries inside conditional blocks (allowed
	// from version 34 only).
	CondXperms Findings
	// NlmsgXperms are nlmsg extended-permission entries (Linux 6.13), anywhere.
	NlmsgXperms Findings
	// UnknownXperms are extended-permission entries of a kind this package does not know.
	UnknownXperms Findings

	// neverauditStart/End delimit the neveraudit bitmap's bytes (version 35).
	neverauditStart, neverauditEnd int
}

// Findings counts the entries of one kind and describes the first few.
type Findings struct {
	Count    int
	Examples []XpermRule
}

// maxExamples bounds Findings.Examples: a hostile image may hold millions of entries.
const maxExamples = 3

// add counts one entry; describe is called only while examples are still wanted.
func (f *Findings) add(describe func() XpermRule) {
	f.Count++
	if len(f.Examples) < maxExamples {
		f.Examples = append(f.Examples, describe())
	}
}

// String lists the examples and how many more there are.
func (f Findings) String() string {
	parts := make([]string, 0, len(f.Examples)+1)
	for _, x := range f.Examples {
		parts = append(parts, x.String())
	}
	if more := f.Count - len(f.Examples); more > 0 {
		parts = append(parts, fmt.Sprintf("and %d more", more))
	}
	return strings.Join(parts, "; ")
}

// symbol is the last symbol-table entry read: its value, name (aliasing the image) and
// whether it is a primary name (types have aliases with the same value).
type symbol struct {
	value   uint32
	name    []byte
	primary bool
}

// table locates the entries of a symbol table, to name values in messages later without
// keeping every name in memory.
type table struct {
	off int
	nel uint32
}

// walker carries the state of one Analyze call.
type walker struct {
	r reader
	a *Analysis
	h Header
	// last is the symbol-table entry just read; tables locates each table's entries.
	last   symbol
	tables [symCats + 1]table
	// nTypes is the type table's nprim: the number of type_attr_map bitmaps.
	nTypes uint32
}

// Analyze walks a whole kernel policy image of version 33 to 35 the way the kernel's
// policydb_read does, checking every length against the data left, and reports what
// downgrading it needs to know. It allocates nothing in proportion to length fields, only
// to entries actually present. Errors are *HeaderError or *FormatError.
func Analyze(data []byte) (*Analysis, error) {
	h, err := ParseHeader(data)
	if err != nil {
		return nil, err
	}
	if h.Version < VersionCompFtrans {
		return nil, &FormatError{Offset: 16, Item: "header", Reason: fmt.Sprintf("version %d: only versions %d-%d are walked", h.Version, VersionCompFtrans, MaxVersion)}
	}
	w := &walker{r: reader{data: data, off: headerSize}, a: &Analysis{Header: h}, h: h}
	for _, step := range []func() error{w.bitmaps, w.symtabs, w.avtab, w.condList, w.roleRules, w.filenameTrans, w.ocontexts, w.genfs, w.rangeTrans, w.typeAttrMap} {
		if err := step(); err != nil {
			return nil, err
		}
	}
	if w.r.off != len(data) {
		w.r.at("end of policy")
		return nil, w.r.errorf("%d unexpected trailing bytes", len(data)-w.r.off)
	}
	return w.a, nil
}

// bitmaps reads the policy-capability, permissive and (35) neveraudit type bitmaps.
func (w *walker) bitmaps() error {
	w.r.at("policy capabilities")
	if _, err := w.r.ebitmap(); err != nil {
		return err
	}
	w.r.at("permissive types")
	if _, err := w.r.ebitmap(); err != nil {
		return err
	}
	if w.h.Version >= VersionNeveraudit {
		w.r.at("neveraudit types")
		w.a.neverauditStart = w.r.off
		n, err := w.r.ebitmap()
		if err != nil {
			return err
		}
		w.a.NeverauditTypes, w.a.neverauditEnd = n, w.r.off
	}
	return nil
}

// symtabs reads the eight symbol tables (policydb_read's read_f loop).
func (w *walker) symtabs() error {
	readers := w.symReaders()
	for i := range readers {
		w.r.at(symNames[i])
		var hdr [2]uint32 // nprim, nel
		if err := w.r.u32s(hdr[:]); err != nil {
			return err
		}
		if i == symTypes {
			w.nTypes = hdr[0]
		}
		w.tables[i] = table{off: w.r.off, nel: hdr[1]}
		for j := uint32(0); j < hdr[1]; j++ {
			w.r.atEntry(symNames[i], j)
			if err := readers[i](); err != nil {
				return err
			}
		}
		switch i {
		case symTypes:
			w.a.Types = int(hdr[1])
		case symBools:
			w.a.Booleans = int(hdr[1])
		}
	}
	return nil
}

// symNames names the symbol tables for messages.
var symNames = [...]string{"commons", "classes", "roles", "types", "users", "booleans", "sensitivities", "categories"}

// symReaders returns the entry reader of each symbol table, in file order.
func (w *walker) symReaders() [symCats + 1]func() error {
	return [...]func() error{w.common, w.class, w.role, w.typ, w.user, w.boolean, w.sensitivity, w.category}
}

// name returns the primary name of value v in symbol table t, by reading the table again.
func (w *walker) name(t int, v uint32) string {
	sub := &walker{r: reader{data: w.r.data, off: w.tables[t].off}, a: &Analysis{}, h: w.h}
	read := sub.symReaders()[t]
	for i := uint32(0); i < w.tables[t].nel && read() == nil; i++ {
		if sub.last.primary && sub.last.value == v {
			return string(sub.last.name)
		}
	}
	return fmt.Sprintf("<%s %d>", symNames[t], v)
}

// entry reads an entry's fixed words (the first is the key length) and then its key.
func (w *walker) entry(words []uint32) ([]byte, error) {
	if err := w.r.u32s(words); err != nil {
		return nil, err
	}
	return w.r.bytes(words[0])
}

// perms reads n permission entries: {len, value} key.
func (w *walker) perms(n uint32) error {
	for i := uint32(0); i < n; i++ {
		var p [2]uint32
		if _, err := w.entry(p[:]); err != nil {
			return err
		}
	}
	return nil
}

func (w *walker) common() error {
	var c [4]uint32 // len, value, nprim, nel
	if _, err := w.entry(c[:]); err != nil {
		return err
	}
	return w.perms(c[3])
}

func (w *walker) class() error {
	var c [6]uint32 // len, common-name len, value, nprim, nel, ncons
	name, err := w.entry(c[:])
	if err != nil {
		return err
	}
	w.last = symbol{c[2], name, true}
	if err := w.r.skip(uint64(c[1])); err != nil {
		return err
	}
	if err := w.perms(c[4]); err != nil {
		return err
	}
	if err := w.constraints(c[5]); err != nil {
		return err
	}
	nvalidate, err := w.r.u32()
	if err != nil {
		return err
	}
	if err := w.constraints(nvalidate); err != nil {
		return err
	}
	// default_user, default_role, default_range (27), default_type (28).
	return w.r.skip(4 * 4)
}

// constraints reads n constraint (or validatetrans) definitions.
func (w *walker) constraints(n uint32) error {
	for i := uint32(0); i < n; i++ {
		var c [2]uint32 // permissions, nexpr
		if err := w.r.u32s(c[:]); err != nil {
			return err
		}
		for j := uint32(0); j < c[1]; j++ {
			var e [3]uint32 // expr_type, attr, op
			if err := w.r.u32s(e[:]); err != nil {
				return err
			}
			if e[0] == 0 || e[0] > cexprLast {
				return w.r.errorf("constraint expression type %d", e[0])
			}
			if e[0] == cexprNames {
				// names, then (29+) the type_set: types, negset, flags.
				if err := w.ebitmaps(3); err != nil {
					return err
				}
				if err := w.r.skip(4); err != nil {
					return err
				}
			}
		}
	}
	return nil
}

// ebitmaps reads n bitmaps.
func (w *walker) ebitmaps(n int) error {
	for i := 0; i < n; i++ {
		if _, err := w.r.ebitmap(); err != nil {
			return err
		}
	}
	return nil
}

func (w *walker) role() error {
	var r [3]uint32 // len, value, bounds
	if _, err := w.entry(r[:]); err != nil {
		return err
	}
	return w.ebitmaps(2) // dominates, types
}

func (w *walker) typ() error {
	var t [4]uint32 // len, value, properties, bounds
	name, err := w.entry(t[:])
	if err != nil {
		return err
	}
	w.last = symbol{t[1], name, t[2]&typeFlagPrimary != 0}
	return nil
}

func (w *walker) user() error {
	var u [3]uint32 // len, value, bounds
	if _, err := w.entry(u[:]); err != nil {
		return err
	}
	if err := w.ebitmaps(1); err != nil { // roles
		return err
	}
	// The MLS fields are present from version 19 on whether or not the policy is MLS.
	if err := w.mlsRange(); err != nil {
		return err
	}
	return w.mlsLevel() // default level
}

func (w *walker) boolean() error {
	var b [3]uint32 // value, state, len
	if err := w.r.u32s(b[:]); err != nil {
		return err
	}
	if b[1] > 1 {
		return w.r.errorf("boolean state %d", b[1])
	}
	name, err := w.r.bytes(b[2])
	if err != nil {
		return err
	}
	w.last = symbol{b[0], name, true}
	return nil
}

func (w *walker) sensitivity() error {
	var s [2]uint32 // len, isalias
	if _, err := w.entry(s[:]); err != nil {
		return err
	}
	return w.mlsLevel()
}

func (w *walker) category() error {
	var c [3]uint32 // len, value, isalias
	_, err := w.entry(c[:])
	return err
}

// mlsLevel reads a sensitivity and its category bitmap.
func (w *walker) mlsLevel() error {
	if err := w.r.skip(4); err != nil {
		return err
	}
	return w.ebitmaps(1)
}

// mlsRange reads mls_read_range_helper's encoding: a count of 1 or 2 sensitivities, the
// sensitivities, then one category bitmap per level.
func (w *walker) mlsRange() error {
	n, err := w.r.u32()
	if err != nil {
		return err
	}
	if n != 1 && n != 2 {
		return w.r.errorf("MLS range with %d levels", n)
	}
	if err := w.r.skip(4 * uint64(n)); err != nil {
		return err
	}
	return w.ebitmaps(int(n))
}

// context reads a security context: user, role, type and a range (present from version 19
// on, MLS policy or not).
func (w *walker) context() error {
	if err := w.r.skip(3 * 4); err != nil {
		return err
	}
	return w.mlsRange()
}

// avtab reads the unconditional access-vector table (nel must not be 0, as in the kernel).
func (w *walker) avtab() error {
	w.r.at("avtab")
	n, err := w.r.u32()
	if err != nil {
		return err
	}
	if n == 0 {
		return w.r.errorf("empty access vector table")
	}
	w.a.Rules = int(n)
	return w.avEntries(n, "avtab", false, nil)
}

// avEntries reads n avtab entries (avtab_read_item), of a conditional block's list when
// cond is set; bools are then the boolean values the block's expression uses.
func (w *walker) avEntries(n uint32, where string, cond bool, bools []uint32) error {
	for i := uint32(0); i < n; i++ {
		w.r.atEntry(where, i)
		start := w.r.off
		var key [4]uint16 // source type, target type, target class, specified
		for k := range key {
			v, err := w.r.u16()
			if err != nil {
				return err
			}
			key[k] = v
		}
		spec := key[3]
		if kinds := spec & avtabKinds; kinds == 0 || kinds&(kinds-1) != 0 {
			return w.r.errorf("entry kind 0x%04x is not exactly one rule kind", spec)
		}
		if spec&avtabXperms == 0 {
			if err := w.r.skip(4); err != nil {
				return err
			}
			continue
		}
		kind, err := w.r.u8()
		if err != nil {
			return err
		}
		if err := w.r.skip(1 + 4*avtabXpermWords); err != nil { // driver, perms
			return err
		}
		describe := func() XpermRule { return w.xperm(start, key, kind, cond, bools) }
		if cond {
			w.a.CondXperms.add(describe)
		}
		switch kind {
		case XpermsIoctlFunction, XpermsIoctlDriver:
		case XpermsNlmsg:
			w.a.NlmsgXperms.add(describe)
		default:
			w.a.UnknownXperms.add(describe)
		}
	}
	return nil
}

// xperm describes an extended-permission entry with symbol names.
func (w *walker) xperm(off int, key [4]uint16, kind uint8, cond bool, bools []uint32) XpermRule {
	rule := map[uint16]string{avtabXpermsAllowed: "allowxperm", avtabXpermsAuditAll: "auditallowxperm", avtabXpermsDontAud: "dontauditxperm"}[key[3]&avtabXperms]
	x := XpermRule{Offset: off, Rule: rule, Kind: kind,
		Source: w.name(symTypes, uint32(key[0])), Target: w.name(symTypes, uint32(key[1])), Class: w.name(symClasses, uint32(key[2]))}
	if cond {
		x.Booleans = []string{}
		seen := map[uint32]bool{}
		for _, b := range bools {
			if seen[b] {
				continue
			}
			if len(seen) == maxBooleans { // a hostile expression may name millions
				x.Booleans = append(x.Booleans, "…")
				break
			}
			seen[b] = true
			x.Booleans = append(x.Booleans, w.name(symBools, b))
		}
	}
	return x
}

// maxBooleans bounds the booleans named per conditional rule.
const maxBooleans = 4

// condList reads the conditional blocks: each an expression over booleans and a true and a
// false list of avtab entries.
func (w *walker) condList() error {
	w.r.at("conditional blocks")
	n, err := w.r.u32()
	if err != nil {
		return err
	}
	w.a.CondBlocks = int(n)
	var conds []uint32
	for i := uint32(0); i < n; i++ {
		w.r.atEntry("conditional blocks", i)
		var c [2]uint32 // current state, expression length
		if err := w.r.u32s(c[:]); err != nil {
			return err
		}
		conds = conds[:0]
		for j := uint32(0); j < c[1]; j++ {
			var e [2]uint32 // expression type, boolean
			if err := w.r.u32s(e[:]); err != nil {
				return err
			}
			if e[0] == 0 || e[0] > condLast {
				return w.r.errorf("conditional expression type %d", e[0])
			}
			if e[0] == condBool {
				conds = append(conds, e[1])
			}
		}
		for _, list := range []string{"true", "false"} {
			where := fmt.Sprintf("conditional block %d %s list", i, list)
			w.r.at(where)
			m, err := w.r.u32()
			if err != nil {
				return err
			}
			w.a.CondRules += int(m)
			if err := w.avEntries(m, where, true, conds); err != nil {
				return err
			}
		}
	}
	return nil
}

// roleRules reads role_transition (role, type, new role, class) and role allow rules.
func (w *walker) roleRules() error {
	for _, s := range []struct {
		item  string
		words uint64
	}{{"role transitions", 4}, {"role allow rules", 2}} {
		w.r.at(s.item)
		n, err := w.r.u32()
		if err != nil {
			return err
		}
		if err := w.r.skip(uint64(n) * 4 * s.words); err != nil {
			return err
		}
	}
	return nil
}

// filenameTrans reads compressed filename transitions (33+): per (name, ttype, class), a
// list of (source-type bitmap, new type).
func (w *walker) filenameTrans() error {
	w.r.at("filename transitions")
	n, err := w.r.u32()
	if err != nil {
		return err
	}
	for i := uint32(0); i < n; i++ {
		w.r.atEntry("filename transitions", i)
		var l [1]uint32
		if _, err := w.entry(l[:]); err != nil {
			return err
		}
		var t [3]uint32 // ttype, tclass, ndatum
		if err := w.r.u32s(t[:]); err != nil {
			return err
		}
		if t[2] == 0 {
			return w.r.errorf("filename transition without data")
		}
		for j := uint32(0); j < t[2]; j++ {
			if err := w.ebitmaps(1); err != nil { // source types
				return err
			}
			if err := w.r.skip(4); err != nil { // new type
				return err
			}
		}
	}
	return nil
}

// ocontexts reads the nine object-context lists of a Linux policy.
func (w *walker) ocontexts() error {
	names := [...]string{"initial SIDs", "fs contexts", "port contexts", "netif contexts", "node contexts", "fs_use rules", "node6 contexts", "ibpkey contexts", "ibendport contexts"}
	for i := 0; i < w.h.ObjectContexts; i++ {
		w.r.at(names[i])
		n, err := w.r.u32()
		if err != nil {
			return err
		}
		for j := uint32(0); j < n; j++ {
			w.r.atEntry(names[i], j)
			if err := w.ocontext(i); err != nil {
				return err
			}
		}
	}
	return nil
}

// ocontext reads one entry of object-context list i.
func (w *walker) ocontext(i int) error {
	contexts := 1
	switch i {
	case oconISID:
		if err := w.r.skip(4); err != nil { // SID
			return err
		}
	case oconFS, oconNetif:
		var l [1]uint32
		if _, err := w.entry(l[:]); err != nil {
			return err
		}
		contexts = 2
	case oconPort:
		if err := w.r.skip(3 * 4); err != nil { // protocol, low, high
			return err
		}
	case oconNode:
		if err := w.r.skip(2 * 4); err != nil { // address, mask
			return err
		}
	case oconFSUse:
		var b [2]uint32 // behaviour, len
		if err := w.r.u32s(b[:]); err != nil {
			return err
		}
		if err := w.r.skip(uint64(b[1])); err != nil {
			return err
		}
	case oconNode6:
		if err := w.r.skip(8 * 4); err != nil { // address, mask
			return err
		}
	case oconIBPkey:
		if err := w.r.skip(8 + 2*4); err != nil { // subnet prefix, low, high
			return err
		}
	case oconIBEndport:
		var b [2]uint32 // len, port
		if _, err := w.entry(b[:]); err != nil {
			return err
		}
	}
	for c := 0; c < contexts; c++ {
		if err := w.context(); err != nil {
			return err
		}
	}
	return nil
}

// genfs reads genfscon: per filesystem, (path, class, context) entries.
func (w *walker) genfs() error {
	w.r.at("genfs contexts")
	n, err := w.r.u32()
	if err != nil {
		return err
	}
	for i := uint32(0); i < n; i++ {
		w.r.atEntry("genfs filesystems", i)
		var l [1]uint32
		if _, err := w.entry(l[:]); err != nil {
			return err
		}
		m, err := w.r.u32()
		if err != nil {
			return err
		}
		for j := uint32(0); j < m; j++ {
			if _, err := w.entry(l[:]); err != nil {
				return err
			}
			if err := w.r.skip(4); err != nil { // class
				return err
			}
			if err := w.context(); err != nil {
				return err
			}
		}
	}
	return nil
}

// rangeTrans reads range_transition rules: source, target, class, range.
func (w *walker) rangeTrans() error {
	w.r.at("range transitions")
	n, err := w.r.u32()
	if err != nil {
		return err
	}
	for i := uint32(0); i < n; i++ {
		w.r.atEntry("range transitions", i)
		if err := w.r.skip(3 * 4); err != nil {
			return err
		}
		if err := w.mlsRange(); err != nil {
			return err
		}
	}
	return nil
}

// typeAttrMap reads one attribute bitmap per type value.
func (w *walker) typeAttrMap() error {
	w.r.at("type attribute map")
	if err := w.r.need(uint64(w.nTypes) * ebitmapHeader); err != nil {
		return err
	}
	for i := uint32(0); i < w.nTypes; i++ {
		if _, err := w.r.ebitmap(); err != nil {
			return err
		}
	}
	return nil
}
