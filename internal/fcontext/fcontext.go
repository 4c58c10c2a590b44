// Package fcontext answers "which SELinux label does this path get?" from a file_contexts
// configuration, giving exactly the answers of libselinux's file backend (selabel_lookup with
// SELABEL_CTX_FILE) in its classic 3.4–3.7 semantics, or in 3.9–3.11's (Semantics), and much
// faster.
//
// Load reads file_contexts and its companions (.homedirs, .local, .subs, .subs_dist), each as
// text or compiled .bin chosen like libselinux. Lookup normalises the key (collapses "//",
// drops one trailing "/"), applies the aliases, and returns the context of the winning spec:
// the last matching spec in libselinux's order (3.9–3.11: the first line of the latest
// input among exact specs of one path), where every spec without regex meta
// characters comes after every regex spec, and specs are otherwise in input order (base,
// .homedirs, .local; line order within a file). A spec only takes part when its file type
// field matches the lookup mode (or either is "any") and, as libselinux ≤ 3.7 does, when its
// stem (first path component, if plain) equals the key's. A winning "<<none>>" means no
// label.
//
// Speed comes from indexing, not from changing the rule: exact specs sit in a hash map, and
// regex specs are filed under the directory part of their required literal prefix, so that
// a lookup evaluates only the few specs that could match, newest first, and stops at the
// first match. See docs/fcontext.md for the semantics and the differences from libselinux.
package fcontext

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"runtime/debug"
	"strings"
	"sync/atomic"
	"unsafe"

	"golang.org/x/sys/unix"

	"github.com/nsinit/nsinit/internal/imagefile"
)

// none is the context that means "do not label".
const none = "<<none>>"

// entry is one spec ready for lookups. Its strings are substrings of the text file it came
// from or of a shared arena (see arena), so a load makes no allocation per spec.
type entry struct {
	regex  string // pattern text as written (escapes included)
	ctx    string
	prefix string // literal text every matching key starts with (matchExact: the key itself)
	stemID int32  // index of the spec's stem (get_stem_from_spec) in Handle.stems; -1 = none
	// aux depends on kind. matchExact: the next older exact entry with the same text, or -1.
	// matchRegex: the index of the entry's compiled program in Handle.progs.
	aux  int32
	mode uint32 // S_IFMT value of the file type field; 0 = any
	kind uint8  // how the pattern is matched: matchExact ... matchRegex
	none bool   // ctx is <<none>>
}

// Handle is a loaded file_contexts configuration. It is immutable after Load (apart from
// caches filled on first use) and safe for concurrent use.
type Handle struct {
	entries  []entry                   // libselinux order: regex specs, then literal specs
	exact    map[string]int32          // plain literal → newest entry index
	nodes    map[string]int32          // directory prefix → index in nodeTab
	nodeTab  []node                    // the nodes, by index
	maxNode  int                       // length of the longest node key
	stems    map[string]int32          // the specs' stems, numbered
	progs    []atomic.Pointer[program] // compiled regexes (matchRegex entries), filled on first use
	subs     *subIndex                 // .subs, last line first
	distSubs *subIndex                 // .subs_dist, last line first
	sources  []string
	sem      Semantics
}

// Options are Load's choices.
type Options struct {
	Semantics Semantics
	// Keys, when not nil, makes a handle for these lookup keys only: specs that cannot
	// match any of them (their required literal prefix is not a prefix of the key, after
	// the aliases) are left out at load, so a few lookups (the bring-up's --relabel=auto
	// check) do not pay for compiling and indexing every spec. Lookups of the keys answer
	// as a full handle does; lookups of other keys are wrong. The left-out specs are still
	// parsed (a malformed line fails the load), but an invalid regex among them is not
	// reported. Such a handle reads the text form of an input when there is one, even
	// when its .bin is newer: the text is what the .bin is compiled from, at a twentieth
	// of the bytes (Debian's: 0.33 MB against 7.3 MB, which a cold boot disk reads at
	// about 30 ms per MB under emulation); the .bin is used only without a text file.
	Keys []string
}

// node is a directory prefix with the regex entries filed under it.
type node struct {
	dir  string
	own  []int32                  // the entries filed under dir, descending
	list atomic.Pointer[[]int32]  // own merged with the ancestors' lists, descending; built on first use
	sel  atomic.Pointer[selector] // list split by the byte after dir; built on first use
}

