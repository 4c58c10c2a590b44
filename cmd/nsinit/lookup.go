package main

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io"
	"strconv"
	"strings"

	"github.com/spf13/pflag"
	"golang.org/x/sys/unix"

	"github.com/nsinit/nsinit/internal/config"
	"github.com/nsinit/nsinit/internal/exitcode"
	"github.com/nsinit/nsinit/internal/fcontext"
)

// lookupFlags are the flags of `nsinit lookup`.
type lookupFlags struct {
	fileContexts, policyRoot, mode string
	batch, verify, noPath          bool
	libselinux                     semanticsFlag
}

func init() {
	register(&command{
		Name:     "lookup",
		Synopsis: "nsinit lookup [-f FILE | -P DIR] [-m MODE] [-V] [-n] [-N] PATH...\n       nsinit lookup --file-contexts FILE --batch < KEYS",
		Summary:  "print the context file_contexts assigns to paths, like matchpathcon",
		Help: `lookup prints the SELinux context that file_contexts assigns to each PATH, with
libselinux's rules (selabel_lookup, file backend, as in libselinux 3.4-3.7): the path is a
lookup key, so it need not exist; "//" collapses and one trailing "/" is dropped (also
from the PATH printed, as matchpathcon does); the aliases of file_contexts.subs and .subs_dist apply; literal entries beat
regular expressions; later inputs (.homedirs, then .local) and later lines win; an entry
with a file type only applies to that type. --libselinux 3.11 follows libselinux 3.9-3.11
instead, where the first of several exact lines of one path wins; the default, auto, takes
the release of /usr/lib*/libselinux.so.1 (3.4 or 3.11), else 3.11. One line per PATH:

  PATH<TAB>CONTEXT        or        PATH<TAB><<none>>

<<none>> means no entry matches, or the winning entry is <<none>> (leave the file alone).

The file type decides entries written for one type (-d, --, -l, ...). It is, as
matchpathcon takes it: --mode (-m) for every PATH: file, dir, lnk, chr, blk, sock, fifo
(or pipe), or an octal st_mode such as 0100644, 0 for unknown; else, when PATH exists on
this machine, the type lstat reports; else unknown, and entries of every type apply. Pass
--mode 0 to look up keys of another image without this machine's files deciding the type.

--verify (-V) compares each PATH's label on disk with file_contexts, as matchpathcon -V:
"PATH verified." when they agree (the SELinux user aside), else "PATH has context C,
should be D" and exit status 1; a label that cannot be read prints "PATH error: REASON"
and stops there with status 1. --no-path (-n) prints the context without PATH. -N is
accepted for matchpathcon's habit: nsinit never translates MCS levels.

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
cannot be loaded, batch input is malformed or --verify found a mismatch, 2 for bad usage.

Examples:
  nsinit lookup /etc/shadow /usr/bin/passwd
  nsinit lookup -V /etc/shadow                         matchpathcon -V /etc/shadow
  nsinit lookup --policy-root /mnt/img/etc/selinux/default --mode dir /home/alice
  find /srv -printf '%p\t0\n' | nsinit lookup --file-contexts \
      /etc/selinux/default/contexts/files/file_contexts --batch      (0: type unknown)`,
		Setup: func(fs *pflag.FlagSet) func(e *env, args []string) int {
			f := &lookupFlags{}
			fs.StringVarP(&f.fileContexts, "file-contexts", "f", "", "the file_contexts `FILE` to use (matchpathcon -f)")
			fs.StringVarP(&f.policyRoot, "policy-root", "P", "", "policy root `DIR` (e.g. /etc/selinux/default) holding contexts/files/file_contexts (matchpathcon -P)")
			fs.StringVarP(&f.mode, "mode", "m", "", "file type of every PATH: file, dir, pipe, chr_file, blk_file, lnk_file, sock_file (as matchpathcon; also fifo, chr, blk, lnk, sock) or an octal st_mode, 0 for unknown (default: lstat's when PATH exists, else unknown; matchpathcon -m)")
			fs.BoolVar(&f.batch, "batch", false, "read PATH<TAB>OCTAL_ST_MODE lines from stdin instead of PATH arguments")
			fs.Var(&f.libselinux, "libselinux", "lookup rules of libselinux `3.4|3.11|auto` (auto: the release installed in /)")
			fs.BoolVarP(&f.verify, "verify", "V", false, "compare each PATH's label on disk with file_contexts: \"PATH verified.\" or \"PATH has context C, should be D\"; exit 1 on a mismatch (matchpathcon -V)")
			fs.BoolVarP(&f.noPath, "no-path", "n", false, "print the context only, not PATH and a tab (matchpathcon -n)")
			fs.BoolP("raw", "N", false, "print raw contexts: nsinit never translates MCS levels, so this is always so (matchpathcon -N)")
			return func(e *env, args []string) int { return runLookup(e, f, args) }
		},
	})
}

