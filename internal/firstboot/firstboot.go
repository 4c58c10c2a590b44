// Package firstboot decides, at the bring-up, whether the root needs a relabel — the
// /.autorelabel marker, the kernel command line, --relabel, the root directory's label —
// and runs it with internal/relabel (after the policy load, before enforcing); in a fresh
// SELinux namespace it also relabels the runtime's API filesystems.
package firstboot

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"time"

	"go.uber.org/zap"
	"golang.org/x/sys/unix"

	"github.com/nsinit/nsinit/internal/relabel"
)

// Policy says when the bring-up relabels the root (--relabel).
type Policy int

const (
	// RelabelAuto relabels when /.autorelabel exists, when the kernel command line says
	// autorelabel, or when the root directory's label is missing or not what file_contexts
	// says (an image built without labels). The default.
	RelabelAuto Policy = iota
	// RelabelAlways relabels at every start.
	RelabelAlways
	// RelabelNever never relabels, whatever the marker or the command line say.
	RelabelNever
)

// String returns the --relabel spelling of p.
func (p Policy) String() string {
	switch p {
	case RelabelAuto:
		return "auto"
	case RelabelAlways:
		return "always"
	case RelabelNever:
		return "never"
	}
	return fmt.Sprintf("Policy(%d)", int(p))
}

// ParsePolicy accepts auto, always or never.
func ParsePolicy(s string) (Policy, error) {
	for _, p := range []Policy{RelabelAuto, RelabelAlways, RelabelNever} {
		if s == p.String() {
			return p, nil
		}
	}
	return 0, fmt.Errorf("unknown relabel policy %q (want auto, always or never)", s)
}

// Marker is the file that requests a relabel at the next start (Fedora's /.autorelabel),
// relative to the root. Its content may hold fixfiles' flags; "-F" asks for a forced relabel.
const Marker = ".autorelabel"

// Options configure Run.
type Options struct {
	// Root is the tree to relabel: "/" as PID 1, a directory in tests.
	Root string
	// FileContexts is the path of file_contexts (its companions are loaded with it).
	FileContexts string
	// CustomizableTypes is the path of contexts/customizable_types; a missing file is fine.
	CustomizableTypes string
	// Policy is the --relabel setting.
	Policy Policy
	// CmdlineAutorelabel is true when the kernel command line had "autorelabel" (pass it only
	// at boot: in a container /proc/cmdline is the host's).
	CmdlineAutorelabel bool
	// Namespace is true in a freshly unshared SELinux namespace: the API filesystems the
	// runtime mounted with host labels (/dev, /dev/shm, /run) are relabelled as well, with
	// full contexts, as systemd does after a policy load.
	Namespace bool
	// Force writes full contexts on the root too (setfiles -F), as does "-F" in the marker.
	Force bool
	// Jobs is the number of workers; 0 means one per CPU.
	Jobs int
	// Log receives the decision, progress lines, errors and the summary; nil discards them.
	Log *zap.Logger
	// Labeler, when set, is used instead of loading FileContexts (tests, or a caller that
	// has the file_contexts handle already).
	Labeler relabel.Labeler
}

// Result says what Run did.
type Result struct {
	// Ran is true when a relabel ran (of the root, or of the API filesystems).
	Ran bool
	// Reason says why it ran or why not.
	Reason string
	// Stats are the relabel's counters.
	Stats relabel.Stats
}

