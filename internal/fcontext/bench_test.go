package fcontext

import (
	"path/filepath"
	"testing"

	"github.com/nsinit/nsinit/internal/testutil"
)

// Benchmarks on Debian's policy and the minbase tree; `make bench` runs the same keys through
// libselinux 3.4 and 3.8 for the ratios.

func benchKeys(b *testing.B) (*Handle, []lookupKey) {
	b.Helper()
	h, err := Load(filepath.Join(testutil.DebianPolicyDir(b), "contexts", "files", "file_contexts"))
	if err != nil {
		b.Fatal(err)
	}
	return h, treeKeys(b, testutil.Minbase(b))
}

// BenchmarkLookupMinbase looks up every object of the minbase tree (one op = one lookup).
func BenchmarkLookupMinbase(b *testing.B) {
	h, keys := benchKeys(b)
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		k := keys[i%len(keys)]
		h.Lookup(k.path, k.mode)
	}
}

// BenchmarkLookupMinbaseParallel is the same from GOMAXPROCS goroutines, as relabel does.
func BenchmarkLookupMinbaseParallel(b *testing.B) {
	h, keys := benchKeys(b)
	b.ReportAllocs()
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		i := 0
		for pb.Next() {
			k := keys[i%len(keys)]
			h.Lookup(k.path, k.mode)
			i++
		}
	})
}

// BenchmarkLoad loads Debian's file_contexts (+ .homedirs, .subs_dist) from text and .bin.
func BenchmarkLoad(b *testing.B) { benchmarkLoad(b, Options{}) }

// benchmarkLoad loads Debian's file_contexts with opt, from text and from .bin.
func benchmarkLoad(b *testing.B, opt Options) {
	for _, bin := range []bool{false, true} {
		name := "text"
		if bin {
			name = "bin"
		}
		b.Run(name, func(b *testing.B) {
			fc := benchPolicyCopy(b, bin)
			b.ReportAllocs()
			for i := 0; i < b.N; i++ {
				if _, err := LoadOptions(fc, opt); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
