package handoff

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/nsinit/nsinit/internal/testutil"
)

// copyFile copies src to dst (mode 0755), creating dst's directory.
func copyFile(t *testing.T, src, dst string) {
	t.Helper()
	data, err := os.ReadFile(src)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.MkdirAll(filepath.Dir(dst), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(dst, data, 0o755); err != nil {
		t.Fatal(err)
	}
}

// TestLoadsPolicy: only a systemd that reaches libselinux (bookworm's, through the library
// in its RUNPATH) counts as loading the policy itself; a static binary, a script, a
// systemd whose libraries are missing or a binary with another name do not, so that
// nsinit loads for them. Each root has /sbin/init -> /lib/systemd/systemd (absolute, so
// resolved inside the root).
func TestLoadsPolicy(t *testing.T) {
	self, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	bookworm := func(t *testing.T) string {
		return filepath.Join(testutil.MinbaseSystemd(t), "lib/systemd/systemd")
	}
	tests := []struct {
		name  string
		setup func(t *testing.T, root string) // builds root; "" for the provisioned tree
		want  bool
		how   string
	}{
		{"static binary named systemd", func(t *testing.T, root string) {
			copyFile(t, self, filepath.Join(root, "lib/systemd/systemd"))
		}, false, ""},
		{"script named systemd", func(t *testing.T, root string) {
			os.MkdirAll(filepath.Join(root, "lib/systemd"), 0o755)
			os.WriteFile(filepath.Join(root, "lib/systemd/systemd"), []byte("#!/bin/sh\n"), 0o755)
		}, false, ""},
		{"dangling link", func(*testing.T, string) {}, false, ""},
		{"bookworm systemd without its libraries", func(t *testing.T, root string) {
			copyFile(t, bookworm(t), filepath.Join(root, "lib/systemd/systemd"))
		}, false, ""},
		{"bookworm systemd under another name", func(t *testing.T, root string) {
			copyFile(t, bookworm(t), filepath.Join(root, "lib/systemd/other"))
			os.Symlink("other", filepath.Join(root, "lib/systemd/systemd"))
		}, false, ""},
		{"bookworm minbase-systemd", nil, true, "libsystemd-core-252.so, which needs libselinux.so.1"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var root string
			if tc.setup == nil {
				root = testutil.MinbaseSystemd(t)
			} else {
				root = t.TempDir()
				tc.setup(t, root)
				os.MkdirAll(filepath.Join(root, "sbin"), 0o755)
				if err := os.Symlink("/lib/systemd/systemd", filepath.Join(root, "sbin/init")); err != nil {
					t.Fatal(err)
				}
			}
			got, how := LoadsPolicy(root, Target{Path: filepath.Join(root, "sbin/init")})
			if got != tc.want || !strings.Contains(how, tc.how) {
				t.Errorf("LoadsPolicy = %v (%q), want %v (%q)", got, how, tc.want, tc.how)
			}
		})
	}
}
