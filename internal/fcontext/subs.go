package fcontext

import (
	"errors"
	"io/fs"
	"strings"
	"unsafe"

	"github.com/nsinit/nsinit/internal/imagefile"
)

// sub is one alias line of a .subs or .subs_dist file: keys under src are looked up as if
// they were under dst.
type sub struct{ src, dst string }

// subsLineMax is what one fgets call of selabel_subs_init reads (a 1024-byte buffer, size
// passed as 1023): longer lines are split, and the rest is read as the next line.
const subsLineMax = 1022

// MaxSubsSize bounds a .subs or .subs_dist file: Debian's file_contexts.subs_dist is 980
// bytes (49 aliases); a thousand times that is more aliases than any lookup could try.
const MaxSubsSize = 1 << 20

// loadSubs reads a substitution file through imagefile; a missing file (or a dangling
// symlink) means no substitutions, anything else that is not a regular file within
// MaxSubsSize is an error naming it. The result is in reverse file order, like libselinux's
// list (the last line is tried first).
func loadSubs(path string) ([]sub, error) {
	data, err := imagefile.ReadFile(path, MaxSubsSize)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	if len(data) == 0 {
		return nil, nil
	}
	// data is never written again: the aliases may share its bytes.
	return parseSubs(unsafe.String(&data[0], len(data))), nil
}

// parseSubs parses substitution lines (label_file.c selabel_subs_init): leading blanks
// skipped, "#" lines skipped, first token = alias, second token = real path, further tokens
// ignored, lines with fewer than two tokens skipped. The result is in reverse file order.
// The aliases are substrings of text: a file costs one sub (32 bytes) per alias line, at
// least 4 bytes of it, and nothing per other line.
func parseSubs(text string) []sub {
	// Two passes: count the aliases, then fill an array of exactly that size from its end
	// (libselinux's order), rather than grow one.
	n := 0
	for rest := text; len(rest) > 0; {
		chunk := nextChunk(rest)
		rest = rest[len(chunk):]
		if _, ok := parseSubsLine(chunk); ok {
			n++
		}
	}
	if n == 0 {
		return nil
	}
	list := make([]sub, n)
	for len(text) > 0 {
		chunk := nextChunk(text)
		text = text[len(chunk):]
		if s, ok := parseSubsLine(chunk); ok {
			n--
			list[n] = s
		}
	}
	return list
}

// nextChunk returns what one fgets call would read from the start of text: bytes up to and
// including "\n", at most subsLineMax of them.
func nextChunk(text string) string {
	n := min(len(text), subsLineMax)
	if i := strings.IndexByte(text[:n], '\n'); i >= 0 {
		n = i + 1
	}
	return text[:n]
}

func parseSubsLine(chunk string) (sub, bool) {
	if i := strings.IndexByte(chunk, 0); i >= 0 {
		chunk = chunk[:i]
	}
	p := 0
	for p < len(chunk) && isSpace(chunk[p]) {
		p++
	}
	if p < len(chunk) && chunk[p] == '#' {
		return sub{}, false
	}
	start := p
	for p < len(chunk) && !isSpace(chunk[p]) {
		p++
	}
	src := chunk[start:p]
	// libselinux terminates the alias and continues one byte further; when the alias ended
	// the buffer it would then read stale bytes. We treat that as "no real path".
	if len(src) == 0 || p == len(chunk) {
		return sub{}, false
	}
	p++
	for p < len(chunk) && isSpace(chunk[p]) {
		p++
	}
	start = p
	for p < len(chunk) && !isSpace(chunk[p]) {
		p++
	}
	dst := chunk[start:p]
	if len(dst) == 0 {
		return sub{}, false
	}
	return sub{src: src, dst: dst}, true
}

// applySub is label_file.c selabel_sub: the first entry whose alias is a path prefix of key
// (followed by "/" or the end) rewrites it.
func applySub(list []sub, key string) (string, bool) {
	for _, s := range list {
		if !strings.HasPrefix(key, s.src) {
			continue
		}
		rest := key[len(s.src):]
		if rest != "" && rest[0] != '/' {
			continue
		}
		if rest != "" && s.dst == "/" {
			rest = rest[1:]
		}
		return s.dst + rest, true
	}
	return key, false
}

// subIndex is a substitution list (last line first) split by the byte after each alias's
// first one: an alias of two bytes or more only rewrites keys that have its second byte
// there, so a lookup tries the aliases of its bucket (Debian's .subs_dist: 6 of 21 for a key
// under /usr) instead of all.
type subIndex struct {
	all []sub
	by  [256][]sub // by[b]: the entries of all, in order, whose alias is shorter than 2 bytes or has b at index 1
}

// indexSubs returns list's index, nil for an empty list.
func indexSubs(list []sub) *subIndex {
	if len(list) == 0 {
		return nil
	}
	x := &subIndex{all: list}
	for b := range x.by {
		for _, s := range list {
			if len(s.src) < 2 || s.src[1] == byte(b) {
				x.by[b] = append(x.by[b], s)
			}
		}
	}
	return x
}

// apply is applySub over the aliases that can rewrite key.
func (x *subIndex) apply(key string) (string, bool) {
	if x == nil {
		return key, false
	}
	list := x.all
	if len(key) >= 2 {
		list = x.by[key[1]]
	}
	return applySub(list, key)
}
