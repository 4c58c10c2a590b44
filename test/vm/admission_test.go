package vm

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/nsinit/nsinit/internal/policydb"
	"github.com/nsinit/nsinit/internal/policydb/mutant"
)

// Oracle corpus: mutants of Debian's policy.33 (package mutant), generated alike by the
// guest and here.
const (
	oracleSeed    = 16
	oracleMutants = 300
)

var mutantLine = regexp.MustCompile(`^MUTANT: (\d+) (begin|loaded|refused errno=\d+)$`)

// TestAdmissionOracle boots Debian's kernel once with loadmutants as PID 1, which writes
// every mutant to selinuxfs's load node, and compares the kernel's verdicts with nsinit's
// admission check (policydb.Analyze) on the same bytes: no mutant nsinit admits may be
// refused by the kernel or make it warn. About 2-3 minutes under TCG.
func TestAdmissionOracle(t *testing.T) {
	e := testEnv(t)
	b := binaries(t, e)
	loader, err := e.BuildGo("./test/vm/loadmutants")
	if err != nil {
		t.Fatal(err)
	}
	im, err := RootImage(e, b, "permissive")
	if err != nil {
		t.Fatal(err)
	}
	im.AddHostFile("sbin/loadmutants", 0o755, loader)
	disk, err := im.Build(e)
	if err != nil {
		t.Fatal(err)
	}
	m := &Machine{Kernel: b.Kernel, Initrd: b.Initrd, Disk: disk, Timeout: 30 * time.Minute,
		Cmdline: []string{"STAGE0_INIT=/sbin/loadmutants"},
		Args:    []string{strconv.Itoa(oracleSeed), strconv.Itoa(oracleMutants)}}
	r, err := m.Boot(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(r.Console, "MUTANT: done") {
		t.Fatalf("the guest did not finish (%s)\n--- console ---\n%s", r.Outcome(), r.Console)
	}
	kernel, warned := kernelVerdicts(r.Console)
	data, err := os.ReadFile(filepath.Join(e.PolicyDir(), "policy", "policy.33"))
	if err != nil {
		t.Fatal(err)
	}
	var kRefused, nRefused, both, nWarned int
	var missed, stricter []string
	for i := 0; i < oracleMutants; i++ {
		mu := mutant.Mutate(data, oracleSeed, i)
		_, nerr := policydb.Analyze(mu.Data)
		verdict, ok := kernel[i]
		if !ok {
			t.Fatalf("mutant %d: no kernel verdict", i)
		}
		kr := verdict != "loaded"
		if kr {
			kRefused++
		}
		if nerr != nil {
			nRefused++
		}
		if kr && nerr != nil {
			both++
		}
		if !kr && nerr != nil && len(stricter) < 12 {
			stricter = append(stricter, fmt.Sprintf("mutant %d (%s): %v", i, mu.Kind, nerr))
		}
		if warned[i] != "" {
			nWarned++
		}
		if nerr == nil && (kr || warned[i] != "") {
			missed = append(missed, fmt.Sprintf("mutant %d (%s): kernel %s %s", i, mu.Kind, verdict, warned[i]))
		}
	}
	for _, line := range strings.Split(r.Console, "\n") {
		if strings.HasPrefix(line, "MUTANT: check ") || strings.HasPrefix(line, "MUTANT: kernel load ") {
			t.Log(strings.TrimPrefix(line, "MUTANT: "))
		}
	}
	t.Logf("%d mutants in %v: kernel refused %d, nsinit refused %d (%d of them refused by both, %d more than the kernel); admitted by nsinit but refused or warned about by the kernel: %d",
		oracleMutants, r.Elapsed.Round(time.Second), kRefused, nRefused, both, nRefused-both, len(missed))
	t.Logf("the kernel warned (WARNING/BUG/Oops/call trace) on %d mutants", nWarned)
	for _, s := range stricter {
		t.Logf("refused by nsinit only: %s", s)
	}
	for _, s := range missed {
		t.Errorf("nsinit admitted what the kernel did not: %s", s)
	}
}

// kernelVerdicts reads the guest's per-mutant lines: the kernel's answer, and any kernel
// WARNING, BUG, Oops or call trace printed while that mutant was being written.
func kernelVerdicts(console string) (map[int]string, map[int]string) {
	verdict, warned := map[int]string{}, map[int]string{}
	current := -1
	for _, line := range strings.Split(console, "\n") {
		if sm := mutantLine.FindStringSubmatch(line); sm != nil {
			i, _ := strconv.Atoi(sm[1])
			if sm[2] == "begin" {
				current = i
			} else {
				verdict[i], current = sm[2], -1
			}
			continue
		}
		if current >= 0 && (strings.Contains(line, "WARNING:") || strings.Contains(line, "BUG:") || strings.Contains(line, "Oops") || strings.Contains(line, "Call Trace")) {
			warned[current] += strings.TrimSpace(line) + "; "
		}
	}
	return verdict, warned
}
