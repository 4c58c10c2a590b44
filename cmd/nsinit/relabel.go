package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"os/signal"
	"path/filepath"
	"strings"

	"github.com/spf13/pflag"
	"go.uber.org/zap/zapcore"

	"golang.org/x/sys/unix"

	"github.com/nsinit/nsinit/internal/config"
	"github.com/nsinit/nsinit/internal/exitcode"
	"github.com/nsinit/nsinit/internal/fcontext"
	"github.com/nsinit/nsinit/internal/relabel"
	"github.com/nsinit/nsinit/internal/sigpolicy"
)

// relabelFlags are the flags of `nsinit relabel`.
type relabelFlags struct {
	root, fileContexts, policyRoot, types, report, pathList string
	force, dryRun, verbose, quiet, check, nul               bool
	jobs                                                    int
	excludes                                                []string
	log                                                     logFlags
	libselinux                                              semanticsFlag
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
			fs.StringVarP(&f.root, "root", "r", "/", "`DIR` the lookup keys are relative to (setfiles -r)")
			fs.StringVar(&f.fileContexts, "file-contexts", "", "the file_contexts `FILE` to use")
			fs.StringVar(&f.policyRoot, "policy-root", "", "policy root `DIR` (e.g. /etc/selinux/default) holding contexts/files/file_contexts")
			fs.StringVar(&f.types, "customizable-types", "", "customizable_types `FILE` (default: the policy root's)")
			fs.BoolVarP(&f.force, "force", "F", false, "write full contexts, also over customizable types (setfiles -F)")
			fs.BoolVarP(&f.dryRun, "dry-run", "n", false, "change nothing; count and report what would change (setfiles -n)")
			fs.BoolVar(&f.check, "check", false, "change nothing, list what would change as -v does, exit 1 if anything would (for CI)")
			fs.BoolVarP(&f.verbose, "verbose", "v", false, "print \"Relabeled PATH from OLD to NEW\" per change (\"Would relabel\" with -n), as and in the order setfiles -v prints them")
			fs.BoolVarP(&f.quiet, "quiet", "q", false, "no summary line and no progress: only errors (setfiles -q is a no-op)")
			fs.StringVarP(&f.pathList, "from-file", "f", "", "read the PATHs from `FILE`, one per line (- for standard input; setfiles -f)")
			fs.BoolVarP(&f.nul, "null", "0", false, "with -f: the PATHs are separated by NUL bytes, not newlines (setfiles -0)")
			fs.BoolP("recursive", "R", false, "accepted for restorecon -R: nsinit always descends into directories")
			fs.BoolP("one-file-system", "x", false, "accepted for restorecon -x: nsinit never crosses into another mount")
			fs.IntVarP(&f.jobs, "jobs", "T", 0, "`N` parallel workers (0: one per CPU; setfiles -T)")
			fs.StringArrayVarP(&f.excludes, "exclude", "e", nil, "skip the directory `PATH` and everything below it (repeatable; setfiles -e)")
			fs.StringVar(&f.report, "report", "", "write one JSON line {\"path\",\"from\",\"to\"} per change to `FILE` (- for standard output)")
			fs.Var(&f.libselinux, "libselinux", "lookup rules of libselinux `3.4|3.11|auto` (auto: the release installed in --root)")
			f.log.bind(fs)
			return func(e *env, args []string) int {
				if f.quiet && !fs.Changed("log-level") {
					f.log.level = "warn" // -q: no progress or summary log lines either
				}
				return runRelabel(e, f, args)
			}
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
	if f.report == "-" && (f.verbose || f.check) {
		fmt.Fprintln(e.Stderr, "nsinit relabel: --report - and -v/--check both write to standard output; give --report a FILE")
		return exitcode.Usage
	}
	if f.nul && f.pathList == "" {
		fmt.Fprintln(e.Stderr, "nsinit relabel: -0 only applies with -f FILE")
		return exitcode.Usage
	}
	if f.pathList != "" {
		if len(args) > 0 {
			fmt.Fprintln(e.Stderr, "nsinit relabel: -f FILE gives the PATHs: no PATH arguments")
			return exitcode.Usage
		}
		sep := byte('\n')
		if f.nul {
			sep = 0
		}
		paths, err := readPathList(e, f.pathList, sep)
		if err != nil {
			fmt.Fprintln(e.Stderr, "nsinit relabel:", err)
			return exitcode.Failure
		}
		if len(paths) == 0 {
			fmt.Fprintf(e.Stderr, "nsinit relabel: %s names no PATH; nothing to do\n", f.pathList)
			return exitcode.OK
		}
		args = paths
	}
	if f.check {
		f.dryRun = true
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
			if err == nil && !c.Found {
				err = fmt.Errorf("%s does not exist, so no policy is named; pass --file-contexts FILE or --policy-root DIR", c.Path)
			}
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
	lab, _, err := fcontext.LoadFor(fc, f.libselinux.String(), f.root)
	if err != nil {
		fmt.Fprintln(e.Stderr, "nsinit relabel:", fileContextsError(err))
		return exitcode.Failure
	}
	ct, err := relabel.LoadCustomizableTypes(types)
	if err != nil {
		fmt.Fprintln(e.Stderr, "nsinit relabel:", err)
		return exitcode.Failure
	}
	o := relabel.Options{Root: f.root, Paths: args, Labeler: lab, Customizable: ct, Force: f.force,
		DryRun: f.dryRun, Jobs: f.jobs, Excludes: f.excludes, Log: log}
	if isTerminal(e.Stderr) && !f.quiet {
		o.Progress = e.Stderr
	}
	summary := e.Stdout
	var reports []io.Writer
	switch f.report {
	case "":
	case "-":
		reports = append(reports, e.Stdout)
		summary = e.Stderr
	default:
		rf, err := e.Create(f.report)
		if err != nil {
			fmt.Fprintln(e.Stderr, "nsinit relabel:", err)
			return exitcode.Failure
		}
		defer rf.Close()
		reports = append(reports, rf)
	}
	if f.verbose || f.check {
		verb := "Relabeled"
		if f.dryRun {
			verb = "Would relabel"
		}
		reports = append(reports, &verboseWriter{w: e.Stdout, verb: verb, none: noContext(lab.Semantics())})
		o.Ordered = true // setfiles' order, so that the list compares with setfiles' own
	}
	if len(reports) > 0 {
		o.Report = io.MultiWriter(reports...)
	}
	ctx, stop := signal.NotifyContext(context.Background(), sigpolicy.Aborts()...)
	defer stop()
	s, err := e.Relabel(ctx, o)
	verb := "relabelled"
	if f.dryRun {
		verb = "would relabel"
	}
	if printSummary(f.quiet, isTerminal(summary) && isTerminal(e.Stderr), log.Core().Enabled(zapcore.InfoLevel)) {
		fmt.Fprintf(summary, "%s %d of %d objects (unchanged %d, no match %d, customized %d, skipped %d, not writable %d, conflicts %d, errors %d) in %s\n",
			verb, s.Relabeled, s.Seen, s.Unchanged, s.NoMatch, s.Customized, s.Skipped, s.NotWritable, s.Conflicts, s.Errors, s.Duration.Round(1e6))
	}
	switch {
	case err == nil && f.check && s.Relabeled > 0:
		return exitcode.Failure
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
	// One prefix: relabel.Run's errors name their package, the command already does.
	fmt.Fprintln(e.Stderr, "nsinit relabel:", strings.TrimPrefix(err.Error(), "relabel: "))
	return exitcode.Failure
}

// fileContextsError says what to do when file_contexts cannot be loaded: a missing file
// means no policy is installed there.
func fileContextsError(err error) string {
	msg := strings.TrimPrefix(err.Error(), "relabel: ")
	if errors.Is(err, fs.ErrNotExist) {
		msg += "; install the policy package (e.g. selinux-policy-default) or pass --file-contexts FILE or --policy-root DIR"
	}
	return msg
}

// printSummary says whether the command prints its summary line: not with -q, and not when
// it would land on the terminal that already shows the relabel's own summary log line
// (info level), so that a terminal shows one summary.
func printSummary(quiet, sameTerminal, infoLogged bool) bool {
	return !quiet && !(sameTerminal && infoLogged)
}

// noContext returns what setfiles -v prints in place of the label of an object without
// one, in the libselinux release whose lookup rules nsinit follows: 3.4 prints "(null)"
// (printf of a NULL pointer), 3.5 and later "<no context>" (upstream commit 956bda08).
func noContext(sem fcontext.Semantics) string {
	if sem == fcontext.Libselinux34 {
		return "(null)"
	}
	return "<no context>"
}

// verboseWriter turns the report's JSON lines into setfiles -v lines ("Relabeled PATH
// from OLD to NEW", OLD none for no label) on w.
type verboseWriter struct {
	w    io.Writer
	verb string
	none string
	// partial holds the start of a line whose end has not been written yet.
	partial []byte
}

func (v *verboseWriter) Write(p []byte) (int, error) {
	n := len(p)
	for len(p) > 0 {
		i := bytes.IndexByte(p, '\n')
		if i < 0 {
			v.partial = append(v.partial, p...)
			break
		}
		line := p[:i]
		if len(v.partial) > 0 {
			line = append(v.partial, line...)
			v.partial = v.partial[:0]
		}
		p = p[i+1:]
		var c struct{ Path, From, To string }
		if err := json.Unmarshal(line, &c); err != nil {
			return n, fmt.Errorf("verbose output: %w", err)
		}
		if c.From == "" {
			c.From = v.none
		}
		if _, err := fmt.Fprintf(v.w, "%s %s from %s to %s\n", v.verb, c.Path, c.From, c.To); err != nil {
			return n, err
		}
	}
	return n, nil
}

// maxPathList bounds a -f path list: more paths than any tree's top level needs.
const maxPathList = 64 << 20

// readPathList reads the PATHs of -f: name ("-" is standard input; a pipe such as
// <(find ...) works too), entries separated by sep; empty entries are skipped (setfiles
// tries them as paths and fails), and a last entry without sep is whole (setfiles cuts its
// last byte). The list is an admin's, not an image's file, and is bounded by maxPathList.
func readPathList(e *env, name string, sep byte) ([]string, error) {
	in, what := e.Stdin, "standard input"
	if name != "-" {
		f, err := os.Open(name)
		if err != nil {
			return nil, fmt.Errorf("reading the path list: %w", err)
		}
		defer f.Close()
		in, what = f, name
	}
	data, err := io.ReadAll(io.LimitReader(in, maxPathList+1))
	if err == nil && len(data) > maxPathList {
		err = fmt.Errorf("longer than %d bytes", maxPathList)
	}
	if err != nil {
		return nil, fmt.Errorf("reading the path list %s: %w", what, err)
	}
	var paths []string
	for _, p := range bytes.Split(data, []byte{sep}) {
		if len(p) > 0 {
			paths = append(paths, string(p))
		}
	}
	return paths, nil
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