// selector is a node's candidate list split by the key's byte after the node's directory:
// an entry only matches keys that start with its prefix, so one whose prefix goes on past
// the directory is a candidate only for keys with its next byte there, and one whose prefix
// leaves the directory's path (an ancestor's entry for a sibling) is never one. A lookup
// under a large directory (/usr/bin/, 240 entries with ancestors' on Debian) then tests a
// handful of prefixes instead of all.
type selector struct {
	any []int32     // entries whose prefix ends within dir: candidates for every key, descending
	at  [256]uint16 // byte → 1 + index in by; 0: no entry's prefix continues with that byte
	by  [][]int32   // entries whose prefix continues past dir with one byte, descending
}

// Load reads a file_contexts file and its companions exactly as libselinux's file backend
// does: the aliases path.subs_dist and path.subs (missing is fine), then path (required),
// path.homedirs and path.local (optional), each from its text or its .bin form, whichever is
// newer (by whole seconds; a tie goes to .bin), falling back to the other when it cannot be
// read. Any malformed line, or a regex that RE2 cannot compile, fails the load; the error
// names the file and line.
func Load(path string) (*Handle, error) { return LoadOptions(path, Options{}) }

// LoadOptions is Load with the rules of opt.Semantics.
func LoadOptions(path string, opt Options) (*Handle, error) {
	distList, err := loadSubs(path + distSubsSuffix)
	if err != nil {
		return nil, err
	}
	subList, err := loadSubs(path + subsSuffix)
	if err != nil {
		return nil, err
	}
	subs, distSubs := indexSubs(subList), indexSubs(distList)
	l := newLoader()
	if opt.Keys != nil {
		l.only = []string{}
		sh := &Handle{subs: subs, distSubs: distSubs}
		for _, k := range opt.Keys {
			if key, ok := sh.key(k); ok {
				l.only = append(l.only, key)
			}
		}
	}
	for i, suffix := range inputSuffixes {
		err := l.input(path + suffix)
		if err != nil && (i == 0 || !errors.Is(err, fs.ErrNotExist)) {
			return nil, err
		}
	}
	h, err := l.finish(opt.Semantics)
	if err != nil {
		return nil, err
	}
	h.subs, h.distSubs = subs, distSubs
	return h, nil
}

// distSubsSuffix and subsSuffix name the alias files, read before the inputs.
const distSubsSuffix, subsSuffix = ".subs_dist", ".subs"

// inputSuffixes name Load's inputs after the aliases, in their order: path (required), then
// path.homedirs and path.local.
var inputSuffixes = []string{"", ".homedirs", ".local"}

// TextFiles returns the text files Load reads for path, in its order: the aliases
// path.subs_dist and path.subs, then path, path.homedirs and path.local (each input may be
// read from its .bin form instead). The boot prefetches them (firstboot.Prefetch).
func TextFiles(path string) []string {
	files := []string{path + distSubsSuffix, path + subsSuffix}
	for _, suffix := range inputSuffixes {
		files = append(files, path+suffix)
	}
	return files
}

// Sources returns the specification files the handle was built from, in input order (for
// each input, the text or .bin file that was used).
func (h *Handle) Sources() []string { return append([]string(nil), h.sources...) }

// Len returns the number of specs loaded.
func (h *Handle) Len() int { return len(h.entries) }

// Semantics returns the libselinux release whose lookup rules the handle follows.
func (h *Handle) Semantics() Semantics { return h.sem }

// loader accumulates the entries of the inputs directly in libselinux's order (sort_specs:
// regex specs, then literal specs, each group in input order), so that nothing is copied
// per spec: regex entries fill buf from the front, literal entries from the back (newest
// lowest); finish reverses the literal block and moves it down behind the regex block.
type loader struct {
	buf    []entry
	nre    int // regex entries at buf[:nre]
	nlit   int // literal entries at buf[len(buf)-nlit:], newest first
	nexact int // matchExact entries among them
	nprog  int // matchRegex entries (programs)
	early  []earlyProg
	stems  map[string]int32
	// lastStem and lastStemID cache the last stem lookup (lastStemID -1: none yet).
	lastStem   string
	lastStemID int32
	arena      arena
	rxErr      *ParseError // the first bad regex, reported once every input has been read
	sources    []string
	litEnds    []int // nlit after each input that was read
	// only, when not nil, are the keys (normalised, aliases applied) the handle is for:
	// Options.Keys.
	only []string
}

