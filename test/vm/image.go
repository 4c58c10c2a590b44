package vm

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"syscall"
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
	// Setfiles is the setfiles command that labels the tree (the host's when empty): the
	// policy's own oracle (Policy.Setfiles).
	Setfiles string
	// SizeMB is the size of the filesystem.
	SizeMB int
	// Skeleton, if set, is a host directory whose names are reproduced in the image before
	// Entries are written over them: its directories, symlinks (same targets) and regular
	// files (same modes, hard links kept, contents dropped: a label depends on the name and
	// the file type only). Device nodes, FIFOs and sockets are left out. It gives the
	// image a real distribution's layout at a fraction of its size.
	Skeleton string
	// Contents keeps the skeleton's file contents: the image is the distribution itself
	// (the systemd scenario boots bookworm's systemd).
	Contents bool
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
	if im.Skeleton != "" {
		fmt.Fprintf(h, "skeleton contents=%v\n", im.Contents)
		if err := walkSkeleton(im.Skeleton, func(rel string, info fs.FileInfo, target string, link string) error {
			fmt.Fprintf(h, "%q %v %q %q\n", rel, info.Mode(), target, link)
			return nil
		}); err != nil {
			return "", err
		}
	}
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
		fmt.Fprintf(h, "file_contexts labelled by %q\n", im.setfiles())
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
	if err := im.Materialize(tree); err != nil {
		return "", err
	}
	if im.FileContexts != "" {
		// -m: do not read /proc/mounts (the tree is not a mount point); -F: set the whole
		// context, not only the type; -r: the tree is the root the specs describe.
		if err := run(im.setfiles(), "-m", "-F", "-r", tree, im.FileContexts, tree); err != nil {
			return "", err
		}
	}
	tmp := out + ".tmp"
	defer os.Remove(tmp)
	mkfs := []string{"-q", "-F", "-L", "nsinit-root"}
	if im.Skeleton != "" {
		// The default (one inode per 16 KiB) is too few for a distribution's tree of empty
		// files in a small filesystem.
		mkfs = append(mkfs, "-i", "4096")
	}
	if err := run("mkfs.ext4", append(mkfs, "-d", tree, tmp, fmt.Sprintf("%dM", im.SizeMB))...); err != nil {
		return "", err
	}
	if err := os.Rename(tmp, out); err != nil {
		return "", err
	}
	e.prune("img", ".ext4")
	return out, nil
}

// setfiles returns the command that labels the tree.
func (im *Image) setfiles() string {
	if im.Setfiles == "" {
		return "setfiles"
	}
	return im.Setfiles
}

// Materialize writes the image's tree (the skeleton, then the entries) into the existing,
// empty directory dir, without labels: what Build packs, and what a test labels on the host
// to compare with a guest's work.
func (im *Image) Materialize(dir string) error {
	if im.Skeleton != "" {
		if err := copySkeleton(im.Skeleton, dir, im.Contents); err != nil {
			return err
		}
	}
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

// Initramfs returns the path of the image packed as an initramfs (newc cpio) under env's
// cache: the entries (not the skeleton) with every parent directory, /dev/console
// (without it the kernel starts PID 1 with no standard streams) and /dev/kmsg (testinit
// relays the kernel's AVC records from it; no devtmpfs is mounted on an initramfs root). A cpio carries no xattrs:
// once a policy is loaded every object has the label of rootfs itself.
func (im *Image) Initramfs(e Env) (string, error) {
	if im.Skeleton != "" {
		return "", errors.New("an initramfs image cannot have a skeleton")
	}
	dirs := map[string]bool{"dev": true}
	for _, p := range im.sortedPaths() {
		for d := filepath.Dir(p); d != "."; d = filepath.Dir(d) {
			dirs[d] = true
		}
	}
	names := im.sortedPaths()
	for d := range dirs {
		if _, ok := im.Entries[d]; !ok {
			names = append(names, d)
		}
	}
	names = append(names, "dev/console", "dev/kmsg")
	sort.Strings(names) // parents first
	var buf bytes.Buffer
	c := &cpioWriter{w: &buf}
	for _, p := range names {
		ent, ok := im.Entries[p]
		switch {
		case p == "dev/console":
			c.CharDev(p, 0o600, 5, 1)
		case p == "dev/kmsg":
			c.CharDev(p, 0o644, 1, 11)
		case !ok:
			c.Dir(p, 0o755)
		case ent.Dir:
			c.Dir(p, ent.Mode)
		default:
			data := ent.Data
			if ent.Src != "" {
				var err error
				if data, err = os.ReadFile(ent.Src); err != nil {
					return "", err
				}
			}
			c.File(p, ent.Mode, data)
		}
	}
	if err := c.Close(); err != nil {
		return "", err
	}
	return e.cacheBytes("rootfs", ".cpio", buf.Bytes())
}

// run runs a host tool and returns its output with the error.
func run(name string, args ...string) error {
	out, err := exec.Command(name, args...).CombinedOutput()
	if err != nil {
		return fmt.Errorf("%s %q: %v\n%s", name, args, err, out)
	}
	return nil
}

// walkSkeleton calls fn for every object below src (src itself excluded) in lexical order,
// with its path relative to src, its lstat information, its symlink target (or "") and,
// for a regular file with more than one link, the relative path of the first name of its
// inode that the walk met (or "").
func walkSkeleton(src string, fn func(rel string, info fs.FileInfo, target, link string) error) error {
	type inode struct{ dev, ino uint64 }
	first := map[inode]string{}
	return filepath.WalkDir(src, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if p == src {
			return nil
		}
		rel, err := filepath.Rel(src, p)
		if err != nil {
			return err
		}
		info, err := d.Info()
		if err != nil {
			return err
		}
		var target, link string
		switch {
		case info.Mode()&fs.ModeSymlink != 0:
			if target, err = os.Readlink(p); err != nil {
				return err
			}
		case info.Mode().IsRegular():
			if st, ok := info.Sys().(*syscall.Stat_t); ok && st.Nlink > 1 {
				k := inode{uint64(st.Dev), st.Ino}
				if f, seen := first[k]; seen {
					link = f
				} else {
					first[k] = rel
				}
			}
		case info.IsDir():
		default:
			return nil // device nodes, FIFOs, sockets
		}
		return fn(rel, info, target, link)
	})
}

// copySkeleton reproduces src's names below dst (see Image.Skeleton), and with contents
// the regular files' bytes too.
func copySkeleton(src, dst string, contents bool) error {
	return walkSkeleton(src, func(rel string, info fs.FileInfo, target, link string) error {
		p := filepath.Join(dst, rel)
		switch {
		case info.IsDir():
			if err := os.Mkdir(p, 0o755); err != nil {
				return err
			}
		case target != "":
			return os.Symlink(target, p)
		case link != "":
			return os.Link(filepath.Join(dst, link), p)
		default:
			f, err := os.OpenFile(p, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
			if err != nil {
				return err
			}
			if contents {
				if err := copyContents(f, filepath.Join(src, rel)); err != nil {
					f.Close()
					return err
				}
			}
			if err := f.Close(); err != nil {
				return err
			}
		}
		// Chmod after creation: the umask does not apply, and setuid bits are kept.
		return os.Chmod(p, info.Mode()&(fs.ModePerm|fs.ModeSetuid|fs.ModeSetgid|fs.ModeSticky))
	})
}

// copyContents copies the host file src into f.
func copyContents(f *os.File, src string) error {
	in, err := os.Open(src)
	if err != nil {
		return err
	}
	defer in.Close()
	_, err = io.Copy(f, in)
	return err
}
