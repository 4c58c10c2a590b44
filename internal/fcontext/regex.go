package fcontext

import (
	"fmt"
	"strings"
	"unicode/utf8"
)

// translate turns a file_contexts pattern into the RE2 program text that matches the same
// keys as libselinux's PCRE2 compilation of "^" + pattern + "$" with PCRE2_DOTALL and no
// UTF mode (label_file.h compile_regex). The anchoring is textual, exactly like libselinux:
// a top-level alternation "a|b" stays "^a|b$".
//
// Keys are matched byte-wise: the caller maps every key byte to the rune of the same value
// (see latin1), so "." and "[^/]" consume one byte, and non-ASCII pattern bytes become the
// runes of the same value here. PCRE constructs whose RE2 spelling differs are rewritten:
//   - "$" (no multiline) matches at the end or before a final "\n": (?:\n?\z);
//   - "\Z" is the same assertion; "\s" includes VT in PCRE2; "\v" and "\h" are PCRE classes;
//   - "\e" is ESC; "(?#...)" is a comment.
//
// Constructs RE2 lacks (backreferences, lookaround, atomic and possessive groups, \K, \G,
// \R, \X, callouts ...) are errors: the caller fails the load like a validating libselinux.
func translate(pattern string) (string, error) {
	b := emitter{on: true, buf: make([]byte, 0, len(pattern)+24)}
	if err := translateTo(&b, pattern); err != nil {
		return "", err
	}
	return string(b.buf), nil
}

// checkDialect reports the error translate would, without building the translation.
func checkDialect(pattern string) error { return translateTo(&emitter{}, pattern) }

// emitter collects translated text; when off it only lets translateTo validate.
type emitter struct {
	on  bool
	buf []byte
}

func (e *emitter) putByte(c byte) {
	if e.on {
		e.buf = append(e.buf, c)
	}
}

func (e *emitter) putString(s string) {
	if e.on {
		e.buf = append(e.buf, s...)
	}
}

// hex writes byte c as the RE2 escape of the rune of the same value.
func (e *emitter) hex(c byte) {
	if e.on {
		e.buf = fmt.Appendf(e.buf, `\x{%x}`, c)
	}
}

func translateTo(b *emitter, pattern string) error {
	multiline := b.on && hasMultilineFlag(pattern)
	// The anchors are textual. Only a pattern ending in an escaping backslash interacts with
	// the "$" (it becomes a literal "\$"); otherwise scan the pattern alone, without a copy.
	src, anchor := pattern, true
	b.putString("(?s)")
	if oddBackslashes(pattern) {
		src, anchor = "^"+pattern+"$", false
	} else {
		b.putByte('^')
	}
	for i := 0; i < len(src); {
		c := src[i]
		switch {
		case c == '\\':
			n, err := translateEscape(b, src, i, false)
			if err != nil {
				return err
			}
			i += n
		case c == '$':
			if multiline {
				b.putByte('$')
			} else {
				b.putString(`(?:\n?\z)`)
			}
			i++
		case c == '[':
			n, err := translateClass(b, src, i)
			if err != nil {
				return err
			}
			i += n
		case c == '(' && strings.HasPrefix(src[i:], "(?#"):
			end := strings.IndexByte(src[i:], ')')
			if end < 0 {
				return fmt.Errorf("missing ) after (?# comment")
			}
			i += end + 1
		case c >= utf8.RuneSelf:
			b.hex(c)
			i++
		default:
			b.putByte(c)
			i++
		}
	}
	if anchor {
		if multiline {
			b.putByte('$')
		} else {
			b.putString(`(?:\n?\z)`)
		}
	}
	return nil
}

// hasMultilineFlag reports whether an inline option group such as "(?m)" or "(?im:" turns
// on PCRE's multiline mode somewhere; "$" then keeps its RE2 (?m) meaning, which agrees.
func hasMultilineFlag(s string) bool {
	for i := 0; ; {
		j := strings.Index(s[i:], "(?")
		if j < 0 {
			return false
		}
		i += j + 2
		for k := i; k < len(s); k++ {
			c := s[k]
			if c == 'm' {
				return true
			}
			if !strings.ContainsRune("imsxUJn-^", rune(c)) {
				break
			}
		}
	}
}

