package relabel

import (
	"context"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"sync"
	"testing"

	"golang.org/x/sys/unix"

	"github.com/nsinit/nsinit/internal/testutil"
)

// Benchmarks on a copy of the minbase tree with Debian's file_contexts, each iteration on an
// unlabelled tree (stripping is not timed):
//
//	go test -run '^$' -bench . -benchtime 5x ./internal/relabel
//
// BenchmarkRelabel is `nsinit relabel --force`; BenchmarkSetfiles is Debian's
// `setfiles -T 0 -F` on the same tree (the process, loading file_contexts included), and
// BenchmarkSetfilesTrixie the same with trixie's libselinux 3.8;
// BenchmarkFloor is the syscall floor: a parallel walk doing only lgetxattr + lsetxattr per
// object, no matching. Compare the ns/op of the three; objects/s is reported too.

type benchTree struct {
	root, fc string
	lab      Labeler
	objects  int
}

// setupBench copies minbase for one benchmark and loads Debian's file_contexts.
func setupBench(b *testing.B) *benchTree {
	testutil.RequireRoot(b)
	minbase, pol := testutil.Minbase(b), testutil.DebianPolicyDir(b)
	t := &benchTree{root: filepath.Join(b.TempDir(), "tree"), fc: filepath.Join(pol, "contexts/files/file_contexts")}
	testutil.CopyTree(b, minbase, t.root)
	lab, err := LoadFileContexts(t.fc)
	if err != nil {
		b.Fatal(err)
	}
	t.lab = lab
	walkObjects(b, t.root, func(string) { t.objects++ })
	return t
}

func report(b *testing.B, objects int) {
	b.ReportMetric(float64(objects)*float64(b.N)/b.Elapsed().Seconds(), "objects/s")
	b.ReportMetric(float64(objects), "objects")
}

func BenchmarkRelabel(b *testing.B) {
	t := setupBench(b)
	for b.Loop() {
		b.StopTimer()
		stripLabels(b, t.root)
		b.StartTimer()
		s, err := Run(context.Background(), Options{Root: t.root, Labeler: t.lab, Force: true})
		if err != nil || s.Relabeled < uint64(t.objects)-10 {
			b.Fatalf("%+v %v", s, err)
		}
	}
	report(b, t.objects)
}

// BenchmarkRelabelUnchanged is the second boot's cost: everything already right.
func BenchmarkRelabelUnchanged(b *testing.B) {
	t := setupBench(b)
	if _, err := Run(context.Background(), Options{Root: t.root, Labeler: t.lab, Force: true}); err != nil {
		b.Fatal(err)
	}
	for b.Loop() {
		s, err := Run(context.Background(), Options{Root: t.root, Labeler: t.lab, Force: true})
		if err != nil || s.Relabeled != 0 {
			b.Fatalf("%+v %v", s, err)
		}
	}
	report(b, t.objects)
}

func BenchmarkSetfiles(b *testing.B) {
	benchSetfiles(b, testutil.RequireTool(b, "setfiles"))
}

// BenchmarkSetfilesTrixie is libselinux/setfiles 3.8 (Debian 13), the fastest peer, when
// scripts/provision.sh's step_trixie_bench has fetched it.
func BenchmarkSetfilesTrixie(b *testing.B) {
	setfiles := filepath.Join(testutil.CacheDir(b), "trixie-bench/bin/setfiles")
	if _, err := os.Stat(setfiles); err != nil {
		b.Skip("trixie's setfiles not provisioned (scripts/provision.sh step_trixie_bench)")
	}
	benchSetfiles(b, setfiles)
}

func benchSetfiles(b *testing.B, setfiles string) {
	t := setupBench(b)
	for b.Loop() {
		b.StopTimer()
		stripLabels(b, t.root)
		b.StartTimer()
		if out, err := exec.Command(setfiles, "-T", "0", "-F", "-r", t.root, t.fc, t.root).CombinedOutput(); err != nil {
			b.Fatalf("setfiles: %v\n%s", err, out)
		}
	}
	report(b, t.objects)
}

func BenchmarkFloor(b *testing.B) {
	t := setupBench(b)
	val := []byte("system_u:object_r:etc_t:s0\x00")
	for b.Loop() {
		b.StopTimer()
		stripLabels(b, t.root)
		b.StartTimer()
		// The floor's walk: WalkDir (getdents; no stat per file), then the two xattr calls
		// per object spread over the CPUs.
		var paths []string
		filepath.WalkDir(t.root, func(p string, _ fs.DirEntry, _ error) error { paths = append(paths, p); return nil })
		var wg sync.WaitGroup
		n := 2
		for w := range n {
			wg.Add(1)
			go func() {
				defer wg.Done()
				buf := make([]byte, 256)
				for i := w; i < len(paths); i += n {
					unix.Lgetxattr(paths[i], "security.selinux", buf)
					unix.Lsetxattr(paths[i], "security.selinux", val, 0)
				}
			}()
		}
		wg.Wait()
	}
	report(b, t.objects)
}
