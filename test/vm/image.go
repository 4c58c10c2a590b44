package vm

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
)

// Image describes a root filesystem: a tree of directories and files, labelled on the
// host with Debian's setfiles and packed into an ext4 image with mkfs.ext4 -d, which
// copies the security.selinux xattrs. It is what a SELinux-aware build host would produce.
type Image struct {
	// Entries maps a path inside the image ("etc/selinux/config", no leading slash) to
	// what is there. Parent directories are created as needed (mode 0755).
	Entries map[string]Entry
	// FileContexts is the file_contexts file that labels the tree; empty leaves the image
	// unlabelled (every file reads unlabeled_t once a policy is loaded).
	FileContexts string
	// SizeMB is the size of the filesystem.
	SizeMB int
}

// Entry is one object of an Image: a directory, or a regular file whose content is Data or,
// when Src is set, the content of the host file Src.
type Entry struct {
	Dir  bool
	Mode fs.FileMode
	Data []byte
	Src  string
}

// NewImage returns an empty image of sizeMB megabytes.
func NewImage(sizeMB int) *Image {
	return &Image{Entries: map[string]Entry{}, SizeMB: sizeMB}
}

// AddDir adds an empty directory.
func (im *Image) AddDir(path string, mode fs.FileMode) {
	im.Entries[path] = Entry{Dir: true, Mode: mode}
}

// AddFile adds a file with the given content.
func (im *Image) AddFile(path string, mode fs.FileMode, data []byte) {
	im.Entries[path] = Entry{Mode: mode, Data: data}
}

// AddHostFile adds a copy of the host file src.
func (im *Image) AddHostFile(path string, mode fs.FileMode, src string) {
	im.Entries[path] = Entry{Mode: mode, Src: src}
}

// AddTree adds a copy of the host directory src (directories and regular files) at path.
func (im *Image) AddTree(path, src string) error {
	return filepath.WalkDir(src, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, err := filepath.Rel(src, p)
		if err != nil {
			return err
		}
		dst := filepath.Join(path, rel)
		info, err := d.Info()
		if err != nil {
			return err
		}
		switch {
		case d.IsDir():
			im.AddDir(dst, info.Mode().Perm())
		case info.Mode().IsRegular():
			im.AddHostFile(dst, info.Mode().Perm(), p)
		default:
			return fmt.Errorf("%s: only directories and regular files can be copied into an image", p)
		}
		return nil
	})
}

// Remove deletes path and everything under it from the image.
func (im *Image) Remove(path string) {
	for p := range im.Entries {
		if p == path || len(p) > len(path) && p[:len(path)+1] == path+"/" {
			delete(im.Entries, p)
		}
	}
}

// sortedPaths returns the entries' paths in lexical order (parents before children).
func (im *Image) sortedPaths() []string {
	paths := make([]string, 0, len(im.Entries))
	for p := range im.Entries {
		paths = append(paths, p)
	}
	sort.Strings(paths)
	return paths
}

// key hashes everything that determines the image's bytes.
func (im *Image) key() (string, error) {
	h := sha256.New()
	fmt.Fprintf(h, "nsinit-vm-image v1 size=%d\n", im.SizeMB)
	hashFile := func(p string) error {
		f, err := os.Open(p)
		if err != nil {
			return err
		}
		defer f.Close()
		_, err = io.Copy(h, f)
		return err
	}
	if im.FileContexts != "" {
		fmt.Fprintf(h, "file_contexts\n")
		if err := hashFile(im.FileContexts); err != nil {
			return "", err
		}
	}
	for _, p := range im.sortedPaths() {
		e := im.Entries[p]
		fmt.Fprintf(h, "\n%q dir=%v mode=%o\n", p, e.Dir, e.Mode)
		if e.Src != "" {
			if err := hashFile(e.Src); err != nil {
				return "", err
			}
		} else {
			h.Write(e.Data)
		}
	}
	return hex.EncodeToString(h.Sum(nil)[:8]), nil
}

// Build returns the path of the image's ext4 file under env's cache, making it unless an
// identical one (same key) is there already. Boot attaches it with snapshot=on, so a cached
// image is never modified by a guest.
func (im *Image) Build(e Env) (string, error) {
	key, err := im.key()
	if err != nil {
		return "", err
	}
	out := filepath.Join(e.vmDir(), "img-"+key+".ext4")
	if touch(out) {
		return out, nil
	}
	if err := os.MkdirAll(e.vmDir(), 0o755); err != nil {
		return "", err
	}
	tree, err := os.MkdirTemp(e.vmDir(), ".tree-")
	if err != nil {
		return "", err
	}
	defer os.RemoveAll(tree)
	if err := im.writeTree(tree); err != nil {
		return "", err
	}
	if im.FileContexts != "" {
		// -m: do not read /proc/mounts (the tree is not a mount point); -F: set the whole
		// context, not only the type; -r: the tree is the root the specs describe.
		if err := run("setfiles", "-m", "-F", "-r", tree, im.FileContexts, tree); err != nil {
			return "", err
		}
	}
	tmp := out + ".tmp"
	defer os.Remove(tmp)
	if err := run("mkfs.ext4", "-q", "-F", "-L", "nsinit-root", "-d", tree, tmp, fmt.Sprintf("%dM", im.SizeMB)); err != nil {
		return "", err
	}
	if err := os.Rename(tmp, out); err != nil {
		return "", err
	}
	e.prune("img", ".ext4")
	return out, nil
}

// writeTree materializes the entries under dir.
func (im *Image) writeTree(dir string) error {
	for _, p := range im.sortedPaths() {
		e := im.Entries[p]
		dst := filepath.Join(dir, p)
		if err := os.MkdirAll(filepath.Dir(dst), 0o755); err != nil {
			return err
		}
		if e.Dir {
			if err := os.MkdirAll(dst, e.Mode); err != nil {
				return err
			}
			if err := os.Chmod(dst, e.Mode); err != nil {
				return err
			}
			continue
		}
		data := e.Data
		if e.Src != "" {
			var err error
			if data, err = os.ReadFile(e.Src); err != nil {
				return err
			}
		}
		if err := os.WriteFile(dst, data, e.Mode); err != nil {
			return err
		}
		if err := os.Chmod(dst, e.Mode); err != nil { // WriteFile's mode passes the umask
			return err
		}
	}
	return nil
}

// run runs a host tool and returns its output with the error.
func run(name string, args ...string) error {
	out, err := exec.Command(name, args...).CombinedOutput()
	if err != nil {
		return fmt.Errorf("%s %q: %v\n%s", name, args, err, out)
	}
	return nil
}
