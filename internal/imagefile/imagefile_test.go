package imagefile

import (
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"
)

// specials builds, in dir, one of each thing an image may hold at a path nsinit reads.
func specials(t *testing.T, dir string) map[string]string {
	t.Helper()
	m := map[string]string{
		"fifo":     filepath.Join(dir, "fifo"),
		"dir":      filepath.Join(dir, "dir"),
		"dangling": filepath.Join(dir, "dangling"),
		"huge":     filepath.Join(dir, "huge"),
		"zero":     "/dev/zero",
		"missing":  filepath.Join(dir, "missing"),
	}
	if err := syscall.Mkfifo(m["fifo"], 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.Mkdir(m["dir"], 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink(filepath.Join(dir, "nowhere"), m["dangling"]); err != nil {
		t.Fatal(err)
	}
	// Sparse: 8 GiB of apparent size, no disk.
	f, err := os.Create(m["huge"])
	if err != nil {
		t.Fatal(err)
	}
	if err := f.Truncate(8 << 30); err != nil {
		t.Fatal(err)
	}
	f.Close()
	return m
}

func TestReadFileRefusesSpecialFiles(t *testing.T) {
	m := specials(t, t.TempDir())
	for _, tc := range []struct {
		name string
		want error
	}{
		{"fifo", ErrNotRegular},
		{"dir", ErrNotRegular},
		{"zero", ErrNotRegular},
		{"huge", ErrTooLarge},
		{"dangling", fs.ErrNotExist},
		{"missing", fs.ErrNotExist},
	} {
		t.Run(tc.name, func(t *testing.T) {
			done := make(chan error, 1)
			go func() { _, err := ReadFile(m[tc.name], 1<<20); done <- err }()
			select {
			case err := <-done:
				if !errors.Is(err, tc.want) {
					t.Fatalf("ReadFile(%s) = %v, want %v", m[tc.name], err, tc.want)
				}
				if !strings.Contains(err.Error(), m[tc.name]) {
					t.Errorf("error %q does not name the path", err)
				}
			case <-time.After(10 * time.Second):
				t.Fatalf("ReadFile(%s) hangs", m[tc.name])
			}
		})
	}
}

func TestReadFile(t *testing.T) {
	p := filepath.Join(t.TempDir(), "f")
	for _, content := range []string{"", "x", strings.Repeat("line\n", 1000)} {
		if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
		got, err := ReadFile(p, 1<<20)
		if err != nil || string(got) != content {
			t.Fatalf("ReadFile = %q, %v; want %q", got, err, content)
		}
		if _, err := ReadFile(p, int64(len(content))-1); len(content) > 0 && !errors.Is(err, ErrTooLarge) {
			t.Fatalf("limit one below the size: %v, want ErrTooLarge", err)
		}
	}
}
