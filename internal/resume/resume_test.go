package resume

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"golang.org/x/sys/unix"
)

func TestSealRead(t *testing.T) {
	fd, err := Seal([]byte(`{"pid":1}`))
	if err != nil {
		t.Fatal(err)
	}
	got, err := Read("/proc", fd)
	if err != nil || string(got) != `{"pid":1}` {
		t.Fatalf("Read = %q, %v", got, err)
	}
	if _, err := unix.FcntlInt(uintptr(fd), unix.F_GETFD, 0); err == nil {
		t.Errorf("Read left descriptor %d open", fd)
	}
	if _, err := Seal(make([]byte, Limit+1)); err == nil {
		t.Errorf("Seal accepted more than Limit")
	}
}

// memfd makes a memfd named name holding data with the given seals, as a forger would.
func memfd(t *testing.T, name string, data []byte, s int) int {
	t.Helper()
	fd, err := unix.MemfdCreate(name, unix.MFD_CLOEXEC|unix.MFD_ALLOW_SEALING)
	if err != nil {
		t.Fatal(err)
	}
	if err := writeAll(fd, data); err != nil {
		t.Fatal(err)
	}
	if s != 0 {
		if _, err := unix.FcntlInt(uintptr(fd), unix.F_ADD_SEALS, s); err != nil {
			t.Fatal(err)
		}
	}
	return fd
}

// TestReadRefusesForgeries: only a memfd made as Seal makes one is state.
func TestReadRefusesForgeries(t *testing.T) {
	file, err := os.Create(filepath.Join(t.TempDir(), Name))
	if err != nil {
		t.Fatal(err)
	}
	fileFD, err := unix.Dup(int(file.Fd()))
	file.Close()
	if err != nil {
		t.Fatal(err)
	}
	for _, tt := range []struct {
		name string
		fd   int
		want string
	}{
		{"stdin", 0, "cannot be a state memfd"},
		{"none", -1, "cannot be a state memfd"},
		{"not open", 999, "999"},
		{"a regular file", fileFD, "not nsinit's state memfd"},
		{"another memfd's name", memfd(t, "other", []byte("{}"), seals), "not nsinit's state memfd"},
		{"unsealed", memfd(t, Name, []byte("{}"), 0), "not sealed"},
		{"writable", memfd(t, Name, []byte("{}"), unix.F_SEAL_SEAL|unix.F_SEAL_SHRINK|unix.F_SEAL_GROW), "not sealed"},
		{"too large", memfd(t, Name, make([]byte, Limit+1), seals), "more than"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			got, err := Read("/proc", tt.fd)
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("Read = %q, %v; want an error containing %q", got, err, tt.want)
			}
		})
	}
}
