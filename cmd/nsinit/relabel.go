package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/signal"
	"path/filepath"

	"github.com/spf13/pflag"

	"golang.org/x/sys/unix"

	"github.com/nsinit/nsinit/internal/config"
	"github.com/nsinit/nsinit/internal/exitcode"
	"github.com/nsinit/nsinit/internal/relabel"
	"github.com/nsinit/nsinit/internal/sigpolicy"
)

// relabelFlags are the flags of `nsinit relabel`.
type relabelFlags struct {
	root, fileContexts, policyRoot, types, report string
	force, dryRun                                 bool
	jobs                                          int
	excludes                                      []string
	log                                           logFlags
	libselinux                                    semanticsFlag
}

func init() {
	register(&command{
		Name:     "relabel",
		Synopsis: "nsinit relabel [--root DIR] [--file-contexts FILE | --policy-root DIR] [--force] [--dry-run] [--jobs N] [--exclude PATH]... [--report FILE] [PATH...]",
		Summary:  "label files as file_contexts says, like setfiles, in parallel",
		Help: `relabel gives every file, directory, symlink, device node, fifo and socket under each
PATH the SELinux context file_contexts assigns it, with the rules of setfiles
(setfiles -r ROOT FILE_CONTEXTS PATH...):

  - the lookup key is the path relative to --root ("/" for the root itself), so an image
    mounted at /mnt/img is labelled as it will be seen when it runs;
  - objects with no file_contexts entry, or <<none>>, are left alone;
  - symlinks are never followed (the link itself is labelled), and the walk never crosses
    into another mount (a PATH given explicitly is labelled even if it is a mount point);
  - without --force only the type is compared and replaced (user, role and range are kept)
    and files whose type is in customizable_types are left alone; with --force the full
    context is written;
  - an inode with several hard links gets the context of its first name in a depth-first
    walk in directory order; names with a different context are reported as conflicts;
  - a read-only filesystem, or one that cannot store labels, is reported once and skipped.

The walk is safe against files changing under it: every directory is opened relative to
its parent with O_NOFOLLOW and labels are written through that open directory, so a
directory swapped for a symlink cannot make nsinit label anything outside the tree. It runs
on every CPU (--jobs) and its result does not depend on the number of workers.

file_contexts comes from --file-contexts, else from --policy-root DIR (DIR/contexts/files/
file_contexts, e.g. /etc/selinux/default), else from the policy that ROOT/etc/selinux/config
names. Its companions (.homedirs, .local, .subs, .subs_dist, compiled .bin) are read with it.
customizable_types comes from --customizable-types, else from the same policy root (for
--file-contexts: ../../customizable_types next to the file), and may be missing.

Errors on single objects (path, operation, errno) are logged and counted; the walk goes on.
A progress line is shown on a terminal, periodic log lines otherwise, and a summary at the
end. Exit status: 0 when every object could be examined and labelled, 1 if any error
occurred, 2 for bad usage, 6 when interrupted by a signal.

Examples:
  nsinit relabel                                   the whole system, with its own policy
  nsinit relabel --dry-run --report /tmp/changes.json /etc
  nsinit relabel --root /mnt/img --force            an image built without labels
  nsinit relabel --root /mnt/img --file-contexts /mnt/img/etc/selinux/default/contexts/files/file_contexts \
      --exclude /mnt/img/var/cache /mnt/img/usr /mnt/img/var`,
		Setup: func(fs *pflag.FlagSet) func(e *env, args []string) int {
			f := &relabelFlags{}
			fs.StringVar(&f.root, "root", "/", "`DIR` the lookup keys are relative to (setfiles -r)")
			fs.StringVar(&f.fileContexts, "file-contexts", "", "the file_contexts `FILE` to use")
			fs.StringVar(&f.policyRoot, "policy-root", "", "policy root `DIR` (e.g. /etc/selinux/default) holding contexts/files/file_contexts")
			fs.StringVar(&f.types, "customizable-types", "", "customizable_types `FILE` (default: the policy root's)")
			fs.BoolVar(&f.force, "force", false, "write full contexts, also over customizable types (setfiles -F)")
			fs.BoolVar(&f.dryRun, "dry-run", false, "change nothing; count and report what would change (setfiles -n)")
			fs.IntVar(&f.jobs, "jobs", 0, "`N` parallel workers (0: one per CPU)")
			fs.StringArrayVar(&f.excludes, "exclude", nil, "skip the directory `PATH` and everything below it (repeatable; setfiles -e)")
			fs.StringVar(&f.report, "report", "", "write one JSON line {\"path\",\"from\",\"to\"} per change to `FILE`")
			fs.Var(&f.libselinux, "libselinux", "lookup rules of libselinux `3.4|3.11|auto` (auto: the release installed in --root)")
			f.log.bind(fs)
			return func(e *env, args []string) int { return runRelabel(e, f, args) }
		},
	})
}

