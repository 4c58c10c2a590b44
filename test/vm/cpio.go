package vm

import (
	"fmt"
	"io"
	"io/fs"
)

// cpioWriter writes a cpio archive in the "newc" format, the only one the kernel unpacks
// into rootfs (Documentation/driver-api/early-userspace/buffer-format.rst). Every entry is
// owned by root with mtime 0, so the same inputs give the same bytes.
type cpioWriter struct {
	w   io.Writer
	ino uint32
	err error
}

// newcHeaderLen is the fixed part of a newc header: "070701" and 13 eight-digit hex fields.
const newcHeaderLen = 6 + 13*8

// Dir adds a directory (perm's sticky bit kept: /tmp).
func (c *cpioWriter) Dir(name string, perm fs.FileMode) {
	mode := 0o040000 | uint32(perm.Perm())
	if perm&fs.ModeSticky != 0 {
		mode |= 0o1000 // S_ISVTX
	}
	c.entry(name, mode, 0, 0, nil)
}

// File adds a regular file with data.
func (c *cpioWriter) File(name string, perm fs.FileMode, data []byte) {
	c.entry(name, 0o100000|uint32(perm.Perm()), 0, 0, data)
}

// CharDev adds a character device node.
func (c *cpioWriter) CharDev(name string, perm fs.FileMode, major, minor uint32) {
	c.entry(name, 0o020000|uint32(perm.Perm()), major, minor, nil)
}

// Close writes the trailer and returns the first error seen.
func (c *cpioWriter) Close() error {
	c.entry("TRAILER!!!", 0, 0, 0, nil)
	return c.err
}

func (c *cpioWriter) entry(name string, mode, rmajor, rminor uint32, data []byte) {
	if c.err != nil {
		return
	}
	c.ino++
	nlink := uint32(1)
	if mode&0o040000 != 0 {
		nlink = 2
	}
	ino := c.ino
	if name == "TRAILER!!!" {
		ino, nlink = 0, 1
	}
	hdr := fmt.Sprintf("070701%08x%08x%08x%08x%08x%08x%08x%08x%08x%08x%08x%08x%08x",
		ino, mode, 0, 0, nlink, 0, len(data), 0, 0, rmajor, rminor, len(name)+1, 0)
	c.write([]byte(hdr))
	c.write(append([]byte(name), 0))
	c.pad(newcHeaderLen + len(name) + 1)
	c.write(data)
	c.pad(len(data))
}

func (c *cpioWriter) write(b []byte) {
	if c.err == nil {
		_, c.err = c.w.Write(b)
	}
}

// pad aligns the stream to 4 bytes after n bytes of an entry's part.
func (c *cpioWriter) pad(n int) {
	if r := n % 4; r != 0 {
		c.write(make([]byte, 4-r))
	}
}
