package fcontext

import (
	"fmt"
	"strings"
)

// File type fields (D.1) and the S_IFMT values they stand for (<linux/stat.h>).
const (
	sIFMT   = 0o170000 // S_IFMT: file type mask
	sIFSOCK = 0o140000 // S_IFSOCK
	sIFLNK  = 0o120000 // S_IFLNK
	sIFREG  = 0o100000 // S_IFREG
	sIFBLK  = 0o060000 // S_IFBLK
	sIFDIR  = 0o040000 // S_IFDIR
	sIFCHR  = 0o020000 // S_IFCHR
	sIFIFO  = 0o010000 // S_IFIFO
)

// typeField maps the two-character file type field to an S_IFMT value
// (label_file.h string_to_mode).
func typeField(f string) (uint32, bool) {
	if len(f) != 2 || f[0] != '-' {
		return 0, false
	}
	switch f[1] {
	case 'b':
		return sIFBLK, true
	case 'c':
		return sIFCHR, true
	case 'd':
		return sIFDIR, true
	case 'p':
		return sIFIFO, true
	case 'l':
		return sIFLNK, true
	case 's':
		return sIFSOCK, true
	case '-':
		return sIFREG, true
	}
	return 0, false
}

// isSpace is C isspace in the C locale.
func isSpace(c byte) bool {
	return c == ' ' || c == '\t' || c == '\n' || c == '\v' || c == '\f' || c == '\r'
}

// ParseError is a malformed line (or unreadable compiled file) in a specification file.
type ParseError struct {
	File   string
	Line   int // 0 when the error is not about one line (compiled files)
	Reason string
}

func (e *ParseError) Error() string {
	if e.Line == 0 {
		return e.File + ": " + e.Reason
	}
	return fmt.Sprintf("%s:%d: %s", e.File, e.Line, e.Reason)
}

// Byte classes of the text parser (C isspace in the C locale; a NUL ends a C string).
const (
	cPlain = iota
	cSpace
	cNUL
	cHigh // non-ASCII
)

var textClass = func() (t [256]uint8) {
	for c := 0x80; c < 0x100; c++ {
		t[c] = cHigh
	}
	for _, c := range []byte(" \t\n\v\f\r") {
		t[c] = cSpace
	}
	t[0] = cNUL
	return t
}()

// plainRun returns the end of the run of cPlain bytes starting at s[p]. Eight bytes at a
// time while none is below 0x21 (blanks, NUL, other controls) or above 0x7f; byte by byte
// from the word that has one.
func plainRun(s string, p int) int {
	const ones, highs = 0x0101010101010101, 0x8080808080808080
	for p+8 <= len(s) {
		x := uint64(s[p]) | uint64(s[p+1])<<8 | uint64(s[p+2])<<16 | uint64(s[p+3])<<24 |
			uint64(s[p+4])<<32 | uint64(s[p+5])<<40 | uint64(s[p+6])<<48 | uint64(s[p+7])<<56
		// (x - 0x21 per byte) &^ x has a byte's high bit set when that byte (or, through a
		// borrow, one after a flagged byte) is below 0x21; x & highs flags bytes above 0x7f.
		if ((x-0x21*ones)&^x|x)&highs != 0 {
			break
		}
		p += 8
	}
	for p < len(s) && textClass[s[p]] == cPlain {
		p++
	}
	return p
}

// specBytes is the length of an average spec line (Debian's file_contexts: 62 bytes), by
// which parseText estimates how many entries a text holds.
const specBytes = 64

// parseText parses a text file_contexts the way libselinux 3.4 does (label_support.c
// read_spec_entries, label_file.h process_line) and adds its specs to l. Patterns and
// contexts stay substrings of text.
func (l *loader) parseText(text string, file string) error {
	// Reserve for the specs the text can be expected to hold, an estimate by its size: a
	// count of lines would turn a file of blank lines into an entry array 64 times its size.
	l.reserve(len(text)/specBytes + 1)
	for lineno := 1; len(text) > 0; lineno++ {
		line := text
		if i := strings.IndexByte(text, '\n'); i >= 0 {
			line, text = text[:i], text[i+1:]
		} else {
			text = ""
		}
		if err := l.parseLine(line, file, lineno); err != nil {
			return err
		}
	}
	return nil
}

