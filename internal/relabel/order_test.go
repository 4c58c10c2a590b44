package relabel

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/nsinit/nsinit/internal/testutil"
)

// reportPaths returns the paths of a report's lines, in order.
func reportPaths(t *testing.T, rep *bytes.Buffer) []string {
	t.Helper()
	var paths []string
	sc := bufio.NewScanner(rep)
	for sc.Scan() {
		var l struct{ Path string }
		if err := json.Unmarshal(sc.Bytes(), &l); err != nil {
			t.Fatalf("report line %q: %v", sc.Text(), err)
		}
		paths = append(paths, l.Path)
	}
	return paths
}

// TestRunOrderedReport: with Ordered, the report lists the changes in setfiles' order (depth
// first, directory order: dfsOrder) for any number of workers, in a dry run and a real one —
// including the start directory (labelled last), the first names of hard-linked inodes
// (labelled after the walk) and a directory of several getdents buffers (shared out in
// batches) — and lists the same changes as the unordered report.
func TestRunOrderedReport(t *testing.T) {
	testutil.RequireRoot(t)
	root := t.TempDir()
	makeTree(t, root)
	for _, d := range []string{"usr/a", "usr/b", "var"} {
		os.MkdirAll(filepath.Join(root, d), 0o755)
	}
	for _, g := range [][]string{{"etc/one", "bin/one", "usr/a/one", "var/one"}, {"bin/two", "etc/two"}, {"usr/b/four", "none-four"}} {
		os.WriteFile(filepath.Join(root, g[0]), nil, 0o644)
		for _, n := range g[1:] {
			if err := os.Link(filepath.Join(root, g[0]), filepath.Join(root, n)); err != nil {
				t.Fatal(err)
			}
		}
	}
	huge := filepath.Join(root, "usr/huge")
	os.Mkdir(huge, 0o755)
	long := strings.Repeat("n", 60)
	for i := range 1500 { // about five getdents buffers
		p := filepath.Join(huge, fmt.Sprintf("x-%s-%04d", long, i))
		os.WriteFile(p, nil, 0o644)
		if i%300 == 0 {
			os.MkdirAll(filepath.Join(huge, fmt.Sprintf("d-%04d/e", i)), 0o755)
			os.WriteFile(filepath.Join(huge, fmt.Sprintf("d-%04d/e/f", i)), nil, 0o644)
			os.Link(p, filepath.Join(huge, fmt.Sprintf("b-%04d", i)))
		}
	}
	var order []string
	dfsOrder(t, root, "/", &order)
	pos := map[string]int{}
	for i, k := range order {
		b, _ := json.Marshal(strings.TrimSuffix(root+k, "/"))
		var p string
		json.Unmarshal(b, &p) // as the report writes it: U+FFFD for bytes that are not UTF-8
		pos[p] = i
	}
	run := func(jobs int, dryRun, ordered bool) []string {
		if !dryRun {
			stripLabels(t, root)
		}
		// -1: without getxattrat, objects named through /proc/self/fd/N/name; -2: through
		// the worker's working directory.
		procPath, noXattrAt := jobs == -1, jobs == -2
		if jobs < 0 {
			jobs = 2
		}
		var rep bytes.Buffer
		if _, err := Run(context.Background(), Options{Root: root, Labeler: fakeLabeler{}, Force: true, DryRun: dryRun, Jobs: jobs, Report: &rep, Ordered: ordered,
			procPath: procPath, noXattrAt: noXattrAt}); err != nil {
			t.Fatal(err)
		}
		return reportPaths(t, &rep)
	}
	stripLabels(t, root)
	want := run(4, true, false)
	for _, p := range want {
		if _, ok := pos[p]; !ok {
			t.Fatalf("report path %q not in the tree", p)
		}
	}
	slices.SortFunc(want, func(a, b string) int { return pos[a] - pos[b] })
	if len(want) < 1500 || want[0] != root {
		t.Fatalf("unordered report: %d lines, first %q", len(want), want[:1])
	}
	for _, dryRun := range []bool{true, false} {
		for _, jobs := range []int{1, 2, 4, -1, -2} {
			if got := run(jobs, dryRun, true); !slices.Equal(got, want) {
				i := 0
				for i < min(len(got), len(want)) && got[i] == want[i] {
					i++
				}
				t.Errorf("dry run %v, jobs %d: %d lines, want %d; first difference at %d: %q, want %q",
					dryRun, jobs, len(got), len(want), i, got[i:min(i+3, len(got))], want[i:min(i+3, len(want))])
			}
		}
	}
}
