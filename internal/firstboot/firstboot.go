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
	"os"
	"path/filepath"
	"slices"
	"time"

	"go.uber.org/zap"
	"golang.org/x/sys/unix"

	"github.com/nsinit/nsinit/internal/fcontext"
	"github.com/nsinit/nsinit/internal/imagefile"
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

// Run decides whether the root needs a relabel (the marker, the command line, Policy, or —
// auto — the labels of the root directory and a few well-known paths) and runs it. The marker is the first-boot state that
// cannot be lost: before any label is written it exists on disk (Run creates it when another
// trigger fired), and it is removed only after a relabel with zero errors, once the labels
// are on disk (marker.go). Whatever interrupts the relabel — an error, a signal (cancelling
// ctx), kill -9, a power cut — the next start finds it and relabels again. An error means
// labels may be incomplete: a caller that wants enforcing must fail closed.
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
	m, err := readMarker(root)
	if err != nil {
		return res, err
	}
	if m.unread != nil {
		log.Warn("relabel marker present but not read: relabelling without its flags", zap.Error(m.unread))
	}
	if o.Policy == RelabelNever {
		if m.exists {
			log.Warn("relabel requested by the marker but --relabel=never", zap.String("marker", m.path))
		}
		res.Reason = "--relabel=never"
		return res, nil
	}
	types, err := relabel.LoadCustomizableTypes(o.CustomizableTypes)
	if err != nil {
		return res, fmt.Errorf("firstboot: %w", err)
	}
	force := o.Force || m.force
	lab := o.Labeler
	res.Reason = trigger(o, m)
	if res.Reason == "" {
		// --relabel=auto: a handle for the probes only is enough to decide (Debian's
		// file_contexts: 122 of 5,621 specs), and most starts stop there.
		probeLab := lab
		if probeLab == nil {
			if probeLab, err = labelerFor(o.FileContexts, root, probes, log); err != nil {
				return res, err
			}
		}
		if res.Reason, err = rootVerdict(root, probeLab, types, force); err != nil {
			return res, err
		}
	}
	if lab == nil && (res.Reason != "" || o.Namespace) {
		if lab, err = labelerFor(o.FileContexts, root, nil, log); err != nil {
			return res, err
		}
	}
	opts := relabel.Options{Root: root, Labeler: lab, Customizable: types, Force: force, Jobs: o.Jobs, Log: log, LogEvery: 5 * time.Second}
	if res.Reason != "" {
		res.Ran = true
		if res.Stats, err = relabelRoot(ctx, opts, m, res.Reason); err != nil {
			return res, err
		}
	} else {
		res.Reason = "root label matches file_contexts (and so do the well-known paths checked with it)"
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
	return res, nil
}

// Inputs returns what Run reads before it decides, for a prefetch (imagefile.Prefetch):
// file_contexts' text files and customizable_types, and the marker and probes it only looks
// up; nothing with RelabelNever.
func Inputs(o Options) ([]imagefile.Ahead, []string) {
	if o.Policy == RelabelNever {
		return nil, nil
	}
	files := []imagefile.Ahead{{Path: o.CustomizableTypes, Limit: relabel.MaxCustomizableTypesSize}}
	for _, p := range fcontext.TextFiles(o.FileContexts) {
		files = append(files, imagefile.Ahead{Path: p, Limit: fcontext.MaxTextSize})
	}
	lookups := []string{filepath.Join(o.Root, Marker)}
	for _, p := range probes {
		lookups = append(lookups, filepath.Join(o.Root, p))
	}
	return files, lookups
}

// trigger returns why the root needs a relabel whatever its labels, or "": the labels
// then decide (rootVerdict).
func trigger(o Options, m marker) string {
	switch {
	case m.exists:
		return "/" + Marker + " exists (requested, or an earlier relabel did not finish)"
	case o.CmdlineAutorelabel:
		return "autorelabel on the kernel command line"
	case o.Policy == RelabelAlways:
		return "--relabel=always"
	}
	return ""
}

// labelerFor loads file_contexts with the rules of the image's own libselinux, as
// `nsinit relabel` defaults to (the first start labels as the image's restorecon would):
// for the lookup keys only when keys is not nil (fcontext.Options.Keys).
func labelerFor(fc, root string, keys []string, log *zap.Logger) (relabel.Labeler, error) {
	if keys != nil {
		// The image's release decides only between several exact specs of one key: for
		// keys without them it need not be found (reading the image's libselinux.so.1 was
		// half of this step under emulation, docs/performance.md).
		h, err := fcontext.LoadOptions(fc, fcontext.Options{Semantics: fcontext.Newest, Keys: keys})
		if err != nil {
			return nil, fmt.Errorf("firstboot: %w", err)
		}
		if !slices.ContainsFunc(keys, func(k string) bool { return h.Ambiguous(k, 0) }) {
			log.Debug("file_contexts lookup rules", zap.String("libselinux", "any (no key has two exact specs)"), zap.Int("specs", h.Len()))
			return h, nil
		}
	}
	sem, why, err := fcontext.SemanticsFor("auto", root)
	if err != nil {
		return nil, fmt.Errorf("firstboot: %w", err)
	}
	h, err := fcontext.LoadOptions(fc, fcontext.Options{Semantics: sem, Keys: keys})
	if err != nil {
		return nil, fmt.Errorf("firstboot: %w", err)
	}
	log.Debug("file_contexts lookup rules", zap.String("libselinux", sem.String()+" ("+why+")"), zap.Int("specs", h.Len()))
	return h, nil
}

