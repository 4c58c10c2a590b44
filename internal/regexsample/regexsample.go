// Package regexsample generates strings that a regular expression matches, from its parse
// tree. The conformance tests and `make bench` use it to derive lookup keys that hit every
// file_contexts spec.
package regexsample

import (
	"regexp/syntax"
	"strings"
)

// Generate returns a string matched by re (which must be parsed with syntax.Perl and
// without case folding); v varies the choices: repetition counts, alternatives and class
// members. Empty-width assertions (^, $, \b) are not checked, so a pattern built from them
// may produce a string it does not match; file_contexts patterns are anchored once, outside.
func Generate(re *syntax.Regexp, v int) string {
	var b strings.Builder
	generate(&b, re, v)
	return b.String()
}

func generate(b *strings.Builder, re *syntax.Regexp, v int) {
	switch re.Op {
	case syntax.OpLiteral:
		for _, r := range re.Rune {
			b.WriteByte(byte(r))
		}
	case syntax.OpCharClass:
		b.WriteByte(pick(re.Rune, v))
	case syntax.OpAnyChar, syntax.OpAnyCharNotNL:
		b.WriteByte("xqz"[v%3])
	case syntax.OpStar, syntax.OpPlus, syntax.OpQuest, syntax.OpRepeat:
		lo, hi := re.Min, re.Max
		switch re.Op {
		case syntax.OpStar:
			lo, hi = 0, 2
		case syntax.OpPlus:
			lo, hi = 1, 2
		case syntax.OpQuest:
			lo, hi = 0, 1
		}
		if hi < lo {
			hi = lo + 1
		}
		for i := range lo + v%(hi-lo+1) {
			generate(b, re.Sub[0], v+i)
		}
	case syntax.OpConcat:
		for _, s := range re.Sub {
			generate(b, s, v)
		}
	case syntax.OpAlternate:
		generate(b, re.Sub[v%len(re.Sub)], v)
	case syntax.OpCapture:
		generate(b, re.Sub[0], v)
	}
}

// pick returns a byte of a character class: a letter, digit, '_', '-' or '.' when the class
// has one (varying with v), else its first byte. Paths made of such bytes are what real
// trees hold.
func pick(ranges []rune, v int) byte {
	var cands []byte
	for i := 0; i+1 < len(ranges) && len(cands) < 64; i += 2 {
		for r := ranges[i]; r <= ranges[i+1] && r < 256 && len(cands) < 64; r++ {
			c := byte(r)
			if c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '_' || c == '-' || c == '.' {
				cands = append(cands, c)
			}
		}
	}
	if len(cands) > 0 {
		return cands[(v*7)%len(cands)]
	}
	if len(ranges) > 0 && ranges[0] < 256 {
		return byte(ranges[0])
	}
	return 'x'
}
