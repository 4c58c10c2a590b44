package fcontext

import (
	"bytes"
	"errors"
	"fmt"
	"io/fs"
	"path/filepath"
	"strconv"

	"github.com/nsinit/nsinit/internal/imagefile"
)

// Semantics names the libselinux release whose lookup rules a Handle follows. The releases
// differ in one rule only (docs/fcontext.md, "Semantics"): which of several exact (plain
// literal) specs of one path wins. Both take the exact spec of the latest input that
// applies (.local over .homedirs over file_contexts); within one input libselinux 3.4
// takes the last line that applies, 3.9 and later the first (since upstream commit
// 98110193, "prioritize local literal fcontext definitions"). 3.9 and later also compare
// exact specs as strings, so a key with a final newline no longer meets "/a" through
// PCRE's "$".
type Semantics uint8

const (
	// Libselinux34 is the rule of libselinux 3.4 to 3.7 (Debian 12): the last line wins.
	// It is the zero value.
	Libselinux34 Semantics = iota
	// Libselinux311 is the rule of libselinux 3.9 to 3.11 (Debian 14, Fedora 43): the
	// first line wins.
	Libselinux311
)

// String returns the release number as the --libselinux flag spells it.
func (s Semantics) String() string {
	if s == Libselinux311 {
		return "3.11"
	}
	return "3.4"
}

// ParseSemantics parses "3.4" or "3.11" (also the other releases each stands for: 3.4 to
// 3.7, 3.9 to 3.11).
func ParseSemantics(v string) (Semantics, error) {
	switch v {
	case "3.4", "3.5", "3.6", "3.7":
		return Libselinux34, nil
	case "3.9", "3.10", "3.11":
		return Libselinux311, nil
	}
	return 0, fmt.Errorf("libselinux semantics %q: want 3.4 (3.4-3.7) or 3.11 (3.9-3.11)", v)
}

// Newest is the semantics of the newest libselinux release nsinit knows.
const Newest = Libselinux311

// maxLibSize bounds the libselinux.so.1 read by ImageSemantics: 40 times Debian's (170 kB).
const maxLibSize = 8 << 20

// libDirs are where distributions put libselinux.so.1, relative to the image root
// (Debian's multiarch directories are globbed). Only /usr paths: the top-level lib
// directories are symlinks into /usr on merged-/usr images.
var libDirs = []string{"usr/lib/*-linux-gnu*", "usr/lib64", "usr/lib"}

// ImageSemantics returns the semantics of the libselinux installed in the image at root,
// read from the symbol version nodes of its libselinux.so.1 (LIBSELINUX_3.9 and later
// exist only from 3.9 on): Libselinux311 for 3.9 and later, Libselinux34 for older ones
// (3.8's own rule is neither; 3.4's is the nearer for its mode-0 answers on Debian's
// policy). found is false when the image has no libselinux.so.1.
func ImageSemantics(root string) (sem Semantics, lib string, found bool, err error) {
	for _, d := range libDirs {
		dirs, _ := filepath.Glob(filepath.Join(root, d)) // only ErrBadPattern: the patterns are fixed
		for _, dir := range dirs {
			lib = filepath.Join(dir, "libselinux.so.1")
			data, err := imagefile.ReadFile(lib, maxLibSize)
			if errors.Is(err, fs.ErrNotExist) {
				continue
			}
			if err != nil {
				return 0, lib, false, err
			}
			if libraryRelease(data) >= 9 {
				return Libselinux311, lib, true, nil
			}
			return Libselinux34, lib, true, nil
		}
	}
	return Newest, "", false, nil
}

// libraryRelease returns the highest N of the "LIBSELINUX_3.N" version nodes in a
// libselinux.so.1 (0 when there is none).
func libraryRelease(data []byte) int {
	best := 0
	const tag = "LIBSELINUX_3."
	for rest := data; ; {
		i := bytes.Index(rest, []byte(tag))
		if i < 0 {
			return best
		}
		rest = rest[i+len(tag):]
		n := 0
		for n < len(rest) && n < 4 && rest[n] >= '0' && rest[n] <= '9' {
			n++
		}
		if v, err := strconv.Atoi(string(rest[:n])); err == nil && v > best {
			best = v
		}
	}
}

// SemanticsFor resolves a --libselinux value: "3.4" or "3.11" (ParseSemantics), or "auto":
// the release of the image at root (ImageSemantics), else Newest. why says how it was chosen.
func SemanticsFor(v, root string) (sem Semantics, why string, err error) {
	if v != "auto" {
		sem, err = ParseSemantics(v)
		return sem, "--libselinux " + v, err
	}
	sem, lib, found, err := ImageSemantics(root)
	switch {
	case err != nil:
		return 0, "", fmt.Errorf("libselinux semantics: %w", err)
	case found:
		return sem, "the image's " + lib, nil
	}
	return sem, "no libselinux.so.1 in " + root + ": the newest", nil
}

// LoadFor loads the file_contexts at path with the rules the --libselinux value v names
// (SemanticsFor; "auto": those of the libselinux installed in the image at root). It
// returns why those rules were chosen, for the log.
func LoadFor(path, v, root string) (h *Handle, why string, err error) {
	sem, why, err := SemanticsFor(v, root)
	if err != nil {
		return nil, "", err
	}
	h, err = LoadOptions(path, Options{Semantics: sem})
	return h, sem.String() + " (" + why + ")", err
}