// matchpathconTypes are the -m words of matchpathcon(8) that fcontext.ParseMode spells
// otherwise. (matchpathcon itself reads only the first letter: its "fifo" is a regular file.)
var matchpathconTypes = map[string]string{
	"pipe": "fifo", "chr_file": "chr", "blk_file": "blk", "lnk_file": "lnk", "sock_file": "sock",
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
	case f.batch && (f.verify || f.noPath):
		return usage("--batch writes PATH<TAB>CONTEXT lines: no --verify or --no-path")
	case !f.batch && len(args) == 0:
		return usage("no PATH given (see --help)")
	}
	var mode uint32
	if f.mode != "" {
		name := f.mode
		if n, ok := matchpathconTypes[name]; ok {
			name = n
		}
		m, err := fcontext.ParseMode(name)
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
			if err == nil && !c.Found {
				err = fmt.Errorf("%s does not exist, so no policy is named; pass --file-contexts FILE or --policy-root DIR", c.Path)
			}
			if err != nil {
				fmt.Fprintln(e.Stderr, "nsinit lookup:", err)
				return exitcode.Failure
			}
			l = c.Layout("/")
		}
		fc = l.FileContexts()
	}
	h, _, err := fcontext.LoadFor(fc, f.libselinux.String(), "/")
	if err != nil {
		fmt.Fprintln(e.Stderr, "nsinit lookup:", fileContextsError(err))
		return exitcode.Failure
	}
	w := bufio.NewWriterSize(e.Stdout, 64<<10)
	status := exitcode.OK
	if f.batch {
		err = lookupBatch(h, e.Stdin, w)
	} else {
		for _, p := range args {
			p, m := lookupArg(p, f.mode != "", mode)
			if !f.verify {
				writeAnswer(w, h, p, m, !f.noPath)
				continue
			}
			ok, verr := verifyLabel(w, h, p, m)
			if verr != nil {
				// matchpathcon stops at the first label it cannot read.
				fmt.Fprintf(w, "%s error: %s\n", p, describeErrno(verr))
				status = exitcode.Failure
				break
			}
			if !ok {
				status = exitcode.Failure
			}
		}
	}
	if ferr := w.Flush(); err == nil && ferr != nil {
		err = ferr
	}
	if err != nil {
		fmt.Fprintln(e.Stderr, "nsinit lookup:", err)
		return exitcode.Failure
	}
	return status
}

// lookupArg returns the lookup key and mode for a PATH argument as matchpathcon forms
// them: one trailing "/" is dropped (except from "/"), and unless a mode was given the
// type is lstat's when the path exists, else unknown.
func lookupArg(path string, given bool, mode uint32) (string, uint32) {
	if len(path) > 1 && strings.HasSuffix(path, "/") {
		path = path[:len(path)-1]
	}
	if !given {
		var st unix.Stat_t
		if unix.Lstat(path, &st) == nil {
			mode = st.Mode
		}
	}
	return path, mode
}

// verifyLabel writes matchpathcon -V's line for path: "PATH verified." when its label on
// disk equals file_contexts' (the SELinux user aside, as selinux_file_context_cmp
// compares), else "PATH has context C, should be D" (D may be <<none>>). err is the
// failure to read the label.
func verifyLabel(w *bufio.Writer, h *fcontext.Handle, path string, mode uint32) (bool, error) {
	cur, err := getLabel(path)
	if err != nil {
		return false, err
	}
	want, ok := h.Lookup(path, mode)
	if ok && withoutUser(cur) == withoutUser(want) {
		fmt.Fprintf(w, "%s verified.\n", path)
		return true, nil
	}
	if !ok {
		want = "<<none>>"
	}
	fmt.Fprintf(w, "%s has context %s, should be %s\n", path, cur, want)
	return false, nil
}

// getLabel reads path's security.selinux without following a symlink, without its NUL.
func getLabel(path string) (string, error) {
	buf := make([]byte, 256)
	for {
		n, err := unix.Lgetxattr(path, "security.selinux", buf)
		if errors.Is(err, unix.ERANGE) && len(buf) < 1<<16 {
			buf = make([]byte, 2*len(buf))
			continue
		}
		if err != nil {
			return "", err
		}
		return strings.TrimSuffix(string(buf[:n]), "\x00"), nil
	}
}

// withoutUser is a context from its role on: selinux_file_context_cmp ignores the user.
func withoutUser(ctx string) string {
	if i := strings.IndexByte(ctx, ':'); i >= 0 {
		return ctx[i:]
	}
	return ctx
}

// describeErrno is strerror's text for an errno, as C tools print it ("No data
// available"), and the error's own text otherwise.
func describeErrno(err error) string {
	var errno unix.Errno
	if errors.As(err, &errno) {
		s := errno.Error()
		return strings.ToUpper(s[:1]) + s[1:]
	}
	return err.Error()
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

// writeAnswer writes "PATH<TAB>CONTEXT" or "PATH<TAB><<none>>" (the context alone
// without withPath).
func writeAnswer(w *bufio.Writer, h *fcontext.Handle, path string, mode uint32, withPath bool) {
	ctx, ok := h.Lookup(path, mode)
	if !ok {
		ctx = "<<none>>"
	}
	if withPath {
		w.WriteString(path)
		w.WriteByte('\t')
	}
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
		writeAnswer(w, h, path, mode, true)
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
