package policydb

import (
	"encoding/binary"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// fixture reads testdata/name (built by testdata/gen.sh with a real checkpolicy).
func fixture(tb testing.TB, name string) []byte {
	tb.Helper()
	b, err := os.ReadFile(filepath.Join("testdata", name))
	if err != nil {
		tb.Fatal(err)
	}
	return b
}

// fixtures lists the binary fixtures.
func fixtures(tb testing.TB) []string {
	tb.Helper()
	m, err := filepath.Glob("testdata/*.3[0-9]")
	if err != nil || len(m) == 0 {
		tb.Fatalf("no fixtures: %v", err)
	}
	for i := range m {
		m[i] = filepath.Base(m[i])
	}
	return m
}

func TestAnalyzeFixtures(t *testing.T) {
	tests := []struct {
		file                 string
		version              int
		mls                  bool
		neveraudit           int
		condXperms, nlmsg    int
		rules, cond, condAVs int
	}{
		{"rich.33", 33, true, 0, 0, 0, 11, 2, 4},
		{"rich.34", 34, true, 0, 0, 0, 11, 2, 4},
		{"rich.35", 35, true, 0, 0, 0, 11, 2, 4},
		{"nonmls.33", 33, false, 0, 0, 0, 11, 2, 4},
		{"nonmls.35", 35, false, 0, 0, 0, 11, 2, 4},
		{"condxperm.34", 34, true, 0, 1, 0, 11, 2, 5},
		{"condxperm.35", 35, true, 0, 1, 0, 11, 2, 5},
		{"neveraudit.35", 35, true, 1, 0, 0, 11, 2, 4},
		{"nlmsg.34", 34, true, 0, 0, 1, 12, 2, 4},
	}
	for _, tt := range tests {
		t.Run(tt.file, func(t *testing.T) {
			a, err := Analyze(fixture(t, tt.file))
			if err != nil {
				t.Fatal(err)
			}
			if a.Header.Version != tt.version || a.Header.MLS != tt.mls || a.NeverauditTypes != tt.neveraudit ||
				a.CondXperms.Count != tt.condXperms || a.NlmsgXperms.Count != tt.nlmsg || a.UnknownXperms.Count != 0 ||
				a.Rules != tt.rules || a.CondBlocks != tt.cond || a.CondRules != tt.condAVs || a.Booleans != 2 {
				t.Errorf("Analyze = %+v, want %+v", a, tt)
			}
		})
	}
}

func TestAnalyzeNamesOffendingRules(t *testing.T) {
	a, err := Analyze(fixture(t, "condxperm.34"))
	if err != nil {
		t.Fatal(err)
	}
	got := a.CondXperms.String()
	if want := "allowxperm init_t dev_t:blk_file ioctl (driver) inside `if` on b1, b2 (byte "; !strings.HasPrefix(got, want) {
		t.Errorf("rule = %q, want prefix %q", got, want)
	}
	a, err = Analyze(fixture(t, "nlmsg.34"))
	if err != nil {
		t.Fatal(err)
	}
	if got, want := a.NlmsgXperms.String(), "allowxperm init_t init_t:netlink_route_socket nlmsg (byte "; !strings.HasPrefix(got, want) {
		t.Errorf("rule = %q, want prefix %q", got, want)
	}
}

// TestAnalyzeTruncated: every proper prefix of a valid image is rejected with a typed error.
func TestAnalyzeTruncated(t *testing.T) {
	for _, name := range []string{"rich.35", "nonmls.34", "condxperm.34"} {
		data := fixture(t, name)
		for n := 0; n < len(data); n++ {
			_, err := Analyze(data[:n])
			var fe *FormatError
			var he *HeaderError
			if !errors.As(err, &fe) && !errors.As(err, &he) {
				t.Fatalf("%s[:%d]: err = %v, want a FormatError or HeaderError", name, n, err)
			}
		}
	}
}

// TestAnalyzeBitFlips: flipping any single byte never panics, and whatever is accepted still
// walks to the end.
func TestAnalyzeBitFlips(t *testing.T) {
	for _, name := range []string{"rich.35", "nonmls.33"} {
		data := fixture(t, name)
		rejected := 0
		for i := range data {
			for _, mask := range []byte{0x01, 0x80, 0xff} {
				b := append([]byte(nil), data...)
				b[i] ^= mask
				if _, err := Analyze(b); err != nil {
					rejected++
				}
			}
		}
		// Most flips land in names, values or permission bits the walker need not check;
		// but lengths, counts and bitmap headers must be caught.
		if rejected == 0 {
			t.Errorf("%s: no bit flip was rejected", name)
		}
		t.Logf("%s: %d of %d flips rejected", name, rejected, 3*len(data))
	}
}

// put32 returns a copy of data with the little-endian word at off set to v.
func put32(data []byte, off int, v uint32) []byte {
	b := append([]byte(nil), data...)
	binary.LittleEndian.PutUint32(b[off:], v)
	return b
}

func TestAnalyzeMalformed(t *testing.T) {
	rich := fixture(t, "rich.35")
	// Offsets in rich.35: the three bitmaps start at 32, 44 (with one node: 56) and 80.
	const neveraudit = 80
	tests := []struct {
		name, want string
		data       []byte
	}{
		{"trailing byte", "1 unexpected trailing bytes", append(append([]byte(nil), rich...), 0)},
		{"oversized by 1 MiB", "unexpected trailing bytes", append(append([]byte(nil), rich...), make([]byte, 1<<20)...)},
		{"bitmap node size", "ebitmap node size 32", put32(rich, neveraudit, 32)},
		{"bitmap high bit unaligned", "not a multiple of 64", put32(rich, neveraudit+4, 65)},
		{"bitmap high bit without nodes", "with 0 nodes", put32(rich, neveraudit+4, 64)},
		{"bitmap huge node count", "needs 51539607540 bytes", put32(put32(rich, neveraudit+4, 64), neveraudit+8, 0xffffffff)},
		{"bitmap empty node", "node 0 at bit 0 is empty", withNeveraudit(rich, 0)},
		{"bitmap node beyond high bit", "starts at bit 64 (high bit 64)", withNeveraudit(rich, 64)},
		{"huge symbol count", "(commons entry 1): needs", put32(rich, neveraudit+12+4, 0xffffffff)},
		{"version 30 not walked", "only versions 33-35", put32(put32(rich, 16, 30), 28, 7)},
		{"unknown avtab kind", "not exactly one rule kind", setAvtabKind(t, rich, 0x0003)},
		{"no avtab kind", "not exactly one rule kind", setAvtabKind(t, rich, 0x0800)},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := Analyze(tt.data)
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("Analyze error = %v, want it to contain %q", err, tt.want)
			}
		})
	}
}

