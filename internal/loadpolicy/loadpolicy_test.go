package loadpolicy

import (
	"bytes"
	"encoding/binary"
	"errors"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/nsinit/nsinit/internal/policydb"
	"github.com/nsinit/nsinit/internal/policydb/policytest"
	"github.com/nsinit/nsinit/internal/testutil"
	"golang.org/x/sys/unix"
)

// policyDir creates a directory with the given files.
func policyDir(t *testing.T, files map[string][]byte) string {
	t.Helper()
	dir := t.TempDir()
	for name, data := range files {
		if err := os.WriteFile(filepath.Join(dir, name), data, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return dir
}

func TestReadSelection(t *testing.T) {
	tests := []struct {
		name      string
		files     map[string][]byte
		kernelMax int
		want      int    // FileVersion chosen, 0 for an error
		wantErr   string // substring of the error
	}{
		{"exact", map[string][]byte{"policy.33": policytest.Image(33), "policy.32": policytest.Image(32)}, 33, 33, ""},
		{"highest below", map[string][]byte{"policy.30": policytest.Image(30), "policy.29": policytest.Image(29)}, 33, 30, ""},
		{"ignores newer when older exists", map[string][]byte{"policy.35": policytest.Image(35), "policy.31": policytest.Image(31)}, 33, 31, ""},
		{"only newer, refused", map[string][]byte{"policy.35": fixture(t, "neveraudit.35")}, 33, 0, "policy.35 present, kernel supports ≤ 33"},
		{"only newer, malformed", map[string][]byte{"policy.35": policytest.Image(35)}, 33, 0, "malformed policy"},
		{"empty dir", map[string][]byte{"README": []byte("x")}, 33, 0, "holds no policy.N"},
		{"truncated", map[string][]byte{"policy.33": policytest.Image(33)[:20]}, 33, 0, "truncated"},
		{"random bytes", map[string][]byte{"policy.33": []byte("\x01\x02\x03\x04 random junk, not a policy at all")}, 33, 0, "bad magic"},
		{"module package", map[string][]byte{"policy.33": append(binary.LittleEndian.AppendUint32(nil, policydb.ModuleMagic), make([]byte, 40)...)}, 33, 0, "module package"},
		{"header newer than kernel", map[string][]byte{"policy.33": policytest.Image(34)}, 33, 0, "header says version 34"},
		{"empty file", map[string][]byte{"policy.33": nil}, 33, 0, "too short"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir := policyDir(t, tt.files)
			img, err := Read(dir, tt.kernelMax)
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("Read error = %v, want it to contain %q", err, tt.wantErr)
				}
				if !strings.Contains(err.Error(), dir) {
					t.Fatalf("error %q does not name the directory or file", err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if img.FileVersion != tt.want || img.Path != filepath.Join(dir, "policy."+strconv.Itoa(tt.want)) {
				t.Fatalf("chose %s (version %d), want version %d", img.Path, img.FileVersion, tt.want)
			}
		})
	}
}

func TestReadMissingDir(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "nope")
	_, err := Read(dir, 33)
	var np *NoPolicyError
	if !errors.As(err, &np) || !strings.Contains(err.Error(), dir) || !strings.Contains(err.Error(), "no such file") {
		t.Fatalf("Read on a missing dir = %v", err)
	}
}

func TestReadNotRegular(t *testing.T) {
	dir := t.TempDir()
	if err := os.Mkdir(filepath.Join(dir, "policy.33"), 0o755); err != nil {
		t.Fatal(err)
	}
	if _, err := Read(dir, 33); err == nil || !strings.Contains(err.Error(), "not a regular file") {
		t.Fatalf("Read of a directory named policy.33 = %v", err)
	}
}

func TestReadNameMismatchWarns(t *testing.T) {
	dir := policyDir(t, map[string][]byte{"policy.33": policytest.Image(32)})
	img, err := Read(dir, 33)
	if err != nil || len(img.Warnings) != 1 || !strings.Contains(img.Warnings[0], "header says 32") {
		t.Fatalf("Read = %+v, %v; want a warning about the version mismatch", img, err)
	}
}

// fixture returns one of policydb's checkpolicy-built fixtures.
func fixture(t *testing.T, name string) []byte {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("..", "policydb", "testdata", name))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func TestReadDowngrade(t *testing.T) {
	// policy.34 cannot go to 33 (an allowxperm rule inside a conditional), policy.35 can:
	// the lowest newer file is tried first, and a refusal moves on to the next.
	dir := policyDir(t, map[string][]byte{"policy.35": fixture(t, "rich.35"), "policy.34": fixture(t, "condxperm.34")})
	img, err := Read(dir, 33)
	if err != nil {
		t.Fatal(err)
	}
	if !img.Downgraded || img.Header.Version != 33 || img.FileVersion != 35 || !bytes.Equal(img.Data, fixture(t, "rich.33")) {
		t.Fatalf("Read = %+v, want policy.35 downgraded to 33", img.Header)
	}
	// When every newer file is refused the error lists why.
	dir = policyDir(t, map[string][]byte{"policy.35": fixture(t, "neveraudit.35"), "policy.34": fixture(t, "condxperm.34")})
	_, err = Read(dir, 33)
	for _, want := range []string{"neveraudit", "policy.35", "policy.34", "checkpolicy -M -b -c 33", "semodule -B", "kernel supports ≤ 33"} {
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Fatalf("Read with refusals = %v, want it to mention %q", err, want)
		}
	}
	// A malformed newer image stops the search, as a libsepol parse failure does.
	rich := fixture(t, "rich.35")
	dir = policyDir(t, map[string][]byte{"policy.35": fixture(t, "rich.35"), "policy.34": rich[:len(rich)/2]})
	var inv *InvalidError
	if _, err := Read(dir, 33); !errors.As(err, &inv) || !strings.Contains(err.Error(), "policy.34") {
		t.Fatalf("Read with a malformed newer image = %v", err)
	}
}

