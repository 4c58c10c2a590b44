// Command benchdriver is the Go twin of testdata/oracle/selabel_lookup.c --bench, used by
// scripts/bench-lookup.sh: it loads a file_contexts with fcontext.Load (timed), reads
// "PATH<TAB>OCTAL_MODE" keys from stdin and looks them all up in rounds for at least SECS
// seconds, then prints the same line as the C driver:
// "load_ms=… lookups=… seconds=… lookups_per_sec=… maxrss_kb=…".
package main

import (
	"bufio"
	"fmt"
	"os"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/nsinit/nsinit/internal/fcontext"
)

func main() {
	if len(os.Args) != 4 || os.Args[2] != "--bench" {
		fmt.Fprintln(os.Stderr, "usage: benchdriver FILE_CONTEXTS --bench SECONDS < keys")
		os.Exit(2)
	}
	secs, err := strconv.ParseFloat(os.Args[3], 64)
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(2)
	}
	t0 := time.Now()
	h, err := fcontext.Load(os.Args[1])
	load := time.Since(t0)
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	var keys []string
	var modes []uint32
	sc := bufio.NewScanner(os.Stdin)
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
	var lookups int
	t0 = time.Now()
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
	var ru syscall.Rusage
	_ = syscall.Getrusage(syscall.RUSAGE_SELF, &ru)
	rate := 0.0
	if el > 0 {
		rate = float64(lookups) / el.Seconds()
	}
	fmt.Printf("load_ms=%.2f lookups=%d seconds=%.3f lookups_per_sec=%.0f maxrss_kb=%d\n",
		float64(load.Microseconds())/1e3, lookups, el.Seconds(), rate, ru.Maxrss)
}