// translateEscape writes the RE2 form of the escape at src[i] ("\" + char) and returns how
// many bytes it consumed. inClass selects the meaning inside a character class.
func translateEscape(b *emitter, src string, i int, inClass bool) (int, error) {
	if i+1 >= len(src) {
		return 0, fmt.Errorf("\\ at end of pattern")
	}
	c := src[i+1]
	if c >= utf8.RuneSelf {
		b.hex(c)
		return 2, nil
	}
	if !isAlnum(c) {
		b.putByte('\\')
		b.putByte(c)
		return 2, nil
	}
	// Bracketless class bodies, so they can be used inside and outside classes.
	const (
		space  = `\t\n\x0b\f\r `
		vspace = `\n\x0b\f\r\x{85}`
		hspace = `\t \x{a0}`
	)
	class := func(body string, negate bool) {
		switch {
		case inClass && !negate:
			b.putString(body)
		case !negate:
			b.putString("[" + body + "]")
		default:
			b.putString("[^" + body + "]")
		}
	}
	switch c {
	case 'd', 'D', 'w', 'W', 'n', 't', 'r', 'f', 'a':
		b.putByte('\\')
		b.putByte(c)
	case 's':
		class(space, false)
	case 'v':
		class(vspace, false)
	case 'h':
		class(hspace, false)
	case 'S', 'V', 'H':
		if inClass {
			return 0, fmt.Errorf("\\%c inside a character class is not supported", c)
		}
		class(map[byte]string{'S': space, 'V': vspace, 'H': hspace}[c], true)
	case 'e':
		b.putString(`\x1b`)
	case 'b':
		if inClass {
			b.putString(`\x08`)
		} else {
			b.putString(`\b`)
		}
	case 'B', 'A', 'z':
		if inClass {
			return 0, fmt.Errorf("\\%c inside a character class", c)
		}
		b.putByte('\\')
		b.putByte(c)
	case 'Z':
		if inClass {
			return 0, fmt.Errorf("\\Z inside a character class")
		}
		b.putString(`(?:\n?\z)`)
	case 'x', 'p', 'P', 'Q', 'E', '0':
		// Same syntax and meaning in RE2 (hex, properties, quoting, octal); RE2 rejects the
		// variants PCRE reads differently (e.g. "\x" with one digit).
		b.putByte('\\')
		b.putByte(c)
	default:
		if c >= '1' && c <= '9' {
			return 0, fmt.Errorf("backreference or octal escape \\%c is not supported by RE2", c)
		}
		return 0, fmt.Errorf("escape \\%c is not supported by RE2", c)
	}
	return 2, nil
}

// translateClass copies the bracket expression starting at src[i] ("[") with PCRE's rules
// (a "]" right after "[" or "[^" is literal; POSIX [:name:] classes) and returns its length.
func translateClass(b *emitter, src string, i int) (int, error) {
	start := i
	b.putByte('[')
	i++
	if i < len(src) && src[i] == '^' {
		b.putByte('^')
		i++
	}
	if i < len(src) && src[i] == ']' {
		b.putString(`\]`)
		i++
	}
	for i < len(src) {
		c := src[i]
		switch {
		case c == ']':
			b.putByte(']')
			return i + 1 - start, nil
		case c == '[' && i+1 < len(src) && (src[i+1] == ':' || src[i+1] == '.' || src[i+1] == '='):
			end := strings.Index(src[i+2:], string(src[i+1])+"]")
			if end < 0 {
				b.putString(`\[`)
				i++
				continue
			}
			if src[i+1] != ':' {
				return 0, fmt.Errorf("POSIX collating element %q is not supported", src[i:i+end+4])
			}
			b.putString(src[i : i+end+4])
			i += end + 4
		case c == '[':
			b.putString(`\[`)
			i++
		case c == '\\':
			n, err := translateEscape(b, src, i, true)
			if err != nil {
				return 0, err
			}
			i += n
		case c >= utf8.RuneSelf:
			b.hex(c)
			i++
		default:
			b.putByte(c)
			i++
		}
	}
	return 0, fmt.Errorf("missing terminating ] for character class")
}

func isAlnum(c byte) bool {
	return c >= '0' && c <= '9' || c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z'
}

// latin1 returns s with every byte turned into the rune of the same value, so that RE2
// matches byte-wise like PCRE2 without UTF mode. ok is false when s is pure ASCII (no copy
// needed).
func latin1(s string) (string, bool) {
	n := 0
	for i := 0; i < len(s); i++ {
		if s[i] >= utf8.RuneSelf {
			n++
		}
	}
	if n == 0 {
		return s, false
	}
	buf := make([]byte, 0, len(s)+n)
	for i := 0; i < len(s); i++ {
		buf = utf8.AppendRune(buf, rune(s[i]))
	}
	return string(buf), true
}

// posixClasses are the [:name:] classes both PCRE2 and RE2 know.
var posixClasses = map[string]bool{
	"alnum": true, "alpha": true, "ascii": true, "blank": true, "cntrl": true, "digit": true,
	"graph": true, "lower": true, "print": true, "punct": true, "space": true, "upper": true,
	"word": true, "xdigit": true,
}