// withNeveraudit returns a copy of rich.35 whose (empty) neveraudit bitmap is replaced by
// one with a single node starting at start and holding no bits.
func withNeveraudit(rich []byte, start uint32) []byte {
	le := binary.LittleEndian
	b := append([]byte(nil), rich[:80]...)
	for _, v := range []uint32{64, 64, 1, start, 0, 0} {
		b = le.AppendUint32(b, v)
	}
	return append(b, rich[92:]...)
}

// TestAnalyzeLongConditionBounded: a conditional rule whose block's expression names
// thousands of booleans is described naming only a few of them. (Such an expression cannot
// pass the walk itself: booleans beyond the table are refused, as the kernel refuses them,
// see TestAnalyzeMalformedSections; so the description is built directly.)
func TestAnalyzeLongConditionBounded(t *testing.T) {
	data := fixture(t, "condxperm.34")
	h, _ := ParseHeader(data)
	w := &walker{r: reader{data: data, off: headerSize}, a: &Analysis{Header: h}, h: h}
	for _, step := range []func() error{w.bitmaps, w.symtabs} {
		if err := step(); err != nil {
			t.Fatal(err)
		}
	}
	bools := []uint32{1, 2}
	for v := uint32(1); v <= 5000; v++ {
		bools = append(bools, v)
	}
	x := w.xperm(0, [4]uint16{1, 1, 1, avtabXpermsAllowed}, XpermsIoctlDriver, true, bools)
	if got := x.Booleans; len(got) != maxBooleans+1 || got[0]+got[1] != "b2b1" || got[maxBooleans] != "…" {
		t.Errorf("booleans named: %q", got)
	}
}

// setAvtabKind returns a copy of data whose first avtab entry has the given specified field.
func setAvtabKind(t *testing.T, data []byte, spec uint16) []byte {
	t.Helper()
	off := avtabOffset(t, data)
	b := append([]byte(nil), data...)
	binary.LittleEndian.PutUint16(b[off+4+6:], spec) // skip nel and three u16 key fields
	return b
}

// avtabOffset finds where the avtab starts by walking the sections before it.
func avtabOffset(t *testing.T, data []byte) int {
	t.Helper()
	h, err := ParseHeader(data)
	if err != nil {
		t.Fatal(err)
	}
	w := &walker{r: reader{data: data, off: headerSize}, a: &Analysis{Header: h}, h: h}
	if err := w.bitmaps(); err != nil {
		t.Fatal(err)
	}
	if err := w.symtabs(); err != nil {
		t.Fatal(err)
	}
	return w.r.off
}

// TestFindingsBounded: however many offending entries an image holds, only a few are
// described (each description re-reads symbol tables).
func TestFindingsBounded(t *testing.T) {
	var f Findings
	described := 0
	for i := 0; i < 1000; i++ {
		f.add(func() XpermRule { described++; return XpermRule{Rule: "allowxperm", Offset: i} })
	}
	if f.Count != 1000 || len(f.Examples) != maxExamples || described != maxExamples {
		t.Fatalf("count %d, %d examples, %d described", f.Count, len(f.Examples), described)
	}
	if s := f.String(); !strings.HasSuffix(s, "; and 997 more") {
		t.Errorf("String() = %q", s)
	}
}

// TestAnalyzeCountsTypesAttributesAliases: the type table's entries are split as the
// source declares them (rich.conf: 6 types, 1 attribute, 1 alias), not counted together.
func TestAnalyzeCountsTypesAttributesAliases(t *testing.T) {
	a, err := Analyze(fixture(t, "rich.33"))
	if err != nil {
		t.Fatal(err)
	}
	if a.Types != 6 || a.Attributes != 1 || a.Aliases != 1 {
		t.Fatalf("types %d, attributes %d, aliases %d; want 6, 1, 1", a.Types, a.Attributes, a.Aliases)
	}
}
