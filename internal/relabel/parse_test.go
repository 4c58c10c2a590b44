package relabel

import (
	"fmt"
	"runtime"
	"slices"
	"strings"
	"testing"
)

func TestParseCustomizableTypes(t *testing.T) {
	tests := []struct {
		name, in string
		has      []string
		hasNot   []string
		err      string
	}{
		{"debian", "mount_loopback_t\npublic_content_rw_t\npublic_content_t\nswapfile_t\n", []string{"mount_loopback_t", "public_content_rw_t", "public_content_t", "swapfile_t"}, []string{"etc_t", ""}, ""},
		{"no final newline", "a_t\nb_t", []string{"a_t", "b_t"}, nil, ""},
		{"empty lines", "\n\na_t\n\n", []string{"a_t"}, []string{""}, ""},
		{"empty file", "", nil, []string{""}, ""},
		{"crlf", "a_t\r\n", nil, nil, ":1:"},
		{"trailing blank", "a_t\nb_t \n", nil, nil, ":2:"},
		{"comment is not special", "# c\n", nil, nil, ":1:"},
		{"nul", "a\x00_t\n", nil, nil, ":1:"},
		{"context not type", "system_u:object_r:a_t:s0\n", nil, nil, ":1:"},
		{"too long", strings.Repeat("x", 5000) + "\n", nil, nil, ":1: line longer"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			s, err := ParseCustomizableTypes(strings.NewReader(tc.in), "ct")
			if tc.err != "" {
				if err == nil || !strings.Contains(err.Error(), tc.err) {
					t.Fatalf("error %v, want %q", err, tc.err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			for _, h := range tc.has {
				if !s.Has(h) {
					t.Errorf("missing %q", h)
				}
			}
			for _, h := range tc.hasNot {
				if s.Has(h) {
					t.Errorf("has %q", h)
				}
			}
			if s.Len() != len(tc.has) {
				t.Errorf("len %d, want %d", s.Len(), len(tc.has))
			}
		})
	}
	var none *TypeSet
	if none.Has("a_t") || none.Len() != 0 {
		t.Error("nil set not empty")
	}
	if s, err := LoadCustomizableTypes("/nonexistent/customizable_types"); err != nil || s.Len() != 0 {
		t.Errorf("missing file: %v %v", s, err)
	}
}

func FuzzParseCustomizableTypes(f *testing.F) {
	f.Add("public_content_t\nswapfile_t\n")
	f.Add("a\r\n\x00\n")
	f.Add(strings.Repeat("y", 4097))
	f.Fuzz(func(t *testing.T, in string) {
		s, err := ParseCustomizableTypes(strings.NewReader(in), "fuzz")
		if err != nil {
			return
		}
		// Every accepted type is a whole line of the input, and every non-empty line is a type.
		for _, line := range strings.Split(in, "\n") {
			if line != "" && !s.Has(line) {
				t.Fatalf("line %q accepted but not in the set", line)
			}
		}
		if s.Has("") {
			t.Fatal("the empty type is in the set")
		}
	})
}

func TestContextType(t *testing.T) {
	tests := []struct{ in, typ, with string }{
		{"system_u:object_r:etc_t:s0", "etc_t", "system_u:object_r:X:s0"},
		{"u:r:t", "t", "u:r:X"},
		{"u:r:t:s0-s0:c0.c1023", "t", "u:r:X:s0-s0:c0.c1023"},
		{"u:r:t:s0:c1,c2", "t", "u:r:X:s0:c1,c2"},
		{"u:r:t:s0 - s1:c0", "t", "u:r:X:s0 - s1:c0"},
		{"u:r:t:a:b:c", "t", "u:r:X:a:b:c"},
		{"::", "", "::X"},
	}
	for _, tc := range tests {
		typ, err := contextType(tc.in)
		if err != nil || typ != tc.typ {
			t.Errorf("%q: type %q %v, want %q", tc.in, typ, err, tc.typ)
			continue
		}
		if got := withType(tc.in, "X"); got != tc.with {
			t.Errorf("withType(%q): %q, want %q", tc.in, got, tc.with)
		}
	}
	for _, bad := range []string{"", "u:r", "not a context", "u:r:t:1:2:3:4", "u r:r:t", "u:r:t\n", "u:r:t\t:s0", "u:r:t:s0\r", "kernel"} {
		if typ, err := contextType(bad); err == nil {
			t.Errorf("%q accepted, type %q", bad, typ)
		}
	}
}

func FuzzContextType(f *testing.F) {
	for _, s := range []string{"system_u:object_r:etc_t:s0", "u:r:t", "a:b:c:d:e:f", "::::::", "u r:r:t:s"} {
		f.Add(s, "new_t")
	}
	f.Fuzz(func(t *testing.T, cur, typ string) {
		old, err := contextType(cur)
		if err != nil || strings.ContainsAny(typ, ": \t\n\r") {
			return
		}
		next := withType(cur, typ)
		got, err := contextType(next)
		if err != nil || got != typ {
			t.Fatalf("withType(%q, %q) = %q: type %q, %v", cur, typ, next, got, err)
		}
		if withType(next, old) != cur {
			t.Fatalf("withType does not round-trip on %q", cur)
		}
	})
}

func TestDecide(t *testing.T) {
	types := &TypeSet{types: map[string]struct{}{"cust_t": {}}}
	want := "system_u:object_r:etc_t:s0"
	tests := []struct {
		cur   string
		has   bool
		force bool
		next  string
		v     verdict
		err   bool
	}{
		{"", false, false, want, relabel, false},
		{want, true, false, "", keepUnchanged, false},
		{"staff_u:object_r:etc_t:s0:c1", true, false, "", keepUnchanged, false},
		{"staff_u:object_r:etc_t:s0:c1", true, true, want, relabel, false},
		{"staff_u:object_r:tmp_t:s0:c1", true, false, "staff_u:object_r:etc_t:s0:c1", relabel, false},
		{"system_u:object_r:cust_t:s0", true, false, "", keepCustomized, false},
		{"system_u:object_r:cust_t:s0", true, true, want, relabel, false},
		{"garbage", true, false, "", 0, true},
		{"garbage", true, true, want, relabel, false},
	}
	for _, tc := range tests {
		next, v, err := decide(tc.cur, tc.has, want, tc.force, types)
		if (err != nil) != tc.err || (err == nil && (next != tc.next || v != tc.v)) {
			t.Errorf("decide(%q, force=%v) = %q %v %v", tc.cur, tc.force, next, v, err)
		}
	}
}

func TestComparePos(t *testing.T) {
	positions := [][]uint32{{}, {1}, {2}, {1, 1}, {1, 2}, {2, 1}, {1, 1, 1}, {3, 0, 5}}
	for _, order := range positions {
		for _, idx := range []uint32{0, 1, 2, 5} {
			for _, pos := range positions {
				if got, want := comparePos(order, idx, pos), slices.Compare(position(order, idx), pos); got != want {
					t.Errorf("comparePos(%v, %d, %v) = %d, want %d", order, idx, pos, got, want)
				}
			}
		}
	}
}

// TestCustomizableTypesAllocationBoundedBySize: customizable_types costs memory in
// proportion to its size whatever it holds: the most distinct types MaxCustomizableTypesSize
// bytes can name, one type over and over, blank lines.
func TestCustomizableTypesAllocationBoundedBySize(t *testing.T) {
	var distinct strings.Builder
	for i := 0; distinct.Len() < MaxCustomizableTypesSize-8; i++ {
		fmt.Fprintf(&distinct, "%x\n", i)
	}
	for _, tc := range []struct {
		name    string
		data    string
		perByte float64
	}{
		{"distinct types", distinct.String(), 24},
		{"one type repeated", strings.Repeat("a\n", MaxCustomizableTypesSize/2), 0.1},
		{"blank lines", strings.Repeat("\n", MaxCustomizableTypesSize), 0.1},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var before, after runtime.MemStats
			runtime.GC()
			runtime.ReadMemStats(&before)
			s, err := ParseCustomizableTypes(strings.NewReader(tc.data), "customizable_types")
			runtime.ReadMemStats(&after)
			if err != nil {
				t.Fatal(err)
			}
			n := after.TotalAlloc - before.TotalAlloc
			ratio := float64(n) / float64(len(tc.data))
			t.Logf("%s: %d bytes, %d types, %d allocated (%.2f per byte)", tc.name, len(tc.data), s.Len(), n, ratio)
			if ratio > tc.perByte {
				t.Errorf("allocated %.2f bytes per input byte, want ≤ %.2f", ratio, tc.perByte)
			}
		})
	}
}
