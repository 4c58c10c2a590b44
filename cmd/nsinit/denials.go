package main

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"regexp"
	"strings"

	"github.com/spf13/pflag"

	"github.com/nsinit/nsinit/internal/avc"
	"github.com/nsinit/nsinit/internal/exitcode"
	"github.com/nsinit/nsinit/internal/imagefile"
	"github.com/nsinit/nsinit/internal/loadpolicy"
	"github.com/nsinit/nsinit/internal/localmod"
	"github.com/nsinit/nsinit/internal/policydb"
)

// denialsFlags are the flags of nsinit denials.
type denialsFlags struct {
	policy, merge, out, te, name string
	since, until                 string
	sources, targets, comms      []string
	allowUnlabeled, explain      bool
}

// maxModule bounds the --merge file: a local module of allow rules is kilobytes; a
// megabyte-sized one is not a module this command wrote.
const maxModule = 16 << 20

// maxListed bounds each list of the report (malformed lines, refused records) on the terminal;
// the counts are always complete.
const maxListed = 50

// moduleName is what semodule and checkmodule accept as a module name.
var moduleName = regexp.MustCompile(`^[A-Za-z][A-Za-z0-9_]*$`)

func init() {
	register(&command{
		Name:     "denials",
		Synopsis: "nsinit denials [--policy FILE|DIR] [--merge FILE.cil] [-o FILE.cil] [--te FILE.te] [flags] [FILE...]",
		Summary:  "turn AVC denials into a local CIL policy module that grows round after round",
		Help: `denials reads AVC records and writes a local policy module in CIL (install it with
semodule -i FILE.cil) that allows exactly what was denied: one allow rule per (source type,
target type, class) with the union of the permissions denied, sorted, so that the same
records always give the same module. It is the loop from a permissive container to an
enforcing one: boot permissive, collect the denials (on the host: audit is not
namespaced), run nsinit denials --merge, install the module in the image, boot again,
repeat until no denials are left, then enforce (docs/integration.md).

Input, from the FILEs or standard input ("-" or none), in any mix: audit.log lines,
ausearch -m avc output (raw or -i interpreted; -i times are read in the local time zone,
as ausearch wrote them), and kernel log lines from journalctl -k, dmesg or a serial
console ("audit: type=1400 audit(SEC.MS:SERIAL): avc:  denied  { ... } for ...").
AVC and USER_AVC records are grouped with the SYSCALL, PATH and CWD records of their event
by time and serial, in any order; the same event read twice (audit.log and the console)
counts once. Lines that look like records but cannot be read are listed with their line
numbers and skipped; they never stop the run.

Only denied records become rules, and only for the permissions denied: no attribute is
expanded, no wildcard or other permission is added. Denials on unlabeled_t are refused
(unless --allow-unlabeled): they mean files were never labelled, so a relabel is missing;
the report names the files (name, path, ino, dev). With --policy, each denial is checked
against the binary policy the container loads (policy.N, or the directory holding it):
one naming a type, class or permission that policy lacks came from the host or another
container, and is listed apart with the reason instead of breaking the module build.

--merge FILE.cil reads a module written before (or any file of plain CIL allow
statements), keeps every rule, adds this round's permissions and reports what is new;
-o may name the same file (it is replaced atomically). The header comment records each
round: records read, denials used and refused, the first and last event time. --explain
lists, per rule, the records of this round that caused it. --te also writes the rules as a
.te module for checkmodule -M -m and semodule_package.

A dontaudit rule hides a denial from the log altogether: if an access still fails with no
record, rebuild the policy without dontaudit rules (semodule -DB), collect again, and
restore them (semodule -B).

The module goes to -o FILE (default standard output), the report to standard error.
Exit status 0 when a module was written (malformed lines and refused records included),
1 when an input, the policy or the --merge file cannot be read or the module cannot be
written, 2 for bad usage.

Examples:
  ausearch -m avc,user_avc -ts boot | nsinit denials --policy /srv/image/etc/selinux/default/policy -o local.cil
  nsinit denials --policy policy.33 --merge local.cil -o local.cil console.log
  journalctl -k -b | nsinit denials --source app_t --explain --merge local.cil -o local.cil`,
		Setup: func(fs *pflag.FlagSet) func(e *env, args []string) int {
			var f denialsFlags
			fs.StringVar(&f.policy, "policy", "", "check denials against the binary policy `FILE` (policy.N), or the newest policy.N in a directory")
			fs.StringVar(&f.merge, "merge", "", "add this round to the module `FILE.cil` written before")
			fs.StringVarP(&f.out, "output", "o", "", "write the module to `FILE.cil` (default standard output)")
			fs.StringVar(&f.te, "te", "", "also write the rules as a .te module to `FILE.te`")
			fs.StringVar(&f.name, "name", "", "module `NAME` in the .te (default: --te's file name without .te)")
			fs.StringVar(&f.since, "since", "", "only events at or after `TIME` (SEC[.MS] as in audit(), RFC 3339, or YYYY-MM-DD[ HH:MM[:SS]] local time)")
			fs.StringVar(&f.until, "until", "", "only events at or before `TIME`")
			fs.StringArrayVar(&f.sources, "source", nil, "only denials of source `TYPE` (repeatable)")
			fs.StringArrayVar(&f.targets, "target", nil, "only denials on target `TYPE` (repeatable)")
			fs.StringArrayVar(&f.comms, "comm", nil, "only denials of command `COMM` (repeatable)")
			fs.BoolVar(&f.allowUnlabeled, "allow-unlabeled", false, "make rules for denials on unlabeled_t too (they usually mean a missing relabel)")
			fs.BoolVar(&f.explain, "explain", false, "list, per rule, the records of this round that caused it")
			return func(e *env, args []string) int { return runDenials(e, &f, args) }
		},
	})
}

