package policydb

import (
	"encoding/binary"
	"errors"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/nsinit/nsinit/internal/policydb/mutant"
	"github.com/nsinit/nsinit/internal/testutil"
)

// span is where one walker step's section lies in an image, and the items its errors name.
type span struct {
	items      []string
	start, end int
}

// sections walks data step by step and returns each step's span.
func sections(t *testing.T, data []byte) ([]span, *walker) {
	t.Helper()
	h, err := ParseHeader(data)
	if err != nil {
		t.Fatal(err)
	}
	w := &walker{r: reader{data: data, off: headerSize}, a: &Analysis{Header: h}, h: h}
	steps := []struct {
		run   func() error
		items []string
	}{
		{w.bitmaps, []string{"policy capabilities", "permissive types", "neveraudit types"}},
		{w.symtabs, symNames[:]},
		{w.avtab, []string{"avtab"}},
		{w.condList, []string{"conditional block"}},
		{w.roleRules, []string{"role transitions", "role allow rules"}},
		{w.filenameTrans, []string{"filename transitions"}},
		{w.ocontexts, []string{"initial SIDs", "fs contexts", "port contexts", "netif contexts", "node contexts", "fs_use rules", "node6 contexts", "ibpkey contexts", "ibendport contexts"}},
		{w.genfs, []string{"genfs"}},
		{w.rangeTrans, []string{"range transitions"}},
		{w.typeAttrMap, []string{"type attribute map"}},
	}
	var out []span
	for _, s := range steps {
		start := w.r.off
		if err := s.run(); err != nil {
			t.Fatal(err)
		}
		out = append(out, span{s.items, start, w.r.off})
	}
	return out, w
}

// wantRefused fails unless Analyze refuses data with a *FormatError at an offset in
// [lo, hi] naming one of items and containing reason.
func wantRefused(t *testing.T, data []byte, lo, hi int, items []string, reason string) {
	t.Helper()
	_, err := Analyze(data)
	var fe *FormatError
	if !errors.As(err, &fe) {
		t.Fatalf("Analyze = %v, want a FormatError", err)
	}
	named := false
	for _, it := range items {
		named = named || strings.HasPrefix(fe.Item, it)
	}
	if !named || fe.Offset < lo || fe.Offset > hi || !strings.Contains(fe.Reason, reason) {
		t.Fatalf("Analyze = %v; want an error in %v at byte %d-%d containing %q", err, items, lo, hi, reason)
	}
}

// TestAnalyzeTruncatedSections: an image cut inside any section is refused naming that
// section and an offset inside it.
func TestAnalyzeTruncatedSections(t *testing.T) {
	for _, name := range []string{"rich.35", "nonmls.33"} {
		data := fixture(t, name)
		spans, _ := sections(t, data)
		for _, s := range spans {
			if s.end-s.start < 2 {
				continue
			}
			cut := (s.start + s.end) / 2
			t.Run(name+"/"+s.items[0], func(t *testing.T) {
				wantRefused(t, data[:cut], s.start, cut, s.items, "needs")
			})
		}
	}
}

// TestAnalyzeInflatedCounts: each section's count raised by one is refused inside or after
// that section (what follows is read as one more entry).
func TestAnalyzeInflatedCounts(t *testing.T) {
	data := fixture(t, "rich.35")
	spans, _ := sections(t, data)
	for _, s := range spans[2:] { // the sections that start with a count
		t.Run(s.items[0], func(t *testing.T) {
			n := binary.LittleEndian.Uint32(data[s.start:])
			if _, err := Analyze(put32(data, s.start, n+1)); err == nil {
				t.Fatalf("count %d -> %d accepted", n, n+1)
			}
		})
	}
	// The symbol tables' counts: each nel (and nprim) raised.
	_, w := sections(t, data)
	for i, tb := range w.tables {
		t.Run(symNames[i], func(t *testing.T) {
			for _, off := range []int{tb.off - 4, tb.off - 8} {
				n := binary.LittleEndian.Uint32(data[off:])
				if _, err := Analyze(put32(data, off, n+1)); err == nil {
					t.Errorf("word at %d: %d -> %d accepted", off, n, n+1)
				}
			}
		})
	}
}

