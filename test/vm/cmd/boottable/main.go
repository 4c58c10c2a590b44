// Command boottable is the boot table of `make bench`: it boots a real-kernel scenario
// (test/vm) several times and prints, per round, nsinit's bring-up steps as its log timed
// them, the kernel's policy load and enforce switch, nsinit's own time (the total to the
// exec minus those two) and the own/load ratio; then the median of each column.
//
//	go run ./test/vm/cmd/boottable -rounds 5 -kernel linux7 -scenario enforcing
//
// The kernel is a parameter (linux6, linux7: vm.Env.Kernel), so that the table can be
// made for every kernel test/vm boots. Exit status 0, or 1 when a boot failed its
// scenario's check, 2 for bad usage or a harness failure.
package main

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"

	vm "github.com/nsinit/nsinit/test/vm"
)

func main() { os.Exit(run(os.Args[1:], os.Stdout, os.Stderr)) }

// steps are the bring-up's step names as nsinit logs them (internal/boot's sequence).
var steps = []string{"mount API filesystems", "detect", "configure", "mount selinuxfs", "read the policy", "load the policy", "choose the domain", "relabel", "set the mode"}

// round is one boot's figures, in milliseconds.
type round struct {
	step              map[string]float64
	load, total, mode float64
}

// own is nsinit's own time: the total to the exec minus the kernel's load and the
// enforce switch (the "set the mode" step is that one write).
func (r round) own() float64 { return r.total - r.load - r.mode }

// other is the time outside the steps: their log lines, the domain prediction, the summary.
func (r round) other() float64 {
	t := r.total
	for _, v := range r.step {
		t -= v
	}
	return t
}

// ratio is own/load, 0 without a load.
func (r round) ratio() float64 {
	if r.load <= 0 {
		return 0
	}
	return r.own() / r.load
}

func run(args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("boottable", flag.ContinueOnError)
	fs.SetOutput(stderr)
	rounds := fs.Int("rounds", 5, "boots per scenario")
	kernel := fs.String("kernel", vm.Linux6, "`KERNEL` to boot: "+vm.Linux6+" or "+vm.Linux7)
	scenario := fs.String("scenario", "enforcing", "comma-separated scenario names")
	nsinit := fs.String("nsinit", "", "nsinit binary (default: build ./cmd/nsinit)")
	cache := fs.String("cache", os.Getenv("NSINIT_CACHE"), "provisioned cache directory")
	if err := fs.Parse(args); err != nil {
		return 2
	}
	repo, err := os.Getwd()
	if err != nil {
		fmt.Fprintln(stderr, "boottable:", err)
		return 2
	}
	e := vm.Env{Repo: repo, Cache: *cache}
	k, err := e.Kernel(*kernel)
	if err != nil {
		fmt.Fprintln(stderr, "boottable:", err)
		return 2
	}
	if *nsinit == "" {
		*nsinit, err = e.BuildNSInit()
	} else {
		*nsinit, err = filepath.Abs(*nsinit)
	}
	if err != nil {
		fmt.Fprintln(stderr, "boottable:", err)
		return 2
	}
	b, err := vm.Prepare(e, k, *nsinit)
	if err != nil {
		fmt.Fprintln(stderr, "boottable:", err)
		return 2
	}
	status := 0
	for _, name := range strings.Split(*scenario, ",") {
		s, ok := vm.ScenarioByName(vm.Scenarios, name)
		if !ok {
			fmt.Fprintf(stderr, "boottable: unknown scenario %q\n", name)
			return 2
		}
		fmt.Fprintf(stdout, "## boot table: scenario %s (%s), kernel %s (%s), %d rounds, ms\n", s.Name, s.ID, k.Name, k.Release, *rounds)
		header := []string{"round"}
		for _, st := range steps {
			header = append(header, short(st))
		}
		fmt.Fprintln(stdout, strings.Join(append(header, "other", "total", "kernel-load", "own", "own/load"), "\t"))
		var all []round
		for i := 1; i <= *rounds; i++ {
			r, err := s.Run(context.Background(), e, b, nil)
			if err != nil {
				fmt.Fprintln(stderr, "boottable:", err)
				return 2
			}
			if err := s.Verify(r); err != nil {
				fmt.Fprintf(stdout, "%d\tFAIL: %v\n", i, err)
				status = 1
				continue
			}
			rd := parse(r.Console)
			all = append(all, rd)
			fmt.Fprintln(stdout, row(fmt.Sprint(i), rd))
		}
		if len(all) > 0 {
			// The ratio's median is over the rounds' own ratios (a busy host slows the load
			// and nsinit together), not the ratio of the medians.
			m := median(all)
			ratios, others := make([]float64, len(all)), make([]float64, len(all))
			for i, r := range all {
				ratios[i], others[i] = r.ratio(), r.other()
			}
			cols := strings.Split(row("median", m), "\t")
			// other and own/load are derived per round: their medians are of the rounds'
			// values, not computed from the other columns' medians.
			cols[len(steps)+1] = fmt.Sprintf("%.0f", medianOf(others))
			cols[len(cols)-1] = fmt.Sprintf("%.2f (rounds %.2f-%.2f)", medianOf(ratios), slices.Min(ratios), slices.Max(ratios))
			fmt.Fprintln(stdout, strings.Join(cols, "\t"))
		}
		fmt.Fprintln(stdout)
	}
	return status
}

