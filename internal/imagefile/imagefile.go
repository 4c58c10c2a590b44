// Package imagefile is the one way nsinit reads a file it takes from an image (the policy,
// file_contexts and its companions, customizable_types, the relabel marker, the SELinux
// config): whatever sits at the path — a FIFO, a device such as /dev/zero, a directory, a
// dangling symlink, a file of gigabytes — the read neither hangs PID 1 nor grows its memory
// past the file's real size and the caller's limit. Every refusal is an *os.PathError that
// names the path.
package imagefile

import (
	"errors"
	"fmt"
	"io"
	"io/fs"
	"math"
	"os"

	"golang.org/x/sys/unix"
)

// ErrNotRegular is wrapped by the error for anything but a regular file.
var ErrNotRegular = errors.New("not a regular file")

// ErrTooLarge is wrapped by the error for a file larger than the caller's limit.
var ErrTooLarge = errors.New("file too large")

// ErrChanged is wrapped by the error for a file whose size changed while it was read.
var ErrChanged = errors.New("file changed while it was read")

// Open opens path for reading and checks, on the open descriptor, that it is a regular file
// of at most limit bytes. O_NONBLOCK makes open(2) return at once on a FIFO (which is then
// refused) instead of waiting for a writer forever; it changes nothing for a regular file.
// Symlinks are followed, as libselinux does for these files. A missing file gives an error
// for which errors.Is(err, fs.ErrNotExist) holds.
func Open(path string, limit int64) (*os.File, fs.FileInfo, error) {
	f, err := os.OpenFile(path, os.O_RDONLY|unix.O_NONBLOCK|unix.O_CLOEXEC|unix.O_NOCTTY, 0)
	if err != nil {
		return nil, nil, err
	}
	st, err := f.Stat()
	if err != nil {
		f.Close()
		return nil, nil, err
	}
	if !st.Mode().IsRegular() {
		f.Close()
		return nil, nil, &os.PathError{Op: "open", Path: path, Err: fmt.Errorf("%w (%s)", ErrNotRegular, describe(st.Mode()))}
	}
	if st.Size() > limit {
		f.Close()
		return nil, nil, &os.PathError{Op: "open", Path: path, Err: fmt.Errorf("%w: %d bytes, the limit is %d", ErrTooLarge, st.Size(), limit)}
	}
	return f, st, nil
}

// ReadFile returns the content of the regular file at path, refusing what Open refuses.
// It allocates the size fstat reported, once, and reads exactly that: a file that grows or
// shrinks meanwhile is refused (ErrChanged) rather than followed.
func ReadFile(path string, limit int64) ([]byte, error) {
	f, st, err := Open(path, limit)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	return ReadAll(f, st)
}

// ReadAll reads the whole of f, opened by Open with st its FileInfo, as ReadFile does.
func ReadAll(f *os.File, st fs.FileInfo) ([]byte, error) {
	data := make([]byte, st.Size())
	if _, err := io.ReadFull(f, data); err != nil {
		if errors.Is(err, io.ErrUnexpectedEOF) || errors.Is(err, io.EOF) {
			err = ErrChanged
		}
		return nil, &os.PathError{Op: "read", Path: f.Name(), Err: err}
	}
	var one [1]byte
	if n, _ := f.Read(one[:]); n > 0 {
		return nil, &os.PathError{Op: "read", Path: f.Name(), Err: ErrChanged}
	}
	return data, nil
}

// describe names a non-regular file type for the message.
func describe(m fs.FileMode) string {
	switch {
	case m.IsDir():
		return "a directory"
	case m&fs.ModeNamedPipe != 0:
		return "a FIFO"
	case m&fs.ModeCharDevice != 0:
		return "a character device"
	case m&fs.ModeDevice != 0:
		return "a block device"
	case m&fs.ModeSocket != 0:
		return "a socket"
	}
	return m.Type().String()
}

// Ahead is one file for Prefetch: its path and the most of it worth reading (the limit its
// reader enforces).
type Ahead struct {
	Path  string
	Limit int64
}

// Prefetch requests the reads that files' readers will make and returns once they are
// requested, not done: each regular file is opened as Open opens it and handed to the
// kernel's readahead (posix_fadvise POSIX_FADV_WILLNEED, up to its limit); each of lookups
// is only looked up (lstat, no symlink followed), which brings its inode, and so its label,
// into memory. Nothing is returned: a prefetch is a hint, and what it could not do the real
// read reports.
//
// Why: on a cold disk every first read waits for the device; at boot under emulation those
// waits were a third of the relabel check (docs/performance.md). Run in its own goroutine,
// Prefetch has the kernel fill the page cache while the caller works on something else, and
// a lookup that waits for the disk blocks only that goroutine.
func Prefetch(files []Ahead, lookups []string) {
	for _, a := range files {
		f, st, err := Open(a.Path, math.MaxInt64)
		if err != nil {
			continue
		}
		_ = unix.Fadvise(int(f.Fd()), 0, min(st.Size(), a.Limit), unix.FADV_WILLNEED)
		f.Close()
	}
	for _, p := range lookups {
		var st unix.Stat_t
		_ = unix.Lstat(p, &st)
	}
}