// TestAnalyzeMalformedSections: one defect per class, each refused naming its section.
func TestAnalyzeMalformedSections(t *testing.T) {
	data := fixture(t, "rich.35")
	spans, w := sections(t, data)
	le := binary.LittleEndian
	section := func(item string) span {
		for _, s := range spans {
			if s.items[0] == item {
				return s
			}
		}
		t.Fatalf("no section %s", item)
		return span{}
	}
	nTypes := w.tables[symTypes].nprim
	avtab, cond, roles, isids := section("avtab"), section("conditional block"), section("role transitions"), section("initial SIDs")
	types := w.tables[symTypes].off
	// Bitmaps at 32 and 56: the permissive one has one node (mapsize, highbit, count, start, map).
	const permissive = 56
	bitmapWith := func(words ...uint32) []byte {
		b := append([]byte(nil), data[:permissive]...)
		for i, v := range words {
			if i >= 3 && (i-3)%2 == 1 { // maps are u64
				b = le.AppendUint64(b, uint64(v))
				continue
			}
			b = le.AppendUint32(b, v)
		}
		return append(b, data[permissive+24:]...)
	}
	tests := []struct {
		name, item, reason string
		data               []byte
	}{
		{"avtab source type beyond the table", "avtab", "invalid type or class", put16(data, avtab.start+4, uint16(nTypes+1))},
		{"avtab class 0", "avtab", "invalid type or class", put16(data, avtab.start+8, 0)},
		{"avtab duplicate entry", "avtab", "duplicate entry", dupFirstAvtab(t, data, avtab.start)},
		{"boolean beyond the table", "conditional blocks", "boolean 99 of 2", put32(data, cond.start+16, 99)},
		{"role transition role", "role transitions", "out of range", put32(data, roles.start+4, 999)},
		{"context user", "initial SIDs", "invalid context: user 999", put32(data, isids.start+8, 999)},
		{"context role not authorised", "initial SIDs", "not authorised", put32(data, isids.start+12, 3)},
		{"type value 0", "types", "value 0 outside", put32(data, types+4, 0)},
		{"type value twice", "types", "defined twice", secondPrimaryTwice(data, types)},
		{"ebitmap start not a multiple of 64", "permissive types", "starts at bit 1", bitmapWith(64, 64, 1, 1, 1)},
		{"ebitmap high bit beyond the last node", "permissive types", "last node ends at bit 64", bitmapWith(64, 128, 1, 0, 2)},
		{"ebitmap nodes out of order", "permissive types", "starts at bit 0", bitmapWith(64, 128, 2, 64, 1, 0, 1)},
		{"trailing garbage", "end of policy", "unexpected trailing bytes", append(append([]byte(nil), data...), 1, 2, 3)},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			wantRefused(t, tt.data, 0, len(tt.data), []string{tt.item}, tt.reason)
		})
	}
}

// put16 returns a copy of data with the little-endian u16 at off set to v.
func put16(data []byte, off int, v uint16) []byte {
	b := append([]byte(nil), data...)
	binary.LittleEndian.PutUint16(b[off:], v)
	return b
}

// dupFirstAvtab returns data with the avtab's first (non-xperm) entry repeated.
func dupFirstAvtab(t *testing.T, data []byte, avtab int) []byte {
	t.Helper()
	const size = 12 // key and one datum word
	if binary.LittleEndian.Uint16(data[avtab+4+6:])&avtabXperms != 0 {
		t.Fatal("first avtab entry is an xperm one")
	}
	n := binary.LittleEndian.Uint32(data[avtab:])
	b := append([]byte(nil), data[:avtab+4+size]...)
	b = append(b, data[avtab+4:avtab+4+size]...)
	b = append(b, data[avtab+4+size:]...)
	binary.LittleEndian.PutUint32(b[avtab:], n+1)
	return b
}