// leavesOut reports whether the spec with pattern re can be left out of a handle for
// l.only: no key starts with the pattern's leading plain characters (less the last one
// when a quantifier may drop it). A top-level alternation has no such prefix ("^a|b$"
// matches keys ending in b): a pattern with any "|" is kept.
func (l *loader) leavesOut(re string) bool {
	if l.only == nil || strings.IndexByte(re, '|') >= 0 {
		return false
	}
	n := 0
	for n < len(re) && prefixClass[re[n]] == xPlain {
		n++
	}
	if n < len(re) && prefixClass[re[n]] == xOptional && n > 0 {
		n--
	}
	for _, k := range l.only {
		if strings.HasPrefix(k, re[:n]) {
			return false
		}
	}
	return true
}

// earlyProg is a regex that had to be compiled at load (safeStructure could not vouch for it).
type earlyProg struct {
	id   int32
	prog *program
}

// mark is the loader state before a file, restored when the file is abandoned.
type mark struct {
	nre, nlit, nexact, nprog, early int
	rxErr                           *ParseError
}

func newLoader() *loader {
	return &loader{stems: map[string]int32{}, lastStemID: -1}
}

func (l *loader) mark() mark {
	return mark{l.nre, l.nlit, l.nexact, l.nprog, len(l.early), l.rxErr}
}

func (l *loader) reset(m mark) {
	l.nre, l.nlit, l.nexact, l.nprog, l.early, l.rxErr = m.nre, m.nlit, m.nexact, m.nprog, l.early[:m.early], m.rxErr
}

// reserve makes room for n more entries. It leaves an eighth more free for the smaller
// inputs that usually follow (Debian's .homedirs has 7 % of file_contexts' specs), so that
// the entries are not moved again.
func (l *loader) reserve(n int) {
	if len(l.buf)-l.nre-l.nlit >= n {
		return
	}
	buf := make([]entry, max(len(l.buf)+len(l.buf)/2, l.nre+l.nlit+n+n/8+64))
	copy(buf, l.buf[:l.nre])
	copy(buf[len(buf)-l.nlit:], l.buf[len(l.buf)-l.nlit:])
	l.buf = buf
}

// add appends a spec read from text (or a v6 compiled file): its classification and stem
// are derived from the pattern, as libselinux ≤ 3.7 does. A pattern RE2 cannot take is
// remembered as the load's error if it is the first one (file, line).
func (l *loader) add(regex, ctx string, mode uint32, file string, line int) {
	sc := scanPattern(regex)
	l.addEntry(regex, ctx, mode, sc, sc.meta == len(regex), "", true, file, line)
}

// addCompiled appends a spec of a v1–v5 compiled file, which stores libselinux's
// classification (literal: no meta characters) and the spec's stem.
func (l *loader) addCompiled(regex, ctx string, mode uint32, literal bool, stem, file string, line int) {
	l.addEntry(regex, ctx, mode, scanPattern(regex), literal, stem, false, file, line)
}

// addEntry appends a spec. literal specs sort after all regex specs. stem is the spec's
// stem unless derive says to derive it from the pattern.
func (l *loader) addEntry(regex, ctx string, mode uint32, sc patternScan, literal bool, stem string, derive bool, file string, line int) {
	l.reserve(1)
	var e *entry
	if literal {
		l.nlit++
		e = &l.buf[len(l.buf)-l.nlit]
	} else {
		e = &l.buf[l.nre]
		l.nre++
	}
	*e = entry{regex: regex, ctx: ctx, mode: mode, none: ctx == none, stemID: -1}
	prog, err := prepare(e, literal, sc, &l.arena)
	if err != nil && (l.rxErr == nil || l.rxErr.File == file && line < l.rxErr.Line) {
		l.rxErr = &ParseError{File: file, Line: line, Reason: fmt.Sprintf("invalid regex %s: %v", regex, err)}
	}
	switch e.kind {
	case matchExact:
		l.nexact++
		if derive && !sc.escaped {
			// An unescaped plain literal only ever meets keys equal to itself (or itself plus
			// a final newline), whose stem is its own: the stem filter cannot reject them.
			return
		}
	case matchRegex:
		e.aux = int32(l.nprog)
		l.nprog++
		if prog != nil {
			l.early = append(l.early, earlyProg{e.aux, prog})
		}
	}
	if derive {
		stem = stemOfSpec(regex)
	}
	if stem == "" {
		return
	}
	if stem != l.lastStem || l.lastStemID < 0 { // consecutive specs mostly share their stem
		id, ok := l.stems[stem]
		if !ok {
			id = int32(len(l.stems))
			l.stems[stem] = id
		}
		l.lastStem, l.lastStemID = stem, id
	}
	e.stemID = l.lastStemID
}

