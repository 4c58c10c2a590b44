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