func TestFit(t *testing.T) {
	for _, tt := range []struct {
		file       string
		kernelMax  int
		downgraded bool
		refused    bool
	}{
		{"rich.33", 33, false, false},
		{"rich.34", 35, false, false},
		{"rich.35", 34, true, false},
		{"neveraudit.35", 33, false, true},
		{"nlmsg.34", 33, false, true},
	} {
		data := fixture(t, tt.file)
		h, err := policydb.ParseHeader(data)
		if err != nil {
			t.Fatal(err)
		}
		img := &Image{Path: tt.file, Header: h, Data: data}
		err = Fit(img, tt.kernelMax)
		var re *policydb.RefusedError
		if errors.As(err, &re) != tt.refused || (err != nil && !tt.refused) || img.Downgraded != tt.downgraded {
			t.Errorf("Fit(%s, %d) = %v, downgraded %v", tt.file, tt.kernelMax, err, img.Downgraded)
		}
		if err == nil && img.Header.Version > tt.kernelMax {
			t.Errorf("Fit(%s, %d) left version %d", tt.file, tt.kernelMax, img.Header.Version)
		}
	}
}

type fakeLoader struct{ err error }

func (f fakeLoader) Load([]byte) error { return f.err }

func TestLoadError(t *testing.T) {
	img := &Image{Path: "/etc/selinux/x/policy/policy.33", Data: policytest.Image(33)}
	if _, err := Load(fakeLoader{}, img); err != nil {
		t.Fatal(err)
	}
	_, err := Load(fakeLoader{&os.PathError{Op: "write", Path: "/sys/fs/selinux/load", Err: unix.EINVAL}}, img)
	if err == nil || !strings.Contains(err.Error(), img.Path) || !strings.Contains(err.Error(), "dmesg") || !errors.Is(err, unix.EINVAL) {
		t.Fatalf("Load error = %v", err)
	}
}

// TestReadDebian selects Debian's real built policy.
func TestReadDebian(t *testing.T) {
	dir := filepath.Join(testutil.DebianPolicyDir(t), "policy")
	img, err := Read(dir, 33)
	if err != nil {
		t.Fatal(err)
	}
	if img.FileVersion != 33 || !img.Header.MLS || len(img.Data) < 1<<20 {
		t.Fatalf("Debian policy: %s version %d, %d bytes", img.Path, img.FileVersion, len(img.Data))
	}
	if _, err := Read(dir, 32); err == nil || !strings.Contains(err.Error(), "policy.33 present, kernel supports ≤ 32") {
		t.Fatalf("Debian policy on a version-32 kernel: %v", err)
	}
}

// TestReadDowngradeDebian: a policy directory holding only Debian's policy compiled at 34
// (Debian 13's checkpolicy) or 35 loads on a version-33 kernel through the verified
// in-memory downgrade, and the file on disk is untouched.
func TestReadDowngradeDebian(t *testing.T) {
	for _, v := range []int{34, 35} {
		src := filepath.Join(testutil.Trixie(t), "debian-policy", "policy."+strconv.Itoa(v))
		data, err := os.ReadFile(src)
		if err != nil {
			t.Fatal(err)
		}
		dir := policyDir(t, map[string][]byte{"policy." + strconv.Itoa(v): data})
		img, err := Read(dir, 33)
		if err != nil {
			t.Fatalf("policy.%d: %v", v, err)
		}
		if !img.Downgraded || img.Header.Version != 33 || img.FileVersion != v {
			t.Fatalf("policy.%d: %+v", v, img.Header)
		}
		if after, _ := os.ReadFile(filepath.Join(dir, "policy."+strconv.Itoa(v))); !bytes.Equal(after, data) {
			t.Fatalf("policy.%d was modified on disk", v)
		}
	}
}

