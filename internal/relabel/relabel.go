// Package relabel labels a tree of files with the security contexts file_contexts assigns
// them, with setfiles' semantics (libselinux selinux_restorecon with setfiles' flags) but
// walking in parallel with few system calls per object, and safely: every directory is
// opened relative to its already-open parent, refusing symlinks and mount points, and
// every label is written by name relative to that parent's fd (getxattrat/setxattrat; on
// older kernels the fd as the thread's working directory), so a directory swapped for a
// symlink during the walk cannot redirect labelling outside the tree.
//
// Run labels trees: the `nsinit relabel` command, and the first-boot relabel that
// internal/firstboot decides on.
package relabel

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"go.uber.org/zap"
	"golang.org/x/sys/unix"
)

// Labeler gives the context file_contexts assigns to a path: the lookup key is the path
// relative to the root ("/" for the root itself) and mode is st_mode (only S_IFMT bits
// matter; 0 means any kind). ok is false for no match and for <<none>>. It must be safe for
// concurrent use, and must not retain path after returning: the engine passes a string that
// aliases a reused buffer. *fcontext.Handle implements it.
type Labeler interface {
	Lookup(path string, mode uint32) (context string, ok bool)
}

// Options configure Run.
type Options struct {
	// Root is the directory lookup keys are relative to (setfiles -r); "/" as PID 1.
	Root string
	// Paths are the trees to label, as paths under Root (like setfiles' PATH arguments, e.g.
	// Root+"/var"); empty means Root itself. A path that is a directory is walked without
	// crossing into other mounts; the path itself is labelled even when it is a mount point.
	Paths []string
	// Labeler maps lookup keys to contexts (a loaded file_contexts).
	Labeler Labeler
	// Customizable holds contexts/customizable_types; nil is the empty set.
	Customizable *TypeSet
	// Force writes the full file_contexts context (setfiles -F). Without it only the type is
	// compared and replaced, and files of customizable types are left alone.
	Force bool
	// DryRun computes and reports every change without writing it (setfiles -n).
	DryRun bool
	// Jobs is the number of parallel workers; 0 means one per CPU. The resulting labels do not
	// depend on it.
	Jobs int
	// Excludes are paths under Root (like setfiles -e) whose directories are neither labelled
	// nor descended.
	Excludes []string
	// Log receives errors, warnings and the summary; nil discards them.
	Log *zap.Logger
	// Progress, when set, receives a progress line rewritten in place (a terminal); when nil,
	// progress goes to Log every LogEvery.
	Progress io.Writer
	// LogEvery is the interval of progress updates; 0 means 250 ms for the Progress line and
	// 10 s for log lines.
	LogEvery time.Duration
	// Report, when set, receives one JSON line {"path","from","to"} per change.
	Report io.Writer
	// Ordered puts the Report lines in the order setfiles -v prints them (depth first, each
	// directory before its entries, entries in directory order; order.go) instead of the
	// order of the parallel walk. The lines of objects labelled ahead of the oldest pending
	// directory are held until its turn; the labels do not depend on it.
	Ordered bool
	// ProcDir is where procfs is mounted ("" is /proc): the mount table tells the walk
	// which non-directories are mount points (onecall.go).
	ProcDir string

	// statxAlways, in tests, labels every non-directory after a statx, as where the mount
	// table cannot be read.
	statxAlways bool
	// unknownType, in tests, makes getdents report DT_UNKNOWN for the keys it returns true
	// for, as filesystems without d_type do.
	unknownType func(key string) bool
	// hook, in tests, runs at points of the walk (to swap files under the walker).
	hook func(point hookPoint, key string)
	// procPath, in tests, names objects through /proc/self/fd/N/ as where getxattrat is
	// missing and unshare is refused.
	procPath bool
	// noXattrAt, in tests, names objects through the worker's working directory as where
	// getxattrat is missing.
	noXattrAt bool
	// setxattrFault, in tests, is consulted before each label write; a non-nil error is
	// returned instead of calling the kernel.
	setxattrFault func(key string) error
}

// hookPoint names where Options.hook runs.
type hookPoint int

const (
	// hookBeforeOpenDir runs before a subdirectory is opened.
	hookBeforeOpenDir hookPoint = iota
	// hookBeforeEntries runs after a directory is opened and labelled, before its entries.
	hookBeforeEntries
	// hookBeforeObject runs when getdents has listed a non-directory, before it is handled.
	hookBeforeObject
)