// parseLine handles one line (without its "\n").
func (l *loader) parseLine(line string, file string, lineno int) error {
	var fields [3]string
	n := 0
	p := 0
	for n < 3 {
		for p < len(line) && textClass[line[p]] == cSpace {
			p++
		}
		// libselinux works on the C string: a NUL byte ends the line.
		if p == len(line) || line[p] == 0 || n == 0 && line[p] == '#' {
			break
		}
		start := p
		p = plainRun(line, p)
		if p < len(line) && textClass[line[p]] == cHigh {
			return &ParseError{File: file, Line: lineno, Reason: "error due to: Non-ASCII characters found"}
		}
		fields[n] = line[start:p]
		n++
	}
	switch {
	case n == 0:
		return nil // blank or comment
	case n < 2:
		return &ParseError{File: file, Line: lineno, Reason: "line is missing fields"}
	}
	re, ctx, mode := fields[0], fields[1], uint32(0)
	if n == 3 {
		m, ok := typeField(fields[1])
		if !ok {
			return &ParseError{File: file, Line: lineno, Reason: fmt.Sprintf("invalid file type %s", fields[1])}
		}
		mode, ctx = m, fields[2]
	}
	if !l.leavesOut(re) {
		l.add(re, ctx, mode, file, lineno)
	}
	return nil
}

// Pattern byte classes of scanPattern.
const (
	pPlain  = iota
	pMeta   // . ^ $ ? * + | [ ( {: libselinux ≤ 3.7's meta characters (spec_hasMetaChars)
	pClose  // ")": no meta character for libselinux, but no plain character either
	pEscape // "\"
)

var patClass = func() (t [256]uint8) {
	for _, c := range []byte(".^$?*+|[({") {
		t[c] = pMeta
	}
	t[')'] = pClose
	t['\\'] = pEscape
	return t
}()

// patternScan is what one pass over a pattern tells.
type patternScan struct {
	// meta is the index of the first meta character as libselinux ≤ 3.7 finds it (a
	// backslash skips the next character, whatever it is; only . ^ $ ? * + | [ ( { count),
	// or the pattern's length when there is none: the spec is then "literal" and sorts
	// after every regex spec.
	meta int
	// plain is true when the text before meta is a plain string: no ")" and only escapes of
	// punctuation, which stand for themselves. Patterns such as "/a\d" or "/a)" are left to
	// the regex engine even when libselinux calls them literal.
	plain bool
	// escaped is true when the text before meta has an escape (its literal text differs).
	escaped bool
}

func scanPattern(re string) patternScan {
	s := patternScan{meta: len(re), plain: true}
	for i := 0; ; i++ {
		for i < len(re) && patClass[re[i]] == pPlain {
			i++
		}
		if i >= len(re) {
			return s
		}
		switch patClass[re[i]] {
		case pMeta:
			s.meta = i
			return s
		case pClose:
			s.plain = false
		case pEscape:
			if i+1 >= len(re) || isAlnum(re[i+1]) || re[i+1] >= 0x80 {
				s.plain = false
			}
			s.escaped = true
			i++
		}
	}
}

// stemOfSpec is libselinux ≤ 3.7 get_stem_from_spec: the text before the second "/", when
// there is one and that text has no meta characters (escapes are not skipped here); ""
// means no stem.
func stemOfSpec(re string) string {
	if len(re) < 2 {
		return ""
	}
	i := strings.IndexByte(re[1:], '/')
	if i < 0 {
		return ""
	}
	stem := re[:i+1]
	for j := 0; j < len(stem); j++ {
		if patClass[stem[j]] == pMeta {
			return ""
		}
	}
	return stem
}

// stemOfKey is libselinux get_stem_from_file_name: the key up to its second "/", or "".
func stemOfKey(key string) string {
	if len(key) < 2 {
		return ""
	}
	for i := 1; i < len(key); i++ {
		if key[i] == '/' {
			return key[:i]
		}
	}
	return ""
}
