// Command benchtool holds the helpers of scripts/bench/bench.sh that are easier in Go than
// in shell.
//
//	benchtool keys ROOT
//	    print every object of ROOT as a lookup key, "/PATH-RELATIVE-TO-ROOT<TAB>OCTAL_ST_MODE"
//	    (lstat), the keys setfiles -r ROOT looks up
//	benchtool speckeys FILE...
//	    print keys that hit every spec of the file_contexts text FILEs (file_contexts,
//	    .homedirs): for each spec, strings generated from its regular expression, with the
//	    spec's file type and with an unknown type (0); plus every alias of a .subs_dist next
//	    to the first FILE, applied to a few keys
//	benchtool gen DIR N
//	    create a synthetic tree of N empty files under DIR/usr/share/bench (100 files per
//	    directory, 100 directories per parent), for the scale measurements
//	benchtool labels ROOT
//	    print "/PATH-RELATIVE-TO-ROOT<TAB>security.selinux" of every object (empty: none), to
//	    compare what two labellers wrote
//	benchtool measure [-in FILE] [-out FILE] -- CMD ARGS...
//	    run CMD (stdin from -in, stdout to -out, both default /dev/null; stderr passes
//	    through) and print "wall_s=… user_s=… sys_s=… cpu_s=… maxrss_kb=… status=N"
//	benchtool table [-ratios FILE] RESULTS
//	    summarise RESULTS, lines "ROUND<TAB>SECTION<TAB>ROW<TAB>METRIC<TAB>VALUE", as one
//	    table per section: the median of every metric with its range over the rounds. With
//	    -ratios, also the target ratios, one per line of FILE:
//	      LABEL|SECTION|METRIC|NUMERATOR|DENOMINATOR|OP|TARGET
//	    NUMERATOR and DENOMINATOR are rows, or "min(ROW,ROW...)", or (DENOMINATOR) a number,
//	    to hold one value against an absolute bound; the ratio is computed in
//	    every round (rows of one round ran back to back), and its median is checked against
//	    OP (>= or <=) TARGET. Lines whose SECTION has no results are left out.
package main

import (
	"bufio"
	"errors"
	"flag"
	"fmt"
	"io"
	"io/fs"
	"math"
	"os"
	"os/exec"
	"path/filepath"
	"regexp/syntax"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"time"

	"golang.org/x/sys/unix"

	"github.com/nsinit/nsinit/internal/regexsample"
)

func fatal(err error) {
	fmt.Fprintln(os.Stderr, "benchtool:", err)
	os.Exit(1)
}

func usage() {
	fmt.Fprintln(os.Stderr, "usage: benchtool keys ROOT | gen DIR N | labels ROOT | speckeys FILE... | measure [-in F] [-out F] -- CMD... | table [-ratios F] RESULTS")
	os.Exit(2)
}

func main() {
	if len(os.Args) < 2 {
		usage()
	}
	args := os.Args[2:]
	w := bufio.NewWriterSize(os.Stdout, 64<<10)
	defer w.Flush()
	var err error
	switch os.Args[1] {
	case "keys":
		if len(args) != 1 {
			usage()
		}
		err = treeKeys(w, args[0])
	case "gen":
		if len(args) != 2 {
			usage()
		}
		n, perr := strconv.Atoi(args[1])
		if perr != nil {
			fatal(perr)
		}
		err = gen(args[0], n)
	case "labels":
		if len(args) != 1 {
			usage()
		}
		err = labels(w, args[0])
	case "speckeys":
		if len(args) == 0 {
			usage()
		}
		err = specKeys(w, args)
	case "measure":
		err = measure(w, args)
	case "table":
		err = table(w, args)
	default:
		usage()
	}
	if err != nil {
		w.Flush()
		fatal(err)
	}
}

func treeKeys(w io.Writer, root string) error {
	return filepath.WalkDir(root, func(p string, _ fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		var st unix.Stat_t
		if err := unix.Lstat(p, &st); err != nil {
			return &os.PathError{Op: "lstat", Path: p, Err: err}
		}
		rel, err := filepath.Rel(root, p)
		if err != nil {
			return err
		}
		key := "/"
		if rel != "." {
			key += rel
		}
		if strings.ContainsAny(key, "\t\n") {
			return nil // not representable in the line format
		}
		_, err = fmt.Fprintf(w, "%s\t%o\n", key, st.Mode)
		return err
	})
}