// input loads one input (open_file / process_file): the newer of path and path.bin first,
// then the other one if the first cannot be processed.
func (l *loader) input(path string) error {
	cands := [2]string{path, path + ".bin"}
	var found [2]string
	var mtimes [2]int64
	n := 0
	for _, c := range cands {
		st, err := os.Stat(c)
		if err != nil {
			continue
		}
		found[n], mtimes[n] = c, st.ModTime().Unix()
		n++
	}
	if n == 0 {
		return &os.PathError{Op: "open", Path: path, Err: fs.ErrNotExist}
	}
	// A newer .bin, or a tie: .bin first; except for a handle of a few keys, which reads
	// the text the .bin was compiled from (Options.Keys).
	if n == 2 && mtimes[1] >= mtimes[0] && l.only == nil {
		found[0], found[1] = found[1], found[0]
	}
	var firstErr error
	for _, f := range found[:n] {
		m := l.mark()
		err := l.file(f)
		if err == nil {
			l.sources = append(l.sources, f)
			l.litEnds = append(l.litEnds, l.nlit)
			return nil
		}
		l.reset(m)
		if firstErr == nil {
			firstErr = err
		} else {
			firstErr = fmt.Errorf("%w (and %v)", firstErr, err)
		}
	}
	return firstErr
}

// Size limits of the specification files. libselinux reads files of any size; nsinit
// refuses larger ones before reading them. Within the limit a load allocates in proportion
// to the file's real size, never to a count read from it: at most 2.25 bytes per byte for
// lines without specs, about 45 for a file of nothing but the shortest specs (docs/fcontext.md).
const (
	// MaxTextSize bounds a text file_contexts, .homedirs or .local: 50 times Debian's
	// file_contexts (0.33 MB, 5,287 specs), the largest input nsinit is tested with.
	MaxTextSize = 16 << 20
	// MaxCompiledSize bounds a compiled .bin file: 17 times Debian's file_contexts.bin
	// (7.3 MB, mostly PCRE2 code, which is mapped and skipped, not read into memory).
	MaxCompiledSize = 128 << 20
)

// file parses one specification file, text or compiled, read through imagefile: a FIFO, a
// device, a directory or a file over its limit is refused with an error naming it. A
// compiled file is mapped, not copied (the parser copies out the strings it keeps); a text
// file is read into the one string the specs' patterns and contexts are substrings of.
func (l *loader) file(path string) error {
	f, st, err := imagefile.Open(path, MaxCompiledSize)
	if err != nil {
		return err
	}
	defer f.Close()
	var magic [4]byte
	if m, _ := f.ReadAt(magic[:], 0); m == len(magic) {
		if kind := binKind(magic[:]); kind != 0 {
			return l.compiled(f, st, kind)
		}
	}
	if st.Size() > MaxTextSize {
		return &os.PathError{Op: "open", Path: path, Err: fmt.Errorf("%w: %d bytes, the limit of a text file is %d", imagefile.ErrTooLarge, st.Size(), MaxTextSize)}
	}
	b, err := imagefile.ReadAll(f, st)
	if err != nil {
		return err
	}
	if len(b) == 0 {
		return nil
	}
	// b is never written again: the string may share its bytes.
	return l.parseText(unsafe.String(&b[0], len(b)), path)
}

// compiled parses the open compiled file f (kind: binKind's answer), mapped when it can
// be. A mapped file that shrinks while it is parsed faults (SIGBUS) on the pages past its
// new end; SetPanicOnFault turns the fault into a panic, recovered here as ErrChanged.
func (l *loader) compiled(f *os.File, st fs.FileInfo, kind int) (err error) {
	data, mapped, release, err := mapFile(f, st)
	if err != nil {
		return err
	}
	defer release()
	if mapped {
		defer debug.SetPanicOnFault(debug.SetPanicOnFault(true))
		defer func() {
			if r := recover(); r != nil {
				if _, fault := r.(interface{ Addr() uintptr }); !fault {
					panic(r)
				}
				err = &os.PathError{Op: "read", Path: f.Name(), Err: imagefile.ErrChanged}
			}
		}()
	}
	if kind == 5 {
		return l.parseBinV5(data, f.Name(), mapped)
	}
	return l.parseBinV6(data, f.Name(), mapped)
}

