// Package config reads /etc/selinux/config with libselinux's semantics, parses the kernel
// command line, gives the policy-root layout its single home, and resolves the effective
// SELinux mode from nsinit's flag, its environment, the kernel command line and the config.
//
// The libselinux rules are the contract (docs/config.md): the mode comes from the first
// valid "SELINUX=" line at column 0 (selinux_getenforcemode), the policy type from the last
// "SELINUXTYPE=" line (init_selinux_config). Wherever libselinux would read a line
// differently from how it looks — or from how a shell or INI reader of the same file reads
// it — Parse records a Warning with the file and line.
package config

import (
	"bytes"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"

	"github.com/nsinit/nsinit/internal/imagefile"
)

// DefaultType is the policy type libselinux uses when the config has no SELINUXTYPE= line
// or does not exist (SELINUXDEFAULT in libselinux/src/selinux_config.c).
const DefaultType = "targeted"

// MaxSize is the largest config file Parse accepts. libselinux has no limit; a PID 1 must
// not read an unbounded file, and a real config is one or two kilobytes (Fedora's: 1.2 KiB).
const MaxSize = 64 << 10

// ErrTooLarge is wrapped by Parse's error for input larger than MaxSize.
var ErrTooLarge = errors.New("file too large for an SELinux config")

// Warning is a remark about one line of the config file (Line 0: the whole file).
type Warning struct {
	File    string
	Line    int
	Message string
}

// String formats w as "file:line: message", or "file: message" when Line is 0.
func (w Warning) String() string {
	if w.Line > 0 {
		return fmt.Sprintf("%s:%d: %s", w.File, w.Line, w.Message)
	}
	return w.File + ": " + w.Message
}

// Config is what libselinux reads from an /etc/selinux/config file.
type Config struct {
	Path     string    // the file read
	Found    bool      // false when the file does not exist (defaults apply, with a Warning)
	Mode     Mode      // SELINUX= by selinux_getenforcemode's rules; ModeUnset if no valid line
	ModeLine int       // line of the winning SELINUX= (0 if none)
	Type     string    // SELINUXTYPE= by init_selinux_config's rules (last wins); DefaultType if none
	TypeLine int       // line of the winning SELINUXTYPE= (0 if none)
	Warnings []Warning // lines libselinux reads differently from how they look, in line order
}

// configPath is where libselinux reads its config (SELINUXCONFIG), relative to a root.
var configPath = filepath.Join("etc", "selinux", "config")

// Path is the config file of the image at root: <root>/etc/selinux/config.
func Path(root string) string {
	if root == "" {
		root = "/"
	}
	return filepath.Join(root, configPath)
}

// Load reads and parses <root>/etc/selinux/config ("" means "/"). A missing file is not an
// error: as in libselinux the mode is unset and the type is DefaultType; the returned Config
// has Found false and a Warning. Any other failure (permission, not a regular file, I/O,
// larger than MaxSize) is an error naming the path, where libselinux would silently use
// the defaults: a PID 1 that was asked for enforcing must not quietly lose its config.
func Load(root string) (*Config, error) {
	return loadFile(Path(root))
}

// loadFile is Load for the config file at path, read through imagefile: a FIFO, a device,
// a directory or a file larger than MaxSize is refused at once with an error naming it.
func loadFile(path string) (*Config, error) {
	data, err := imagefile.ReadFile(path, MaxSize)
	if errors.Is(err, fs.ErrNotExist) {
		return &Config{Path: path, Type: DefaultType, Warnings: []Warning{{File: path,
			Message: "file not found: SELINUX is unset (permissive, as libselinux) and SELINUXTYPE is " + DefaultType}}}, nil
	}
	if err != nil {
		return nil, err
	}
	return Parse(path, data)
}

// Parse parses data, the content of the config file at path (used in messages only). It
// fails only for input larger than MaxSize; every other input gives a Config.
func Parse(path string, data []byte) (*Config, error) {
	if len(data) > MaxSize {
		return nil, fmt.Errorf("%s: %w (more than %d bytes)", path, ErrTooLarge, MaxSize)
	}
	c := &Config{Path: path, Found: true, Type: DefaultType}
	for l := range lines(data) {
		if c.ModeLine == 0 {
			if m := l.mode(); m != ModeUnset {
				c.Mode, c.ModeLine = m, l.no
			}
		}
		if v, ok := l.typeValue(); ok {
			c.Type, c.TypeLine = v, l.no
		}
	}
	c.Warnings = crossCheck(c, data)
	return c, nil
}

