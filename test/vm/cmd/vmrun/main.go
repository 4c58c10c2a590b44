// Command vmrun boots one of the real-kernel scenarios of nsinit's VM test harness
// (package test/vm) and streams the serial console to the terminal, ending with a verdict
// line. `make demo` runs the enforcing scenario with it:
//
//	go run ./test/vm/cmd/vmrun                       # scenario (a), nsinit built from ./cmd/nsinit
//	go run ./test/vm/cmd/vmrun -nsinit bin/nsinit -scenario policy-missing
//	go run ./test/vm/cmd/vmrun -kernel linux7 -scenario all   # the 7.x subset on sid's kernel
//	go run ./test/vm/cmd/vmrun -list
//
// The list holds the policy families too (sid-enforcing, ...); NSINIT_POLICY_DIR=/etc/selinux/NAME
// adds the family of that policy directory (NAME-enforcing, ...; docs/testing.md).
//
// It needs what `make provision` caches (Debian's kernel and built policy) plus qemu,
// setfiles and mkfs.ext4. Exit status: 0 when the scenario's check passed, 1 when it did
// not, 2 for bad usage or a harness failure.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"time"

	vm "github.com/nsinit/nsinit/test/vm"
)

func main() {
	os.Exit(run(os.Args[1:], os.Stdout, os.Stderr))
}

func run(args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("vmrun", flag.ContinueOnError)
	fs.SetOutput(stderr)
	scenario := fs.String("scenario", "enforcing", "scenario to boot: a name or letter from -list, or \"all\"")
	nsinit := fs.String("nsinit", "", "nsinit binary to install as /sbin/nsinit (default: build ./cmd/nsinit)")
	cache := fs.String("cache", os.Getenv("NSINIT_CACHE"), "provisioned cache directory (default $NSINIT_CACHE, else <repo>/.cache)")
	quiet := fs.Bool("quiet", false, "do not stream the console; print it only when a check fails")
	list := fs.Bool("list", false, "list the scenarios and exit")
	kernel := fs.String("kernel", vm.Linux6, "kernel to boot: "+vm.Linux6+" (Debian bookworm's 6.1) or "+vm.Linux7+" (Debian sid's 7.x, provisioning step kernel7)")
	cpuProfile := fs.String("cpuprofile", "", "boot with nsinit --cpuprofile and copy the bring-up's CPU profile from the disk to `FILE` (one scenario)")
	fs.Usage = func() {
		fmt.Fprintf(stderr, "Usage: vmrun [flags]\n\nBoot Debian's kernel under qemu with SELinux, nsinit as PID 1 from a labelled ext4 image,\nand check the console (and for some scenarios the disk) against a scenario.\n\nFlags:\n")
		fs.PrintDefaults()
	}
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return 0
		}
		return 2
	}
	repo, err := repoRoot()
	if err != nil {
		fmt.Fprintf(stderr, "vmrun: %v\n", err)
		return 2
	}
	e := vm.Env{Repo: repo, Cache: *cache}
	if e.Cache == "" {
		e.Cache = filepath.Join(repo, ".cache")
	}
	scenarios, err := e.AllScenarios()
	if err != nil {
		fmt.Fprintf(stderr, "vmrun: %v\n", err)
		return 2
	}
	if *list {
		for _, s := range scenarios {
			fmt.Fprintf(stdout, "%-8s %-30s %-14s %s\n", s.ID, s.Name, strings.Join(kernels(s), ","), s.Summary)
		}
		return 0
	}
	var todo []vm.Scenario
	if *scenario == "all" && *cpuProfile == "" {
		for _, s := range scenarios {
			if s.On(*kernel) {
				todo = append(todo, s)
			}
		}
	} else if s, ok := vm.ScenarioByName(scenarios, *scenario); ok {
		if *cpuProfile != "" {
			s = vm.WithCPUProfile(s, *cpuProfile)
		}
		todo = []vm.Scenario{s}
	} else {
		fmt.Fprintf(stderr, "vmrun: unknown scenario %q (see -list; -cpuprofile takes one)\n", *scenario)
		return 2
	}
	k, err := e.Kernel(*kernel)
	if err != nil {
		fmt.Fprintf(stderr, "vmrun: no kernel %s in %s: run `make provision` first (%v)\n", *kernel, e.Cache, err)
		return 2
	}
	if *nsinit != "" {
		*nsinit, err = filepath.Abs(*nsinit)
	} else {
		fmt.Fprintf(stderr, "vmrun: building ./cmd/nsinit\n")
		*nsinit, err = e.BuildNSInit()
	}
	if err != nil {
		fmt.Fprintf(stderr, "vmrun: %v\n", err)
		return 2
	}
	fmt.Fprintf(stderr, "vmrun: building testinit, stage0 and the initramfs\n")
	b, err := vm.Prepare(e, k, *nsinit)
	if err != nil {
		fmt.Fprintf(stderr, "vmrun: %v\n", err)
		return 2
	}
	fmt.Fprintf(stderr, "vmrun: kernel %s (%s)\n", k.Name, k.Release)
	status := 0
	for _, s := range todo {
		fmt.Fprintf(stdout, "==> scenario (%s) %s: %s\n", s.ID, s.Name, s.Summary)
		if missing := e.Missing(s); missing != "" {
			fmt.Fprintf(stdout, "==> SKIP (%s) %s: %s not provisioned (run `make provision`)\n", s.ID, s.Name, missing)
			status = 1
			continue
		}
		var console io.Writer = stdout
		if *quiet {
			console = nil
		}
		r, err := s.Run(context.Background(), e, b, console)
		if err != nil {
			fmt.Fprintf(stderr, "vmrun: %v\n", err)
			return 2
		}
		if err := s.Verify(r); err != nil {
			if *quiet {
				fmt.Fprint(stdout, r.Console)
			}
			fmt.Fprintf(stdout, "==> FAIL (%s) %s after %v: %v\n", s.ID, s.Name, r.Elapsed.Round(100*time.Millisecond), err)
			status = 1
			continue
		}
		fmt.Fprintf(stdout, "==> PASS (%s) %s after %v: %s\n", s.ID, s.Name, r.Elapsed.Round(100*time.Millisecond), verdict(r))
	}
	return status
}

