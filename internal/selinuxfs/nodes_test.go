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
