package fcontext

import (
	"bufio"
	"bytes"
	"errors"
	"io"
	"io/fs"
	"os"
	"strings"

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
	subs, err := parseSubs(bytes.NewReader(data))
	if err != nil {
		return nil, &os.PathError{Op: "read", Path: path, Err: err}
	}
	return subs, nil
}

// parseSubs parses substitution lines (label_file.c selabel_subs_init): leading blanks
// skipped, "#" lines skipped, first token = alias, second token = real path, further tokens
// ignored, lines with fewer than two tokens skipped.
func parseSubs(r io.Reader) ([]sub, error) {
	br := bufio.NewReader(r)
	var list []sub
	for {
		chunk, err := readChunk(br)
		if len(chunk) > 0 {
			if s, ok := parseSubsLine(chunk); ok {
				list = append(list, s)
			}
		}
		if err == io.EOF {
			break
		}
		if err != nil {
			return nil, err
		}
	}
	for i, j := 0, len(list)-1; i < j; i, j = i+1, j-1 {
		list[i], list[j] = list[j], list[i]
	}
	return list, nil
}

// readChunk returns what one fgets call would: bytes up to and including "\n", at most
// subsLineMax of them.
func readChunk(br *bufio.Reader) ([]byte, error) {
	var out []byte
	for len(out) < subsLineMax {
		c, err := br.ReadByte()
		if err != nil {
			return out, err
		}
		out = append(out, c)
		if c == '\n' {
			break
		}
	}
	return out, nil
}

func parseSubsLine(chunk []byte) (sub, bool) {
	if i := bytes.IndexByte(chunk, 0); i >= 0 {
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
	return sub{src: string(src), dst: string(dst)}, true
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