func gen(dir string, n int) error {
	base := filepath.Join(dir, "usr", "share", "bench")
	leaves := (n + 99) / 100
	errs := make(chan error, 2)
	for part := range 2 {
		go func() {
			for l := part; l < leaves; l += 2 {
				d := filepath.Join(base, fmt.Sprintf("d%03d", l/100), fmt.Sprintf("d%03d", l%100))
				if err := os.MkdirAll(d, 0o755); err != nil {
					errs <- err
					return
				}
				for f := 0; f < 100 && l*100+f < n; f++ {
					fd, err := unix.Open(filepath.Join(d, fmt.Sprintf("f%03d", f)), unix.O_CREAT|unix.O_WRONLY|unix.O_CLOEXEC, 0o644)
					if err != nil {
						errs <- err
						return
					}
					unix.Close(fd)
				}
			}
			errs <- nil
		}()
	}
	return errors.Join(<-errs, <-errs)
}

func labels(w io.Writer, root string) error {
	buf := make([]byte, 4096)
	return filepath.WalkDir(root, func(p string, _ fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		n, err := unix.Lgetxattr(p, "security.selinux", buf)
		if errors.Is(err, unix.ENODATA) {
			n, err = 0, nil
		}
		if err != nil {
			return &os.PathError{Op: "lgetxattr", Path: p, Err: err}
		}
		rel, err := filepath.Rel(root, p)
		if err != nil {
			return err
		}
		_, err = fmt.Fprintf(w, "/%s\t%q\n", strings.TrimPrefix(rel, "."), buf[:n])
		return err
	})
}

// fileTypes maps file_contexts' type field to st_mode type bits (<sys/stat.h>).
var fileTypes = map[string]uint32{
	"--": unix.S_IFREG, "-d": unix.S_IFDIR, "-l": unix.S_IFLNK, "-c": unix.S_IFCHR,
	"-b": unix.S_IFBLK, "-s": unix.S_IFSOCK, "-p": unix.S_IFIFO,
}

func specKeys(w io.Writer, files []string) error {
	seen := map[string]bool{}
	var keys []string
	add := func(path string, mode uint32) {
		if path == "" || strings.ContainsAny(path, "\t\n\x00") {
			return
		}
		k := fmt.Sprintf("%s\t%o", path, mode)
		if !seen[k] {
			seen[k] = true
			keys = append(keys, k)
		}
	}
	for _, f := range files {
		b, err := os.ReadFile(f)
		if err != nil {
			return err
		}
		for line := range strings.Lines(string(b)) {
			fields := strings.Fields(line)
			if len(fields) < 2 || strings.HasPrefix(fields[0], "#") {
				continue
			}
			mode := uint32(0)
			if len(fields) == 3 {
				mode = fileTypes[fields[1]]
			}
			re, err := syntax.Parse("(?s)^(?:"+fields[0]+")$", syntax.Perl)
			if err != nil {
				continue // not RE2 syntax: skip the spec (the engines may still load it)
			}
			for v := range 2 {
				if v == 0 {
					add(regexsample.Generate(re, v), mode|0o644*btoi(mode != 0))
				} else {
					add(regexsample.Generate(re, v), 0)
				}
			}
		}
	}
	// Aliases: each .subs_dist source, alone and with a few names below it.
	if b, err := os.ReadFile(files[0] + ".subs_dist"); err == nil {
		for line := range strings.Lines(string(b)) {
			f := strings.Fields(line)
			if len(f) != 2 || strings.HasPrefix(f[0], "#") {
				continue
			}
			add(f[0], 0)
			add(f[0]+"/", unix.S_IFDIR|0o755)
			add(f[0]+"/bin/sh", unix.S_IFREG|0o755)
			add(f[0]+"/lib/x.so", unix.S_IFREG|0o644)
		}
	} else if !errors.Is(err, fs.ErrNotExist) {
		return err
	}
	for _, k := range keys {
		if _, err := fmt.Fprintln(w, k); err != nil {
			return err
		}
	}
	return nil
}