// finish puts the entries in their final order and indexes them: plain literals in a hash
// map (chained in the order sem prefers them), every other entry under the directory part
// of its required prefix.
func (l *loader) finish(sem Semantics) (*Handle, error) {
	if l.rxErr != nil {
		return nil, l.rxErr
	}
	lits := l.buf[len(l.buf)-l.nlit:]
	for i, j := 0, len(lits)-1; i < j; i, j = i+1, j-1 {
		lits[i], lits[j] = lits[j], lits[i]
	}
	n := l.nre + l.nlit
	copy(l.buf[l.nre:], lits)
	h := &Handle{
		entries: l.buf[:n:n],
		exact:   make(map[string]int32, l.nexact),
		nodes:   make(map[string]int32, (n-l.nexact)/4), // Debian: 480 directories for 2,700 specs
		stems:   l.stems,
		progs:   make([]atomic.Pointer[program], l.nprog),
		sources: l.sources,
		sem:     sem,
	}
	h.chainExact(l.nre, l.litEnds)
	for _, p := range l.early {
		h.progs[p.id].Store(p.prog)
	}
	// File every non-exact entry under its directory: count per node, then place the entries
	// newest first into one shared array (a counting sort: no slice per node is grown).
	nodeOf := make([]int32, n)
	var dirs []string // node id → directory (the node table is made once its size is known)
	var counts []int32
	lastDir, lastID := "", int32(-1)
	for i := range h.entries {
		e := &h.entries[i]
		if e.kind == matchExact {
			continue
		}
		dir := e.prefix[:strings.LastIndexByte(e.prefix, '/')+1]
		if lastID < 0 || dir != lastDir {
			id, ok := h.nodes[dir]
			if !ok {
				id = int32(len(dirs))
				h.nodes[dir] = id
				dirs = append(dirs, dir)
				counts = append(counts, 0)
				h.maxNode = max(h.maxNode, len(dir))
			}
			lastDir, lastID = dir, id
		}
		nodeOf[i] = lastID
		counts[lastID]++
	}
	total := int32(0)
	for id, c := range counts {
		counts[id] = total
		total += c
	}
	own := make([]int32, total)
	for i := n - 1; i >= 0; i-- {
		if h.entries[i].kind == matchExact {
			continue
		}
		id := nodeOf[i]
		own[counts[id]] = int32(i)
		counts[id]++
	}
	h.nodeTab = make([]node, len(dirs))
	start := int32(0)
	for id, dir := range dirs {
		h.nodeTab[id].dir, h.nodeTab[id].own = dir, own[start:counts[id]:counts[id]]
		start = counts[id]
	}
	return h, nil
}

// chainExact links the exact entries of each text, the preferred first: h.exact holds the
// head, aux the next. The literal block starts at nre; litEnds are the literal counts after
// each input. Libselinux34 prefers the newest entry (latest input, last line);
// Libselinux311 the latest input, and within it the first line.
func (h *Handle) chainExact(nre int, litEnds []int) {
	link := func(i int) {
		e := &h.entries[i]
		if e.kind != matchExact {
			return
		}
		e.aux = -1
		if prev, ok := h.exact[e.prefix]; ok {
			e.aux = prev
		}
		h.exact[e.prefix] = int32(i)
	}
	if h.sem != Libselinux311 {
		for i := nre; i < len(h.entries); i++ {
			link(i)
		}
		return
	}
	if nlit := len(h.entries) - nre; len(litEnds) == 0 || litEnds[len(litEnds)-1] != nlit {
		litEnds = append(litEnds, nlit) // entries parsed without input (tests): one input
	}
	start := 0
	for _, end := range litEnds { // inputs in order, each from its last line up
		for i := nre + end - 1; i >= nre+start; i-- {
			link(i)
		}
		start = end
	}
}