// Run decides whether the root needs a relabel (the marker, the command line,
// Policy, or — auto — the root directory's label), runs it, and removes the marker and
// fsyncs the root directory only after a relabel with zero errors. Cancelling ctx (a
// signal) stops the walk and keeps the marker, so the next start relabels again. An error
// means labels may be incomplete: a caller that wants enforcing must fail closed.
func Run(ctx context.Context, o Options) (Result, error) {
	var res Result
	log := o.Log
	if log == nil {
		log = zap.NewNop()
	}
	root, err := filepath.Abs(o.Root)
	if err != nil || o.Root == "" {
		return res, fmt.Errorf("firstboot: bad root %q", o.Root)
	}
	marker := filepath.Join(root, Marker)
	hasMarker, markerForce, err := readMarker(marker)
	if err != nil {
		return res, err
	}
	if o.Policy == RelabelNever {
		if hasMarker {
			log.Warn("relabel requested by the marker but --relabel=never", zap.String("marker", marker))
		}
		res.Reason = "--relabel=never"
		return res, nil
	}
	lab := o.Labeler
	if lab == nil {
		if lab, err = relabel.LoadFileContexts(o.FileContexts); err != nil {
			return res, err
		}
	}
	types, err := relabel.LoadCustomizableTypes(o.CustomizableTypes)
	if err != nil {
		return res, fmt.Errorf("relabel: %w", err)
	}
	force := o.Force || markerForce
	switch {
	case hasMarker:
		res.Reason = "/" + Marker + " exists"
	case o.CmdlineAutorelabel:
		res.Reason = "autorelabel on the kernel command line"
	case o.Policy == RelabelAlways:
		res.Reason = "--relabel=always"
	default:
		res.Reason, err = rootVerdict(root, lab, types, force)
		if err != nil {
			return res, err
		}
	}
	opts := relabel.Options{Root: root, Labeler: lab, Customizable: types, Force: force, Jobs: o.Jobs, Log: log, LogEvery: 5 * time.Second}
	if res.Reason != "" {
		log.Info("relabelling the root", zap.String("reason", res.Reason), zap.Bool("force", force))
		res.Ran = true
		s, err := relabel.Run(ctx, opts)
		res.Stats = s
		if err != nil {
			return res, err
		}
		if s.NotWritable > 0 {
			return res, fmt.Errorf("%w: %d labels could not be written (read-only filesystem or no label support); "+
				"label the image before starting it, or pass --relabel=never if its labels suit the policy", relabel.ErrIncomplete, s.NotWritable)
		}
	} else {
		res.Reason = "root label matches file_contexts"
	}
	if o.Namespace {
		api := apiMounts(root)
		if len(api) > 0 {
			log.Info("relabelling the runtime's API filesystems", zap.Strings("paths", api))
			opts.Paths, opts.Force = api, true
			s, err := relabel.Run(ctx, opts)
			res.Ran = true
			res.Stats.Add(&s)
			res.Stats.Duration += s.Duration
			if err != nil {
				return res, err
			}
			if s.NotWritable > 0 {
				return res, fmt.Errorf("%w: %d labels of API filesystems could not be written", relabel.ErrIncomplete, s.NotWritable)
			}
		}
	}
	if hasMarker {
		// The labels are complete: a failure to remove the marker only costs a relabel at
		// the next start, so it is reported, not returned.
		if err := removeMarker(root, marker); err != nil {
			log.Error("cannot remove the relabel marker", zap.Error(err))
		}
	}
	return res, nil
}

// readMarker reports whether the marker exists and whether its flags include -F.
func readMarker(marker string) (exists, force bool, err error) {
	b, err := os.ReadFile(marker)
	switch {
	case errors.Is(err, fs.ErrNotExist):
		return false, false, nil
	case err != nil:
		// It exists (or cannot be told apart): relabel, and say why it could not be read.
		if _, serr := os.Lstat(marker); serr != nil {
			return false, false, fmt.Errorf("relabel: %w", serr)
		}
		return true, false, nil
	}
	for _, f := range bytes.Fields(b) {
		if string(f) == "-F" {
			force = true
		}
	}
	return true, force, nil
}

// removeMarker deletes the marker and makes the deletion durable.
func removeMarker(root, marker string) error {
	if err := os.Remove(marker); err != nil && !errors.Is(err, fs.ErrNotExist) {
		return err
	}
	d, err := os.Open(root)
	if err != nil {
		return err
	}
	defer d.Close()
	if err := d.Sync(); err != nil {
		return fmt.Errorf("fsync %s: %w", root, err)
	}
	return nil
}

// rootVerdict returns why the root needs a relabel, or "" when it does not: the root
// directory's label is missing or would be changed by the relabel's own rules.
func rootVerdict(root string, lab relabel.Labeler, types *relabel.TypeSet, force bool) (string, error) {
	want, ok := lab.Lookup("/", unix.S_IFDIR)
	if !ok {
		return "", nil
	}
	buf := make([]byte, 4096)
	n, err := unix.Lgetxattr(root, "security.selinux", buf)
	switch {
	case err == unix.ENODATA:
		return "the root directory has no label", nil
	case err == unix.ENOTSUP:
		return "", nil // a filesystem without labels (e.g. ramfs): nothing to relabel
	case err != nil:
		return "", fmt.Errorf("relabel: %w", &os.PathError{Op: "lgetxattr", Path: root, Err: err})
	}
	cur := buf[:n]
	if i := bytes.IndexByte(cur, 0); i >= 0 {
		cur = cur[:i]
	}
	if relabel.WouldChange(string(cur), true, want, force, types) {
		return fmt.Sprintf("the root directory is labelled %q, file_contexts says %q", cur, want), nil
	}
	return "", nil
}

// apiMounts returns those of /dev, /dev/shm and /run under root that are mount points (a
// directory that is not one was labelled with its parent's filesystem).
func apiMounts(root string) []string {
	var out []string
	for _, p := range []string{"/dev", "/dev/shm", "/run"} {
		hp := filepath.Join(root, p)
		var st, pst unix.Statx_t
		if unix.Statx(unix.AT_FDCWD, hp, unix.AT_SYMLINK_NOFOLLOW, unix.STATX_MNT_ID|unix.STATX_TYPE, &st) != nil ||
			st.Mode&unix.S_IFMT != unix.S_IFDIR ||
			unix.Statx(unix.AT_FDCWD, filepath.Dir(hp), unix.AT_SYMLINK_NOFOLLOW, unix.STATX_MNT_ID, &pst) != nil {
			continue
		}
		if st.Mnt_id != pst.Mnt_id || st.Dev_major != pst.Dev_major || st.Dev_minor != pst.Dev_minor {
			out = append(out, hp)
		}
	}
	return out
}