func btoi(b bool) uint32 {
	if b {
		return 1
	}
	return 0
}

func measure(w io.Writer, args []string) error {
	fs := flag.NewFlagSet("measure", flag.ExitOnError)
	in := fs.String("in", os.DevNull, "stdin `FILE`")
	out := fs.String("out", os.DevNull, "stdout `FILE`")
	fs.Parse(args)
	if fs.NArg() == 0 {
		usage()
	}
	stdin, err := os.Open(*in)
	if err != nil {
		return err
	}
	defer stdin.Close()
	stdout, err := os.Create(*out)
	if err != nil {
		return err
	}
	defer stdout.Close()
	cmd := exec.Command(fs.Arg(0), fs.Args()[1:]...)
	cmd.Stdin, cmd.Stdout, cmd.Stderr = stdin, stdout, os.Stderr
	t0 := time.Now()
	if err := cmd.Start(); err != nil {
		return err
	}
	err = cmd.Wait()
	wall := time.Since(t0)
	var ee *exec.ExitError
	if err != nil && !errors.As(err, &ee) {
		return err
	}
	ru := cmd.ProcessState.SysUsage().(*syscall.Rusage)
	user := time.Duration(ru.Utime.Nano()).Seconds()
	sys := time.Duration(ru.Stime.Nano()).Seconds()
	_, err = fmt.Fprintf(w, "wall_s=%.4f user_s=%.4f sys_s=%.4f cpu_s=%.4f maxrss_kb=%d status=%d\n",
		wall.Seconds(), user, sys, user+sys, ru.Maxrss, cmd.ProcessState.ExitCode())
	return err
}

// results holds RESULTS: values by section, row, metric and round, in first-seen order.
type results struct {
	sections []string
	rows     map[string][]string // section → rows
	metrics  map[string][]string // section → metrics
	vals     map[[3]string]map[string]float64
}

func readResults(path string) (*results, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	r := &results{rows: map[string][]string{}, metrics: map[string][]string{}, vals: map[[3]string]map[string]float64{}}
	sc := bufio.NewScanner(f)
	for n := 1; sc.Scan(); n++ {
		f := strings.Split(sc.Text(), "\t")
		if len(f) != 5 {
			return nil, fmt.Errorf("%s:%d: want 5 tab-separated fields", path, n)
		}
		v, err := strconv.ParseFloat(f[4], 64)
		if err != nil {
			return nil, fmt.Errorf("%s:%d: %w", path, n, err)
		}
		round, sec, row, metric := f[0], f[1], f[2], f[3]
		if _, ok := r.rows[sec]; !ok {
			r.sections = append(r.sections, sec)
		}
		if !slices.Contains(r.rows[sec], row) {
			r.rows[sec] = append(r.rows[sec], row)
		}
		if !slices.Contains(r.metrics[sec], metric) {
			r.metrics[sec] = append(r.metrics[sec], metric)
		}
		k := [3]string{sec, row, metric}
		if r.vals[k] == nil {
			r.vals[k] = map[string]float64{}
		}
		r.vals[k][round] = v
	}
	return r, sc.Err()
}

// stats returns the median, minimum and maximum of vs (NaN when empty).
func stats(vs []float64) (med, lo, hi float64) {
	if len(vs) == 0 {
		return math.NaN(), math.NaN(), math.NaN()
	}
	s := slices.Clone(vs)
	slices.Sort(s)
	med = s[len(s)/2]
	if len(s)%2 == 0 {
		med = (s[len(s)/2-1] + s[len(s)/2]) / 2
	}
	return med, s[0], s[len(s)-1]
}

// num formats v with about 3 significant digits.
func num(v float64) string {
	switch a := math.Abs(v); {
	case math.IsNaN(v):
		return "-"
	case a >= 1000:
		return strconv.FormatFloat(v, 'f', 0, 64)
	case a >= 100:
		return strconv.FormatFloat(v, 'f', 1, 64)
	case a >= 1:
		return strconv.FormatFloat(v, 'f', 2, 64)
	default:
		return strconv.FormatFloat(v, 'f', 3, 64)
	}
}