// list returns the candidate entries of node id: its own and its ancestors' (every node
// that is a directory prefix of it), newest first, so that a lookup reads one list. The
// merge is done on first use: most directories are never looked up by a given run.
// Concurrent first uses may merge twice; the results are equal.
func (h *Handle) list(id int32) []int32 {
	n := &h.nodeTab[id]
	if l := n.list.Load(); l != nil {
		return *l
	}
	var anc []int32
	if a := h.ancestor(n.dir); a >= 0 {
		anc = h.list(a)
	}
	l := n.own
	if len(anc) > 0 {
		l = mergeDesc(anc, n.own)
	}
	n.list.Store(&l)
	return l
}

// selector returns the candidate lists of node id split by the byte after its directory,
// building them on first use (concurrent first uses may build twice; the results are equal).
func (h *Handle) selector(id int32) *selector {
	n := &h.nodeTab[id]
	if s := n.sel.Load(); s != nil {
		return s
	}
	s := &selector{}
	d := n.dir
	for _, i := range h.list(id) {
		p := h.entries[i].prefix
		switch {
		case len(p) <= len(d):
			if p == d[:len(p)] {
				s.any = append(s.any, i)
			}
		case p[:len(d)] == d:
			c := p[len(d)]
			if s.at[c] == 0 {
				s.by = append(s.by, nil)
				s.at[c] = uint16(len(s.by))
			}
			s.by[s.at[c]-1] = append(s.by[s.at[c]-1], i)
		}
	}
	n.sel.Store(s)
	return s
}

// ancestor returns the deepest node that is a proper directory prefix of d, or -1.
func (h *Handle) ancestor(d string) int32 {
	if d == "" {
		return -1
	}
	for i := len(d) - 2; i >= 0; i-- {
		if d[i] == '/' {
			if id, ok := h.nodes[d[:i+1]]; ok {
				return id
			}
		}
	}
	if id, ok := h.nodes[""]; ok {
		return id
	}
	return -1
}

// mergeDesc merges two descending lists.
func mergeDesc(a, b []int32) []int32 {
	out := make([]int32, 0, len(a)+len(b))
	for len(a) > 0 && len(b) > 0 {
		if a[0] > b[0] {
			out, a = append(out, a[0]), a[1:]
		} else {
			out, b = append(out, b[0]), b[1:]
		}
	}
	return append(append(out, a...), b...)
}

// requiredPrefix returns literal text that every key matching "^" + re + "$" starts with
// (possibly ""): the pattern's leading plain characters, minus one made optional by a
// following quantifier; nothing when the pattern has a top-level alternation. Without
// escapes the prefix is a substring of re; with them an unescaped copy is made in a.
func requiredPrefix(re string, a *arena) string {
	if strings.IndexByte(re, '|') >= 0 && topLevelAlternation(re) {
		return ""
	}
	escaped := false
	i := 0
	for i < len(re) {
		n := 1
		switch prefixClass[re[i]] {
		case xEscape:
			if i+1 >= len(re) || isAlnum(re[i+1]) || re[i+1] >= 0x80 {
				return prefixResult(re, i, escaped, a)
			}
			escaped = true
			n = 2
		case xStop, xOptional:
			return prefixResult(re, i, escaped, a)
		}
		if i+n < len(re) && prefixClass[re[i+n]] == xOptional {
			return prefixResult(re, i, escaped, a)
		}
		i += n
	}
	return prefixResult(re, i, escaped, a)
}

// Byte classes of requiredPrefix.
const (
	xPlain    = iota
	xStop     // a regex character, or a non-ASCII byte: the literal prefix ends before it
	xOptional // "?", "*" or "{": the literal prefix ends before it and the character it follows
	xEscape   // "\\"
)

var prefixClass = func() (t [256]uint8) {
	for _, c := range []byte(`.^$+|[]()}`) {
		t[c] = xStop
	}
	for c := 0x80; c < 0x100; c++ {
		t[c] = xStop
	}
	for _, c := range []byte(`?*{`) {
		t[c] = xOptional
	}
	t['\\'] = xEscape
	return t
}()

// prefixResult is the literal text of re[:i] (plain characters and escaped punctuation).
func prefixResult(re string, i int, escaped bool, a *arena) string {
	if !escaped {
		return re[:i]
	}
	return a.unescape(re, i)
}