// safeStructure reports whether pattern (already accepted by translate) is built only from
// constructs that RE2 certainly compiles: balanced plain or (?:) groups, quantifiers that
// follow an atom and are not stacked, small counted repetitions, classes with ordered plain
// ranges. It is cheap and allocation-free; patterns it is unsure about are compiled at load.
func safeStructure(p string) bool {
	depth, counted := 0, 0
	atom := false // a quantifier may follow
	for i := 0; i < len(p); {
		c := p[i]
		switch c {
		case '\\':
			if i+1 >= len(p) {
				return false
			}
			switch p[i+1] {
			case 'Q', 'E', 'x', 'p', 'P', '0', 'b', 'B', 'A', 'z', 'Z':
				return false
			}
			i += 2
			atom = true
			continue
		case '(':
			if i+1 < len(p) && p[i+1] == '?' {
				if i+2 >= len(p) || p[i+2] != ':' {
					return false
				}
				i += 2
			}
			depth++
			if depth > 100 {
				return false
			}
			atom = false
		case ')':
			depth--
			if depth < 0 {
				return false
			}
			atom = true
		case '|':
			atom = false
		case '^', '$':
			atom = false
		case '*', '+', '?':
			if !atom || quantifierNext(p, i+1) {
				return false
			}
			atom = false
		case '{':
			n, lo, hi, ok := countedRepeat(p, i)
			if !ok {
				atom = true // a literal "{"
				break
			}
			counted++
			if !atom || counted > 3 || lo > 100 || hi > 100 || hi >= 0 && hi < lo || quantifierNext(p, i+n) {
				return false
			}
			atom = false
			i += n
			continue
		case '[':
			n := safeClass(p, i)
			if n == 0 {
				return false
			}
			i += n
			atom = true
			continue
		default:
			atom = true
		}
		i++
	}
	return depth == 0
}

// quantifierNext reports whether p[i] starts another quantifier (stacked quantifiers are
// lazy or possessive in PCRE and partly errors in RE2: leave them to the compiler).
func quantifierNext(p string, i int) bool {
	if i >= len(p) {
		return false
	}
	switch p[i] {
	case '*', '+', '?':
		return true
	case '{':
		_, _, _, ok := countedRepeat(p, i)
		return ok
	}
	return false
}

// countedRepeat parses {n}, {n,} or {n,m} at p[i] and returns its length and its bounds
// (max -1 for {n,}); ok is false when the text is not such a quantifier (a literal "{").
func countedRepeat(p string, i int) (n, lo, hi int, ok bool) {
	j := i + 1
	num := func() (int, bool) {
		v, k := 0, j
		for j < len(p) && p[j] >= '0' && p[j] <= '9' {
			if v < 1e6 {
				v = v*10 + int(p[j]-'0')
			}
			j++
		}
		return v, j > k
	}
	lo, ok = num()
	if !ok {
		return 0, 0, 0, false
	}
	hi = lo
	if j < len(p) && p[j] == ',' {
		j++
		if j < len(p) && p[j] == '}' {
			hi = -1
		} else if hi, ok = num(); !ok {
			return 0, 0, 0, false
		}
	}
	if j >= len(p) || p[j] != '}' {
		return 0, 0, 0, false
	}
	return j + 1 - i, lo, hi, true
}

// safeClass checks a bracket expression at p[i] and returns its length, or 0 when unsure.
func safeClass(p string, i int) int {
	j := i + 1
	if j < len(p) && p[j] == '^' {
		j++
	}
	first := true
	prev := -1 // last single character, for ranges
	for j < len(p) {
		c := p[j]
		switch {
		case c == ']' && !first:
			return j + 1 - i
		case c == '[' && j+1 < len(p) && p[j+1] == ':':
			k := strings.Index(p[j+2:], ":]")
			if k < 0 || !posixClasses[p[j+2:j+2+k]] {
				return 0
			}
			j += k + 4
			prev = -1
		case c == '[':
			return 0
		case c == '\\':
			if j+1 >= len(p) || isAlnum(p[j+1]) && !strings.ContainsRune("dDwWsnrtf", rune(p[j+1])) {
				return 0
			}
			if isAlnum(p[j+1]) {
				prev = -1
			} else {
				prev = int(p[j+1])
			}
			j += 2
		case c == '-' && prev >= 0 && j+1 < len(p) && p[j+1] != ']':
			hi := int(p[j+1])
			if p[j+1] == '\\' || p[j+1] == '[' || hi < prev {
				return 0
			}
			j += 2
			prev = -1
		default:
			prev = int(c)
			j++
		}
		first = false
	}
	return 0
}
