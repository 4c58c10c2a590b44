package fcontext

import (
	"encoding/binary"
	"errors"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"testing"

	"github.com/nsinit/nsinit/internal/imagefile"
)

// allocated returns the bytes f allocates on the heap (all allocations, freed or not).
func allocated(f func()) uint64 {
	var before, after runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&before)
	f()
	runtime.ReadMemStats(&after)
	return after.TotalAlloc - before.TotalAlloc
}

// TestLoadAllocationBoundedBySize: what a load allocates is bounded by what the file holds,
// not by a count taken from it. Lines that hold no spec (blank, comment, blanks only) cost
// little beyond the text itself; a file of the shortest possible specs costs a constant
// per byte. A reserve sized by the newline count made 1 GiB of blank lines a 64 GiB
// allocation (fatal error: runtime: out of memory).
func TestLoadAllocationBoundedBySize(t *testing.T) {
	const size = 4 << 20
	for _, tc := range []struct {
		name string
		line string
		// perByte bounds the bytes allocated per input byte: the text itself is one, the
		// entry array reserved by the size estimate (specBytes) at most 1.125 more.
		perByte float64
	}{
		{"blank lines", "\n", 2.25},
		{"CRLF lines", "\r\n", 2.25},
		{"comment lines", "#\n", 2.25},
		{"blanks only", " \t\n", 2.25},
		{"NUL lines", "\x00\n", 2.25},
		// "/a b\n": a 64-byte entry per 5 bytes, the index, and the entry array's growth
		// (every array it outgrew counts: this is allocation, not what stays in use).
		{"shortest specs", "/a b\n", 48},
		{"shortest regex specs", "/. b\n", 48},
	} {
		t.Run(tc.name, func(t *testing.T) {
			fc := writeFiles(t, map[string]string{"file_contexts": strings.Repeat(tc.line, size/len(tc.line))})
			var err error
			n := allocated(func() { _, err = Load(fc) })
			if err != nil {
				t.Fatal(err)
			}
			ratio := float64(n) / size
			t.Logf("%s: %d bytes of input, %d allocated (%.2f per byte)", tc.name, size, n, ratio)
			if ratio > tc.perByte {
				t.Errorf("Load allocated %.2f bytes per input byte, want ≤ %.2f", ratio, tc.perByte)
			}
		})
	}
}

// TestLoadSizeLimits: a text or compiled input larger than its limit is refused before it
// is read, with an error naming the file; the limit of a text file is its own even though
// the (larger) compiled limit governs the open.
func TestLoadSizeLimits(t *testing.T) {
	for _, tc := range []struct {
		name  string
		magic []byte
		size  int64
		ok    bool
	}{
		{"text at the limit", nil, MaxTextSize, true},
		{"text over the limit", nil, MaxTextSize + 1, false},
		{"compiled over the limit", binary.NativeEndian.AppendUint32(nil, binMagic), MaxCompiledSize + 1, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			fc := filepath.Join(t.TempDir(), "file_contexts")
			f, err := os.Create(fc)
			if err != nil {
				t.Fatal(err)
			}
			// A sparse file: NULs, which end every line as blank.
			if _, err := f.Write(tc.magic); err != nil {
				t.Fatal(err)
			}
			if err := f.Truncate(tc.size); err != nil {
				t.Fatal(err)
			}
			f.Close()
			if tc.ok {
				if testing.Short() {
					t.Skip("reads a file of the limit's size")
				}
				if _, err := Load(fc); err != nil {
					t.Fatalf("Load of a %d-byte file = %v, want it read", tc.size, err)
				}
				return
			}
			_, err = Load(fc)
			if !errors.Is(err, imagefile.ErrTooLarge) || !strings.Contains(err.Error(), fc) {
				t.Fatalf("Load = %v, want ErrTooLarge naming %s", err, fc)
			}
		})
	}
}