// admissionSeeds are the fixtures and, when the cache is provisioned, Debian's policy.33.
func admissionSeeds(tb testing.TB) [][]byte {
	var seeds [][]byte
	for _, name := range fixtures(tb) {
		seeds = append(seeds, fixture(tb, name))
	}
	if os.Getenv("NSINIT_CACHE") != "" {
		b, err := os.ReadFile(filepath.Join(testutil.DebianPolicyDir(tb), "policy", "policy.33"))
		if err != nil {
			tb.Fatal(err)
		}
		seeds = append(seeds, b)
	}
	return seeds
}

// maxAlloc bounds what Analyze may allocate for an input of n bytes: a fixed amount plus a
// multiple of the input (the key sets of the avtab and the symbol tables' info are
// proportional to entries actually present).
func maxAlloc(n int) uint64 { return 1<<20 + 8*uint64(n) }

// analyzeBounded runs Analyze and fails if it takes too long or allocates beyond maxAlloc.
func analyzeBounded(t *testing.T, data []byte) error {
	t.Helper()
	var before, after runtime.MemStats
	runtime.ReadMemStats(&before)
	start := time.Now()
	_, err := Analyze(data)
	took := time.Since(start)
	runtime.ReadMemStats(&after)
	if alloc := after.TotalAlloc - before.TotalAlloc; alloc > maxAlloc(len(data)) {
		t.Fatalf("Analyze allocated %d bytes for a %d-byte input (limit %d)", alloc, len(data), maxAlloc(len(data)))
	}
	if took > 5*time.Second {
		t.Fatalf("Analyze took %v for %d bytes", took, len(data))
	}
	return err
}

// FuzzAnalyze: mutated policies (the engine's mutations of the fixtures and of Debian's
// policy) never panic, hang, or allocate beyond a bound set by their size.
func FuzzAnalyze(f *testing.F) {
	for _, s := range admissionSeeds(f) {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		_ = analyzeBounded(t, data)
	})
}

// TestAnalyzeMutants runs the deterministic mutant corpus (the one the real-kernel
// scenario loads) through Analyze with the same bounds, and checks most are refused.
func TestAnalyzeMutants(t *testing.T) {
	for _, seed := range admissionSeeds(t) {
		refused := 0
		const n = 200
		for i := 0; i < n; i++ {
			m := mutant.Mutate(seed, 16, i)
			if err := analyzeBounded(t, m.Data); err != nil {
				refused++
			}
		}
		// Truncations and trailing bytes are always refused; flips and words often.
		if refused < n/2 {
			t.Errorf("%d-byte seed: only %d of %d mutants refused", len(seed), refused, n)
		}
		t.Logf("%d-byte seed: %d of %d mutants refused", len(seed), refused, n)
	}
}

// BenchmarkAnalyzeDebian measures the admission check on Debian's policy.33 and on sid's
// 35 (b.N walks each).
func BenchmarkAnalyzeDebian(b *testing.B) {
	for _, f := range []string{
		filepath.Join(testutil.DebianPolicyDir(b), "policy", "policy.33"),
		filepath.Join(testutil.Trixie(b), "debian-policy", "policy.35"),
	} {
		data, err := os.ReadFile(f)
		if err != nil {
			b.Fatal(err)
		}
		b.Run(filepath.Base(f), func(b *testing.B) {
			b.SetBytes(int64(len(data)))
			b.ReportAllocs()
			for b.Loop() {
				if _, err := Analyze(data); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// secondPrimaryTwice returns data with the type table's second primary entry (starting at
// off) given the first one's value.
func secondPrimaryTwice(data []byte, off int) []byte {
	le := binary.LittleEndian
	var first uint32
	for {
		value, primary := le.Uint32(data[off+4:]), le.Uint32(data[off+8:])&typeFlagPrimary != 0
		if primary && first != 0 {
			return put32(data, off+4, first)
		}
		if primary {
			first = value
		}
		off += 16 + int(le.Uint32(data[off:]))
	}
}

func TestRadixSort(t *testing.T) {
	for _, keys := range [][]uint64{{5}, {3, 1, 2}, {1 << 63, 7, 1 << 40, 7, 0, 255, 256}} {
		got := append([]uint64(nil), keys...)
		radixSort(got)
		want := append([]uint64(nil), keys...)
		slices.Sort(want)
		if !slices.Equal(got, want) {
			t.Errorf("radixSort(%v) = %v", keys, got)
		}
	}
}
