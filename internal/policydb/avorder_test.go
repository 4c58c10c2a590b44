package policydb

import (
	"encoding/binary"
	"math/rand/v2"
	"os"
	"path/filepath"
	"slices"
	"testing"

	"github.com/nsinit/nsinit/internal/testutil"
)

// avtabEntries splits the unconditional table of data into its entries (key, and the datum
// or the extended permissions).
func avtabEntries(t *testing.T, data []byte) (start, end int, entries [][]byte) {
	t.Helper()
	spans, _ := sections(t, data)
	s := spans[2] // avtab
	off := s.start + 4
	for off < s.end {
		size := 12
		if binary.LittleEndian.Uint16(data[off+6:])&avtabXperms != 0 {
			size = 8 + 2 + 4*avtabXpermWords
		}
		entries = append(entries, data[off:off+size])
		off += size
	}
	return s.start, s.end, entries
}

// withAvtab returns data with its unconditional table replaced by entries.
func withAvtab(data []byte, start, end int, entries [][]byte) []byte {
	b := binary.LittleEndian.AppendUint32(append([]byte(nil), data[:start]...), uint32(len(entries)))
	for _, e := range entries {
		b = append(b, e...)
	}
	return append(b, data[end:]...)
}

// TestAvtabWrittenOrder: what semodule and checkpolicy write is in libsepol's hash order
// (2^20 buckets), so admission checks uniqueness without sorting (the fixtures, and Debian's bookworm, trixie
// and sid policies when the cache is provisioned).
func TestAvtabWrittenOrder(t *testing.T) {
	images := map[string][]byte{}
	for _, name := range fixtures(t) {
		images[name] = fixture(t, name)
	}
	if cache := os.Getenv("NSINIT_CACHE"); cache != "" {
		files := []string{filepath.Join(testutil.DebianPolicyDir(t), "policy", "policy.33")}
		for _, suite := range []string{"trixie", "sid"} {
			m, _ := filepath.Glob(filepath.Join(cache, suite+"-policy", "etc", "selinux", "default", "policy", "policy.*"))
			files = append(files, m...)
		}
		for _, f := range files {
			b, err := os.ReadFile(f)
			if err != nil {
				t.Fatal(err)
			}
			images[f] = b
		}
	}
	for name, data := range images {
		w, err := walk(data, nil)
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		if w.av.hashBits != 20 {
			t.Errorf("%s: avtab of %d keys in hash order of %d bits, want 20 (0: sorted)", name, len(w.av.keys), w.av.hashBits)
		}
	}
}

// TestAvtabAnyOrder: a table in another order is checked by the sort, with the same
// verdicts: admitted without duplicates, refused with one however far apart.
func TestAvtabAnyOrder(t *testing.T) {
	data := fixture(t, "rich.35")
	start, end, entries := avtabEntries(t, data)
	if len(entries) < 3 {
		t.Fatalf("rich.35 has %d avtab entries", len(entries))
	}
	reversed := slices.Clone(entries)
	slices.Reverse(reversed)
	shuffled := slices.Clone(entries)
	rand.New(rand.NewPCG(15, 1)).Shuffle(len(shuffled), func(i, j int) { shuffled[i], shuffled[j] = shuffled[j], shuffled[i] })
	first := nonXperm(t, entries)
	for _, tt := range []struct {
		name    string
		entries [][]byte
		dup     bool
	}{
		{"reversed", reversed, false},
		{"shuffled", shuffled, false},
		{"reversed, first entry again at the end", append(slices.Clone(reversed), first), true},
		{"in order, first entry again at the end", append(slices.Clone(entries), first), true},
		{"shuffled, first entry again at the start", append([][]byte{first}, shuffled...), true},
	} {
		t.Run(tt.name, func(t *testing.T) {
			img := withAvtab(data, start, end, tt.entries)
			if tt.dup {
				wantRefused(t, img, start, end+len(first), []string{"avtab"}, "duplicate entry")
				return
			}
			w, err := walk(img, nil)
			if err != nil {
				t.Fatalf("refused: %v", err)
			}
			if w.av.hashBits != 0 {
				t.Errorf("keys out of order taken as hash order of %d bits", w.av.hashBits)
			}
		})
	}
}

// nonXperm returns the first entry that is not an extended-permission one.
func nonXperm(t *testing.T, entries [][]byte) []byte {
	for _, e := range entries {
		if binary.LittleEndian.Uint16(e[6:])&avtabXperms == 0 {
			return e
		}
	}
	t.Fatal("no plain avtab entry")
	return nil
}