// runDenials is nsinit denials.
func runDenials(e *env, f *denialsFlags, args []string) int {
	fail := func(format string, a ...any) int {
		fmt.Fprintf(e.Stderr, "nsinit denials: "+format+"\n", a...)
		return exitcode.Failure
	}
	filter, err := f.filter()
	if err == nil && f.te != "" {
		err = f.teName()
	}
	if err != nil {
		fmt.Fprintf(e.Stderr, "nsinit denials: %v\nRun 'nsinit denials --help' for usage.\n", err)
		return exitcode.Usage
	}
	m := &localmod.Module{}
	if f.merge != "" {
		data, err := imagefile.ReadFile(f.merge, maxModule)
		if err != nil {
			return fail("--merge: %v", err)
		}
		if m, err = localmod.ParseCIL(string(data)); err != nil {
			return fail("--merge %s: %v", f.merge, err)
		}
	}
	var syms *policydb.Symbols
	if f.policy != "" {
		if syms, err = readSymbols(f.policy); err != nil {
			return fail("--policy: %v", err)
		}
	}
	rd := avc.NewReader()
	if len(args) == 0 {
		args = []string{"-"}
	}
	for _, a := range args {
		if err := readInput(e, rd, a); err != nil {
			return fail("%v", err)
		}
	}
	res := rd.Result()
	sel := filter.Select(res.Events)
	before := len(m.Rules())
	b := m.AddRound(sel, syms, localmod.Stats{Records: res.Counts.Records, Malformed: res.Counts.Malformed})
	if err := writeOutput(e, f.out, m.WriteCIL); err != nil {
		return fail("%v", err)
	}
	if f.te != "" {
		if err := writeOutput(e, f.te, func(w io.Writer) error { return m.WriteTE(w, f.name) }); err != nil {
			return fail("%v", err)
		}
	}
	report(e.Stderr, f, m, res, sel, b, before, syms)
	return exitcode.OK
}

// filter turns the selection flags into an avc.Filter.
func (f *denialsFlags) filter() (avc.Filter, error) {
	flt := avc.Filter{Sources: f.sources, Targets: f.targets, Comms: f.comms, AllowUnlabeled: f.allowUnlabeled}
	var err error
	if f.since != "" {
		if flt.Since, err = avc.ParseTime(f.since); err != nil {
			return flt, fmt.Errorf("--since: %w", err)
		}
	}
	if f.until != "" {
		if flt.Until, err = avc.ParseTime(f.until); err != nil {
			return flt, fmt.Errorf("--until: %w", err)
		}
	}
	if !flt.Since.IsZero() && !flt.Until.IsZero() && flt.Until.Before(flt.Since) {
		return flt, errors.New("--until is before --since")
	}
	return flt, nil
}

// teName settles the .te module's name.
func (f *denialsFlags) teName() error {
	if f.name == "" {
		f.name = strings.TrimSuffix(filepath.Base(f.te), ".te")
	}
	if !moduleName.MatchString(f.name) {
		return fmt.Errorf("module name %q: want a letter, then letters, digits and _ (set it with --name)", f.name)
	}
	return nil
}

// readSymbols reads the names of the policy at path: a policy.N file, or the policy.N of a
// directory the newest kernel would load (loadpolicy.Read's selection).
func readSymbols(path string) (*policydb.Symbols, error) {
	var data []byte
	if st, err := os.Stat(path); err == nil && st.IsDir() {
		img, err := loadpolicy.Read(path, policydb.MaxVersion)
		if err != nil {
			return nil, err
		}
		data, path = img.Data, img.Path
	} else if data, err = loadpolicy.ReadImage(path); err != nil {
		return nil, err
	}
	syms, err := policydb.ReadSymbols(data)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return syms, nil
}

// readInput reads one input operand ("-": standard input).
func readInput(e *env, rd *avc.Reader, name string) error {
	if name == "-" {
		return rd.Read("stdin", e.Stdin)
	}
	f, err := os.Open(name)
	if err != nil {
		return err
	}
	defer f.Close()
	if st, err := f.Stat(); err == nil && st.IsDir() {
		return fmt.Errorf("%s: is a directory", name)
	}
	return rd.Read(name, f)
}

