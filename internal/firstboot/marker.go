package firstboot

import (
	"bytes"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"

	"golang.org/x/sys/unix"

	"github.com/nsinit/nsinit/internal/imagefile"
)

// Marker is the file that requests a relabel at the next start (Fedora's /.autorelabel),
// relative to the root. Its content may hold fixfiles' flags; "-F" asks for a forced relabel.
// It is also the first-boot state: it is on disk while a relabel of the root is under way.
const Marker = ".autorelabel"

// markerLimit bounds the marker's content: a few fixfiles flags.
const markerLimit = 4096

// marker is what the root's marker says.
type marker struct {
	path   string
	exists bool
	force  bool  // its flags include -F
	unread error // it exists but was not read: not a regular file, too large, unreadable
}

// readMarker looks at the marker under root. Anything at its name is a request to relabel;
// only a regular file of at most markerLimit bytes is read for its flags. A FIFO, a device
// such as /dev/zero, a directory or a symlink (not followed) there is a request without
// flags and is never opened, so it can neither block nor flood the reader.
func readMarker(root string) (marker, error) {
	m := marker{path: filepath.Join(root, Marker)}
	st, err := os.Lstat(m.path)
	switch {
	case errors.Is(err, fs.ErrNotExist):
		return m, nil
	case err != nil:
		return m, fmt.Errorf("firstboot: %w", err)
	}
	m.exists = true
	if !st.Mode().IsRegular() {
		m.unread = &os.PathError{Op: "read", Path: m.path, Err: fmt.Errorf("%w (%s)", imagefile.ErrNotRegular, st.Mode().Type())}
		return m, nil
	}
	b, err := imagefile.ReadFile(m.path, markerLimit)
	if err != nil {
		m.unread = err
		return m, nil
	}
	for _, f := range bytes.Fields(b) {
		if string(f) == "-F" {
			m.force = true
		}
	}
	return m, nil
}

// createMarker records, durably, that a relabel of root is starting: the marker is created
// (with "-F" when the relabel is forced, so a resumed one is forced too), fsynced, and the
// root directory fsynced, before any label is written. A marker that appeared meanwhile
// is kept as it is.
func createMarker(root string, force bool) error {
	dfd, err := unix.Open(root, unix.O_RDONLY|unix.O_DIRECTORY|unix.O_CLOEXEC, 0)
	if err != nil {
		return &os.PathError{Op: "open", Path: root, Err: err}
	}
	defer unix.Close(dfd)
	path := filepath.Join(root, Marker)
	fd, err := unix.Openat(dfd, Marker, unix.O_WRONLY|unix.O_CREAT|unix.O_EXCL|unix.O_NOFOLLOW|unix.O_CLOEXEC, 0o644)
	if err == unix.EEXIST {
		return nil
	}
	if err != nil {
		return &os.PathError{Op: "create", Path: path, Err: err}
	}
	f := os.NewFile(uintptr(fd), path)
	if force {
		if _, err := f.Write([]byte("-F\n")); err != nil {
			f.Close()
			return err
		}
	}
	if err := f.Sync(); err != nil {
		f.Close()
		return err
	}
	if err := f.Close(); err != nil {
		return err
	}
	return fsyncDir(dfd, root)
}

// removeMarker ends the first-boot state after a complete relabel: the root's filesystem is
// synced first (syncfs), so that no label written can be lost while the marker's removal
// survives, then the marker is removed (a directory there only if it is empty) and the
// removal fsynced.
func removeMarker(root string) error {
	dfd, err := unix.Open(root, unix.O_RDONLY|unix.O_DIRECTORY|unix.O_CLOEXEC, 0)
	if err != nil {
		return &os.PathError{Op: "open", Path: root, Err: err}
	}
	defer unix.Close(dfd)
	if err := unix.Syncfs(dfd); err != nil {
		return &os.PathError{Op: "syncfs", Path: root, Err: err}
	}
	path := filepath.Join(root, Marker)
	err = unix.Unlinkat(dfd, Marker, 0)
	if err == unix.EISDIR || err == unix.EPERM {
		err = unix.Unlinkat(dfd, Marker, unix.AT_REMOVEDIR)
	}
	switch {
	case err == unix.ENOENT:
		return nil
	case err != nil:
		return &os.PathError{Op: "remove", Path: path, Err: err}
	}
	return fsyncDir(dfd, root)
}

// fsyncDir makes the directory entries of dfd (named path) durable.
func fsyncDir(dfd int, path string) error {
	if err := unix.Fsync(dfd); err != nil {
		return &os.PathError{Op: "fsync", Path: path, Err: err}
	}
	return nil
}
