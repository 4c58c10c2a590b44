package fcontext

import (
	"regexp"
	"regexp/syntax"
	"strings"
)

// Entry kinds. Most regex specs have one of a few shapes around a plain literal L that
// plain string tests decide exactly, without a regex engine.
const (
	matchExact  = iota // plain literal: the key equals L (only used through Handle.exact)
	matchTree          // "L(/.*)?": L itself or anything under it (prefix L)
	matchUnder         // "L/.*": anything under L (prefix L + "/")
	matchPrefix        // "L.*": anything starting with L (prefix L)
	matchRegex         // anything else: RE2
)

// shapes are the pattern suffixes with a string-test equivalent, and their kinds. meta is
// the position of the suffix's first meta character.
var shapes = []struct {
	suffix string
	meta   int
	kind   uint8
}{{"(/.*)?", 0, matchTree}, {"/.*", 1, matchUnder}, {".*", 0, matchPrefix}}

// program is a compiled regex plus cheap necessary conditions checked first.
type program struct {
	re       *regexp.Regexp
	lits     []string // ASCII literals every match contains, in this order
	suffix   string   // ASCII literal every match ends with, or ends with before a final "\n"
	suffixNL string   // suffix + "\n"
}

// prepare classifies the entry's pattern and sets its kind and required prefix. literal
// is libselinux's classification (no meta characters), sc the scan of the pattern. A plain
// literal or one of the shapes needs no regex; a regex is checked now (so dialect errors
// fail the load) and compiled now only when safeStructure cannot vouch for RE2 accepting
// it: that program is returned. Unescaped strings are made in a.
func prepare(e *entry, literal bool, sc patternScan, a *arena) (*program, error) {
	re := e.regex
	if literal && sc.meta == len(re) && sc.plain {
		e.kind, e.prefix = matchExact, re
		if sc.escaped {
			e.prefix = a.unescape(re, len(re))
		}
		return nil, nil
	}
	// A shape's head L is plain when the pattern's first meta character is the suffix's and
	// everything before it is plain (patternScan.plain); for "/.*" the "/" must not be the
	// escaped character of a backslash ending L.
	for _, s := range shapes {
		head := len(re) - len(s.suffix)
		if head < 0 || sc.meta != head+s.meta || !sc.plain || re[head:] != s.suffix ||
			s.meta > 0 && oddBackslashes(re[:head]) {
			continue
		}
		n := head + s.meta // L, or L + "/" for "/.*"
		e.kind, e.prefix = s.kind, re[:n]
		if sc.escaped {
			e.prefix = a.unescape(re, n)
		}
		return nil, nil
	}
	if err := checkDialect(re); err != nil {
		return nil, err
	}
	e.kind, e.prefix = matchRegex, requiredPrefix(re, a)
	if !safeStructure(re) {
		return compileProgram(re)
	}
	return nil, nil
}

// oddBackslashes reports whether s ends with an odd number of backslashes (its last one
// escapes whatever follows).
func oddBackslashes(s string) bool {
	n := len(s) - len(strings.TrimRight(s, `\`))
	return n%2 == 1
}

// compileProgram translates and compiles a pattern and derives its literal pre-checks from the parse tree: the
// literal children of a top-level concatenation must occur in order, and a literal right
// before the end anchor must end the key.
func compileProgram(pattern string) (*program, error) {
	src, err := translate(pattern)
	if err != nil {
		return nil, err
	}
	re, err := regexp.Compile(src)
	if err != nil {
		return nil, err
	}
	p := &program{re: re}
	tree, err := syntax.Parse(src, syntax.Perl)
	if err != nil || tree.Op != syntax.OpConcat {
		return p, nil
	}
	subs := tree.Sub
	// The translated end anchor is "\n?\z": skip it to find a trailing literal.
	end := len(subs)
	for end > 0 && (subs[end-1].Op == syntax.OpEndText || isOptionalNewline(subs[end-1])) {
		end--
	}
	for i, s := range subs {
		lit, ok := asciiLiteral(s)
		if !ok {
			continue
		}
		p.lits = append(p.lits, lit)
		if i == end-1 && end < len(subs) {
			p.suffix, p.suffixNL = lit, lit+"\n"
		}
	}
	return p, nil
}

func isOptionalNewline(re *syntax.Regexp) bool {
	return re.Op == syntax.OpQuest && re.Sub[0].Op == syntax.OpLiteral && string(re.Sub[0].Rune) == "\n"
}

// asciiLiteral returns the text of a case-sensitive, ASCII-only literal node.
func asciiLiteral(re *syntax.Regexp) (string, bool) {
	if re.Op != syntax.OpLiteral || re.Flags&syntax.FoldCase != 0 {
		return "", false
	}
	b := make([]byte, len(re.Rune))
	for i, r := range re.Rune {
		if r >= 0x80 {
			return "", false
		}
		b[i] = byte(r)
	}
	return string(b), true
}

// neverMatch stands in for a regex that failed to compile lazily. safeStructure is meant to
// rule that out (FuzzSafeStructure checks it); this keeps a lookup from panicking anyway.
var neverMatch = &program{re: regexp.MustCompile(`[^\x00-\x{10FFFF}]`)}

// program returns the compiled regex of a matchRegex entry, compiling it on first use.
// Concurrent first uses may compile twice; both results are equivalent.
func (h *Handle) program(e *entry) *program {
	slot := &h.progs[e.aux]
	if p := slot.Load(); p != nil {
		return p
	}
	p, err := compileProgram(e.regex)
	if err != nil {
		p = neverMatch
	}
	slot.Store(p)
	return p
}

// probe is a key being looked up, with its byte-wise (Latin-1) form made on demand.
type probe struct {
	key    string
	mapped string
	done   bool
}

func (k *probe) latin1() string {
	if !k.done {
		k.mapped, _ = latin1(k.key)
		k.done = true
	}
	return k.mapped
}

// matches reports whether the probe's key matches the entry's pattern (its stem and type
// are checked by applies).
func (h *Handle) matches(e *entry, k *probe) bool {
	key := k.key
	if !strings.HasPrefix(key, e.prefix) {
		return false
	}
	switch e.kind {
	case matchExact:
		return len(key) == len(e.prefix) || key[len(e.prefix):] == "\n"
	case matchTree:
		rest := key[len(e.prefix):]
		return rest == "" || rest == "\n" || rest[0] == '/'
	case matchUnder, matchPrefix:
		return true // the prefix is all: ".*" matches anything, "\n" included
	}
	p := h.program(e)
	if p.suffix != "" && !strings.HasSuffix(key, p.suffix) && !strings.HasSuffix(key, p.suffixNL) {
		return false
	}
	pos := 0
	for _, l := range p.lits {
		j := strings.Index(key[pos:], l)
		if j < 0 {
			return false
		}
		pos += j + len(l)
	}
	return p.re.MatchString(k.latin1())
}