// kernels names the kernels scenario s boots on in the test suite.
func kernels(s vm.Scenario) []string {
	var out []string
	for _, k := range []string{vm.Linux6, vm.Linux7} {
		if s.On(k) {
			out = append(out, k)
		}
	}
	return out
}

// verdict says in one line what the console showed.
func verdict(r *vm.Result) string {
	if r.App != nil && r.AppExit != nil {
		return fmt.Sprintf("the application ran in %s with enforce=%s and exited with status %d; nsinit reaped its orphan (zombies left: %s) and powered off",
			r.App["context"], r.App["enforce"], *r.AppExit, r.App["zombies"])
	}
	if m := r.Marker; m != nil {
		if r.Inspection != "" {
			return fmt.Sprintf("the test init ran as PID %d in %s with enforce=%s; disk: %s", m.PID, m.Context, m.Enforce, r.Inspection)
		}
		return fmt.Sprintf("the test init ran as PID %d in %s with enforce=%s, argv %q (peak RSS of the process, nsinit included: %d KiB)",
			m.PID, m.Context, m.Enforce, m.Argv, m.MaxRSSKiB)
	}
	if r.Emergency != "" {
		first, _, _ := strings.Cut(r.Emergency, "\n")
		return "fail-closed, the init never ran: " + first
	}
	return r.Outcome()
}

// repoRoot finds the directory holding go.mod, from the working directory upwards.
func repoRoot() (string, error) {
	dir, err := os.Getwd()
	if err != nil {
		return "", err
	}
	for {
		if _, err := os.Stat(filepath.Join(dir, "go.mod")); err == nil {
			return dir, nil
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			return "", errors.New("no go.mod in the working directory or above: run vmrun from the repository")
		}
		dir = parent
	}
}
