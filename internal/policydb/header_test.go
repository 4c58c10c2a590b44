package policydb

import (
	"encoding/binary"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/nsinit/nsinit/internal/testutil"
)

// header builds a header with the given fields.
func header(magic uint32, id string, version, config, syms, ocons uint32) []byte {
	le := binary.LittleEndian
	b := le.AppendUint32(nil, magic)
	b = le.AppendUint32(b, uint32(len(id)))
	b = append(b, id...)
	for _, v := range []uint32{version, config, syms, ocons} {
		b = le.AppendUint32(b, v)
	}
	return b
}

func TestParseHeader(t *testing.T) {
	good := header(Magic, Identifier, 33, 1|4, 8, 9)
	tests := []struct {
		name    string
		data    []byte
		want    Header
		wantErr string
	}{
		{"valid 33 mls allow", good, Header{Version: 33, MLS: true, HandleUnknown: AllowUnknown, Symbols: 8, ObjectContexts: 9}, ""},
		{"valid 30 deny", header(Magic, Identifier, 30, 0, 8, 7), Header{Version: 30, Symbols: 8, ObjectContexts: 7}, ""},
		{"empty", nil, Header{}, "too short"},
		{"module", header(ModuleMagic, "SE Linux Module", 19, 0, 8, 7), Header{}, "module package"},
		{"random magic", header(0x12345678, Identifier, 33, 0, 8, 9), Header{}, "bad magic"},
		{"xen", header(Magic, XenIdentifier, 33, 0, 8, 9), Header{}, "Xen"},
		{"bad id", header(Magic, "SE Lunix", 33, 0, 8, 9), Header{}, "identifier"},
		{"long id", header(Magic, "SE Linux!", 33, 0, 8, 9), Header{}, "identifier length"},
		{"truncated", good[:20], Header{}, "truncated"},
		{"version low", header(Magic, Identifier, 14, 0, 8, 7), Header{}, "outside"},
		{"version high", header(Magic, Identifier, 36, 0, 8, 9), Header{}, "outside"},
		{"mls too old", header(Magic, Identifier, 18, 1, 8, 7), Header{}, "MLS"},
		{"bad unknown", header(Magic, Identifier, 33, 6, 8, 9), Header{}, "handle_unknown"},
		{"bad syms", header(Magic, Identifier, 33, 0, 7, 9), Header{}, "symbol tables"},
		{"bad ocons", header(Magic, Identifier, 33, 0, 8, 7), Header{}, "object-context"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := ParseHeader(tt.data)
			if tt.wantErr != "" {
				var he *HeaderError
				if !errors.As(err, &he) || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("ParseHeader error = %v, want a HeaderError containing %q", err, tt.wantErr)
				}
				return
			}
			if err != nil || got != tt.want {
				t.Fatalf("ParseHeader = %+v, %v; want %+v", got, err, tt.want)
			}
		})
	}
}

// TestParseHeaderDebian reads the header of Debian's real policy.33.
func TestParseHeaderDebian(t *testing.T) {
	data, err := os.ReadFile(filepath.Join(testutil.DebianPolicyDir(t), "policy", "policy.33"))
	if err != nil {
		t.Fatal(err)
	}
	h, err := ParseHeader(data)
	if err != nil {
		t.Fatal(err)
	}
	if h.Version != 33 || !h.MLS {
		t.Fatalf("Debian policy header = %+v, want version 33 with MLS", h)
	}
}

func FuzzParseHeader(f *testing.F) {
	f.Add(header(Magic, Identifier, 33, 1, 8, 9))
	f.Add(header(ModuleMagic, "SE Linux Module", 19, 0, 8, 7))
	f.Add([]byte{0x8c, 0xff, 0x7c, 0xf9, 8, 0, 0, 0})
	f.Fuzz(func(t *testing.T, data []byte) {
		h, err := ParseHeader(data)
		if err == nil && (h.Version < MinVersion || h.Version > MaxVersion || len(data) < headerSize) {
			t.Fatalf("accepted invalid header %+v from %d bytes", h, len(data))
		}
	})
}
