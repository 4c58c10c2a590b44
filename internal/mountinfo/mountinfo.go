// Package mountinfo reads a process's mount table, <proc>/self/mountinfo
// (proc_pid_mountinfo(5)): one line per mount, "ID PARENT MAJ:MIN ROOT POINT OPTS
// [OPTIONAL...] - FSTYPE SOURCE SUPEROPTS".
package mountinfo

import (
	"bufio"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
)

// limit bounds what is read of a mount table (a few hundred bytes a mount).
const limit = 16 << 20

// Mount is what nsinit needs of one line.
type Mount struct {
	// Point is the mount point, unescaped, relative to the process's root.
	Point string
	// Shared is the optional field "shared:N": the mount is a member of a peer group.
	Shared bool
}

// Read parses procDir/self/mountinfo; its errors carry the path.
func Read(procDir string) ([]Mount, error) {
	p := filepath.Join(procDir, "self", "mountinfo")
	f, err := os.Open(p)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	mounts, err := Parse(io.LimitReader(f, limit))
	if err != nil {
		return nil, &os.PathError{Op: "parse", Path: p, Err: err}
	}
	return mounts, nil
}

// Parse reads mountinfo lines; a line with fewer than the seven fields before the
// separator is an error.
func Parse(r io.Reader) ([]Mount, error) {
	var out []Mount
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 0, 4096), 1<<20)
	for sc.Scan() {
		f := strings.Fields(sc.Text())
		if len(f) < 7 {
			return nil, fmt.Errorf("short line %q", sc.Text())
		}
		m := Mount{Point: unescape(f[4])}
		for _, opt := range f[6:] {
			if opt == "-" {
				break
			}
			if strings.HasPrefix(opt, "shared:") {
				m.Shared = true
			}
		}
		out = append(out, m)
	}
	return out, sc.Err()
}

// Below reports whether path p is strictly below directory dir (both clean and absolute):
// "/priv/x" is below "/priv", "/privx" is not.
func Below(p, dir string) bool {
	if dir == "/" {
		return p != "/"
	}
	return len(p) > len(dir) && p[len(dir)] == '/' && strings.HasPrefix(p, dir)
}

// unescape undoes the kernel's octal escapes in a mountinfo path (\040 space, \011 tab,
// \012 newline, \134 backslash: show_path's mangle()).
func unescape(s string) string {
	if !strings.Contains(s, `\`) {
		return s
	}
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		if s[i] == '\\' && i+3 < len(s) && isOctal(s[i+1]) && isOctal(s[i+2]) && isOctal(s[i+3]) {
			b.WriteByte((s[i+1]-'0')<<6 | (s[i+2]-'0')<<3 | (s[i+3] - '0'))
			i += 3
			continue
		}
		b.WriteByte(s[i])
	}
	return b.String()
}

func isOctal(c byte) bool { return c >= '0' && c <= '7' }
