// Package fcontext answers "which SELinux label does this path get?" from a file_contexts
// configuration, giving exactly the answers of libselinux's file backend (selabel_lookup with
// SELABEL_CTX_FILE) in its classic 3.4–3.7 semantics, and much faster.
//
// Load reads file_contexts and its companions (.homedirs, .local, .subs, .subs_dist), each as
// text or compiled .bin chosen like libselinux. Lookup normalises the key (collapses "//",
// drops one trailing "/"), applies the aliases, and returns the context of the winning spec:
// the last matching spec in libselinux's order, where every spec without regex meta
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
	"io"
	"io/fs"
	"os"
	"runtime"
	"sort"
	"strings"
	"sync"
	"sync/atomic"

	"golang.org/x/sys/unix"
)

// none is the context that means "do not label".
const none = "<<none>>"

// spec is one line of a specification file, in libselinux ≤ 3.7 terms.
type spec struct {
	regex   string // pattern text as written (escapes included)
	ctx     string
	stem    string // first path component of the pattern when plain (get_stem_from_spec), "" = none
	mode    uint32 // S_IFMT value of the file type field; 0 = any
	input   int32  // 0 file_contexts, 1 .homedirs, 2 .local
	line    int32  // source line (record number for compiled files)
	literal bool   // no regex meta characters (spec_hasMetaChars): sorted after all regexes
}

// entry is a spec ready for lookups.
type entry struct {
	spec
	none   bool                    // ctx is <<none>>
	kind   uint8                   // how the pattern is matched: matchExact ... matchRegex
	stemID int32                   // index of stem in Handle.stems; -1 = no stem
	prefix string                  // literal text every matching key starts with
	prog   atomic.Pointer[program] // matchRegex: compiled on first use
}

// Handle is a loaded file_contexts configuration. It is immutable after Load and safe for
// concurrent use.
type Handle struct {
	entries  []entry            // libselinux order: regex specs, then literal specs
	exact    map[string]int32   // plain literal → newest entry index
	sameNext []int32            // entry index → next older plain literal entry with the same text, or -1
	nodes    map[string][]int32 // directory prefix → candidate regex entries (with ancestors'), descending
	maxNode  int                // length of the longest node key
	stems    map[string]int32   // the specs' stems, numbered
	subs     []sub              // .subs, last line first
	distSubs []sub              // .subs_dist, last line first
	sources  []string
}

// Load reads a file_contexts file and its companions exactly as libselinux's file backend
// does: the aliases path.subs_dist and path.subs (missing is fine), then path (required),
// path.homedirs and path.local (optional), each from its text or its .bin form, whichever is
// newer (by whole seconds; a tie goes to .bin), falling back to the other when it cannot be
// read. Any malformed line, or a regex that RE2 cannot compile, fails the load; the error
// names the file and line.
func Load(path string) (*Handle, error) {
	distSubs, err := loadSubs(path + ".subs_dist")
	if err != nil {
		return nil, err
	}
	subs, err := loadSubs(path + ".subs")
	if err != nil {
		return nil, err
	}
	in := &loader{ctxs: interner{}}
	for i, suffix := range []string{"", ".homedirs", ".local"} {
		err := in.input(path+suffix, i)
		if err != nil && (i == 0 || !errors.Is(err, fs.ErrNotExist)) {
			return nil, err
		}
	}
	h, err := build(in.specs[:], in.files)
	if err != nil {
		return nil, err
	}
	h.subs, h.distSubs, h.sources = subs, distSubs, in.sources
	return h, nil
}

// Sources returns the specification files the handle was built from, in input order (for
// each input, the text or .bin file that was used).
func (h *Handle) Sources() []string { return append([]string(nil), h.sources...) }

// Len returns the number of specs loaded.
func (h *Handle) Len() int { return len(h.entries) }

// loader accumulates specs from the inputs.
type loader struct {
	specs   [3][]spec // per input: file_contexts, .homedirs, .local
	files   []string  // file name per input number, for errors
	sources []string
	ctxs    interner
}