// recordingLoader remembers whether anything was written.
type recordingLoader struct{ writes int }

func (r *recordingLoader) Load([]byte) error { r.writes++; return nil }

// TestLoadAdmission: Load writes nothing the admission check refuses, and the refusal names
// the file, the section and the byte offset.
func TestLoadAdmission(t *testing.T) {
	rich := fixture(t, "rich.33")
	for _, tt := range []struct {
		name string
		data []byte
		want []string
	}{
		{"trailing garbage", append(append([]byte(nil), rich...), "junk"...), []string{"end of policy", "byte 3246", "4 unexpected trailing bytes"}},
		{"truncated", rich[:len(rich)-3], []string{"type attribute map", "needs"}},
		{"header-only body", policytest.Image(35), []string{"malformed policy at byte"}},
		{"old version", policytest.Image(31), []string{"only versions 33-35", "checkpolicy -M -b -c 33"}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			h, err := policydb.ParseHeader(tt.data)
			if err != nil {
				t.Fatal(err)
			}
			img := &Image{Path: "/img/etc/selinux/default/policy/policy.33", Header: h, Data: tt.data}
			var l recordingLoader
			_, err = Load(&l, img)
			var inv *InvalidError
			if !errors.As(err, &inv) || l.writes != 0 {
				t.Fatalf("Load = %v after %d writes, want an InvalidError and no write", err, l.writes)
			}
			for _, w := range append(tt.want, img.Path, "refused before the load") {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q does not contain %q", err, w)
				}
			}
		})
	}
	// What passes is written once.
	h, _ := policydb.ParseHeader(rich)
	var l recordingLoader
	if _, err := Load(&l, &Image{Path: "policy.33", Header: h, Data: rich}); err != nil || l.writes != 1 {
		t.Fatalf("Load of a valid image = %v, %d writes", err, l.writes)
	}
}

// TestLoadAdmissionDebian: Debian's real policies pass the check, at every version nsinit
// can load them (34 and 35 after the downgrade to 33, and as they are).
func TestLoadAdmissionDebian(t *testing.T) {
	files := []string{filepath.Join(testutil.DebianPolicyDir(t), "policy", "policy.33")}
	for _, v := range []string{"33", "34", "35"} {
		files = append(files, filepath.Join(testutil.Trixie(t), "debian-policy", "policy."+v))
	}
	for _, f := range files {
		for _, kmax := range []int{33, 35} {
			img, err := ReadFile(f, 0)
			if err != nil {
				t.Fatal(err)
			}
			if err := Fit(img, kmax); err != nil {
				t.Fatalf("%s at %d: %v", f, kmax, err)
			}
			if err := Admit(img); err != nil {
				t.Errorf("%s at %d: %v", f, kmax, err)
			}
		}
	}
}

// TestLikely: the file the boot prefetches is the one Read picks when the kernel takes the
// newest version present.
func TestLikely(t *testing.T) {
	for _, tt := range []struct {
		name  string
		files map[string][]byte
		want  int // 0: none
	}{
		{"two", map[string][]byte{"policy.33": policytest.Image(33), "policy.32": policytest.Image(32)}, 33},
		{"numeric order", map[string][]byte{"policy.9": policytest.Image(30), "policy.30": policytest.Image(30)}, 30},
		{"not a version", map[string][]byte{"policy.33": policytest.Image(33), "policy.34.bak": nil, "policy.035": nil}, 33},
		{"none", map[string][]byte{"README": []byte("x")}, 0},
	} {
		t.Run(tt.name, func(t *testing.T) {
			dir := policyDir(t, tt.files)
			got := Likely(dir)
			if tt.want == 0 {
				if got != "" {
					t.Fatalf("Likely = %q, want none", got)
				}
				return
			}
			img, err := Read(dir, tt.want)
			if err != nil {
				t.Fatal(err)
			}
			if got != img.Path || got != filepath.Join(dir, "policy."+strconv.Itoa(tt.want)) {
				t.Fatalf("Likely = %q, Read for kernel %d picks %q", got, tt.want, img.Path)
			}
		})
	}
	if got := Likely(filepath.Join(t.TempDir(), "missing")); got != "" {
		t.Fatalf("Likely of a missing directory = %q", got)
	}
}
