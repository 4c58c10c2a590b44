package imagefile

import (
	"bytes"
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"syscall"
	"testing"
	"time"
	"unsafe"

	"golang.org/x/sys/unix"
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

// resident reports which of path's pages are in the page cache (mincore of a mapping).
func resident(t *testing.T, path string) []bool {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	st, _ := f.Stat()
	m, err := unix.Mmap(int(f.Fd()), 0, int(st.Size()), unix.PROT_READ, unix.MAP_SHARED)
	if err != nil {
		t.Fatal(err)
	}
	defer unix.Munmap(m)
	vec := make([]byte, (len(m)+os.Getpagesize()-1)/os.Getpagesize())
	// mincore(2): x/sys has no wrapper.
	if _, _, e := unix.Syscall(unix.SYS_MINCORE, uintptr(unsafe.Pointer(&m[0])), uintptr(len(m)), uintptr(unsafe.Pointer(&vec[0]))); e != 0 {
		t.Fatal(os.NewSyscallError("mincore", e))
	}
	in := make([]bool, len(vec))
	for i, v := range vec {
		in[i] = v&1 != 0
	}
	return in
}

// evict drops path's pages from the page cache (written back first), or skips the test
// when the filesystem keeps them (tmpfs).
func evict(t *testing.T, path string) {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if err := f.Sync(); err != nil {
		t.Fatal(err)
	}
	if err := unix.Fadvise(int(f.Fd()), 0, 0, unix.FADV_DONTNEED); err != nil {
		t.Fatal(err)
	}
	if slices.Contains(resident(t, path), true) {
		t.Skipf("%s: the filesystem keeps its pages in memory (tmpfs?): nothing to prefetch", path)
	}
}

func TestPrefetchReadsAheadUpToTheLimit(t *testing.T) {
	dir := t.TempDir()
	whole, part := filepath.Join(dir, "whole"), filepath.Join(dir, "part")
	data := bytes.Repeat([]byte("0123456789abcdef"), 1<<18) // 4 MiB
	for _, p := range []string{whole, part} {
		if err := os.WriteFile(p, data, 0o644); err != nil {
			t.Fatal(err)
		}
		evict(t, p)
	}
	const limit = 1 << 20
	Prefetch([]Ahead{{whole, 1 << 30}, {part, limit}}, nil)
	// The reads were requested; wait (bounded) for the device to complete them.
	page := os.Getpagesize()
	deadline := time.Now().Add(20 * time.Second)
	for {
		w, p := resident(t, whole), resident(t, part)
		if !slices.Contains(w, false) && !slices.Contains(p[:limit/page], false) {
			if slices.Contains(p[limit/page:], true) {
				t.Fatalf("pages past the limit were read: %d of %d", count(p[limit/page:]), len(p)-limit/page)
			}
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("after Prefetch: %d of %d pages of the whole file and %d of %d below the limit in memory", count(w), len(w), count(p[:limit/page]), limit/page)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

func count(v []bool) int {
	n := 0
	for _, b := range v {
		if b {
			n++
		}
	}
	return n
}

// TestPrefetchSpecialFiles: whatever sits at a path, Prefetch finishes (a FIFO without a
// writer does not hold it, /dev/zero is not read, an 8 GiB file is read only to its limit)
// and so do its lookups of the same paths.
func TestPrefetchSpecialFiles(t *testing.T) {
	m := specials(t, t.TempDir())
	var files []Ahead
	var lookups []string
	for _, p := range m {
		files = append(files, Ahead{p, 1 << 20})
		lookups = append(lookups, p)
	}
	done := make(chan struct{})
	go func() { Prefetch(files, lookups); close(done) }()
	select {
	case <-done:
	case <-time.After(10 * time.Second):
		t.Fatal("Prefetch hangs")
	}
}
