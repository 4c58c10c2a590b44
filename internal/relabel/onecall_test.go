package relabel

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestFileMounts: the mount table gives the mount points below the start, by lookup key,
// with mountinfo's escapes undone; a table that cannot be read turns the one-call walk off.
func TestFileMounts(t *testing.T) {
	root := t.TempDir()
	for _, d := range []string{"etc", "srv/a b", "outside"} {
		if err := os.MkdirAll(filepath.Join(root, d), 0o755); err != nil {
			t.Fatal(err)
		}
	}
	for _, f := range []string{"etc/hosts", "srv/a b/tab\tname", "outside/file"} {
		if err := os.WriteFile(filepath.Join(root, f), nil, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	esc := func(p string) string {
		return strings.NewReplacer(" ", `\040`, "\t", `\011`, "\n", `\012`, `\`, `\134`).Replace(p)
	}
	line := func(id int, mp string) string {
		return fmt.Sprintf("%d 1 0:%d / %s rw,relatime shared:1 - ext4 /dev/vda rw\n", id, id, esc(mp))
	}
	table := func(t *testing.T, lines ...string) string {
		proc := t.TempDir()
		if err := os.MkdirAll(filepath.Join(proc, "self"), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(proc, "self", "mountinfo"), []byte(strings.Join(lines, "")), 0o644); err != nil {
			t.Fatal(err)
		}
		return proc
	}
	ok := table(t, line(20, "/"), line(21, root), line(22, filepath.Join(root, "etc")), line(23, filepath.Join(root, "etc/hosts")),
		line(24, filepath.Join(root, "srv/a b/tab\tname")), line(25, "/proc"))
	for _, tt := range []struct {
		name, proc, start string
		want              []string
		ok                bool
	}{
		{"below the root", ok, root, []string{"/etc", "/etc/hosts", "/srv/a b/tab\tname"}, true},
		{"below a start", ok, filepath.Join(root, "srv"), []string{"/srv/a b/tab\tname"}, true},
		{"none below the start", ok, filepath.Join(root, "outside"), nil, true},
		{"no table", filepath.Join(root, "missing"), root, nil, false},
		{"not a mount table", table(t, "garbage\n"), root, nil, false},
	} {
		t.Run(tt.name, func(t *testing.T) {
			got, ok := fileMounts(tt.proc, root, tt.start)
			if ok != tt.ok || len(got) != len(tt.want) {
				t.Fatalf("fileMounts = %v, %v; want %v, %v", got, ok, tt.want, tt.ok)
			}
			for _, k := range tt.want {
				if !got[k] {
					t.Errorf("fileMounts = %v: %q missing", got, k)
				}
			}
		})
	}
}