// TestBinHugeCounts: the counts a compiled file states (stems, specs, contexts, a node's
// literals, regexes and children) are believed only as far as the bytes that follow can
// hold them: a few bytes claiming 2³² - 1 of each are refused without a large allocation.
func TestBinHugeCounts(t *testing.T) {
	const huge = ^uint32(0)
	v5 := func(words ...uint32) []byte {
		b := binary.NativeEndian.AppendUint32(nil, binMagic)
		b = binary.NativeEndian.AppendUint32(b, 1) // version 1: no version strings
		for _, w := range words {
			b = binary.NativeEndian.AppendUint32(b, w)
		}
		return b
	}
	v6 := func(words ...uint32) []byte {
		b := binary.BigEndian.AppendUint32(nil, binMagic)
		for _, w := range []uint32{binV6, 0, 0} { // version, empty pcre and arch strings
			b = binary.BigEndian.AppendUint32(b, w)
		}
		b = binary.BigEndian.AppendUint64(b, uint64(huge)) // total specs
		for _, w := range words {
			b = binary.BigEndian.AppendUint32(b, w)
		}
		return b
	}
	// rootNode is a v6 file without contexts whose root node (stem length 1, the stem
	// "\0") starts with the given counts.
	rootNode := func(counts ...uint32) []byte {
		b := v6(0) // no contexts
		b = append(b, 0, 1, 0)
		for _, c := range counts {
			b = binary.BigEndian.AppendUint32(b, c)
		}
		return b
	}
	for _, tc := range []struct {
		name string
		data []byte
	}{
		{"v5 stems", v5(huge)},
		{"v5 stems with one", v5(huge, 1, 'a')},
		{"v5 specs", v5(0, huge)},
		{"v5 specs with one", v5(0, huge, 2, 'b')},
		{"v6 contexts", v6(huge)},
		{"v6 literals", rootNode(huge)},
		{"v6 regexes", rootNode(0, huge)},
		{"v6 children", rootNode(0, 0, huge)},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var err error
			n := allocated(func() {
				l := newLoader()
				if binKind(tc.data) == 5 {
					err = l.parseBinV5(tc.data, "fc.bin", false)
				} else {
					err = l.parseBinV6(tc.data, "fc.bin", false)
				}
			})
			if err == nil {
				t.Fatal("accepted")
			}
			t.Logf("%d bytes: %v; %d bytes allocated", len(tc.data), err, n)
			if n > 1<<20 {
				t.Errorf("refusing %d bytes allocated %d", len(tc.data), n)
			}
		})
	}
}

// TestMappedFileTruncated: a compiled file that shrinks after it was mapped (the pages past
// its new end fault with SIGBUS) is an error, not a crash of PID 1.
func TestMappedFileTruncated(t *testing.T) {
	data := v6([][3]string{{"/a", "", "u:r:a_t:s0"}}, [][3]string{{"/a.*", "--", "u:r:re_t:s0"}})
	// Pad so that the file spans pages; the specs sit at the start, the fault hits later.
	data = append(data, make([]byte, 3*os.Getpagesize())...)
	p := filepath.Join(t.TempDir(), "file_contexts.bin")
	if err := os.WriteFile(p, data, 0o644); err != nil {
		t.Fatal(err)
	}
	f, st, err := imagefile.Open(p, MaxCompiledSize)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if err := os.Truncate(p, 0); err != nil {
		t.Fatal(err)
	}
	err = newLoader().compiled(f, st, 6)
	if !errors.Is(err, imagefile.ErrChanged) || !strings.Contains(err.Error(), p) {
		t.Fatalf("parsing a truncated mapping = %v, want ErrChanged naming %s", err, p)
	}
}

// TestSubsAllocationBoundedBySize: a substitution file costs memory in proportion to its
// size, whatever its lines hold: many short aliases, one line of MaxSubsSize bytes, blank
// lines (each line used to cost a slice of its own, each alias a growing list).
func TestSubsAllocationBoundedBySize(t *testing.T) {
	for _, tc := range []struct {
		name    string
		data    string
		perByte float64
	}{
		// "a b\n": a 32-byte sub per 4 bytes.
		{"shortest aliases", strings.Repeat("a b\n", MaxSubsSize/4), 8.1},
		{"one long line", strings.Repeat("a", MaxSubsSize-4) + " b\n", 0.1},
		{"blank lines", strings.Repeat("\n", MaxSubsSize), 0.1},
	} {
		t.Run(tc.name, func(t *testing.T) {
			n := allocated(func() { parseSubs(tc.data) })
			ratio := float64(n) / float64(len(tc.data))
			t.Logf("%s: %d bytes, %d allocated (%.2f per byte)", tc.name, len(tc.data), n, ratio)
			if ratio > tc.perByte {
				t.Errorf("parseSubs allocated %.2f bytes per input byte, want ≤ %.2f", ratio, tc.perByte)
			}
		})
	}
}
