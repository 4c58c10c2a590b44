package selinuxfs

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestLookRejectsPlainDirectory: nodes named maxns, maxnsdepth and unshare in a directory
// that is not a selinuxfs (an image's /sys, a tmpfs) prove nothing.
func TestLookRejectsPlainDirectory(t *testing.T) {
	fs := fakeFS(t, map[string]string{"maxns": "65535", "maxnsdepth": "32", "unshare": "1"})
	n, err := Look(fs.Dir)
	if !errors.Is(err, ErrNotSelinuxfs) || n.NamespaceSupport() || n.HasUnshare {
		t.Fatalf("Look on a plain directory = %+v, %v; want nothing and ErrNotSelinuxfs", n, err)
	}
	if _, err := Look(filepath.Join(fs.Dir, "missing")); !errors.Is(err, os.ErrNotExist) || !strings.Contains(err.Error(), "missing") {
		t.Fatalf("Look on a missing directory: %v", err)
	}
}

func TestNamespaceSupport(t *testing.T) {
	for _, tt := range []struct {
		n    Nodes
		want bool
	}{
		{Nodes{}, false},
		{Nodes{MaxNS: true}, false},
		{Nodes{MaxNSDepth: true}, false},
		{Nodes{MaxNS: true, MaxNSDepth: true}, true},
		{Nodes{HasUnshare: true, Unshare: "0"}, true},
	} {
		if got := tt.n.NamespaceSupport(); got != tt.want {
			t.Errorf("%+v.NamespaceSupport() = %v, want %v", tt.n, got, tt.want)
		}
	}
}

func TestParseAccess(t *testing.T) {
	for _, tt := range []struct {
		reply string
		want  uint32
		ok    bool
	}{
		{"ffffffff ffffffff 0 ffffffff 1 0", 0xffffffff, true},
		{"2 ffffffff 0 ffffffff 17 1", 2, true},
		{"0 ffffffff 0 ffffffff 3 0\x00", 0, true},
		{"", 0, false},
		{"2 ffffffff 0", 0, false},
		{"zz ffffffff 0 ffffffff 1 0", 0, false},
		{"1ffffffff ffffffff 0 ffffffff 1 0", 0, false},
	} {
		got, err := parseAccess(tt.reply)
		if (err == nil) != tt.ok || got != tt.want {
			t.Errorf("parseAccess(%q) = %#x, %v; want %#x, ok %v", tt.reply, got, err, tt.want, tt.ok)
		}
	}
}

func TestPermBit(t *testing.T) {
	fs := fakeFS(t, map[string]string{"class/file/perms/entrypoint": "18\n", "class/file/perms/bad": "40", "class/file/perms/zero": "0"})
	if bit, ok, err := fs.PermBit("file", "entrypoint"); bit != 1<<17 || !ok || err != nil {
		t.Errorf("PermBit(file, entrypoint) = %#x, %v, %v", bit, ok, err)
	}
	if bit, ok, err := fs.PermBit("file", "map"); bit != 0 || ok || err != nil {
		t.Errorf("PermBit of an undefined permission = %#x, %v, %v; want not defined, no error", bit, ok, err)
	}
	for _, perm := range []string{"bad", "zero", "../x", ""} {
		if _, _, err := fs.PermBit("file", perm); err == nil {
			t.Errorf("PermBit(file, %q) accepted", perm)
		}
	}
}