// Stats counts what a relabel did. Every object seen ends in exactly one of the other
// counters (Seen excepted), so they add up to Seen.
type Stats struct {
	// Seen is the number of objects examined.
	Seen uint64
	// Relabeled is the number of labels written (with DryRun: that would be written).
	Relabeled uint64
	// Unchanged objects already had the right label (without Force: the right type).
	Unchanged uint64
	// NoMatch objects have no file_contexts entry or <<none>>, and are left alone.
	NoMatch uint64
	// Customized objects keep a customizable type (no Force).
	Customized uint64
	// Skipped objects are excluded directories, mount points, names of a hard-linked inode
	// labelled through its first name, objects vanished during the walk, and the start
	// directory of an interrupted walk (it is labelled last).
	Skipped uint64
	// NotWritable objects needed a new label on a filesystem that is read-only or cannot
	// store labels (reported once per filesystem).
	NotWritable uint64
	// Conflicts counts hard-linked inodes whose names have different contexts (first wins).
	Conflicts uint64
	// Errors counts objects that could not be examined or labelled (each one logged).
	Errors uint64
	// Duration is the wall time of the relabel.
	Duration time.Duration
}

// Add adds o's counters (Duration excepted) to s.
func (s *Stats) Add(o *Stats) {
	s.Seen += o.Seen
	s.Relabeled += o.Relabeled
	s.Unchanged += o.Unchanged
	s.NoMatch += o.NoMatch
	s.Customized += o.Customized
	s.Skipped += o.Skipped
	s.NotWritable += o.NotWritable
	s.Conflicts += o.Conflicts
	s.Errors += o.Errors
}

// Fields returns the counters as zap fields, for the summary line.
func (s Stats) Fields() []zap.Field {
	return []zap.Field{
		zap.Uint64("seen", s.Seen), zap.Uint64("relabeled", s.Relabeled),
		zap.Uint64("unchanged", s.Unchanged), zap.Uint64("no_match", s.NoMatch),
		zap.Uint64("customized", s.Customized), zap.Uint64("skipped", s.Skipped),
		zap.Uint64("not_writable", s.NotWritable), zap.Uint64("conflicts", s.Conflicts),
		zap.Uint64("errors", s.Errors), zap.Duration("duration", s.Duration),
	}
}

// ErrIncomplete is wrapped by Run's error when objects could not be labelled.
var ErrIncomplete = errors.New("relabel incomplete")

// maxLoggedErrors caps per-object error lines; the count in Stats stays exact.
const maxLoggedErrors = 100

// run is the state of one Run shared by its walks.
type run struct {
	o         *Options
	root      string
	rootFd    int
	excludes  []string // lookup keys
	log       *zap.Logger
	report    *reporter
	xattrAt   bool          // objects are labelled with getxattrat/setxattrat relative to their directory
	seen      atomic.Uint64 // progress, flushed by workers in batches
	errLogged atomic.Int64
}

// Run labels o.Paths (or o.Root). Per-object errors are logged, counted and do not stop the
// walk; the error return wraps ErrIncomplete when any occurred, and is ctx's error when ctx
// was cancelled (the labels are then partly written). Setup errors (no root, a path outside
// the root) return before anything is labelled.
func Run(ctx context.Context, o Options) (Stats, error) {
	start := time.Now()
	var total Stats
	if o.Labeler == nil {
		return total, errors.New("relabel: no file contexts")
	}
	log := o.Log
	if log == nil {
		log = zap.NewNop()
	}
	root, err := filepath.Abs(o.Root)
	if err != nil || o.Root == "" {
		return total, fmt.Errorf("relabel: bad root %q", o.Root)
	}
	rootFd, err := unix.Open(root, unix.O_RDONLY|unix.O_DIRECTORY|unix.O_CLOEXEC, 0)
	if err != nil {
		return total, fmt.Errorf("relabel: %w", &os.PathError{Op: "open", Path: root, Err: err})
	}
	defer unix.Close(rootFd)
	r := &run{o: &o, root: root, rootFd: rootFd, log: log}
	r.xattrAt = !o.procPath && !o.noXattrAt && haveXattrAt(rootFd)
	for _, e := range o.Excludes {
		key, err := keyOf(root, e)
		if err != nil {
			return total, fmt.Errorf("relabel: exclude: %w", err)
		}
		r.excludes = append(r.excludes, key)
	}
	paths := o.Paths
	if len(paths) == 0 {
		paths = []string{root}
	}
	keys := make([]string, len(paths))
	for i, p := range paths {
		if keys[i], err = keyOf(root, p); err != nil {
			return total, fmt.Errorf("relabel: %w", err)
		}
	}
	if o.Report != nil {
		r.report = newReporter(o.Report)
	}
	stopProgress := r.progress(start)
	for _, key := range keys {
		if ctx.Err() != nil {
			break
		}
		s := r.walk(ctx, key)
		total.Add(&s)
	}
	stopProgress()
	total.Duration = time.Since(start)
	if r.report != nil {
		if err := r.report.close(); err != nil {
			log.Error("cannot write the report", zap.Error(err))
			total.Errors++
		}
	}
	if n := r.errLogged.Load(); n > maxLoggedErrors {
		log.Error("more errors not shown", zap.Int64("count", n-maxLoggedErrors))
	}
	msg := "relabel done"
	if ctx.Err() != nil {
		msg = "relabel interrupted"
	}
	if o.DryRun {
		msg += " (dry run: nothing written)"
	}
	log.Info(msg, append(total.Fields(), zap.String("xattr_calls", r.xattrCalls()))...)
	if err := ctx.Err(); err != nil {
		return total, fmt.Errorf("relabel interrupted: %w", err)
	}
	if total.Errors > 0 {
		return total, fmt.Errorf("%w: %d objects could not be labelled", ErrIncomplete, total.Errors)
	}
	return total, nil
}