// writeOutput writes what write produces to path ("": standard output). A regular file (or
// a new one) is replaced only once all is written, through PATH.tmp and a rename, so that -o
// may name the --merge file; a symlink is followed, and the file it names replaced. Anything
// else that exists (a device such as /dev/null or /dev/stdout, a FIFO) is written into:
// renaming over it would replace the device node itself.
func writeOutput(e *env, path string, write func(io.Writer) error) error {
	if path == "" {
		return write(e.Stdout)
	}
	var buf bytes.Buffer
	if err := write(&buf); err != nil {
		return err
	}
	put := func(p string) error {
		w, err := e.Create(p)
		if err != nil {
			return err
		}
		_, err = w.Write(buf.Bytes())
		if cerr := w.Close(); err == nil {
			err = cerr
		}
		return err
	}
	st, err := os.Stat(path)
	switch {
	case err == nil && !st.Mode().IsRegular():
		if err := put(path); err != nil {
			return fmt.Errorf("writing %s: %w", path, err)
		}
		return nil
	case err == nil:
		if path, err = filepath.EvalSymlinks(path); err != nil {
			return err
		}
	}
	tmp := path + ".tmp"
	err = put(tmp)
	if err == nil {
		err = os.Rename(tmp, path)
	}
	if err != nil {
		os.Remove(tmp)
		return fmt.Errorf("writing %s: %w", path, err)
	}
	return nil
}

// report writes what the round read, refused and added.
func report(w io.Writer, f *denialsFlags, m *localmod.Module, res *avc.Result, sel avc.Selection, b localmod.Build, before int, syms *policydb.Symbols) {
	checked := syms != nil
	c := res.Counts
	fmt.Fprintf(w, "nsinit denials: round %d: %d lines, %d records (%d events with AVC records, %d without), %d other audit records, %d other lines, %d duplicate records, %d malformed lines\n",
		len(m.Rounds), c.Lines, c.Records, len(res.Events), c.Orphans, c.OtherRecords, c.NotRecords, c.Duplicates, c.Malformed)
	fmt.Fprintf(w, "  denials selected: %d (%d permissive=1, %d permissive=0 enforced); granted records %d, outside --since/--until %d, not matching --source/--target/--comm %d\n",
		len(sel.Kept), sel.Permissive, sel.Enforced, sel.Granted, sel.OutOfRange, sel.NotMatched)
	list(w, "malformed lines (skipped)", c.Malformed, func(i int) string { return res.Malformed[i].String() })
	list(w, "refused: denials on unlabeled_t, files never labelled (relabel them: nsinit relabel or restorecon; --allow-unlabeled makes rules anyway)", len(sel.Unlabeled), func(i int) string {
		it := sel.Unlabeled[i]
		return it.Object() + "\n      " + it.String()
	})
	if !checked {
		fmt.Fprintln(w, "  not checked against a policy (--policy): a denial from the host or another container breaks the module build")
	}
	list(w, "refused: not in the policy (from the host or another container?)", len(b.Refused), func(i int) string {
		r := b.Refused[i]
		return r.Reason + "\n      " + r.Item.String()
	})
	if checked {
		var stale []string
		for _, r := range m.Rules() {
			if why := localmod.Check(syms, r.Key, r.Perms); why != "" {
				stale = append(stale, r.CIL()+": "+why)
			}
		}
		list(w, "warning: rules of earlier rounds this policy cannot hold (kept, as --merge keeps every rule; semodule -i will refuse the module until they are removed by hand)", len(stale), func(i int) string { return stale[i] })
	}
	fmt.Fprintf(w, "  module: %d rules (%d before this round)\n", len(m.Rules()), before)
	if len(b.Changes) == 0 {
		fmt.Fprintln(w, "  nothing new this round")
	}
	for _, ch := range b.Changes {
		what := "new rule"
		if !ch.New {
			what = "new permissions"
		}
		fmt.Fprintf(w, "  %s: allow %s %s:%s { %s }\n", what, ch.Source, ch.Target, ch.Class, strings.Join(ch.Added, " "))
	}
	if !f.explain {
		return
	}
	for _, r := range m.Rules() {
		fmt.Fprintf(w, "explain: %s\n", r.CIL())
		causes := b.Causes[r.Key]
		if len(causes) == 0 {
			fmt.Fprintln(w, "  (from an earlier round: no record of this round asks for it)")
		}
		for _, it := range causes {
			fmt.Fprintf(w, "  %s\n", it)
		}
	}
}

// list writes a titled list of n entries, at most maxListed of them.
func list(w io.Writer, title string, n int, entry func(int) string) {
	if n == 0 {
		return
	}
	fmt.Fprintf(w, "  %s: %d\n", title, n)
	for i := range min(n, maxListed) {
		fmt.Fprintf(w, "    %s\n", entry(i))
	}
	if n > maxListed {
		fmt.Fprintf(w, "    and %d more\n", n-maxListed)
	}
}