// arena hands out strings that share large backing buffers, so that a load makes one
// allocation for many small strings. A nil *arena allocates each string.
type arena struct{ b strings.Builder }

// room makes sure n more bytes fit the current buffer. Strings already handed out stay
// valid: a full buffer is left to them and a new one started.
func (a *arena) room(n int) {
	if a.b.Cap()-a.b.Len() < n {
		a.b = strings.Builder{}
		a.b.Grow(max(n, 16<<10))
	}
}

// bytes returns a copy of p.
func (a *arena) bytes(p []byte) string {
	if a == nil {
		return string(p)
	}
	a.room(len(p))
	start := a.b.Len()
	a.b.Write(p)
	return a.b.String()[start:]
}

// unescape returns re[:n] with every backslash dropped and the character after it kept.
func (a *arena) unescape(re string, n int) string {
	var local strings.Builder
	b := &local
	if a == nil {
		b.Grow(n)
	} else {
		a.room(n)
		b = &a.b
	}
	start := b.Len()
	for s := re[:n]; ; {
		i := strings.IndexByte(s, '\\')
		if i < 0 || i+1 >= len(s) {
			b.WriteString(s)
			break
		}
		b.WriteString(s[:i])
		b.WriteByte(s[i+1])
		s = s[i+2:]
	}
	return b.String()[start:]
}

// topLevelAlternation reports whether re has a "|" outside any group and class.
func topLevelAlternation(re string) bool {
	depth := 0
	for i := 0; i < len(re); i++ {
		switch re[i] {
		case '\\':
			i++
		case '(':
			depth++
		case ')':
			depth--
		case '|':
			if depth <= 0 {
				return true
			}
		case '[':
			// Skip the class: "]" right after "[" or "[^" is literal.
			j := i + 1
			if j < len(re) && re[j] == '^' {
				j++
			}
			if j < len(re) && re[j] == ']' {
				j++
			}
			for j < len(re) && re[j] != ']' {
				if re[j] == '\\' {
					j++
				} else if re[j] == '[' && j+1 < len(re) && re[j+1] == ':' {
					if k := strings.Index(re[j+2:], ":]"); k >= 0 {
						j += k + 3
					}
				}
				j++
			}
			i = j
		}
	}
	return false
}

// Lookup returns the context for path (a lookup key; normalised like libselinux) and st_mode
// (with S_IFMT bits; 0 = any type). ok is false for no match and for <<none>>.
// It is safe for concurrent use and does not allocate for ordinary keys.
func (h *Handle) Lookup(path string, mode uint32) (context string, ok bool) {
	e := h.lookupEntry(path, mode)
	if e == nil || e.none {
		return "", false
	}
	return e.ctx, true
}

// Ambiguous reports whether libselinux 3.4 and 3.11 could answer a lookup of path with mode
// (0: any) differently. They differ only in which of several plain-literal specs of one key
// wins (Semantics), so with fewer than two that apply, and without the final newline 3.4
// also matches, the answer is the same under both: a caller may then load file_contexts
// without finding the image's release first (the first start's check, whose probes never
// are ambiguous on Debian's policy).
func (h *Handle) Ambiguous(path string, mode uint32) bool {
	key, ok := h.key(path)
	if !ok {
		return false
	}
	if n := len(key); n > 0 && key[n-1] == '\n' {
		return true
	}
	stem := int32(-2)
	if id, ok := h.stems[stemOfKey(key)]; ok {
		stem = id
	}
	n := 0
	for i, ok := h.exact[key]; ok; i, ok = h.entries[i].aux, h.entries[i].aux >= 0 {
		if h.entries[i].applies(mode&sIFMT, stem) {
			if n++; n == 2 {
				return true
			}
		}
	}
	return false
}

// lookupEntry returns the winning entry, or nil.
func (h *Handle) lookupEntry(path string, mode uint32) *entry {
	key, ok := h.key(path)
	if !ok || len(h.entries) == 0 {
		return nil
	}
	return h.match(key, mode&sIFMT)
}

// key is the lookup key of path: normalised, then the aliases (.subs, then .subs_dist)
// applied; ok is false for a key libselinux refuses.
func (h *Handle) key(path string) (string, bool) {
	key, ok := normalize(path)
	if !ok {
		return "", false
	}
	if s, ok := h.subs.apply(key); ok {
		if d, ok := h.distSubs.apply(s); ok {
			s = d
		}
		key = s
	} else if d, ok := h.distSubs.apply(key); ok {
		key = d
	}
	return key, true
}

