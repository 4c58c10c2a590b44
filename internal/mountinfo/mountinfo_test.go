package mountinfo

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestParse(t *testing.T) {
	const info = `22 1 0:21 / / rw shared:1 - ext4 /dev/vda rw
23 22 0:22 / /sys rw,nosuid master:7 - sysfs sysfs rw
25 22 0:24 / /with\040space rw - tmpfs tmpfs rw
26 22 0:25 / /t\011n\012l\134b rw shared:3 - tmpfs tmpfs rw
`
	got, err := Parse(strings.NewReader(info))
	if err != nil {
		t.Fatal(err)
	}
	want := []Mount{{"/", true}, {"/sys", false}, {"/with space", false}, {"/t\tn\nl\\b", true}}
	if len(got) != len(want) {
		t.Fatalf("Parse = %v, want %v", got, want)
	}
	for i := range want {
		if got[i] != want[i] {
			t.Errorf("mount %d = %+v, want %+v", i, got[i], want[i])
		}
	}
	for _, bad := range []string{"1 2 3\n", "22 1 0:21 / /\n"} {
		if _, err := Parse(strings.NewReader(bad)); err == nil {
			t.Errorf("Parse(%q) accepted a short line", bad)
		}
	}
}

func TestUnescape(t *testing.T) {
	for in, want := range map[string]string{
		`/plain`:          "/plain",
		`/a\040b`:         "/a b",
		`a\134b\011c\0`:   "a\\b\tc\\0",
		`/short\04`:       `/short\04`,
		`/not\999octal\`:  `/not\999octal\`,
		`\040\040\040end`: "   end",
	} {
		if got := unescape(in); got != want {
			t.Errorf("unescape(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestBelow(t *testing.T) {
	for _, tc := range []struct {
		p, dir string
		want   bool
	}{
		{"/priv/x", "/priv", true}, {"/privx", "/priv", false}, {"/priv", "/priv", false},
		{"/a", "/", true}, {"/", "/", false}, {"/a/b/c", "/a", true}, {"/b", "/a", false},
	} {
		if got := Below(tc.p, tc.dir); got != tc.want {
			t.Errorf("Below(%q, %q) = %v, want %v", tc.p, tc.dir, got, tc.want)
		}
	}
}

// TestReadNamesThePath: errors say which table.
func TestReadNamesThePath(t *testing.T) {
	proc := t.TempDir()
	if _, err := Read(proc); err == nil || !strings.Contains(err.Error(), filepath.Join(proc, "self", "mountinfo")) {
		t.Errorf("Read of a missing table = %v", err)
	}
	os.MkdirAll(filepath.Join(proc, "self"), 0o755)
	os.WriteFile(filepath.Join(proc, "self", "mountinfo"), []byte("garbage\n"), 0o644)
	if _, err := Read(proc); err == nil || !strings.Contains(err.Error(), "parse") {
		t.Errorf("Read of a malformed table = %v", err)
	}
}

// FuzzParse: no input makes Parse panic, and every mount point it returns is one field of
// the input unescaped (never longer than the input).
func FuzzParse(f *testing.F) {
	f.Add("22 1 0:21 / / rw shared:1 - ext4 /dev/vda rw\n")
	f.Add("25 22 0:24 / /with\\040space rw - tmpfs tmpfs rw\n")
	f.Fuzz(func(t *testing.T, s string) {
		mounts, err := Parse(strings.NewReader(s))
		if err != nil {
			return
		}
		for _, m := range mounts {
			if len(m.Point) > len(s) {
				t.Fatalf("mount point %q longer than the input", m.Point)
			}
		}
	})
}