// interner makes equal contexts share one string.
type interner map[string]string

func (in interner) bytes(b []byte) string {
	if s, ok := in[string(b)]; ok {
		return s
	}
	return in.str(string(b))
}

func (in interner) str(s string) string {
	if t, ok := in[s]; ok {
		return t
	}
	in[s] = s
	return s
}

// input loads one input (open_file / process_file): the newer of path and path.bin first,
// then the other one if the first cannot be processed.
func (l *loader) input(path string, n int) error {
	cands := []string{path, path + ".bin"}
	var found []string
	var mtimes []int64
	for _, c := range cands {
		st, err := os.Stat(c)
		if err != nil {
			continue
		}
		found = append(found, c)
		mtimes = append(mtimes, st.ModTime().Unix())
	}
	if len(found) == 0 {
		return &os.PathError{Op: "open", Path: path, Err: fs.ErrNotExist}
	}
	if len(found) == 2 && mtimes[1] >= mtimes[0] { // newer .bin, or a tie: .bin first
		found[0], found[1] = found[1], found[0]
	}
	for len(l.files) <= n {
		l.files = append(l.files, "")
	}
	var firstErr error
	for _, f := range found {
		err := l.file(f, n)
		if err == nil {
			l.files[n] = f
			l.sources = append(l.sources, f)
			return nil
		}
		l.specs[n] = l.specs[n][:0]
		if firstErr == nil {
			firstErr = err
		} else {
			firstErr = fmt.Errorf("%w (and %v)", firstErr, err)
		}
	}
	return firstErr
}