// short abbreviates a step name for the table's header.
func short(step string) string {
	if s, ok := map[string]string{"mount API filesystems": "mount", "configure": "config", "mount selinuxfs": "selinuxfs",
		"read the policy": "read", "load the policy": "load", "set the mode": "mode"}[step]; ok {
		return s
	}
	return step
}

// row formats one round.
func row(label string, r round) string {
	cols := []string{label}
	for _, st := range steps {
		cols = append(cols, fmt.Sprintf("%.0f", r.step[st]))
	}
	ratio := "-"
	if r.load > 0 {
		ratio = fmt.Sprintf("%.2f", r.ratio())
	}
	return strings.Join(append(cols, fmt.Sprintf("%.0f", r.other()), fmt.Sprintf("%.0f", r.total), fmt.Sprintf("%.0f", r.load), fmt.Sprintf("%.0f", r.own()), ratio), "\t")
}

// parse reads nsinit's step lines (console format: "INFO\tnsinit\t<step>\t{json}") and its
// handoff summary ("...; total <duration>").
func parse(console string) round {
	r := round{step: map[string]float64{}}
	for _, line := range strings.Split(console, "\n") {
		parts := strings.SplitN(line, "\t", 4)
		if len(parts) < 3 || parts[1] != "nsinit" {
			continue
		}
		if i := strings.LastIndex(parts[2], "; total "); i >= 0 {
			r.total = ms(parts[2][i+len("; total "):])
			continue
		}
		if len(parts) < 4 || !slices.Contains(steps, parts[2]) {
			continue
		}
		var f struct {
			Took       string `json:"took"`
			KernelLoad string `json:"kernel_load"`
		}
		if json.Unmarshal([]byte(parts[3]), &f) != nil {
			continue
		}
		r.step[parts[2]] = ms(f.Took)
		if f.KernelLoad != "" {
			r.load = ms(f.KernelLoad)
		}
		if parts[2] == "set the mode" {
			r.mode = ms(f.Took)
		}
	}
	return r
}

// ms parses a Go duration as milliseconds (0 when it is not one).
func ms(s string) float64 {
	d, err := time.ParseDuration(strings.TrimSpace(s))
	if err != nil {
		return 0
	}
	return float64(d) / float64(time.Millisecond)
}

// medianOf is the median of v (sorted in place).
func medianOf(v []float64) float64 {
	slices.Sort(v)
	if n := len(v); n%2 == 0 {
		return (v[n/2-1] + v[n/2]) / 2
	}
	return v[len(v)/2]
}

// median is the column-wise median of the rounds.
func median(rs []round) round {
	med := func(get func(round) float64) float64 {
		v := make([]float64, len(rs))
		for i, r := range rs {
			v[i] = get(r)
		}
		return medianOf(v)
	}
	m := round{step: map[string]float64{}}
	for _, st := range steps {
		m.step[st] = med(func(r round) float64 { return r.step[st] })
	}
	m.load = med(func(r round) float64 { return r.load })
	m.total = med(func(r round) float64 { return r.total })
	m.mode = med(func(r round) float64 { return r.mode })
	return m
}