// Single rule kinds of avtab keys (AVTAB_ALLOWED, AVTAB_AUDITALLOW, AVTAB_CHANGE).
const (
	avtabAllowed    = 0x0001
	avtabAuditAllow = 0x0002
	avtabChange     = 0x0040
)

// TestHashOrdered: one rank (bucket, source, target, class) holds its kinds in insertion
// order, so a kind repeated after another kind is still a duplicate; a rank lower than
// its predecessor is not hash order.
func TestHashOrdered(t *testing.T) {
	const b = 20
	a := avKey(3, 4, 1, avtabAllowed)
	aa := avKey(3, 4, 1, avtabAuditAllow)
	lo, hi := avKey(3, 4, 2, avtabAllowed), avKey(9, 9, 2, avtabAllowed)
	if rankOf(lo, avtabHash(lo, b)).compare(rankOf(hi, avtabHash(hi, b))) > 0 {
		lo, hi = hi, lo
	}
	for _, tt := range []struct {
		name         string
		keys         []uint64
		ordered, dup bool
	}{
		{"one rank, two kinds", []uint64{a, aa}, true, false},
		{"one rank, two kinds, other order", []uint64{aa, a}, true, false},
		{"kind repeated after another", []uint64{a, aa, a}, true, true},
		{"kind repeated", []uint64{a, a}, true, true},
		{"ranks ascending", []uint64{lo, hi}, true, false},
		{"ranks descending", []uint64{hi, lo}, false, false},
	} {
		ordered, dup := hashOrdered(tt.keys, b, make([]uint32, len(tt.keys)))
		if ordered != tt.ordered || dup != tt.dup {
			t.Errorf("%s: hashOrdered = %v, %v; want %v, %v", tt.name, ordered, dup, tt.ordered, tt.dup)
		}
	}
}

// TestAvIndexHas: the lookup the conditional rules need finds every key of the table and
// no other, in hash order and sorted.
func TestAvIndexHas(t *testing.T) {
	w, err := walk(fixture(t, "rich.35"), nil)
	if err != nil {
		t.Fatal(err)
	}
	keys := w.av.keys
	shuffled := slices.Clone(keys)
	rand.New(rand.NewPCG(15, 2)).Shuffle(len(shuffled), func(i, j int) { shuffled[i], shuffled[j] = shuffled[j], shuffled[i] })
	sorted := avIndex{keys: shuffled}
	if sorted.checkUnique(uint32(len(shuffled))) || sorted.hashBits != 0 {
		t.Fatalf("shuffled keys: duplicate, or hash order of %d bits", sorted.hashBits)
	}
	for _, x := range []avIndex{w.av, sorted} {
		for _, k := range keys {
			if !x.has(k) {
				t.Errorf("index (hash bits %d) misses key %#x", x.hashBits, k)
			}
			other := k&^(0xffff<<48) | avtabChange<<48
			if !slices.Contains(keys, other) && x.has(other) {
				t.Errorf("index (hash bits %d) has key %#x, not in the table", x.hashBits, other)
			}
		}
	}
}

// TestAnalyzeCondRepeatsUnconditional: a conditional type rule that repeats an unconditional
// one is refused whichever way the unconditional keys were indexed.
func TestAnalyzeCondRepeatsUnconditional(t *testing.T) {
	data := fixture(t, "rich.35")
	start, end, entries := avtabEntries(t, data)
	var rule []byte
	for _, e := range entries {
		if binary.LittleEndian.Uint16(e[6:])&avtabType != 0 {
			rule = e
		}
	}
	if rule == nil {
		t.Fatal("rich.35 has no unconditional type rule")
	}
	reversed := slices.Clone(entries)
	slices.Reverse(reversed)
	for name, img := range map[string][]byte{"hash order": data, "reversed": withAvtab(data, start, end, reversed)} {
		t.Run(name, func(t *testing.T) {
			if _, err := Analyze(img); err != nil {
				t.Fatalf("the image itself is refused: %v", err)
			}
			spans, _ := sections(t, img)
			cond := spans[3]
			le := binary.LittleEndian
			if le.Uint32(img[cond.start:]) == 0 {
				t.Fatal("no conditional block")
			}
			// Block 0: state, expression count and nodes (two words each), then the true list.
			list := cond.start + 4 + 8 + 8*int(le.Uint32(img[cond.start+8:]))
			b := append([]byte(nil), img[:list+4]...)
			b = append(b, rule...)
			b = append(b, img[list+4:]...)
			le.PutUint32(b[list:], le.Uint32(img[list:])+1)
			wantRefused(t, b, cond.start, cond.end+len(rule), []string{"conditional block"}, "already exists outside of a conditional")
		})
	}
}