// physLine is one line of the file and what each libselinux parser makes of it.
type physLine struct {
	no       int
	text     []byte    // the line without its '\n'
	chunks   int       // how many fgets() reads selinux_getenforcemode needs for it
	modeHits []modeHit // pieces of the line that selinux_getenforcemode sees as SELINUX= lines
}

// modeHit is a piece of a line that starts with SELINUX=.
type modeHit struct {
	offset int    // byte offset of the piece in its line (non-zero only in over-long lines)
	value  []byte // the text after "SELINUX=" and blanks, up to any NUL
	mode   Mode   // ModeUnset when the value is not recognised
}

// lines yields the lines of data as getline(3) splits them (a final line without '\n'
// counts), each with what selinux_getenforcemode sees in it. One physLine is reused.
func lines(data []byte) func(yield func(*physLine) bool) {
	return func(yield func(*physLine) bool) {
		l := &physLine{}
		for no := 1; len(data) > 0; no++ {
			end := bytes.IndexByte(data, '\n') + 1
			if end == 0 {
				end = len(data)
			}
			l.no, l.text = no, bytes.TrimSuffix(data[:end], []byte("\n"))
			l.scanMode(data[:end])
			if !yield(l) {
				return
			}
			data = data[end:]
		}
	}
}

// pageSize is selinux_page_size, the size of selinux_getenforcemode's line buffer.
var pageSize = os.Getpagesize()

// scanMode applies selinux_getenforcemode's reading (selinux-userspace.md §A.1) to one line
// with its '\n': fgets() into a one-page buffer, so a line longer than pageSize-1 bytes
// arrives as several pieces (every line starts a new piece), each tested as a line; a piece
// counts if it starts with exactly "SELINUX=" (case-sensitive, column 0); blanks after '='
// are skipped; the value is a case-insensitive prefix match. It records every hit.
func (l *physLine) scanMode(line []byte) {
	const tag = "SELINUX="
	l.chunks, l.modeHits = 0, l.modeHits[:0]
	for off := 0; off < len(line); off += pageSize - 1 {
		l.chunks++
		piece := cString(line[off:min(off+pageSize-1, len(line))])
		if len(piece) >= len(tag) && string(piece[:len(tag)]) == tag {
			v := trimLeftCSpace(piece[len(tag):])
			l.modeHits = append(l.modeHits, modeHit{offset: off, value: v, mode: modePrefix(v)})
		}
	}
}

// mode is the mode libselinux takes from this line: its first recognised piece, if any.
func (l *physLine) mode() Mode {
	for _, h := range l.modeHits {
		if h.mode != ModeUnset {
			return h.mode
		}
	}
	return ModeUnset
}

// modePrefix is selinux_getenforcemode's value test: a case-insensitive prefix match.
func modePrefix(v []byte) Mode {
	switch {
	case hasPrefixFoldASCII(v, "enforcing"):
		return ModeEnforcing
	case hasPrefixFoldASCII(v, "permissive"):
		return ModePermissive
	case hasPrefixFoldASCII(v, "disabled"):
		return ModeDisabled
	}
	return ModeUnset
}

// typeValue applies init_selinux_config's reading (§A.2) to the line: read up to any NUL;
// leading blanks skipped; blank and '#' lines skipped; key "SELINUXTYPE=" in any ASCII
// case; blanks after '=' skipped; trailing blanks and control characters stripped, except
// the value's first character; no quote or comment handling. ok is false for other lines.
func (l *physLine) typeValue() (v string, ok bool) {
	const tag = "SELINUXTYPE="
	p := trimLeftCSpace(cString(l.text))
	if len(p) == 0 || p[0] == '#' || !hasPrefixFoldASCII(p, tag) {
		return "", false
	}
	b := trimLeftCSpace(p[len(tag):])
	for len(b) > 1 && (isCSpace(b[len(b)-1]) || isCCntrl(b[len(b)-1])) {
		b = b[:len(b)-1]
	}
	return string(b), true
}