// runRelabel resolves the policy files and runs the relabel.
func runRelabel(e *env, f *relabelFlags, args []string) int {
	log, err := newLogger(e, &f.log)
	if err != nil {
		fmt.Fprintln(e.Stderr, "nsinit relabel:", err)
		return exitcode.Usage
	}
	if f.fileContexts != "" && f.policyRoot != "" {
		fmt.Fprintln(e.Stderr, "nsinit relabel: --file-contexts and --policy-root exclude each other")
		return exitcode.Usage
	}
	if f.jobs < 0 {
		fmt.Fprintln(e.Stderr, "nsinit relabel: --jobs must be 0 or more")
		return exitcode.Usage
	}
	fc, types := f.fileContexts, f.types
	switch {
	case fc != "":
		if types == "" {
			types = filepath.Join(filepath.Dir(filepath.Dir(fc)), "customizable_types")
		}
	default:
		l := config.Layout{Dir: f.policyRoot}
		if f.policyRoot == "" {
			c, err := config.Load(f.root)
			if err != nil {
				fmt.Fprintln(e.Stderr, "nsinit relabel:", err)
				return exitcode.Failure
			}
			l = c.Layout(f.root)
		}
		fc = l.FileContexts()
		if types == "" {
			types = l.CustomizableTypes()
		}
	}
	lab, err := loadFileContexts(fc, f.libselinux, f.root)
	if err != nil {
		fmt.Fprintln(e.Stderr, "nsinit relabel:", err)
		return exitcode.Failure
	}
	ct, err := relabel.LoadCustomizableTypes(types)
	if err != nil {
		fmt.Fprintln(e.Stderr, "nsinit relabel:", err)
		return exitcode.Failure
	}
	o := relabel.Options{Root: f.root, Paths: args, Labeler: lab, Customizable: ct, Force: f.force,
		DryRun: f.dryRun, Jobs: f.jobs, Excludes: f.excludes, Log: log}
	if isTerminal(e.Stderr) {
		o.Progress = e.Stderr
	}
	if f.report != "" {
		rf, err := e.Create(f.report)
		if err != nil {
			fmt.Fprintln(e.Stderr, "nsinit relabel:", err)
			return exitcode.Failure
		}
		defer rf.Close()
		o.Report = rf
	}
	ctx, stop := signal.NotifyContext(context.Background(), sigpolicy.Aborts()...)
	defer stop()
	s, err := e.Relabel(ctx, o)
	verb := "relabelled"
	if f.dryRun {
		verb = "would relabel"
	}
	fmt.Fprintf(e.Stdout, "%s %d of %d objects (unchanged %d, no match %d, customized %d, skipped %d, not writable %d, conflicts %d, errors %d) in %s\n",
		verb, s.Relabeled, s.Seen, s.Unchanged, s.NoMatch, s.Customized, s.Skipped, s.NotWritable, s.Conflicts, s.Errors, s.Duration.Round(1e6))
	switch {
	case err == nil:
		return exitcode.OK
	case errors.Is(err, context.Canceled) && f.dryRun:
		fmt.Fprintln(e.Stderr, "nsinit relabel: interrupted (dry run: nothing was written; the counts and the report are partial)")
		return exitcode.Aborted
	case errors.Is(err, context.Canceled):
		fmt.Fprintln(e.Stderr, "nsinit relabel: interrupted; labels are partly written, run it again")
		return exitcode.Aborted
	case errors.Is(err, relabel.ErrIncomplete):
		return exitcode.Failure
	}
	fmt.Fprintln(e.Stderr, "nsinit relabel:", err)
	return exitcode.Failure
}

// isTerminal reports whether w is a terminal (for the in-place progress line).
func isTerminal(w io.Writer) bool {
	f, ok := w.(*os.File)
	if !ok {
		return false
	}
	_, err := unix.IoctlGetTermios(int(f.Fd()), unix.TCGETS)
	return err == nil
}
