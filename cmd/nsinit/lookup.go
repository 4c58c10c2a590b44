package main

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io"
	"strconv"

	"github.com/spf13/pflag"

	"github.com/nsinit/nsinit/internal/config"
	"github.com/nsinit/nsinit/internal/exitcode"
	"github.com/nsinit/nsinit/internal/fcontext"
)

// lookupFlags are the flags of `nsinit lookup`.
type lookupFlags struct {
	fileContexts, policyRoot, mode string
	batch                          bool
	libselinux                     semanticsFlag
}

func init() {
	register(&command{
		Name:     "lookup",
		Synopsis: "nsinit lookup [--file-contexts FILE | --policy-root DIR] [--mode MODE] PATH...\n       nsinit lookup --file-contexts FILE --batch < KEYS",
		Summary:  "print the context file_contexts assigns to paths, like matchpathcon",
		Help: `lookup prints the SELinux context that file_contexts assigns to each PATH, with
libselinux's rules (selabel_lookup, file backend, as in libselinux 3.4-3.7): the path is a
lookup key, not a file on disk, so it need not exist; "//" collapses and one trailing "/"
is dropped; the aliases of file_contexts.subs and .subs_dist apply; literal entries beat
regular expressions; later inputs (.homedirs, then .local) and later lines win; an entry
with a file type only applies to that type. --libselinux 3.11 follows libselinux 3.9-3.11
instead, where the first of several exact lines of one path wins; the default, auto, takes
the release of /usr/lib*/libselinux.so.1 (3.4 or 3.11), else 3.11. One line per PATH:

  PATH<TAB>CONTEXT        or        PATH<TAB><<none>>

<<none>> means no entry matches, or the winning entry is <<none>> (leave the file alone).

--mode gives the file type for every PATH, as matchpathcon -m takes it: file, dir, lnk,
chr, blk, sock, fifo, or an octal st_mode such as 0100644. Without it the type is unknown
and entries of every type apply.

--batch reads "PATH<TAB>OCTAL_ST_MODE" lines from standard input (st_mode with its type
bits, 0 = unknown type) and writes one answer line per input line, in order, in constant
memory, for tools that label millions of files. A malformed input line stops the run with
an error naming its line number; a line longer than 4160 bytes (a path longer than
PATH_MAX is no file's) is malformed, and is not read further.

file_contexts comes from --file-contexts, else from --policy-root DIR (DIR/contexts/files/
file_contexts, e.g. /etc/selinux/default), else from the policy /etc/selinux/config names.
Its companions (.homedirs, .local, .subs, .subs_dist and the compiled .bin forms, whichever
libselinux would pick) are read with it. A malformed file fails with FILE:LINE and the
reason. Exit status: 0 on success (also when paths have no label), 1 when file_contexts
cannot be loaded or batch input is malformed, 2 for bad usage.

Examples:
  nsinit lookup /etc/shadow /usr/bin/passwd
  nsinit lookup --policy-root /mnt/img/etc/selinux/default --mode dir /home/alice
  find /srv -printf '%p\t0\n' | nsinit lookup --file-contexts \
      /etc/selinux/default/contexts/files/file_contexts --batch      (0: type unknown)`,
		Setup: func(fs *pflag.FlagSet) func(e *env, args []string) int {
			f := &lookupFlags{}
			fs.StringVar(&f.fileContexts, "file-contexts", "", "the file_contexts `FILE` to use")
			fs.StringVar(&f.policyRoot, "policy-root", "", "policy root `DIR` (e.g. /etc/selinux/default) holding contexts/files/file_contexts")
			fs.StringVar(&f.mode, "mode", "", "file type of every PATH: file, dir, lnk, chr, blk, sock, fifo or an octal st_mode (default: unknown)")
			fs.BoolVar(&f.batch, "batch", false, "read PATH<TAB>OCTAL_ST_MODE lines from stdin instead of PATH arguments")
			fs.Var(&f.libselinux, "libselinux", "lookup rules of libselinux `3.4|3.11|auto` (auto: the release installed in /)")
			return func(e *env, args []string) int { return runLookup(e, f, args) }
		},
	})
}