// relabelRoot relabels the root with the marker on disk throughout: created first unless
// it exists, removed only after a complete relabel. On a read-only root the marker cannot
// be written, but no label can either: the relabel then only verifies, and fails if any
// label is wrong. Any other failure to create the marker stops here, before a label is
// written: a relabel that could be interrupted without a trace must not start.
func relabelRoot(ctx context.Context, opts relabel.Options, m marker, reason string) (relabel.Stats, error) {
	log := opts.Log
	if !m.exists {
		err := createMarker(opts.Root, opts.Force)
		switch {
		case errors.Is(err, unix.EROFS):
			log.Warn("read-only root: no relabel marker written, the relabel can only check the labels", zap.Error(err))
		case err != nil:
			return relabel.Stats{}, fmt.Errorf("firstboot: cannot record the relabel in %s, so an interruption could not be noticed: %w", m.path, err)
		}
	}
	log.Info("relabelling the root", zap.String("reason", reason), zap.Bool("force", opts.Force))
	s, err := relabel.Run(ctx, opts)
	if err != nil {
		return s, err
	}
	if s.NotWritable > 0 {
		return s, fmt.Errorf("%w: %d labels could not be written (read-only filesystem or no label support); "+
			"label the image before starting it, or pass --relabel=never if its labels suit the policy", relabel.ErrIncomplete, s.NotWritable)
	}
	// The labels are complete: a failure to remove the marker only costs a relabel at the
	// next start, so it is reported, not returned.
	if err := removeMarker(opts.Root); err != nil {
		log.Error("cannot remove the relabel marker", zap.Error(err))
	}
	return s, nil
}

// probes are the paths whose labels decide --relabel=auto: the root directory alone is not
// enough, because on an initramfs root (rootfs, tmpfs) every inode carries the
// filesystem's default label, which is file_contexts' label for "/" too; these well-known
// paths of any image have labels of their own.
var probes = []string{"/", "/etc", "/usr", "/usr/bin", "/usr/sbin", "/usr/lib", "/bin", "/sbin", "/lib", "/var", "/sbin/init"}

// rootVerdict returns why the root needs a relabel, or "" when it does not: the label of
// one of the probes that exist is missing or would be changed by the relabel's own rules.
func rootVerdict(root string, lab relabel.Labeler, types *relabel.TypeSet, force bool) (string, error) {
	for _, p := range probes {
		why, err := probeVerdict(root, p, lab, types, force)
		if why != "" || err != nil {
			return why, err
		}
	}
	return "", nil
}

// probeVerdict is rootVerdict for one probe. A probe that does not exist, or whose parent
// is not a real directory (a symlink must not lead the check outside the root), says
// nothing.
func probeVerdict(root, p string, lab relabel.Labeler, types *relabel.TypeSet, force bool) (string, error) {
	hp := filepath.Join(root, p)
	if dir := filepath.Dir(p); dir != "/" {
		var st unix.Stat_t
		if unix.Lstat(filepath.Join(root, dir), &st) != nil || st.Mode&unix.S_IFMT != unix.S_IFDIR {
			return "", nil
		}
	}
	var st unix.Stat_t
	if err := unix.Lstat(hp, &st); err != nil {
		return "", nil
	}
	want, ok := lab.Lookup(p, st.Mode&unix.S_IFMT)
	if !ok {
		return "", nil
	}
	buf := make([]byte, 4096)
	n, err := unix.Lgetxattr(hp, "security.selinux", buf)
	switch {
	case err == unix.ENODATA:
		return fmt.Sprintf("%s has no label", p), nil
	case err == unix.ENOTSUP:
		return "", nil // a filesystem without labels (e.g. ramfs): nothing to relabel
	case err != nil:
		return "", fmt.Errorf("relabel: %w", &os.PathError{Op: "lgetxattr", Path: hp, Err: err})
	}
	cur := buf[:n]
	if i := bytes.IndexByte(cur, 0); i >= 0 {
		cur = cur[:i]
	}
	if relabel.WouldChange(string(cur), true, want, force, types) {
		return fmt.Sprintf("%s is labelled %q, file_contexts says %q", p, cur, want), nil
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