// match finds the last entry (in libselinux order) that matches the normalised key.
func (h *Handle) match(key string, mode uint32) *entry {
	// The key's stem as a number: -2 when it has none or no spec has it.
	stem := int32(-2)
	if id, ok := h.stems[stemOfKey(key)]; ok {
		stem = id
	}
	best := int32(-1)
	h.bestExact(key, mode, stem, &best)
	if n := len(key); n > 0 && key[n-1] == '\n' && h.sem != Libselinux311 {
		// PCRE's "$" also matches before a final newline (3.11 compares exact specs as
		// strings).
		h.bestExact(key[:n-1], mode, stem, &best)
	}
	k := probe{key: key}
	// The two candidate lists (candidates), merged on the fly: both descend.
	for any, by := h.candidates(key); len(any) > 0 || len(by) > 0; {
		var i int32
		if len(by) == 0 || len(any) > 0 && any[0] > by[0] {
			i, any = any[0], any[1:]
		} else {
			i, by = by[0], by[1:]
		}
		if i < best {
			break
		}
		e := &h.entries[i]
		if e.applies(mode, stem) && h.matches(e, &k) {
			return e
		}
	}
	if best >= 0 {
		return &h.entries[best]
	}
	return nil
}

// bestExact raises *best to the preferred plain-literal entry equal to key that applies.
// Under Libselinux34 the chain descends, so the walk stops at *best; under Libselinux311
// it is only called with *best = -1.
func (h *Handle) bestExact(key string, mode uint32, stem int32, best *int32) {
	i, ok := h.exact[key]
	for ok && i > *best {
		if h.entries[i].applies(mode, stem) {
			*best = i
			return
		}
		i = h.entries[i].aux
		ok = i >= 0
	}
}

// applies is libselinux's pre-filter: the stem and the file type.
func (e *entry) applies(mode uint32, stem int32) bool {
	return (e.mode == 0 || mode == 0 || e.mode == mode) && (e.stemID < 0 || e.stemID == stem)
}

// candidates returns the regex entries that could match key, as two descending lists: those
// filed under the deepest directory prefix of key that has a node or under its ancestors,
// less those whose prefix key cannot have (selector).
func (h *Handle) candidates(key string) (any, by []int32) {
	id, ok := int32(-1), false
	for i := min(len(key), h.maxNode) - 1; i >= 0 && !ok; i-- {
		if key[i] == '/' {
			id, ok = h.nodes[key[:i+1]]
		}
	}
	if !ok {
		if id, ok = h.nodes[""]; !ok {
			return nil, nil
		}
	}
	s := h.selector(id)
	if d := len(h.nodeTab[id].dir); len(key) > d {
		if j := s.at[key[d]]; j > 0 {
			by = s.by[j-1]
		}
	}
	return s.any, by
}

// normalize is lookup_all's key clean-up: every run of "/" becomes one "/", and one trailing
// "/" is dropped from keys longer than one byte. An empty key is invalid.
func normalize(key string) (string, bool) {
	if key == "" {
		return "", false
	}
	if strings.Contains(key, "//") {
		b := make([]byte, 0, len(key))
		for i := 0; i < len(key); i++ {
			if key[i] == '/' && i > 0 && key[i-1] == '/' {
				continue
			}
			b = append(b, key[i])
		}
		key = string(b)
	}
	if len(key) > 1 && key[len(key)-1] == '/' {
		key = key[:len(key)-1]
	}
	return key, true
}

// mapFile maps f read-only (falling back to reading it) and returns its bytes, whether they
// are a mapping, and the function that releases them. f and st come from imagefile.Open:
// a regular file within MaxCompiledSize, so both the mapping and the fallback are bounded.
func mapFile(f *os.File, st fs.FileInfo) ([]byte, bool, func(), error) {
	if size := st.Size(); size > 0 {
		data, err := unix.Mmap(int(f.Fd()), 0, int(size), unix.PROT_READ, unix.MAP_PRIVATE)
		if err == nil {
			return data, true, func() { _ = unix.Munmap(data) }, nil
		}
	}
	data, err := imagefile.ReadAll(f, st)
	if err != nil {
		return nil, false, nil, err
	}
	return data, false, func() {}, nil
}
