package policydb

import (
	"encoding/binary"
	"fmt"
	"slices"
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
	// Types, Attributes and Aliases split the type table's entries as seinfo does; Booleans,
	// Rules (unconditional access-vector entries), CondBlocks and CondRules (entries in
	// the blocks' true and false lists) count what their names say.
	Types, Attributes, Aliases, Booleans, Rules, CondBlocks, CondRules int
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

// More format constants the checks need (kernel ss/policydb.h, ss/constraint.h, avtab.h,
// security.h; libsepol policydb.h).
const (
	// typeFlagAttribute is TYPEDATUM_PROPERTY_ATTRIBUTE.
	typeFlagAttribute = 2
	// objectRole is OBJECT_R_VAL, the value of the role object_r.
	objectRole = 1
	// maxPerms is SEL_VEC_MAX: a class (with its common) has at most 32 permissions.
	maxPerms = 32
	// boundsMaxDepth is POLICYDB_BOUNDS_MAXDEPTH: the longest user, role or type bounds chain.
	boundsMaxDepth = 4
	// cexprMaxDepth is CEXPR_MAXDEPTH, the constraint evaluator's stack.
	cexprMaxDepth = 5
	// Constraint expression node types and attributes (CEXPR_* in ss/constraint.h).
	cexprNot, cexprAnd, cexprOr, cexprAttr = 1, 2, 3, 4
	cexprUser, cexprRole, cexprType        = 1, 2, 4
	cexprTarget, cexprXTarget              = 8, 16
	cexprL1L2, cexprL2H2                   = 32, 1024
	cexprEq, cexprNeq, cexprIncomp         = 1, 2, 5
	// avtabEnabled is AVTAB_ENABLED: libsepol writes it on conditional entries whose
	// block is on; the kernel ignores it.
	avtabEnabled = 0x8000
	// fsUseMntpoint and fsUseMax: SECURITY_FS_USE_MNTPOINT is set at run time, never by a
	// policy; SECURITY_FS_USE_MAX is the last behaviour (security.h).
	fsUseMntpoint = 6
	fsUseMax      = 7
	// defaultMax are the highest default_user/role/type (DEFAULT_TARGET) and
	// default_range (DEFAULT_GLBLUB) values (policydb.h).
	defaultTarget = 2
	defaultGlblub = 7
)

// symbol is the last symbol-table entry read: its value, name (aliasing the image) and
// whether it is a primary name (types have aliases with the same value).
type symbol struct {
	value   uint32
	name    []byte
	primary bool
}

// table locates the entries of a symbol table, to name values in messages later without
// keeping every name in memory; nprim is its number of values.
type table struct {
	off   int
	nel   uint32
	nprim uint32
}

// level is an MLS level: a sensitivity and a category bitmap.
type level struct {
	sens uint32
	cats bitmap
}

// levelRange is an MLS range: low and high levels.
type levelRange struct{ low, high level }

// role, typ and user hold what later sections are checked against, indexed by value-1;
// off is where the entry starts, for messages.
type (
	roleInfo struct {
		off            int
		bounds         uint32
		dominates, tps bitmap
	}
	typeInfo struct {
		off       int
		bounds    uint32
		attribute bool
	}
	userInfo struct {
		off    int
		bounds uint32
		roles  bitmap
		rng    levelRange
		dflt   level
	}
	sensInfo struct {
		off  int
		cats bitmap
		// defined is false for a value no sensitivity has (aliases are counted in nprim).
		defined bool
	}
)

// condRule records where a conditional type rule's key was first used: the kernel lets a
// block's false list repeat a key of its own true list only (cond_insertf).
type condRule struct {
	block uint32
	list  int
	count int
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

	// Collected while reading the symbol tables, checked once the tables are complete.
	// entries are the current table's (value, offset, primary) in file order; names its
	// keys, for duplicates.
	entries []indexEntry
	names   map[string]struct{}
	// commons maps each common's name to whether it has a transition or dyntransition
	// permission (for the class process).
	commons map[string]bool
	// roles, types, users and sens are indexed by value-1.
	roles []roleInfo
	types []typeInfo
	users []userInfo
	sens  []sensInfo
	// pending holds per-table info in file order until the table is indexed.
	pendingRoles []roleInfo
	pendingTypes []typeInfo
	pendingUsers []userInfo
	pendingSens  []sensInfo
	// process says whether the class "process" exists and can transition (the kernel
	// refuses a policy without it).
	process, processTrans bool
	// permissive and neveraudit are checked against the type table read after them.
	permissive, neveraudit bitmap
	bitmapsOff             int

	// av holds the unconditional avtab keys, ordered once the table is read (avorder.go);
	// avSeen is the set used only to find where a duplicate is; condTypes are the
	// conditional type rules' keys.
	av        avIndex
	avSeen    map[uint64]struct{}
	condTypes map[uint64]condRule
	// block and list say which conditional list avEntries is reading.
	block uint32
	list  int

	// syms collects the declared names (ReadSymbols); nil for Analyze. permNames holds the
	// names of the permissions perms read last.
	syms      *Symbols
	permNames []string
}

// indexEntry is one symbol-table entry's value as the kernel's *_index functions see it.
type indexEntry struct {
	value   uint32
	off     int
	primary bool
}

// Analyze walks a whole kernel policy image of version 33 to 35 the way the kernel's
// policydb_read does and checks it completely: every length against the data left, every
// count against its table, every symbol value and index in range, every bitmap well formed,
// the kernel's own checks (policydb_read, policydb_index, the bounds and context checks)
// and a few stricter ones (docs/policy-versions.md), and nothing after the last section. It
// is the one reader: the admission check before every load, the downgrade and `policy
// inspect`. It allocates nothing in proportion to a length or count field before the bytes
// that field describes are known to be present. Errors are *HeaderError or *FormatError.
func Analyze(data []byte) (*Analysis, error) { return analyze(data, nil) }

// analyze is Analyze, collecting the declared names into syms when it is not nil.
func analyze(data []byte, syms *Symbols) (*Analysis, error) {
	w, err := walk(data, syms)
	if err != nil {
		return nil, err
	}
	return w.a, nil
}

// walk reads data from the header to its last byte and returns the walker with what it
// learnt.
func walk(data []byte, syms *Symbols) (*walker, error) {
	h, err := ParseHeader(data)
	if err != nil {
		return nil, err
	}
	if h.Version < VersionCompFtrans {
		return nil, &FormatError{Offset: 16, Item: "header", Reason: fmt.Sprintf("version %d: only versions %d-%d are walked", h.Version, VersionCompFtrans, MaxVersion)}
	}
	w := &walker{r: reader{data: data, off: headerSize}, a: &Analysis{Header: h}, h: h, syms: syms}
	for _, step := range []func() error{w.bitmaps, w.symtabs, w.avtab, w.condList, w.roleRules, w.filenameTrans, w.ocontexts, w.genfs, w.rangeTrans, w.typeAttrMap} {
		if err := step(); err != nil {
			return nil, err
		}
	}
	if w.r.off != len(data) {
		w.r.at("end of policy")
		return nil, w.r.errorf("%d unexpected trailing bytes", len(data)-w.r.off)
	}
	return w, nil
}

// failAt returns a *FormatError for the item at off.
func failAt(off int, item, format string, args ...any) error {
	return &FormatError{Offset: off, Item: item, Reason: fmt.Sprintf(format, args...)}
}

// bitmaps reads the policy-capability, permissive and (35) neveraudit type bitmaps.
func (w *walker) bitmaps() error {
	w.bitmapsOff = w.r.off
	w.r.at("policy capabilities")
	if _, err := w.r.ebitmap(); err != nil {
		return err
	}
	w.r.at("permissive types")
	b, err := w.r.ebitmap()
	if err != nil {
		return err
	}
	w.permissive = b
	if w.h.Version >= VersionNeveraudit {
		w.r.at("neveraudit types")
		w.a.neverauditStart = w.r.off
		b, err := w.r.ebitmap()
		if err != nil {
			return err
		}
		w.neveraudit = b
		w.a.NeverauditTypes, w.a.neverauditEnd = b.count(), w.r.off
	}
	return nil
}

// symtabs reads the eight symbol tables (policydb_read's read_f loop), indexing each as
// policydb_index does, then checks what refers across tables.
func (w *walker) symtabs() error {
	readers := w.symReaders()
	for i := range readers {
		w.r.at(symNames[i])
		start := w.r.off
		var hdr [2]uint32 // nprim, nel
		if err := w.r.u32s(hdr[:]); err != nil {
			return err
		}
		if i == symTypes {
			w.nTypes = hdr[0]
		}
		w.tables[i] = table{off: w.r.off, nel: hdr[1], nprim: hdr[0]}
		// Sized once (growing the set by rehashing was a tenth of the walk), by the count
		// the file claims but never beyond what its remaining bytes can hold (an entry
		// takes more than 8).
		w.entries, w.names = w.entries[:0], make(map[string]struct{}, min(uint64(hdr[1]), uint64(len(w.r.data)-w.r.off)/8))
		for j := uint32(0); j < hdr[1]; j++ {
			w.r.atEntry(symNames[i], j)
			off := w.r.off
			if err := readers[i](); err != nil {
				return err
			}
			if err := w.key(w.last.name); err != nil {
				return err
			}
			w.entries = append(w.entries, indexEntry{w.last.value, off, w.last.primary})
		}
		if err := w.index(i, start, hdr[0]); err != nil {
			return err
		}
		switch i {
		case symBools:
			w.a.Booleans = int(hdr[1])
		}
	}
	w.entries, w.names = nil, nil
	return w.crossCheck()
}

// key checks a symbol's name (non-empty as the kernel's str_read wants; no NUL, stricter)
// and that the table has no other entry of that name (the kernel's hashtab_insert).
func (w *walker) key(name []byte) error {
	if err := validName(name); err != "" {
		return w.r.errorf("%s", err)
	}
	if _, dup := w.names[string(name)]; dup {
		return w.r.errorf("duplicate name %q", name)
	}
	w.names[string(name)] = struct{}{}
	return nil
}

// validName says what is wrong with a name from the image, "" if nothing.
func validName(name []byte) string {
	if len(name) == 0 {
		return "empty name"
	}
	for _, c := range name {
		if c == 0 {
			return fmt.Sprintf("name %q holds a NUL byte", name)
		}
	}
	return ""
}

// index checks table t's values as policydb_index does (every primary value in 1..nprim),
// and more strictly that they are exactly 1..nprim, each once, so that every value has a
// name and a datum; aliases must name a value in range. It then orders the table's
// collected info by value.
func (w *walker) index(t, off int, nprim uint32) error {
	item := symNames[t]
	var primaries uint32
	for _, e := range w.entries {
		if e.value == 0 || e.value > nprim {
			return failAt(e.off, item, "value %d outside 1-%d", e.value, nprim)
		}
		if e.primary {
			primaries++
		}
	}
	switch {
	case t == symLevels || t == symCats:
		// libsepol counts aliases in these tables' nprim, so values may be unused; nprim
		// stays bounded by the entries read (stricter than the kernel).
		if nprim > uint32(len(w.entries)) {
			return failAt(off, item, "%d values declared but only %d entries", nprim, len(w.entries))
		}
	case primaries != nprim:
		return failAt(off, item, "%d values declared but %d entries define one", nprim, primaries)
	}
	// nprim is now bounded by what was read.
	seen := make([]bool, nprim)
	for _, e := range w.entries {
		if !e.primary {
			continue
		}
		if seen[e.value-1] {
			return failAt(e.off, item, "value %d defined twice", e.value)
		}
		seen[e.value-1] = true
	}
	switch t {
	case symRoles:
		w.roles = byValue(w.entries, w.pendingRoles, nprim)
	case symTypes:
		w.types = byValue(w.entries, w.pendingTypes, nprim)
	case symUsers:
		w.users = byValue(w.entries, w.pendingUsers, nprim)
	case symLevels:
		w.sens = byValue(w.entries, w.pendingSens, nprim)
	}
	return nil
}

// byValue orders the primaries' info (pending, in file order like entries) by value.
func byValue[T any](entries []indexEntry, pending []T, nprim uint32) []T {
	out := make([]T, nprim)
	for i, e := range entries {
		if e.primary {
			out[e.value-1] = pending[i]
		}
	}
	return out
}

// crossCheck checks what one symbol table says about another, once all are read: role,
// user and type bounds (policydb_bounds_sanity_check), the bitmaps indexed by values, MLS
// levels, and that the class process exists and can transition (policydb_read).
func (w *walker) crossCheck() error {
	nRoles, nTypes, nUsers, nCats := w.tables[symRoles].nprim, w.tables[symTypes].nprim, w.tables[symUsers].nprim, w.tables[symCats].nprim
	// Bits of these bitmaps are value-1, except the permissive and neveraudit ones (value).
	if w.permissive.max() > int64(nTypes) {
		return failAt(w.bitmapsOff, "permissive types", "type %d beyond the %d types", w.permissive.max(), nTypes)
	}
	if w.neveraudit.max() > int64(nTypes) {
		return failAt(w.a.neverauditStart, "neveraudit types", "type %d beyond the %d types", w.neveraudit.max(), nTypes)
	}
	// Every bound in range first: the chains follow them.
	for i, r := range w.roles {
		if r.bounds > nRoles {
			return failAt(r.off, fmt.Sprintf("roles value %d", i+1), "bounded by role %d of %d", r.bounds, nRoles)
		}
	}
	for i, t := range w.types {
		if t.bounds > nTypes {
			return failAt(t.off, fmt.Sprintf("types value %d", i+1), "bounded by type %d of %d", t.bounds, nTypes)
		}
	}
	for i, u := range w.users {
		if u.bounds > nUsers {
			return failAt(u.off, fmt.Sprintf("users value %d", i+1), "bounded by user %d of %d", u.bounds, nUsers)
		}
	}
	for i, r := range w.roles {
		item := valueItem{"roles", i}
		if r.dominates.max() >= int64(nRoles) || r.tps.max() >= int64(nTypes) {
			return failAt(r.off, item.String(), "dominated roles or types beyond the table")
		}
		if err := chain(i, r.off, item, func(v int) uint32 { return w.roles[v].bounds }); err != nil {
			return err
		}
	}
	for i, t := range w.types {
		item := valueItem{"types", i} // formatted only on a failure: the types loop runs for every type
		if t.bounds != 0 && w.types[t.bounds-1].attribute {
			return failAt(t.off, item.String(), "bounded by an attribute (type %d)", t.bounds)
		}
		if err := chain(i, t.off, item, func(v int) uint32 { return w.types[v].bounds }); err != nil {
			return err
		}
	}
	for i, s := range w.sens {
		if s.cats.max() >= int64(nCats) {
			return failAt(s.off, fmt.Sprintf("sensitivities value %d", i+1), "category %d beyond the %d categories", s.cats.max(), nCats)
		}
	}
	for i, u := range w.users {
		item := valueItem{"users", i}
		if u.roles.max() >= int64(nRoles) {
			return failAt(u.off, item.String(), "role %d beyond the %d roles", u.roles.max()+1, nRoles)
		}
		if err := chain(i, u.off, item, func(v int) uint32 { return w.users[v].bounds }); err != nil {
			return err
		}
		if w.h.MLS {
			if why := w.rangeInvalid(u.rng); why != "" {
				return failAt(u.off, item.String(), "range: %s", why)
			}
			if why := w.levelInvalid(u.dflt); why != "" {
				return failAt(u.off, item.String(), "default level: %s", why)
			}
			if !dominates(u.dflt, u.rng.low) || !dominates(u.rng.high, u.dflt) {
				return failAt(u.off, item.String(), "default level outside the user's range")
			}
		}
	}
	if !w.process || !w.processTrans {
		return failAt(w.tables[symClasses].off, "classes", "no class process with a transition or dyntransition permission (the kernel requires it)")
	}
	return nil
}

// chain fails when the bounds chain from value index i is longer than the kernel allows or
// loops (bounds(v) is the bound of value index v, 0 for none).
func chain(i, off int, item valueItem, bounds func(v int) uint32) error {
	v := i
	for depth := 0; ; depth++ {
		b := bounds(v)
		if b == 0 {
			return nil
		}
		if depth+1 >= boundsMaxDepth {
			return failAt(off, item.String(), "bounds chain too deep or looped")
		}
		v = int(b) - 1
	}
}

// valueItem is value i+1 of a symbol table, as a failure names it ("types value 12").
type valueItem struct {
	table string
	i     int
}

func (v valueItem) String() string { return fmt.Sprintf("%s value %d", v.table, v.i+1) }

// levelInvalid says why l is not a valid level of this policy (mls_level_isvalid: a defined
// sensitivity, categories allowed at it).
func (w *walker) levelInvalid(l level) string {
	if l.sens == 0 || l.sens > uint32(len(w.sens)) || !w.sens[l.sens-1].defined {
		return fmt.Sprintf("sensitivity %d undefined (of %d)", l.sens, len(w.sens))
	}
	if !l.cats.subsetOf(w.sens[l.sens-1].cats) {
		return fmt.Sprintf("categories not allowed at sensitivity %d", l.sens)
	}
	return ""
}

// rangeInvalid says why r is not a valid range (mls_range_isvalid: valid levels, the high
// dominating the low).
func (w *walker) rangeInvalid(r levelRange) string {
	if why := w.levelInvalid(r.low); why != "" {
		return "low " + why
	}
	if why := w.levelInvalid(r.high); why != "" {
		return "high " + why
	}
	if !dominates(r.high, r.low) {
		return "high level does not dominate the low"
	}
	return ""
}

// dominates is mls_level_dom: a's sensitivity is at least b's and a's categories hold b's.
func dominates(a, b level) bool { return a.sens >= b.sens && b.cats.subsetOf(a.cats) }

// symNames names the symbol tables for messages.
var symNames = [...]string{"commons", "classes", "roles", "types", "users", "booleans", "sensitivities", "categories"}

// symReaders returns the entry reader of each symbol table, in file order.
func (w *walker) symReaders() [symCats + 1]func() error {
	return [...]func() error{w.common, w.class, w.role, w.typ, w.user, w.boolean, w.sensitivity, w.category}
}

// name returns the primary name of value v in symbol table t, by reading the table again.
func (w *walker) name(t int, v uint32) string {
	sub := &walker{r: reader{data: w.r.data, off: w.tables[t].off}, a: &Analysis{}, h: w.h, commons: w.commons}
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

// perms reads n permission entries ({len, value} key) of a class or common with nprim
// permissions: at most 32 (the kernel), values in 1..nprim and names unique (stricter; so
// n <= nprim). It says whether one is transition or dyntransition.
func (w *walker) perms(nprim, n uint32) (trans bool, err error) {
	if nprim > maxPerms {
		return false, w.r.errorf("%d permissions (at most %d)", nprim, maxPerms)
	}
	var seen uint32
	var names [maxPerms][]byte
	w.permNames = w.permNames[:0]
	for i := uint32(0); i < n; i++ {
		var p [2]uint32
		name, err := w.entry(p[:])
		if err != nil {
			return false, err
		}
		if why := validName(name); why != "" {
			return false, w.r.errorf("permission: %s", why)
		}
		if p[1] == 0 || p[1] > nprim || seen&(1<<(p[1]-1)) != 0 {
			return false, w.r.errorf("permission %q has value %d (of %d, or used twice)", name, p[1], nprim)
		}
		seen |= 1 << (p[1] - 1)
		for _, other := range names[:i] {
			if string(other) == string(name) {
				return false, w.r.errorf("permission %q defined twice", name)
			}
		}
		names[i] = name
		if w.syms != nil {
			w.permNames = append(w.permNames, string(name))
		}
		if s := string(name); s == "transition" || s == "dyntransition" {
			trans = true
		}
	}
	return trans, nil
}

func (w *walker) common() error {
	var c [4]uint32 // len, value, nprim, nel
	name, err := w.entry(c[:])
	if err != nil {
		return err
	}
	w.last = symbol{c[1], name, true}
	trans, err := w.perms(c[2], c[3])
	if err != nil {
		return err
	}
	if w.commons == nil {
		w.commons = map[string]bool{}
	}
	w.commons[string(name)] = trans
	if w.syms != nil {
		w.syms.commons[string(name)] = slices.Clone(w.permNames)
	}
	return nil
}

func (w *walker) class() error {
	var c [6]uint32 // len, common-name len, value, nprim, nel, ncons
	name, err := w.entry(c[:])
	if err != nil {
		return err
	}
	w.last = symbol{c[2], name, true}
	comkey, err := w.r.bytes(c[1])
	if err != nil {
		return err
	}
	trans := false
	if c[1] > 0 {
		var ok bool
		if trans, ok = w.commons[string(comkey)]; !ok {
			return w.r.errorf("unknown common %q", comkey)
		}
	}
	own, err := w.perms(c[3], c[4])
	if err != nil {
		return err
	}
	if string(name) == "process" {
		w.process, w.processTrans = true, trans || own
	}
	if w.syms != nil {
		w.syms.Classes[string(name)] = append(slices.Clone(w.syms.commons[string(comkey)]), w.permNames...)
	}
	if err := w.constraints(c[5], false); err != nil {
		return err
	}
	nvalidate, err := w.r.u32()
	if err != nil {
		return err
	}
	if err := w.constraints(nvalidate, true); err != nil {
		return err
	}
	// default_user, default_role, default_range (27), default_type (28).
	var d [4]uint32
	if err := w.r.u32s(d[:]); err != nil {
		return err
	}
	if d[0] > defaultTarget || d[1] > defaultTarget || d[2] > defaultGlblub || d[3] > defaultTarget {
		return w.r.errorf("default_user/role/range/type %v out of range", d)
	}
	return nil
}

// constraints reads n constraint (or, with validatetrans, validatetrans) definitions: an
// expression in postfix form, checked as read_cons_helper does (the stack depth) and, more
// strictly, with every attribute and operator one the evaluator knows (it BUG()s on others).
func (w *walker) constraints(n uint32, validatetrans bool) error {
	for i := uint32(0); i < n; i++ {
		var c [2]uint32 // permissions, nexpr
		if err := w.r.u32s(c[:]); err != nil {
			return err
		}
		depth := -1
		for j := uint32(0); j < c[1]; j++ {
			var e [3]uint32 // expr_type, attr, op
			if err := w.r.u32s(e[:]); err != nil {
				return err
			}
			if e[0] == 0 || e[0] > cexprLast {
				return w.r.errorf("constraint expression type %d", e[0])
			}
			switch e[0] {
			case cexprNot:
				if depth < 0 {
					return w.r.errorf("constraint expression: not without an operand")
				}
			case cexprAnd, cexprOr:
				if depth < 1 {
					return w.r.errorf("constraint expression: and/or without two operands")
				}
				depth--
			case cexprAttr, cexprNames:
				if depth == cexprMaxDepth-1 {
					return w.r.errorf("constraint expression deeper than %d", cexprMaxDepth)
				}
				depth++
				if why := cexprInvalid(e[0], e[1], e[2], validatetrans, w.h.MLS); why != "" {
					return w.r.errorf("constraint expression: %s", why)
				}
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
		if depth != 0 {
			return w.r.errorf("constraint expression leaves %d values", depth+1)
		}
	}
	return nil
}

// cexprInvalid says what constraint_expr_eval could not evaluate in a leaf, "" if nothing.
func cexprInvalid(kind, attr, op uint32, validatetrans, mls bool) string {
	if kind == cexprNames {
		if attr&cexprXTarget != 0 && !validatetrans {
			return "xtarget outside validatetrans"
		}
		base := attr &^ (cexprTarget | cexprXTarget)
		if base != cexprUser && base != cexprRole && base != cexprType || attr&cexprTarget != 0 && attr&cexprXTarget != 0 {
			return fmt.Sprintf("names attribute 0x%x", attr)
		}
		if op != cexprEq && op != cexprNeq {
			return fmt.Sprintf("names operator %d", op)
		}
		return ""
	}
	switch {
	case attr == cexprUser || attr == cexprType:
		if op != cexprEq && op != cexprNeq {
			return fmt.Sprintf("operator %d on attribute 0x%x", op, attr)
		}
	case attr == cexprRole || attr >= cexprL1L2 && attr <= cexprL2H2 && attr&(attr-1) == 0:
		if op == 0 || op > cexprIncomp {
			return fmt.Sprintf("operator %d on attribute 0x%x", op, attr)
		}
	default:
		return fmt.Sprintf("attribute 0x%x", attr)
	}
	return ""
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
	off := w.r.off
	var r [3]uint32 // len, value, bounds
	name, err := w.entry(r[:])
	if err != nil {
		return err
	}
	w.last = symbol{r[1], name, true}
	if string(name) == "object_r" && r[1] != objectRole {
		return w.r.errorf("role object_r has value %d (want %d)", r[1], objectRole)
	}
	info := roleInfo{off: off, bounds: r[2]}
	if info.dominates, err = w.r.ebitmap(); err != nil {
		return err
	}
	if info.tps, err = w.r.ebitmap(); err != nil {
		return err
	}
	w.pendingRoles = append(w.pendingRoles, info)
	return nil
}

func (w *walker) typ() error {
	off := w.r.off
	var t [4]uint32 // len, value, properties, bounds
	name, err := w.entry(t[:])
	if err != nil {
		return err
	}
	w.last = symbol{t[1], name, t[2]&typeFlagPrimary != 0}
	w.pendingTypes = append(w.pendingTypes, typeInfo{off: off, bounds: t[3], attribute: t[2]&typeFlagAttribute != 0})
	kind := KindType
	switch {
	case t[2]&typeFlagPrimary == 0:
		w.a.Aliases++
		kind = KindAlias
	case t[2]&typeFlagAttribute != 0:
		w.a.Attributes++
		kind = KindAttribute
	default:
		w.a.Types++
	}
	if w.syms != nil {
		w.syms.Types[string(name)] = kind
	}
	return nil
}

func (w *walker) user() error {
	off := w.r.off
	var u [3]uint32 // len, value, bounds
	name, err := w.entry(u[:])
	if err != nil {
		return err
	}
	w.last = symbol{u[1], name, true}
	info := userInfo{off: off, bounds: u[2]}
	if info.roles, err = w.r.ebitmap(); err != nil {
		return err
	}
	// The MLS fields are present from version 19 on whether or not the policy is MLS.
	if info.rng, err = w.mlsRange(); err != nil {
		return err
	}
	if info.dflt, err = w.mlsLevel(); err != nil { // default level
		return err
	}
	w.pendingUsers = append(w.pendingUsers, info)
	return nil
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
	off := w.r.off
	var s [2]uint32 // len, isalias
	name, err := w.entry(s[:])
	if err != nil {
		return err
	}
	l, err := w.mlsLevel()
	if err != nil {
		return err
	}
	// A sensitivity's value is its level's; sens_index checks only non-aliases.
	w.last = symbol{l.sens, name, s[1] == 0}
	w.pendingSens = append(w.pendingSens, sensInfo{off: off, cats: l.cats, defined: true})
	return nil
}

func (w *walker) category() error {
	var c [3]uint32 // len, value, isalias
	name, err := w.entry(c[:])
	w.last = symbol{c[1], name, c[2] == 0}
	return err
}

// mlsLevel reads a sensitivity and its category bitmap.
func (w *walker) mlsLevel() (level, error) {
	s, err := w.r.u32()
	if err != nil {
		return level{}, err
	}
	cats, err := w.r.ebitmap()
	return level{s, cats}, err
}

// mlsRange reads mls_read_range_helper's encoding: a count of 1 or 2 sensitivities, the
// sensitivities, then one category bitmap per level (one level: high = low).
func (w *walker) mlsRange() (levelRange, error) {
	n, err := w.r.u32()
	if err != nil {
		return levelRange{}, err
	}
	if n != 1 && n != 2 {
		return levelRange{}, w.r.errorf("MLS range with %d levels", n)
	}
	var s [2]uint32
	if err := w.r.u32s(s[:n]); err != nil {
		return levelRange{}, err
	}
	var r levelRange
	r.low.sens = s[0]
	if r.low.cats, err = w.r.ebitmap(); err != nil {
		return r, err
	}
	r.high = r.low
	if n == 2 {
		r.high.sens = s[1]
		if r.high.cats, err = w.r.ebitmap(); err != nil {
			return r, err
		}
	}
	return r, nil
}

// context reads a security context (user, role, type and, from version 19 on, MLS policy
// or not, a range) and checks it as policydb_context_isvalid does: values in range, the
// role authorised for the type and the user for the role (unless the role is object_r),
// and with MLS a valid range within the user's.
func (w *walker) context() error {
	off := w.r.off
	var c [3]uint32 // user, role, type
	if err := w.r.u32s(c[:]); err != nil {
		return err
	}
	r, err := w.mlsRange()
	if err != nil {
		return err
	}
	user, role, typ := c[0], c[1], c[2]
	bad := func(format string, args ...any) error {
		return failAt(off, w.r.describe(), "invalid context: "+format, args...)
	}
	switch {
	case user == 0 || user > uint32(len(w.users)):
		return bad("user %d of %d", user, len(w.users))
	case role == 0 || role > uint32(len(w.roles)):
		return bad("role %d of %d", role, len(w.roles))
	case typ == 0 || typ > uint32(len(w.types)):
		return bad("type %d of %d", typ, len(w.types))
	}
	if role != objectRole {
		if !w.roles[role-1].tps.has(typ - 1) {
			return bad("role %s is not authorised for type %s", w.name(symRoles, role), w.name(symTypes, typ))
		}
		if !w.users[user-1].roles.has(role - 1) {
			return bad("user %s is not authorised for role %s", w.name(symUsers, user), w.name(symRoles, role))
		}
	}
	if !w.h.MLS {
		return nil
	}
	if why := w.rangeInvalid(r); why != "" {
		return bad("range: %s", why)
	}
	if role != objectRole {
		u := w.users[user-1].rng
		if !dominates(r.low, u.low) || !dominates(u.high, r.high) {
			return bad("range outside user %s's", w.name(symUsers, user))
		}
	}
	return nil
}

// typeValid and classValid are policydb_type_isvalid and policydb_class_isvalid.
func (w *walker) typeValid(v uint32) bool  { return v != 0 && v <= w.tables[symTypes].nprim }
func (w *walker) classValid(v uint32) bool { return v != 0 && v <= w.tables[symClasses].nprim }
func (w *walker) roleValid(v uint32) bool  { return v != 0 && v <= w.tables[symRoles].nprim }

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
	// Every entry takes at least 12 bytes: the key set may be sized once that many remain.
	if err := w.r.need(uint64(n) * 12); err != nil {
		return err
	}
	w.av.keys = make([]uint64, 0, n)
	w.a.Rules = int(n)
	start := w.r.off
	if err := w.avEntries(n, "avtab", false, nil); err != nil {
		return err
	}
	if w.av.checkUnique(n) {
		// Walk the table again with a set to say where the duplicate is.
		end := w.r.off
		w.r.off, w.avSeen = start, map[uint64]struct{}{}
		if err := w.avEntries(n, "avtab", false, nil); err != nil {
			return err
		}
		w.r.off, w.avSeen = end, nil
		w.r.at("avtab")
		return w.r.errorf("duplicate entry")
	}
	return nil
}

// avEntries reads n avtab entries (avtab_read_item), of a conditional block's list when
// cond is set; bools are then the boolean values the block's expression uses.
func (w *walker) avEntries(n uint32, where string, cond bool, bools []uint32) error {
	w.r.atEntry(where, 0)
	for i := uint32(0); i < n; i++ {
		w.r.index = int64(i) // only the index: the item is the same (and cheaper to keep)
		start := w.r.off
		if err := w.r.need(8); err != nil {
			return err
		}
		var key [4]uint16 // source type, target type, target class, specified
		for k := range key {
			key[k] = binary.LittleEndian.Uint16(w.r.data[w.r.off+2*k:])
		}
		w.r.off += 8
		spec := key[3]
		if kinds := spec & avtabKinds; kinds == 0 || kinds&(kinds-1) != 0 {
			return w.r.errorf("entry kind 0x%04x is not exactly one rule kind", spec)
		}
		if spec&^(avtabKinds|avtabEnabled) != 0 {
			return w.r.errorf("entry kind 0x%04x has unknown bits", spec)
		}
		if !w.typeValid(uint32(key[0])) || !w.typeValid(uint32(key[1])) || !w.classValid(uint32(key[2])) {
			return w.r.errorf("invalid type or class (source %d, target %d, class %d)", key[0], key[1], key[2])
		}
		k := avKey(key[0], key[1], key[2], spec&avtabKinds)
		if spec&avtabXperms == 0 {
			datum, err := w.r.u32()
			if err != nil {
				return err
			}
			if spec&avtabType != 0 && !w.typeValid(datum) {
				return w.r.errorf("type rule to invalid type %d", datum)
			}
			if err := w.admitKey(k, spec, cond); err != nil {
				return err
			}
			continue
		}
		if cond && w.h.Version < VersionCondXperms {
			// Kernels from 6.14 refuse this; older ones accept it and BUG() evaluating it.
			return w.r.errorf("extended permission rule in a conditional list: needs version %d", VersionCondXperms)
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

// admitKey applies the kernel's uniqueness rules to a non-xperm entry's key: no duplicate
// in the unconditional table (avtab_insert); a conditional type rule may not repeat an
// unconditional one, nor another block's (cond_insertf); its block's false list may repeat
// one of its true list once.
func (w *walker) admitKey(k uint64, spec uint16, cond bool) error {
	if !cond {
		if w.avSeen == nil {
			w.av.keys = append(w.av.keys, k)
			return nil
		}
		if _, dup := w.avSeen[k]; dup {
			return w.r.errorf("duplicate entry")
		}
		w.avSeen[k] = struct{}{}
		return nil
	}
	if spec&avtabType == 0 {
		return nil
	}
	if w.av.has(k) {
		return w.r.errorf("type rule already exists outside of a conditional")
	}
	if w.condTypes == nil {
		w.condTypes = map[uint64]condRule{}
	}
	prev, seen := w.condTypes[k]
	switch {
	case !seen:
		w.condTypes[k] = condRule{block: w.block, list: w.list, count: 1}
	case w.list == 1 && prev.block == w.block && prev.list == 0 && prev.count == 1:
		prev.count++
		w.condTypes[k] = prev
	default:
		return w.r.errorf("conflicting conditional type rules")
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
	nBools := w.tables[symBools].nprim
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
				if e[1] == 0 || e[1] > nBools {
					return w.r.errorf("conditional expression uses boolean %d of %d", e[1], nBools)
				}
				conds = append(conds, e[1])
			}
		}
		w.block = i
		for l, list := range []string{"true", "false"} {
			where := fmt.Sprintf("conditional block %d %s list", i, list)
			w.r.at(where)
			w.list = l
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

// roleRules reads role_transition (role, type, new role, class; unique per role, type and
// class) and role allow (role, new role) rules, every value in range.
func (w *walker) roleRules() error {
	w.r.at("role transitions")
	n, err := w.r.u32()
	if err != nil {
		return err
	}
	if err := w.r.need(uint64(n) * 16); err != nil {
		return err
	}
	seen := make(map[[3]uint32]struct{}, n)
	for i := uint32(0); i < n; i++ {
		w.r.atEntry("role transitions", i)
		var t [4]uint32
		if err := w.r.u32s(t[:]); err != nil {
			return err
		}
		if !w.roleValid(t[0]) || !w.typeValid(t[1]) || !w.roleValid(t[2]) || !w.classValid(t[3]) {
			return w.r.errorf("role %d, type %d, new role %d, class %d: out of range", t[0], t[1], t[2], t[3])
		}
		k := [3]uint32{t[0], t[1], t[3]}
		if _, dup := seen[k]; dup {
			return w.r.errorf("duplicate role transition")
		}
		seen[k] = struct{}{}
	}
	w.r.at("role allow rules")
	if n, err = w.r.u32(); err != nil {
		return err
	}
	for i := uint32(0); i < n; i++ {
		w.r.atEntry("role allow rules", i)
		var a [2]uint32
		if err := w.r.u32s(a[:]); err != nil {
			return err
		}
		if !w.roleValid(a[0]) || !w.roleValid(a[1]) {
			return w.r.errorf("role %d to %d: out of range", a[0], a[1])
		}
	}
	return nil
}

// filenameTrans reads compressed filename transitions (33+): per (name, ttype, class), a
// list of (source-type bitmap, new type). Stricter than the kernel: types and classes in
// range, and each (name, ttype, class) once (the kernel's hashtab refuses duplicates).
func (w *walker) filenameTrans() error {
	w.r.at("filename transitions")
	n, err := w.r.u32()
	if err != nil {
		return err
	}
	type ftKey struct {
		ttype, tclass uint32
		name          string
	}
	seen := map[ftKey]struct{}{}
	nTypes := int64(w.tables[symTypes].nprim)
	for i := uint32(0); i < n; i++ {
		w.r.atEntry("filename transitions", i)
		name, err := w.nameEntry()
		if err != nil {
			return err
		}
		var t [3]uint32 // ttype, tclass, ndatum
		if err := w.r.u32s(t[:]); err != nil {
			return err
		}
		if t[2] == 0 {
			return w.r.errorf("filename transition without data")
		}
		if !w.typeValid(t[0]) || !w.classValid(t[1]) {
			return w.r.errorf("target type %d or class %d out of range", t[0], t[1])
		}
		k := ftKey{t[0], t[1], string(name)}
		if _, dup := seen[k]; dup {
			return w.r.errorf("duplicate filename transition %q", name)
		}
		seen[k] = struct{}{}
		for j := uint32(0); j < t[2]; j++ {
			stypes, err := w.r.ebitmap()
			if err != nil {
				return err
			}
			otype, err := w.r.u32()
			if err != nil {
				return err
			}
			if stypes.max() >= nTypes || !w.typeValid(otype) {
				return w.r.errorf("source or new type out of range")
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

// nameEntry reads a {len} name that must be valid (str_read) and returns it.
func (w *walker) nameEntry() ([]byte, error) {
	var l [1]uint32
	name, err := w.entry(l[:])
	if err != nil {
		return nil, err
	}
	if why := validName(name); why != "" {
		return nil, w.r.errorf("%s", why)
	}
	return name, nil
}

// ocontext reads one entry of object-context list i, with ocontext_read's checks.
func (w *walker) ocontext(i int) error {
	contexts := 1
	switch i {
	case oconISID:
		sid, err := w.r.u32()
		if err != nil {
			return err
		}
		if sid == 0 {
			return w.r.errorf("SID 0 was assigned a context")
		}
	case oconFS, oconNetif:
		if _, err := w.nameEntry(); err != nil {
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
		behaviour, err := w.r.u32()
		if err != nil {
			return err
		}
		if behaviour == fsUseMntpoint || behaviour > fsUseMax {
			return w.r.errorf("fs_use behaviour %d", behaviour)
		}
		if _, err := w.nameEntry(); err != nil {
			return err
		}
	case oconNode6:
		if err := w.r.skip(8 * 4); err != nil { // address, mask
			return err
		}
	case oconIBPkey:
		var p [4]uint32 // subnet prefix (2 words), low, high
		if err := w.r.u32s(p[:]); err != nil {
			return err
		}
		if p[2] > 0xffff || p[3] > 0xffff {
			return w.r.errorf("pkey range %d-%d beyond 16 bits", p[2], p[3])
		}
	case oconIBEndport:
		var b [2]uint32 // len, port
		name, err := w.entry(b[:])
		if err != nil {
			return err
		}
		if why := validName(name); why != "" {
			return w.r.errorf("%s", why)
		}
		if b[1] == 0 || b[1] > 0xff {
			return w.r.errorf("port %d outside 1-255", b[1])
		}
	}
	for c := 0; c < contexts; c++ {
		if err := w.context(); err != nil {
			return err
		}
	}
	return nil
}

// genfs reads genfscon: per filesystem, (path, class, context) entries. As in the kernel,
// a filesystem appears once and a path once per class (class 0 matching every class).
func (w *walker) genfs() error {
	w.r.at("genfs contexts")
	n, err := w.r.u32()
	if err != nil {
		return err
	}
	fstypes := map[string]struct{}{}
	for i := uint32(0); i < n; i++ {
		w.r.atEntry("genfs filesystems", i)
		var l [1]uint32
		fstype, err := w.entry(l[:])
		if err != nil {
			return err
		}
		if why := validName(fstype); why != "" {
			return w.r.errorf("%s", why)
		}
		if _, dup := fstypes[string(fstype)]; dup {
			return w.r.errorf("duplicate genfs filesystem %q", fstype)
		}
		fstypes[string(fstype)] = struct{}{}
		m, err := w.r.u32()
		if err != nil {
			return err
		}
		// paths maps a path to the classes seen with it (0: all).
		paths := map[string][]uint32{}
		for j := uint32(0); j < m; j++ {
			w.r.atEntry("genfs "+string(fstype), j)
			path, err := w.entry(l[:])
			if err != nil {
				return err
			}
			if why := validName(path); why != "" {
				return w.r.errorf("%s", why)
			}
			class, err := w.r.u32()
			if err != nil {
				return err
			}
			if class != 0 && !w.classValid(class) {
				return w.r.errorf("class %d out of range", class)
			}
			for _, c := range paths[string(path)] {
				if c == 0 || class == 0 || c == class {
					return w.r.errorf("duplicate genfs entry %q", path)
				}
			}
			paths[string(path)] = append(paths[string(path)], class)
			if err := w.context(); err != nil {
				return err
			}
		}
	}
	return nil
}

// rangeTrans reads range_transition rules: source, target, class (in range, each triple
// once) and a valid range.
func (w *walker) rangeTrans() error {
	w.r.at("range transitions")
	n, err := w.r.u32()
	if err != nil {
		return err
	}
	seen := map[[3]uint32]struct{}{}
	for i := uint32(0); i < n; i++ {
		w.r.atEntry("range transitions", i)
		var t [3]uint32
		if err := w.r.u32s(t[:]); err != nil {
			return err
		}
		if !w.typeValid(t[0]) || !w.typeValid(t[1]) || !w.classValid(t[2]) {
			return w.r.errorf("type %d, type %d, class %d: out of range", t[0], t[1], t[2])
		}
		if _, dup := seen[t]; dup {
			return w.r.errorf("duplicate range transition")
		}
		seen[t] = struct{}{}
		r, err := w.mlsRange()
		if err != nil {
			return err
		}
		if why := w.rangeInvalid(r); why != "" {
			return w.r.errorf("invalid range: %s", why)
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
		w.r.atEntry("type attribute map", i)
		b, err := w.r.ebitmap()
		if err != nil {
			return err
		}
		if b.max() >= int64(w.nTypes) {
			return w.r.errorf("type %d beyond the %d types", b.max()+1, w.nTypes)
		}
	}
	return nil
}

// radixSort sorts keys ascending: a least-significant-digit radix sort, one pass per byte
// (skipping bytes all keys share), in linear time.
func radixSort(keys []uint64) {
	tmp := make([]uint64, len(keys))
	src, dst := keys, tmp
	for shift := uint(0); shift < 64; shift += 8 {
		var count [257]int
		for _, k := range src {
			count[(k>>shift)&0xff+1]++
		}
		if count[(src[0]>>shift)&0xff+1] == len(src) {
			continue // every key has this byte: the order stands
		}
		for i := 1; i < len(count); i++ {
			count[i] += count[i-1]
		}
		for _, k := range src {
			d := (k >> shift) & 0xff
			dst[count[d]] = k
			count[d]++
		}
		src, dst = dst, src
	}
	if &src[0] != &keys[0] {
		copy(keys, src)
	}
}