// file parses one specification file, text or compiled. A compiled file is mapped, not
// copied (the parser copies out what it keeps); a text file is read into the one string the
// specs' patterns are substrings of.
func (l *loader) file(path string, n int) error {
	f, err := os.Open(path)
	if err != nil {
		return err
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil {
		return err
	}
	var magic [4]byte
	if m, _ := f.ReadAt(magic[:], 0); m == len(magic) {
		if kind := binKind(magic[:]); kind != 0 {
			data, release, err := mapFile(f, st)
			if err != nil {
				return err
			}
			defer release()
			if kind == 5 {
				return parseBinV5(data, path, n, l.ctxs, &l.specs[n])
			}
			return parseBinV6(data, path, n, l.ctxs, &l.specs[n])
		}
	}
	var text strings.Builder
	if st.Mode().IsRegular() && st.Size() == int64(int(st.Size())) {
		text.Grow(int(st.Size()))
	}
	if _, err := io.CopyBuffer(&text, f, make([]byte, 32<<10)); err != nil {
		return &os.PathError{Op: "read", Path: path, Err: err}
	}
	return parseText(text.String(), path, n, l.ctxs, &l.specs[n])
}

// build orders the specs of the inputs like libselinux (sort_specs: literal specs after
// regex specs, stable), prepares their matchers and indexes them.
func build(inputs [][]spec, files []string) (*Handle, error) {
	n := 0
	for _, specs := range inputs {
		n += len(specs)
	}
	h := &Handle{
		entries:  make([]entry, n),
		exact:    make(map[string]int32, n/2),
		nodes:    make(map[string][]int32),
		sameNext: make([]int32, n),
		stems:    make(map[string]int32),
	}
	i := 0
	for pass := 0; pass < 2; pass++ {
		for _, specs := range inputs {
			for k := range specs {
				if s := &specs[k]; s.literal == (pass == 1) {
					h.entries[i].spec, h.entries[i].none = *s, s.ctx == none
					i++
				}
			}
		}
	}
	// Classify and translate (in parallel: it is most of the build), then index. Compiling
	// thousands of regexes would cost more than the whole libselinux load, so regexes are
	// compiled on first use (see entry.prepare).
	errs := make([]error, len(h.entries))
	parallel(len(h.entries), func(lo, hi int) {
		for i := lo; i < hi; i++ {
			e := &h.entries[i]
			errs[i] = e.prepare()
		}
	})
	// Report the earliest bad line (by input, then line), as a sequential load would.
	first := -1
	for i, err := range errs {
		e := &h.entries[i]
		if err != nil && (first < 0 || e.input < h.entries[first].input ||
			e.input == h.entries[first].input && e.line < h.entries[first].line) {
			first = i
		}
	}
	if first >= 0 {
		return nil, h.entries[first].errorf(files, errs[first])
	}
	direct := map[string][]int32{}
	for i := range h.entries {
		e := &h.entries[i]
		e.stemID = -1
		if e.stem != "" {
			id, ok := h.stems[e.stem]
			if !ok {
				id = int32(len(h.stems))
				h.stems[e.stem] = id
			}
			e.stemID = id
		}
		if e.kind == matchExact {
			h.sameNext[i] = -1
			if prev, ok := h.exact[e.prefix]; ok {
				h.sameNext[i] = prev
			}
			h.exact[e.prefix] = int32(i)
			continue
		}
		dir := e.prefix[:strings.LastIndexByte(e.prefix, '/')+1]
		direct[dir] = append(direct[dir], int32(i))
	}
	// Each node gets its own specs and all its ancestors' (every node that is a directory
	// prefix of it), newest first, so that a lookup reads one list. Shorter prefixes first:
	// a node merges its deepest existing ancestor's finished list with its own.
	dirs := make([]string, 0, len(direct))
	for d := range direct {
		dirs = append(dirs, d)
	}
	sort.Slice(dirs, func(a, b int) bool { return len(dirs[a]) < len(dirs[b]) })
	for _, d := range dirs {
		own := direct[d]
		reverse(own)
		h.nodes[d] = mergeDesc(h.ancestorList(d), own)
		h.maxNode = max(h.maxNode, len(d))
	}
	return h, nil
}

// parallel runs f over [0, n) split into one range per CPU (sequentially for small n).
func parallel(n int, f func(lo, hi int)) {
	workers := runtime.GOMAXPROCS(0)
	if n < 2048 || workers < 2 {
		f(0, n)
		return
	}
	var wg sync.WaitGroup
	step := (n + workers - 1) / workers
	for lo := 0; lo < n; lo += step {
		hi := min(lo+step, n)
		wg.Add(1)
		go func() {
			defer wg.Done()
			f(lo, hi)
		}()
	}
	wg.Wait()
}

// ancestorList returns the list of the deepest node that is a proper directory prefix of d.
func (h *Handle) ancestorList(d string) []int32 {
	if d == "" {
		return nil
	}
	for i := len(d) - 2; i >= 0; i-- {
		if d[i] == '/' {
			if l, ok := h.nodes[d[:i+1]]; ok {
				return l
			}
		}
	}
	return h.nodes[""]
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

func reverse(v []int32) {
	for i, j := 0, len(v)-1; i < j; i, j = i+1, j-1 {
		v[i], v[j] = v[j], v[i]
	}
}

func (e *entry) errorf(files []string, err error) error {
	file := ""
	if int(e.input) < len(files) {
		file = files[e.input]
	}
	return &ParseError{File: file, Line: int(e.line), Reason: fmt.Sprintf("invalid regex %s: %v", e.regex, err)}
}

// plainLiteral returns the text a pattern matches when it is a plain string: no meta
// characters and only escapes of punctuation (which stand for themselves). Patterns such as
// "/a\d" or "/a)" are left to the regex engine.
func plainLiteral(re string) (string, bool) {
	escaped := false
	for i := 0; i < len(re); i++ {
		switch re[i] {
		case '.', '^', '$', '?', '*', '+', '|', '[', '(', '{', ')':
			return "", false
		case '\\':
			if i+1 >= len(re) || isAlnum(re[i+1]) || re[i+1] >= 0x80 {
				return "", false
			}
			escaped = true
			i++
		}
	}
	if !escaped {
		return re, true
	}
	b := make([]byte, 0, len(re))
	for i := 0; i < len(re); i++ {
		if re[i] == '\\' {
			i++
		}
		b = append(b, re[i])
	}
	return string(b), true
}

// requiredPrefix returns literal text that every key matching "^" + re + "$" starts with
// (possibly ""): the pattern's leading plain characters, minus one made optional by a
// following quantifier; nothing when the pattern has a top-level alternation.
func requiredPrefix(re string) string {
	if topLevelAlternation(re) {
		return ""
	}
	// Without escapes the prefix is a substring of re; build a copy only when unescaping.
	var b []byte
	plain := true
	for i := 0; i < len(re); {
		c := re[i]
		n := 1
		switch {
		case c == '\\':
			if i+1 >= len(re) || isAlnum(re[i+1]) || re[i+1] >= 0x80 {
				return prefixResult(re, i, b, plain)
			}
			if plain {
				b, plain = append(b, re[:i]...), false
			}
			c = re[i+1]
			n = 2
		case strings.IndexByte(`.^$?*+|[](){}`, c) >= 0 || c >= 0x80:
			return prefixResult(re, i, b, plain)
		}
		if i+n < len(re) {
			switch re[i+n] {
			case '?', '*', '{':
				return prefixResult(re, i, b, plain)
			}
		}
		if !plain {
			b = append(b, c)
		}
		i += n
	}
	return prefixResult(re, len(re), b, plain)
}

func prefixResult(re string, i int, b []byte, plain bool) string {
	if plain {
		return re[:i]
	}
	return string(b)
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

// lookupEntry returns the winning entry, or nil.
func (h *Handle) lookupEntry(path string, mode uint32) *entry {
	key, ok := normalize(path)
	if !ok || len(h.entries) == 0 {
		return nil
	}
	if s, ok := applySub(h.subs, key); ok {
		if d, ok := applySub(h.distSubs, s); ok {
			s = d
		}
		key = s
	} else if d, ok := applySub(h.distSubs, key); ok {
		key = d
	}
	return h.match(key, mode&sIFMT)
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
	if n := len(key); n > 0 && key[n-1] == '\n' {
		// PCRE's "$" also matches before a final newline.
		h.bestExact(key[:n-1], mode, stem, &best)
	}
	k := probe{key: key}
	for _, i := range h.candidates(key) {
		if i < best {
			break
		}
		e := &h.entries[i]
		if e.applies(mode, stem) && e.matches(&k) {
			return e
		}
	}
	if best >= 0 {
		return &h.entries[best]
	}
	return nil
}

// bestExact raises *best to the newest plain-literal entry equal to key that applies.
func (h *Handle) bestExact(key string, mode uint32, stem int32, best *int32) {
	i, ok := h.exact[key]
	for ok && i > *best {
		if h.entries[i].applies(mode, stem) {
			*best = i
			return
		}
		i = h.sameNext[i]
		ok = i >= 0
	}
}

// applies is libselinux's pre-filter: the stem and the file type.
func (e *entry) applies(mode uint32, stem int32) bool {
	return (e.mode == 0 || mode == 0 || e.mode == mode) && (e.stemID < 0 || e.stemID == stem)
}

// candidates returns the regex entries that could match key: those filed under the deepest
// directory prefix of key that has a node (that list includes the ancestors' entries).
func (h *Handle) candidates(key string) []int32 {
	for i := min(len(key), h.maxNode) - 1; i >= 0; i-- {
		if key[i] == '/' {
			if l, ok := h.nodes[key[:i+1]]; ok {
				return l
			}
		}
	}
	return h.nodes[""]
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

// mapFile maps the open file read-only (falling back to reading it) and returns its bytes
// and the function that releases them.
func mapFile(f *os.File, st os.FileInfo) ([]byte, func(), error) {
	if size := st.Size(); size > 0 && size == int64(int(size)) && st.Mode().IsRegular() {
		data, err := unix.Mmap(int(f.Fd()), 0, int(size), unix.PROT_READ, unix.MAP_PRIVATE)
		if err == nil {
			return data, func() { _ = unix.Munmap(data) }, nil
		}
	}
	data, err := io.ReadAll(f)
	if err != nil {
		return nil, nil, &os.PathError{Op: "read", Path: f.Name(), Err: err}
	}
	return data, func() {}, nil
}