// runLookup resolves file_contexts, loads it and answers the paths.
func runLookup(e *env, f *lookupFlags, args []string) int {
	usage := func(msg string) int {
		fmt.Fprintln(e.Stderr, "nsinit lookup:", msg)
		return exitcode.Usage
	}
	if f.fileContexts != "" && f.policyRoot != "" {
		return usage("--file-contexts and --policy-root exclude each other")
	}
	switch {
	case f.batch && len(args) > 0:
		return usage("--batch reads paths from stdin: no PATH arguments")
	case f.batch && f.mode != "":
		return usage("--batch takes each mode from its input line: no --mode")
	case !f.batch && len(args) == 0:
		return usage("no PATH given (see --help)")
	}
	var mode uint32
	if f.mode != "" {
		m, err := fcontext.ParseMode(f.mode)
		if err != nil {
			return usage(err.Error())
		}
		mode = m
	}
	fc := f.fileContexts
	if fc == "" {
		l := config.Layout{Dir: f.policyRoot}
		if f.policyRoot == "" {
			c, err := config.Load("/")
			if err != nil {
				fmt.Fprintln(e.Stderr, "nsinit lookup:", err)
				return exitcode.Failure
			}
			l = c.Layout("/")
		}
		fc = l.FileContexts()
	}
	h, err := loadFileContexts(fc, f.libselinux, "/")
	if err != nil {
		fmt.Fprintln(e.Stderr, "nsinit lookup:", err)
		return exitcode.Failure
	}
	w := bufio.NewWriterSize(e.Stdout, 64<<10)
	if f.batch {
		err = lookupBatch(h, e.Stdin, w)
	} else {
		for _, p := range args {
			writeAnswer(w, h, p, mode)
		}
	}
	if ferr := w.Flush(); err == nil && ferr != nil {
		err = ferr
	}
	if err != nil {
		fmt.Fprintln(e.Stderr, "nsinit lookup:", err)
		return exitcode.Failure
	}
	return exitcode.OK
}

// semanticsFlag is a --libselinux value: "3.4", "3.11" (or a release either stands for),
// or "auto" (also the zero value).
type semanticsFlag string

func (s *semanticsFlag) String() string {
	if *s == "" {
		return "auto"
	}
	return string(*s)
}

func (s *semanticsFlag) Set(v string) error {
	if v != "auto" {
		if _, err := fcontext.ParseSemantics(v); err != nil {
			return err
		}
	}
	*s = semanticsFlag(v)
	return nil
}

func (s *semanticsFlag) Type() string { return "release" }

// loadFileContexts loads fc with the lookup rules the --libselinux value names (auto: those
// of the libselinux installed in the image at root, else the newest).
func loadFileContexts(fc string, v semanticsFlag, root string) (*fcontext.Handle, error) {
	sem, _, err := fcontext.SemanticsFor(v.String(), root)
	if err != nil {
		return nil, err
	}
	return fcontext.LoadOptions(fc, fcontext.Options{Semantics: sem})
}

// writeAnswer writes "PATH<TAB>CONTEXT" or "PATH<TAB><<none>>".
func writeAnswer(w *bufio.Writer, h *fcontext.Handle, path string, mode uint32) {
	ctx, ok := h.Lookup(path, mode)
	if !ok {
		ctx = "<<none>>"
	}
	w.WriteString(path)
	w.WriteByte('\t')
	w.WriteString(ctx)
	w.WriteByte('\n')
}

// maxBatchLine bounds a --batch line: a path of PATH_MAX (4096 bytes, with its NUL), a tab
// and an st_mode with room to spare. A longer line cannot be a file's and is malformed.
const maxBatchLine = 4096 + 64

// maxQuoted bounds what an error message quotes of an input line.
const maxQuoted = 64

// lookupBatch answers "PATH<TAB>OCTAL_ST_MODE" lines one at a time, in constant memory:
// a line is never held beyond maxBatchLine bytes, so one of gigabytes stops the run at its
// first 64 KiB, with a short error naming its number.
func lookupBatch(h *fcontext.Handle, in io.Reader, w *bufio.Writer) error {
	r := bufio.NewReaderSize(in, 64<<10)
	for n := 1; ; n++ {
		line, err := r.ReadSlice('\n')
		if errors.Is(err, bufio.ErrBufferFull) {
			return fmt.Errorf("stdin line %d: line longer than %d bytes", n, maxBatchLine)
		}
		if len(line) == 0 && errors.Is(err, io.EOF) {
			return nil
		}
		if err != nil && !errors.Is(err, io.EOF) {
			return fmt.Errorf("reading stdin: %w", err)
		}
		path, mode, perr := parseBatchLine(bytes.TrimSuffix(line, []byte{'\n'}))
		if perr != nil {
			return fmt.Errorf("stdin line %d: %w", n, perr)
		}
		writeAnswer(w, h, path, mode)
		if err != nil {
			return nil
		}
	}
}

// parseBatchLine splits one --batch line (without its newline) at its last tab into the
// path and the octal st_mode. Errors quote at most maxQuoted bytes of the line.
func parseBatchLine(line []byte) (path string, mode uint32, err error) {
	if len(line) > maxBatchLine {
		return "", 0, fmt.Errorf("line longer than %d bytes", maxBatchLine)
	}
	tab := bytes.LastIndexByte(line, '\t')
	if tab < 0 {
		return "", 0, fmt.Errorf("want PATH<TAB>OCTAL_ST_MODE, got %s", quoteShort(line))
	}
	m, perr := strconv.ParseUint(string(line[tab+1:]), 8, 32)
	if perr != nil {
		return "", 0, fmt.Errorf("invalid octal st_mode %s", quoteShort(line[tab+1:]))
	}
	return string(line[:tab]), uint32(m), nil
}

// quoteShort quotes b, cut to maxQuoted bytes (marked "…").
func quoteShort(b []byte) string {
	if len(b) > maxQuoted {
		return strconv.Quote(string(b[:maxQuoted])) + "…"
	}
	return strconv.Quote(string(b))
}
