package vm

import (
	"bytes"
	"encoding/hex"
	"fmt"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"strings"

	"golang.org/x/sys/unix"
)

// xattrSELinux is the extended attribute that holds a file's SELinux label.
const xattrSELinux = "security.selinux"

// ImageLabels reads the security.selinux value of every path (absolute, inside the image)
// from the ext4 image file img with one debugfs run, without mounting it. The values are
// the raw bytes as stored (a label normally ends with a NUL byte); a path without the
// attribute, or missing, maps to "". debugfs does not replay a journal: read only a
// filesystem that was unmounted or remounted read-only cleanly (e2fsck -fn says so).
func ImageLabels(img string, paths []string) (map[string]string, error) {
	var cmds strings.Builder
	for _, p := range paths {
		if !strings.HasPrefix(p, "/") || strings.ContainsAny(p, "\"\n\\") {
			return nil, fmt.Errorf("debugfs cannot be given the path %q", p)
		}
		fmt.Fprintf(&cmds, "ea_get -x \"%s\" %s\n", p, xattrSELinux)
	}
	f, err := os.CreateTemp("", "nsinit-debugfs-*")
	if err != nil {
		return nil, err
	}
	defer os.Remove(f.Name())
	if _, err := f.WriteString(cmds.String()); err != nil {
		f.Close()
		return nil, err
	}
	if err := f.Close(); err != nil {
		return nil, err
	}
	// Errors (a missing attribute) go to stderr; stdout echoes each command as
	// "debugfs: ..." followed by its output, so values are matched to paths by position.
	var stdout, stderr bytes.Buffer
	cmd := exec.Command("debugfs", "-f", f.Name(), img)
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Run(); err != nil {
		return nil, fmt.Errorf("debugfs %s: %v\n%s", img, err, stderr.String())
	}
	return parseEaGet(stdout.String(), paths)
}

// parseEaGet maps the stdout of debugfs running one "ea_get -x PATH security.selinux" per
// path (in order) to the values: "debugfs: <command>" starts each command's output, a
// value is "security.selinux (N) = xx xx ..." on one line (debugfs/xattrs.c print_xattr_hex).
func parseEaGet(out string, paths []string) (map[string]string, error) {
	labels := make(map[string]string, len(paths))
	i := -1
	for _, line := range strings.Split(out, "\n") {
		if strings.HasPrefix(line, "debugfs: ") {
			i++
			if i >= len(paths) {
				return nil, fmt.Errorf("debugfs ran more commands than the %d given", len(paths))
			}
			labels[paths[i]] = ""
			continue
		}
		_, val, ok := strings.Cut(line, xattrSELinux+" (")
		if !ok {
			continue
		}
		if i < 0 {
			return nil, fmt.Errorf("debugfs printed a value before any command: %q", line)
		}
		size, hexes, ok := strings.Cut(val, ") = ")
		if !ok {
			return nil, fmt.Errorf("debugfs: unexpected value line %q", line)
		}
		b, err := hex.DecodeString(strings.Join(strings.Fields(hexes), ""))
		if err != nil || fmt.Sprint(len(b)) != size {
			return nil, fmt.Errorf("debugfs: bad value line %q (%v)", line, err)
		}
		labels[paths[i]] = string(b)
	}
	if i != len(paths)-1 {
		return nil, fmt.Errorf("debugfs answered %d of %d commands", i+1, len(paths))
	}
	return labels, nil
}

// SetfilesLabels materializes im's tree in a temporary directory, labels it on the host
// with its setfiles (Image.Setfiles) and returns every object's security.selinux value by its absolute
// path inside the tree ("/" is the root; "" where setfiles set none): the oracle a guest's
// first-boot relabel of the same tree is compared with.
//
// With initial == "" the tree starts unlabelled and setfiles runs with -F (set the whole
// context): `setfiles -m -F -r TREE fc TREE`. Otherwise every object starts labelled
// initial and setfiles runs without -F, which changes only the type of a label whose type
// is wrong (restorecon's default): what a relabel without force does on a real kernel,
// where an inode without a label reads as the policy's initial "file" context.
func SetfilesLabels(im *Image, fc, initial string) (map[string]string, error) {
	tree, err := os.MkdirTemp(scratchDir(), "nsinit-oracle-")
	if err != nil {
		return nil, err
	}
	defer os.RemoveAll(tree)
	if err := im.Materialize(tree); err != nil {
		return nil, err
	}
	args := []string{"-m", "-F", "-r", tree, fc, tree}
	if initial != "" {
		args = append(args[:1], args[2:]...)
		value := append([]byte(initial), 0)
		if err := filepath.WalkDir(tree, func(p string, _ fs.DirEntry, err error) error {
			if err != nil {
				return err
			}
			if err := unix.Lsetxattr(p, xattrSELinux, value, 0); err != nil {
				return &os.PathError{Op: "lsetxattr", Path: p, Err: err}
			}
			return nil
		}); err != nil {
			return nil, err
		}
	}
	if err := run(im.setfiles(), args...); err != nil {
		return nil, err
	}
	labels := map[string]string{}
	buf := make([]byte, 4096)
	err = filepath.WalkDir(tree, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, err := filepath.Rel(tree, p)
		if err != nil {
			return err
		}
		n, err := unix.Lgetxattr(p, xattrSELinux, buf)
		switch {
		case err == unix.ENODATA:
			n = 0
		case err != nil:
			return &os.PathError{Op: "lgetxattr", Path: p, Err: err}
		}
		labels[filepath.Join("/", rel)] = string(buf[:n])
		return nil
	})
	return labels, err
}

// scratchDir returns a directory for short-lived trees of many small files: /dev/shm when
// it is a tmpfs (which stores security.* attributes), else the default temporary
// directory. Right after a guest wrote its image, creating a minbase tree's 6.7k files on
// the host's disk took 5 s against 0.1 s on tmpfs.
func scratchDir() string {
	var st unix.Statfs_t
	if err := unix.Statfs("/dev/shm", &st); err == nil && st.Type == unix.TMPFS_MAGIC && unix.Access("/dev/shm", unix.W_OK) == nil {
		return "/dev/shm"
	}
	return os.TempDir()
}

// labelType returns the type field of a raw label ("" if it has none).
func labelType(v string) string {
	f := strings.SplitN(strings.TrimSuffix(v, "\x00"), ":", 4)
	if len(f) < 3 {
		return ""
	}
	return f[2]
}

// showLabel renders a raw label for messages.
func showLabel(v string) string {
	if v == "" {
		return "(none)"
	}
	return fmt.Sprintf("%q", strings.TrimSuffix(v, "\x00"))
}
