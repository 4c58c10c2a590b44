package fcontext

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/nsinit/nsinit/internal/testutil"
)

// TestImageSemantics reads the release from the version nodes of libselinux.so.1 wherever
// a distribution puts it.
func TestImageSemantics(t *testing.T) {
	for _, tc := range []struct {
		name, dir, content string
		want               Semantics
		found              bool
	}{
		{"debian 12", "usr/lib/x86_64-linux-gnu", "\x00LIBSELINUX_1.0\x00LIBSELINUX_3.4\x00", Libselinux34, true},
		{"3.8", "usr/lib/x86_64-linux-gnu", "LIBSELINUX_3.4\x00LIBSELINUX_3.5\x00LIBSELINUX_3.8\x00", Libselinux34, true},
		{"fedora 43", "usr/lib64", "LIBSELINUX_3.8\x00LIBSELINUX_3.9\x00", Libselinux311, true},
		{"3.11 (newest node 3.10)", "usr/lib/aarch64-linux-gnu", "LIBSELINUX_3.9\x00LIBSELINUX_3.10\x00", Libselinux311, true},
		{"no version nodes", "usr/lib", "\x7fELF", Libselinux34, true},
		{"none", "", "", Newest, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			root := t.TempDir()
			if tc.dir != "" {
				dir := filepath.Join(root, tc.dir)
				if err := os.MkdirAll(dir, 0o755); err != nil {
					t.Fatal(err)
				}
				if err := os.WriteFile(filepath.Join(dir, "libselinux.so.1"), []byte(tc.content), 0o644); err != nil {
					t.Fatal(err)
				}
			}
			sem, lib, found, err := ImageSemantics(root)
			if err != nil || sem != tc.want || found != tc.found {
				t.Fatalf("ImageSemantics = %v, %q, %v, %v; want %v, found %v", sem, lib, found, err, tc.want, tc.found)
			}
		})
	}
}

// TestImageSemanticsRefuses: a libselinux.so.1 that is not a regular file is an error
// naming it, not a guess.
func TestImageSemanticsRefuses(t *testing.T) {
	root := t.TempDir()
	if err := os.MkdirAll(filepath.Join(root, "usr/lib64/libselinux.so.1"), 0o755); err != nil {
		t.Fatal(err)
	}
	if _, _, _, err := ImageSemantics(root); err == nil || !strings.Contains(err.Error(), "usr/lib64/libselinux.so.1") {
		t.Fatalf("ImageSemantics on a directory: %v", err)
	}
}

// TestImageSemanticsReal reads Debian's own libraries: bookworm's 3.4 and sid's 3.11.
func TestImageSemanticsReal(t *testing.T) {
	for _, tc := range []struct {
		root string
		want Semantics
	}{
		{testutil.Minbase(t), Libselinux34},
		{filepath.Join(testutil.CacheDir(t), "sid-libselinux"), Libselinux311},
	} {
		sem, lib, found, err := ImageSemantics(tc.root)
		if err != nil || !found || sem != tc.want {
			t.Errorf("ImageSemantics(%s) = %v, %q, %v, %v; want %v", tc.root, sem, lib, found, err, tc.want)
		}
	}
}

// TestSemanticsFor: explicit values, the releases each stands for, auto, and bad values.
func TestSemanticsFor(t *testing.T) {
	empty := t.TempDir()
	for _, tc := range []struct {
		v    string
		want Semantics
		ok   bool
	}{
		{"3.4", Libselinux34, true}, {"3.7", Libselinux34, true}, {"3.11", Libselinux311, true},
		{"3.9", Libselinux311, true}, {"auto", Newest, true}, {"3.8", 0, false}, {"", 0, false}, {"4", 0, false},
	} {
		sem, why, err := SemanticsFor(tc.v, empty)
		if (err == nil) != tc.ok || tc.ok && sem != tc.want {
			t.Errorf("SemanticsFor(%q) = %v, %q, %v; want %v (ok %v)", tc.v, sem, why, err, tc.want, tc.ok)
		}
	}
}

// TestSemanticsNewline: 3.4 matches an exact spec through PCRE's "$" (which also matches
// before a final newline); 3.9+ compares exact specs as strings (lookup_check_node).
func TestSemanticsNewline(t *testing.T) {
	fc := filepath.Join(t.TempDir(), "file_contexts")
	if err := os.WriteFile(fc, []byte("/a\tsystem_u:object_r:a_t:s0\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		sem  Semantics
		want bool
	}{{Libselinux34, true}, {Libselinux311, false}} {
		h, err := LoadOptions(fc, Options{Semantics: tc.sem})
		if err != nil {
			t.Fatal(err)
		}
		if _, ok := h.Lookup("/a\n", 0); ok != tc.want {
			t.Errorf("%v: Lookup(\"/a\\n\") labelled = %v, want %v", tc.sem, ok, tc.want)
		}
	}
}

// TestAmbiguous: only keys with two or more exact specs that apply (or a final newline)
// may be answered differently by 3.4 and 3.11, through aliases too; every other lookup
// agrees under both (checked on the same keys).
func TestAmbiguous(t *testing.T) {
	dir := t.TempDir()
	fc := filepath.Join(dir, "file_contexts")
	os.WriteFile(fc, []byte("/two\tsystem_u:object_r:a_t:s0\n/two\tsystem_u:object_r:b_t:s0\n"+
		"/typed\t-d\tsystem_u:object_r:a_t:s0\n/typed\tsystem_u:object_r:b_t:s0\n"+
		"/kinds\t-d\tsystem_u:object_r:a_t:s0\n/kinds\t--\tsystem_u:object_r:b_t:s0\n"+
		"/one\tsystem_u:object_r:a_t:s0\n/re(/.*)?\tsystem_u:object_r:a_t:s0\n/re/x\tsystem_u:object_r:b_t:s0\n"), 0o644)
	os.WriteFile(fc+".subs", []byte("/alias /two\n"), 0o644)
	h := map[Semantics]*Handle{}
	for _, sem := range []Semantics{Libselinux34, Libselinux311} {
		var err error
		if h[sem], err = LoadOptions(fc, Options{Semantics: sem}); err != nil {
			t.Fatal(err)
		}
	}
	const dirMode, fileMode = 0o040000, 0o100000
	for _, tc := range []struct {
		path string
		mode uint32
		want bool
	}{
		{"/two", 0, true}, {"/two", fileMode, true}, {"/alias", 0, true},
		{"/typed", dirMode, true}, {"/typed", fileMode, false}, {"/typed", 0, true},
		{"/kinds", dirMode, false}, {"/kinds", fileMode, false}, {"/kinds", 0, true},
		{"/one", 0, false}, {"/re/x", 0, false}, {"/re/y", 0, false}, {"/none", 0, false},
		{"/one\n", 0, true},
	} {
		for sem, hh := range h {
			if got := hh.Ambiguous(tc.path, tc.mode); got != tc.want {
				t.Errorf("%v: Ambiguous(%q, %o) = %v, want %v", sem, tc.path, tc.mode, got, tc.want)
			}
		}
		a, aok := h[Libselinux34].Lookup(tc.path, tc.mode)
		b, bok := h[Libselinux311].Lookup(tc.path, tc.mode)
		if !tc.want && (a != b || aok != bok) {
			t.Errorf("%q %o not ambiguous, but 3.4 says %q, 3.11 %q", tc.path, tc.mode, a, b)
		}
	}
}
