package selinuxfs

import (
	"bufio"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"

	"golang.org/x/sys/unix"
)

// mountinfoLimit bounds what is read of /proc/self/mountinfo (a few hundred bytes a mount).
const mountinfoLimit = 16 << 20

// mountEntry is the part of one /proc/self/mountinfo line MakePrivate needs.
type mountEntry struct {
	point  string // mount point, unescaped, relative to the process's root
	shared bool   // optional field "shared:N": a member of a peer group
}

// MakePrivate makes sure that mounting or unmounting at dir cannot propagate to another
// mount namespace. A mount event at dir propagates through the peer group of the mount
// that holds dir (the deepest mount point above dir, e.g. /sys), and an unmount of the
// instance at dir through the same one. When that mount, or one mounted at dir itself, is
// shared ("shared:N" in <procDir>/self/mountinfo), MakePrivate makes the holding mount and
// everything below it private (MS_REC|MS_PRIVATE, what libselinux's selinux_unshare()
// requires of its callers for "/"), and returns its mount point; otherwise it changes
// nothing and returns "". Mounts are private unless someone made them shared, so at boot
// (nothing shared yet) and under runtimes that set up a private or slave root it is a
// no-op; after unshare(CLONE_NEWNS) from a shared root it is what keeps the host's
// /sys/fs/selinux out of reach.
func MakePrivate(procDir, dir string) (string, error) {
	target := filepath.Clean(dir)
	if real, err := filepath.EvalSymlinks(dir); err == nil {
		target = real
	}
	p := filepath.Join(procDir, "self", "mountinfo")
	f, err := os.Open(p)
	if err != nil {
		return "", err
	}
	defer f.Close()
	mounts, err := parseMountinfo(io.LimitReader(f, mountinfoLimit))
	if err != nil {
		return "", &os.PathError{Op: "parse", Path: p, Err: err}
	}
	holder, shared := holdingMount(mounts, target)
	if holder == "" {
		return "", &os.PathError{Op: "find the mount holding", Path: target, Err: fmt.Errorf("no ancestor in %s", p)}
	}
	if !shared {
		return "", nil
	}
	if err := unix.Mount("", holder, "", unix.MS_REC|unix.MS_PRIVATE, ""); err != nil {
		return "", &os.PathError{Op: "mount --make-rprivate", Path: holder, Err: err}
	}
	return holder, nil
}

// holdingMount returns the deepest mount point strictly above target and whether it, or a
// mount at target, is shared.
func holdingMount(mounts []mountEntry, target string) (string, bool) {
	holder := ""
	for _, m := range mounts {
		if m.point != target && isAncestor(m.point, target) && len(m.point) > len(holder) {
			holder = m.point
		}
	}
	shared := false
	for _, m := range mounts {
		if m.shared && (m.point == holder || m.point == target) {
			shared = true
		}
	}
	return holder, shared
}

// isAncestor reports whether directory a contains path p (both clean and absolute).
func isAncestor(a, p string) bool {
	return a == "/" || p == a || strings.HasPrefix(p, a+"/")
}

// parseMountinfo reads mountinfo lines: "ID PARENT MAJ:MIN ROOT POINT OPTS [OPTIONAL...] -
// FSTYPE SOURCE SUPEROPTS" (proc_pid_mountinfo(5)).
func parseMountinfo(r io.Reader) ([]mountEntry, error) {
	var out []mountEntry
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 0, 4096), 1<<20)
	for sc.Scan() {
		f := strings.Fields(sc.Text())
		if len(f) < 7 {
			return nil, fmt.Errorf("short line %q", sc.Text())
		}
		e := mountEntry{point: unescapeMountinfo(f[4])}
		for _, opt := range f[6:] {
			if opt == "-" {
				break
			}
			if strings.HasPrefix(opt, "shared:") {
				e.shared = true
			}
		}
		out = append(out, e)
	}
	return out, sc.Err()
}

// unescapeMountinfo undoes the kernel's octal escapes (\040 space, \011 tab, \012 newline,
// \134 backslash) in a mountinfo path.
func unescapeMountinfo(s string) string {
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
