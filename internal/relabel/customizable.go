package relabel

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io"
	"io/fs"

	"github.com/nsinit/nsinit/internal/imagefile"
)

// TypeSet is the set of customizable types (contexts/customizable_types): without --force a
// file whose current type is in the set keeps its label, as an administrator's choice
// (libselinux is_context_customizable). The zero value and nil are the empty set.
type TypeSet struct{ types map[string]struct{} }

// Has reports whether typ is in the set.
func (s *TypeSet) Has(typ string) bool {
	if s == nil {
		return false
	}
	_, ok := s.types[typ]
	return ok
}

// Len returns the number of types in the set.
func (s *TypeSet) Len() int {
	if s == nil {
		return 0
	}
	return len(s.types)
}

// maxTypeLine bounds one line of customizable_types. libselinux reads lines with a buffer of
// one page; a longer line cannot name a type, so it is an error rather than a silent split.
const maxTypeLine = 4096

// ParseCustomizableTypes reads a customizable_types file: one type per line, compared exactly
// after removing the line's "\n" — no comments, no trimming, as libselinux does. Empty lines
// are ignored (they can never match). A line that cannot be a type name (it holds a NUL,
// whitespace or ':', or exceeds 4096 bytes) is an error naming its line number, so that a
// corrupted file is noticed instead of silently matching nothing.
func ParseCustomizableTypes(r io.Reader, name string) (*TypeSet, error) {
	s := &TypeSet{types: map[string]struct{}{}}
	br := bufio.NewReader(r)
	for line := 1; ; line++ {
		b, err := br.ReadSlice('\n')
		if errors.Is(err, bufio.ErrBufferFull) || len(b) > maxTypeLine {
			return nil, fmt.Errorf("%s:%d: line longer than %d bytes", name, line, maxTypeLine)
		}
		if err != nil && !errors.Is(err, io.EOF) {
			return nil, fmt.Errorf("%s: %w", name, err)
		}
		b = bytes.TrimSuffix(b, []byte{'\n'})
		if len(b) > 0 {
			if i := bytes.IndexAny(b, "\x00 \t\r\v\f:"); i >= 0 {
				return nil, fmt.Errorf("%s:%d: %q is not a type name (byte %q at column %d)", name, line, b, b[i], i+1)
			}
			s.types[string(b)] = struct{}{}
		}
		if err != nil {
			return s, nil
		}
	}
}

// MaxCustomizableTypesSize bounds customizable_types (imagefile's limit): Debian's holds 65
// bytes, and a file naming every type of a large policy (5,000 types) would be some 150 kB.
const MaxCustomizableTypesSize = 1 << 20

// LoadCustomizableTypes parses the customizable_types file at path, read through imagefile.
// A missing file (or a dangling symlink) is the empty set, as in libselinux (policies need
// not ship one); a FIFO, a device, a directory, a file over MaxCustomizableTypesSize or any
// other failure is an error naming the path.
func LoadCustomizableTypes(path string) (*TypeSet, error) {
	data, err := imagefile.ReadFile(path, MaxCustomizableTypesSize)
	if errors.Is(err, fs.ErrNotExist) {
		return &TypeSet{}, nil
	}
	if err != nil {
		return nil, err
	}
	return ParseCustomizableTypes(bytes.NewReader(data), path)
}