// xattrCalls names how the walk reached labels, for the summary: getxattrat/setxattrat on a
// directory fd (Linux 6.13), or l*xattr through the worker's working directory (older
// kernels, or a seccomp filter refusing the new calls).
func (r *run) xattrCalls() string {
	switch {
	case r.xattrAt:
		return "getxattrat/setxattrat"
	case r.o.procPath:
		return "l*xattr via /proc/self/fd"
	}
	return "l*xattr via the working directory"
}

// keyOf returns the lookup key of host path p under root: p relative to root, "/" for root.
func keyOf(root, p string) (string, error) {
	p, err := filepath.Abs(p)
	if err != nil {
		return "", err
	}
	switch {
	case p == root:
		return "/", nil
	case root == "/":
		return p, nil
	case strings.HasPrefix(p, root+"/"):
		return p[len(root):], nil
	}
	return "", fmt.Errorf("%s is not located in the root %s", p, root)
}

// hostPath returns the path of key as seen from outside the root, for messages and reports.
func (r *run) hostPath(key string) string {
	if r.root == "/" {
		return key
	}
	if key == "/" {
		return r.root
	}
	return r.root + key
}

// procDir is Options.ProcDir, /proc by default.
func (r *run) procDir() string { return cmp.Or(r.o.ProcDir, "/proc") }

// excluded reports whether the directory key is an exclude or under one.
func (r *run) excluded(key []byte) bool {
	for _, e := range r.excludes {
		if string(key) == e || (len(key) > len(e) && string(key[:len(e)]) == e && key[len(e)] == '/') || e == "/" {
			return true
		}
	}
	return false
}

// fail logs a per-object error (up to maxLoggedErrors of them).
func (r *run) fail(key, op string, err error) {
	if r.errLogged.Add(1) <= maxLoggedErrors {
		r.log.Error("cannot relabel", zap.String("path", r.hostPath(key)), zap.String("op", op), zap.Error(err))
	}
}

// progress starts the progress reporter and returns the function that stops it.
func (r *run) progress(start time.Time) func() {
	every := r.o.LogEvery
	switch {
	case every > 0:
	case r.o.Progress != nil:
		every = 250 * time.Millisecond
	default:
		every = 10 * time.Second
	}
	done := make(chan struct{})
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		t := time.NewTicker(every)
		defer t.Stop()
		for {
			select {
			case <-done:
				if r.o.Progress != nil {
					fmt.Fprintf(r.o.Progress, "\rrelabel: %d objects in %s\n", r.seen.Load(), time.Since(start).Round(time.Millisecond))
				}
				return
			case <-t.C:
				n := r.seen.Load()
				rate := float64(n) / time.Since(start).Seconds()
				if r.o.Progress != nil {
					fmt.Fprintf(r.o.Progress, "\rrelabel: %d objects, %.0f objects/s ", n, rate)
				} else {
					r.log.Info("relabel progress", zap.Uint64("seen", n), zap.Float64("objects_per_s", rate))
				}
			}
		}
	}()
	return func() { close(done); wg.Wait() }
}

// jobs returns the number of workers to start.
func (r *run) jobs() int {
	if r.o.Jobs > 0 {
		return r.o.Jobs
	}
	return runtime.GOMAXPROCS(0)
}
