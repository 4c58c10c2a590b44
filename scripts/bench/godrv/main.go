// Command godrv is nsinit's side of the in-process benchmarks and the CPU profiles of
// scripts/bench/bench.sh. It calls the same packages as `nsinit lookup` and
// `nsinit relabel` (internal/fcontext, internal/relabel), so the numbers and profiles are
// the engine's, without process start-up and I/O formatting.
//
//	godrv lookup [-cpuprofile F] FILE_CONTEXTS LOADS SECONDS < keys
//	    the Go twin of selabel_lookup.c's bench mode: fcontext.Load LOADS times (each timed; the
//	    previous handle is collected, untimed, before each, as selabel_lookup.c closes it), then
//	    Lookup of every "PATH<TAB>OCTAL_ST_MODE" key in passes for at least SECONDS; prints
//	    "load_ms=MEDIAN first_load_ms=F lookups=N seconds=S lookups_per_sec=R maxrss_kb=K"
//	godrv relabel [-cpuprofile F] [-runs N] ROOT FILE_CONTEXTS
//	    N times: strip ROOT's labels (not profiled: pprof label phase=strip), then
//	    relabel.Run with Force, as `nsinit relabel --force --root ROOT` (pprof label
//	    phase=relabel); prints each run's "seconds=… seen=… relabeled=…"
package main

import (
	"bufio"
	"context"
	"errors"
	"flag"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"runtime"
	"runtime/pprof"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"time"

	"golang.org/x/sys/unix"

	"github.com/nsinit/nsinit/internal/fcontext"
	"github.com/nsinit/nsinit/internal/relabel"
)

func fatal(err error) {
	fmt.Fprintln(os.Stderr, "godrv:", err)
	os.Exit(1)
}

func main() {
	if len(os.Args) < 2 {
		fmt.Fprintln(os.Stderr, "usage: godrv lookup|relabel [flags] ARGS...")
		os.Exit(2)
	}
	fs := flag.NewFlagSet("godrv "+os.Args[1], flag.ExitOnError)
	prof := fs.String("cpuprofile", "", "write a CPU profile to `FILE`")
	runs := fs.Int("runs", 1, "relabel: number of strip+relabel runs")
	fs.Parse(os.Args[2:])
	if *prof != "" {
		f, err := os.Create(*prof)
		if err != nil {
			fatal(err)
		}
		if err := pprof.StartCPUProfile(f); err != nil {
			fatal(err)
		}
		defer func() {
			pprof.StopCPUProfile()
			f.Close()
		}()
	}
	switch {
	case os.Args[1] == "lookup" && fs.NArg() == 3:
		lookup(fs.Arg(0), fs.Arg(1), fs.Arg(2))
	case os.Args[1] == "relabel" && fs.NArg() == 2:
		relabelRuns(fs.Arg(0), fs.Arg(1), *runs)
	default:
		fmt.Fprintln(os.Stderr, "usage: godrv lookup [-cpuprofile F] FILE_CONTEXTS LOADS SECONDS < keys\n       godrv relabel [-cpuprofile F] [-runs N] ROOT FILE_CONTEXTS")
		os.Exit(2)
	}
}

func lookup(fc, loadsArg, secsArg string) {
	loads, err := strconv.Atoi(loadsArg)
	if err != nil {
		fatal(err)
	}
	secs, err := strconv.ParseFloat(secsArg, 64)
	if err != nil {
		fatal(err)
	}
	var h *fcontext.Handle
	var lt []time.Duration
	for i := range max(loads, 1) {
		if i > 0 {
			// selabel_lookup.c frees the previous handle (selabel_close) before the next timed
			// load, so malloc reuses its memory; the Go equivalent is to drop the handle
			// and collect it, untimed. Otherwise every load runs on fresh heap pages (page
			// faults) or during a collection of the previous loads' garbage.
			h = nil
			runtime.GC()
		}
		t0 := time.Now()
		h, err = fcontext.Load(fc)
		lt = append(lt, time.Since(t0))
		if err != nil {
			fatal(err)
		}
	}
	first := lt[0]
	slices.Sort(lt)
	var keys []string
	var modes []uint32
	sc := bufio.NewScanner(os.Stdin)
	sc.Buffer(make([]byte, 64<<10), 1<<20)
	for sc.Scan() {
		line := sc.Text()
		i := strings.LastIndexByte(line, '\t')
		if i < 0 {
			continue
		}
		m, err := strconv.ParseUint(line[i+1:], 8, 32)
		if err != nil {
			continue
		}
		keys = append(keys, line[:i])
		modes = append(modes, uint32(m))
	}
	if err := sc.Err(); err != nil {
		fatal(err)
	}
	lookups := 0
	t0 := time.Now()
	var el time.Duration
	for {
		for i, k := range keys {
			h.Lookup(k, modes[i])
		}
		lookups += len(keys)
		el = time.Since(t0)
		if el.Seconds() >= secs || len(keys) == 0 {
			break
		}
	}
	rate := 0.0
	if el > 0 {
		rate = float64(lookups) / el.Seconds()
	}
	fmt.Printf("load_ms=%.3f first_load_ms=%.3f lookups=%d seconds=%.4f lookups_per_sec=%.0f maxrss_kb=%d\n",
		float64(lt[len(lt)/2].Nanoseconds())/1e6, float64(first.Nanoseconds())/1e6, lookups, el.Seconds(), rate, maxRSS())
}

func maxRSS() int64 {
	var ru syscall.Rusage
	_ = syscall.Getrusage(syscall.RUSAGE_SELF, &ru)
	return ru.Maxrss
}

// strip removes security.selinux from every object under root.
func strip(root string) error {
	return filepath.WalkDir(root, func(p string, _ fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if err := unix.Lremovexattr(p, "security.selinux"); err != nil && !errors.Is(err, unix.ENODATA) {
			return &os.PathError{Op: "lremovexattr", Path: p, Err: err}
		}
		return nil
	})
}

func relabelRuns(root, fc string, runs int) {
	lab, err := relabel.LoadFileContexts(fc)
	if err != nil {
		fatal(err)
	}
	for range max(runs, 1) {
		pprof.Do(context.Background(), pprof.Labels("phase", "strip"), func(context.Context) {
			err = strip(root)
		})
		if err != nil {
			fatal(err)
		}
		var s relabel.Stats
		pprof.Do(context.Background(), pprof.Labels("phase", "relabel"), func(ctx context.Context) {
			s, err = relabel.Run(ctx, relabel.Options{Root: root, Labeler: lab, Force: true})
		})
		if err != nil {
			fatal(err)
		}
		fmt.Printf("seconds=%.4f seen=%d relabeled=%d\n", s.Duration.Seconds(), s.Seen, s.Relabeled)
	}
	fmt.Printf("maxrss_kb=%d\n", maxRSS())
}