func table(w io.Writer, args []string) error {
	fs := flag.NewFlagSet("table", flag.ExitOnError)
	ratios := fs.String("ratios", "", "target ratios `FILE`")
	fs.Parse(args)
	if fs.NArg() != 1 {
		usage()
	}
	r, err := readResults(fs.Arg(0))
	if err != nil {
		return err
	}
	for _, sec := range r.sections {
		fmt.Fprintf(w, "\n## %s (median [min-max] over rounds)\n", sec)
		tw := [][]string{append([]string{""}, r.metrics[sec]...)}
		for _, row := range r.rows[sec] {
			line := []string{row}
			for _, m := range r.metrics[sec] {
				var vs []float64
				for _, v := range r.vals[[3]string{sec, row, m}] {
					vs = append(vs, v)
				}
				med, lo, hi := stats(vs)
				cell := "-"
				if len(vs) > 0 {
					cell = fmt.Sprintf("%s [%s-%s]", num(med), num(lo), num(hi))
				}
				line = append(line, cell)
			}
			tw = append(tw, line)
		}
		printAligned(w, tw)
	}
	if *ratios == "" {
		return nil
	}
	b, err := os.ReadFile(*ratios)
	if err != nil {
		return err
	}
	fmt.Fprintf(w, "\n## targets (ratio computed per round; median [min-max])\n")
	tw := [][]string{{"target", "ratio", "want", "verdict"}}
	for line := range strings.Lines(string(b)) {
		line = strings.TrimSpace(line)
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		f := strings.Split(line, "|")
		if len(f) != 7 {
			return fmt.Errorf("%s: bad ratio line %q", *ratios, line)
		}
		target, err := strconv.ParseFloat(f[6], 64)
		if err != nil {
			return fmt.Errorf("%s: %q: %w", *ratios, line, err)
		}
		if _, ok := r.rows[f[1]]; !ok {
			continue // a part of the benchmark that did not run (bench.sh PARTS)
		}
		var rs []float64
		for round := range r.vals[[3]string{f[1], firstRow(f[3]), f[2]}] {
			a, ok1 := r.value(f[1], f[3], f[2], round)
			d, ok2 := r.value(f[1], f[4], f[2], round)
			if ok1 && ok2 && d != 0 {
				rs = append(rs, a/d)
			}
		}
		med, lo, hi := stats(rs)
		verdict := "no data"
		if len(rs) > 0 {
			met := (f[5] == ">=" && med >= target) || (f[5] == "<=" && med <= target)
			verdict = "NOT met"
			if met {
				verdict = "met"
			}
		}
		tw = append(tw, []string{f[0], fmt.Sprintf("%s [%s-%s]", num(med), num(lo), num(hi)), f[5] + " " + f[6], verdict})
	}
	printAligned(w, tw)
	return nil
}

func firstRow(spec string) string {
	if s, ok := strings.CutPrefix(spec, "min("); ok {
		return strings.Split(strings.TrimSuffix(s, ")"), ",")[0]
	}
	return spec
}

// value returns the metric of a row (or the minimum over "min(A,B,...)") in one round, or
// the number spec itself.
func (r *results) value(sec, spec, metric, round string) (float64, bool) {
	if v, err := strconv.ParseFloat(spec, 64); err == nil {
		return v, true
	}
	rows := []string{spec}
	if s, ok := strings.CutPrefix(spec, "min("); ok {
		rows = strings.Split(strings.TrimSuffix(s, ")"), ",")
	}
	best, found := math.Inf(1), false
	for _, row := range rows {
		if v, ok := r.vals[[3]string{sec, row, metric}][round]; ok {
			best, found = min(best, v), true
		}
	}
	return best, found
}

func printAligned(w io.Writer, rows [][]string) {
	width := map[int]int{}
	for _, r := range rows {
		for i, c := range r {
			width[i] = max(width[i], len(c))
		}
	}
	for _, r := range rows {
		var b strings.Builder
		for i, c := range r {
			if i > 0 {
				b.WriteString("  ")
			}
			b.WriteString(c)
			if i < len(r)-1 {
				b.WriteString(strings.Repeat(" ", width[i]-len(c)))
			}
		}
		fmt.Fprintln(w, b.String())
	}
}
