package config

import (
	"bytes"
	"errors"
	"flag"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/nsinit/nsinit/internal/testutil"
)

var update = flag.Bool("update", false, "rewrite the golden want files under testdata/etc/selinux")

// w is an expected warning: its line and a piece of its message.
type w struct {
	line int
	has  string
}

// quirk is one row of the quirks table: an input and exactly what Parse must make of it.
type quirk struct {
	name     string
	data     string
	mode     Mode
	modeLine int
	typ      string
	typeLine int
	warns    []w // every warning, in order
}

const noMode = "no valid SELINUX= line"

// quirks covers selinux-userspace.md §A's rules and the lines libselinux reads differently
// from how they look. oracle_test.go runs every input through libselinux too.
func quirks() []quirk {
	long := strings.Repeat("x", pageSize-2) // with "#" and no '\n': one full fgets piece
	return []quirk{
		{name: "plain", data: "SELINUX=enforcing\nSELINUXTYPE=default\n",
			mode: ModeEnforcing, modeLine: 1, typ: "default", typeLine: 2},
		{name: "first valid wins", data: "SELINUX=permissive\nSELINUX=enforcing\n",
			mode: ModePermissive, modeLine: 1, typ: DefaultType,
			warns: []w{{2, "first valid one (line 1: permissive)"}}},
		{name: "disabled then enforcing", data: "SELINUX=disabled\nSELINUX=enforcing\n",
			mode: ModeDisabled, modeLine: 1, typ: DefaultType,
			warns: []w{{2, "a shell or INI reader the last"}}},
		{name: "unknown value skipped", data: "SELINUX=foo\nSELINUX=disabled\n",
			mode: ModeDisabled, modeLine: 2, typ: DefaultType,
			warns: []w{{1, `SELINUX value foo is not enforcing, permissive or disabled`}}},
		{name: "prefix match", data: "SELINUX=permissiveXYZ\n",
			mode: ModePermissive, modeLine: 1, typ: DefaultType,
			warns: []w{{1, `reads SELINUX value "permissiveXYZ" as permissive`}}},
		{name: "word too short", data: "SELINUX=enforce\n", typ: DefaultType,
			warns: []w{{0, noMode}, {1, "SELINUX value enforce is not"}}},
		{name: "value case-insensitive", data: "SELINUX=ENFORCING\n",
			mode: ModeEnforcing, modeLine: 1, typ: DefaultType},
		{name: "lower-case key", data: "selinux=enforcing\n", typ: DefaultType,
			warns: []w{{0, noMode}, {1, `the key is spelt "selinux"`}}},
		{name: "indented key", data: "  SELINUX=enforcing\n", typ: DefaultType,
			warns: []w{{0, noMode}, {1, "it is indented"}}},
		{name: "tab-indented key", data: "\tSELINUX=enforcing\nSELINUX=permissive\n",
			mode: ModePermissive, modeLine: 2, typ: DefaultType,
			warns: []w{{1, "it is indented"}}},
		{name: "KEY = value", data: "SELINUX = enforcing\n", typ: DefaultType,
			warns: []w{{0, noMode}, {1, "blank before '='"}}},
		{name: "blanks after =", data: "SELINUX=  \tenforcing\n",
			mode: ModeEnforcing, modeLine: 1, typ: DefaultType},
		{name: "double quotes", data: "SELINUX=\"enforcing\"\n", typ: DefaultType,
			warns: []w{{0, noMode}, {1, `SELINUX value "enforcing" is quoted`}}},
		{name: "single quotes", data: "SELINUX='permissive'\nSELINUX=enforcing\n",
			mode: ModeEnforcing, modeLine: 2, typ: DefaultType,
			warns: []w{{1, `SELINUX value 'permissive' is quoted`}}},
		{name: "inline comment", data: "SELINUX=enforcing # strict\n",
			mode: ModeEnforcing, modeLine: 1, typ: DefaultType},
		{name: "inline comment without blank", data: "SELINUX=enforcing#strict\n",
			mode: ModeEnforcing, modeLine: 1, typ: DefaultType,
			warns: []w{{1, `reads SELINUX value "enforcing#strict" as enforcing`}}},
		{name: "commented out", data: "#SELINUX=enforcing\n# SELINUXTYPE=mls\n", typ: DefaultType,
			warns: []w{{0, noMode}}},
		{name: "empty value", data: "SELINUX=\nSELINUX=permissive\n",
			mode: ModePermissive, modeLine: 2, typ: DefaultType,
			warns: []w{{1, "SELINUX= has no value"}}},
		{name: "type last wins", data: "SELINUX=enforcing\nSELINUXTYPE=mls\nSELINUXTYPE=default\n",
			mode: ModeEnforcing, modeLine: 1, typ: "default", typeLine: 3,
			warns: []w{{2, "overridden by line 3"}}},
		{name: "type key any case", data: "selinuxtype=mls\n", typ: "mls", typeLine: 1,
			warns: []w{{0, noMode}, {1, `key "selinuxtype": libselinux accepts SELINUXTYPE in any case`}}},
		{name: "type key indented", data: "\t SELINUXTYPE=mls\n", typ: "mls", typeLine: 1,
			warns: []w{{0, noMode}}},
		{name: "type quoted", data: "SELINUXTYPE=\"mls\"\n", typ: `"mls"`, typeLine: 1,
			warns: []w{{0, noMode}, {1, `reads SELINUXTYPE as "\"mls\"" (policy directory "/etc/selinux/\"mls\"") where a shell or INI reader sees "mls"`}}},
		{name: "type inline comment", data: "SELINUXTYPE=mls # secret\n", typ: "mls # secret", typeLine: 1,
			warns: []w{{0, noMode}, {1, `where a shell or INI reader sees "mls"`}}},
		{name: "type KEY = value", data: "SELINUXTYPE = mls\n", typ: DefaultType,
			warns: []w{{0, noMode}, {1, "libselinux ignores this SELINUXTYPE line: there is a blank before '='"}}},
		{name: "type blanks around value", data: "SELINUXTYPE= \tmls \t\n", typ: "mls", typeLine: 1,
			warns: []w{{0, noMode}}},
		{name: "type trailing controls stripped", data: "SELINUXTYPE=mls\t\x01\x7f\n", typ: "mls", typeLine: 1,
			warns: []w{{0, noMode}, {1, `reads SELINUXTYPE as "mls"`}}},
		{name: "type first character kept", data: "SELINUXTYPE=\x01\n", typ: "\x01", typeLine: 1,
			warns: []w{{0, noMode}}},
		{name: "type empty", data: "SELINUXTYPE=\n", typ: "", typeLine: 1,
			warns: []w{{0, noMode}, {1, "empty SELINUXTYPE"}}},
		{name: "type path", data: "SELINUXTYPE=../x\n", typ: "../x", typeLine: 1,
			warns: []w{{0, noMode}, {1, `SELINUXTYPE "../x" is a path`}}},
		{name: "type with NUL", data: "SELINUXTYPE=mls\x00default\n", typ: "mls", typeLine: 1,
			warns: []w{{0, noMode}, {1, "NUL byte at column 16"}}},
		{name: "type trailing backslash", data: "SELINUXTYPE=default\\\nmls\n", typ: `default\`, typeLine: 1,
			warns: []w{{0, noMode}, {1, "trailing backslash"}, {2, "not a KEY=value line"}}},
		{name: "CRLF", data: "SELINUX=enforcing\r\nSELINUXTYPE=mls\r\n",
			mode: ModeEnforcing, modeLine: 1, typ: "mls", typeLine: 2,
			warns: []w{{1, "CRLF line ending"}}},
		{name: "NUL before value", data: "SELINUX=\x00enforcing\n", typ: DefaultType,
			warns: []w{{0, noMode}, {1, "NUL byte at column 9"}, {1, "SELINUX= has no value"}}},
		{name: "NUL inside value", data: "SELINUX=perm\x00issive\nSELINUX=disabled\x00x\n",
			mode: ModeDisabled, modeLine: 2, typ: DefaultType,
			warns: []w{{1, "NUL byte at column 13"}, {1, "SELINUX value perm is not"}, {2, "NUL byte at column 17"}}},
		{name: "NUL in key", data: "SELI\x00NUX=enforcing\n", typ: DefaultType,
			warns: []w{{0, noMode}, {1, "NUL byte at column 5"}}},
		{name: "BOM", data: "\ufeffSELINUX=enforcing\n", typ: DefaultType,
			warns: []w{{0, noMode}, {1, "byte-order mark"}}},
		{name: "BOM before type", data: "\ufeffSELINUXTYPE=mls\n", typ: DefaultType,
			warns: []w{{0, noMode}, {1, "libselinux ignores this SELINUXTYPE line: it starts with a UTF-8 byte-order mark"}}},
		{name: "other keys ignored", data: "SETLOCALDEFS=0\nREQUIRESEUSERS=1\nAUTORELABEL=0\n", typ: DefaultType,
			warns: []w{{0, noMode}}},
		{name: "INI syntax", data: "[main]\nfoo\n=x\nSELINUX=enforcing\n",
			mode: ModeEnforcing, modeLine: 4, typ: DefaultType,
			warns: []w{{1, `section header "main"`}, {2, "not a KEY=value line"}, {3, "an INI reader rejects this line"}}},
		{name: "no newline at end", data: "SELINUXTYPE=mls\nSELINUX=disabled",
			mode: ModeDisabled, modeLine: 2, typ: "mls", typeLine: 1},
		{name: "empty file", data: "", typ: DefaultType, warns: []w{{0, noMode}}},
		{name: "piece of a long line", data: "#" + long + "SELINUX=disabled\nSELINUX=enforcing\n",
			mode: ModeDisabled, modeLine: 1, typ: DefaultType,
			warns: []w{{1, fmt.Sprintf("line is %d bytes long: libselinux reads SELINUX= lines in pieces of %d bytes, each as a line of its own; it sees SELINUX= at byte %d", pageSize-1+16, pageSize-1, pageSize-1)}, {2, "first valid one (line 1: disabled)"}}},
		{name: "value beyond the first piece", data: "SELINUX=" + strings.Repeat(" ", pageSize-1-8) + "enforcing\n", typ: DefaultType,
			warns: []w{{0, noMode}, {1, "bytes long"}, {1, "SELINUX= has no value"}}},
		{name: "line exactly one piece", data: "SELINUX=enforcing" + strings.Repeat(" ", pageSize-2-17) + "\n",
			mode: ModeEnforcing, modeLine: 1, typ: DefaultType},
		{name: "line one byte over", data: "SELINUX=enforcing" + strings.Repeat(" ", pageSize-1-17) + "\n",
			mode: ModeEnforcing, modeLine: 1, typ: DefaultType,
			warns: []w{{1, fmt.Sprintf("line is %d bytes long", pageSize-1)}}},
		{name: "long type", data: "SELINUXTYPE=" + strings.Repeat("y", 5000) + "\n", typ: strings.Repeat("y", 5000), typeLine: 1,
			warns: []w{{0, noMode}, {1, "line is 5012 bytes long"}}},
		{name: "Unicode fold is not ASCII fold", data: "SELINUX=permiſſive\n", typ: DefaultType,
			warns: []w{{0, noMode}, {1, "is not enforcing, permissive or disabled"}}},
	}
}

func TestParseQuirks(t *testing.T) {
	for _, q := range quirks() {
		t.Run(q.name, func(t *testing.T) {
			c, err := Parse("/etc/selinux/config", []byte(q.data))
			if err != nil {
				t.Fatal(err)
			}
			if !c.Found || c.Mode != q.mode || c.ModeLine != q.modeLine || c.Type != q.typ || c.TypeLine != q.typeLine {
				t.Errorf("got mode %v (line %d), type %q (line %d); want %v (line %d), %q (line %d)",
					c.Mode, c.ModeLine, c.Type, c.TypeLine, q.mode, q.modeLine, q.typ, q.typeLine)
			}
			if len(c.Warnings) != len(q.warns) {
				t.Errorf("got %d warnings, want %d:\n%s", len(c.Warnings), len(q.warns), warningList(c))
			}
			for i := range min(len(c.Warnings), len(q.warns)) {
				g, x := c.Warnings[i], q.warns[i]
				if g.Line != x.line || !strings.Contains(g.Message, x.has) || g.File != "/etc/selinux/config" {
					t.Errorf("warning %d: got %q, want line %d containing %q", i, g, x.line, x.has)
				}
			}
		})
	}
}

func warningList(c *Config) string {
	var b strings.Builder
	for _, w := range c.Warnings {
		fmt.Fprintf(&b, "  %s\n", w)
	}
	return b.String()
}

// fixtureDir is the repository's directory of golden config files:
// testdata/etc/selinux/<case>/config (absent for "missing") and <case>/want.
func fixtureDir(t testing.TB) string {
	return filepath.Join(testutil.RepoRoot(t), "testdata", "etc", "selinux")
}

// fixtures returns the golden cases' directories.
func fixtures(t testing.TB) []string {
	ents, err := os.ReadDir(fixtureDir(t))
	if err != nil {
		t.Fatal(err)
	}
	var dirs []string
	for _, e := range ents {
		if e.IsDir() {
			dirs = append(dirs, filepath.Join(fixtureDir(t), e.Name()))
		}
	}
	if len(dirs) < 20 {
		t.Fatalf("only %d fixtures in %s", len(dirs), fixtureDir(t))
	}
	return dirs
}

// dump renders a Config for the golden files, without the path (which varies).
func dump(c *Config) string {
	var b strings.Builder
	fmt.Fprintf(&b, "found %v\nmode %v (line %d)\ntype %q (line %d)\n", c.Found, c.Mode, c.ModeLine, c.Type, c.TypeLine)
	for _, w := range c.Warnings {
		fmt.Fprintf(&b, "warning line %d: %s\n", w.Line, w.Message)
	}
	return b.String()
}

// TestGolden parses every fixture and compares with its want file (go test -update
// rewrites them; review the diff). The long-line fixtures assume 4096-byte pages.
func TestGolden(t *testing.T) {
	for _, dir := range fixtures(t) {
		t.Run(filepath.Base(dir), func(t *testing.T) {
			if strings.HasPrefix(filepath.Base(dir), "long-") && pageSize != 4096 {
				t.Skipf("fixture assumes 4096-byte pages, this machine has %d", pageSize)
			}
			c, err := loadFile(filepath.Join(dir, "config"))
			if err != nil {
				t.Fatal(err)
			}
			got := dump(c)
			want := filepath.Join(dir, "want")
			if *update {
				if err := os.WriteFile(want, []byte(got), 0o644); err != nil {
					t.Fatal(err)
				}
			}
			w, err := os.ReadFile(want)
			if err != nil {
				t.Fatal(err)
			}
			if got != string(w) {
				t.Errorf("%s differs from %s:\ngot:\n%s\nwant:\n%s", filepath.Join(dir, "config"), want, got, w)
			}
		})
	}
}

func TestLoad(t *testing.T) {
	root := t.TempDir()
	c, err := Load(root)
	if err != nil {
		t.Fatalf("missing config: %v", err)
	}
	path := filepath.Join(root, "etc/selinux/config")
	if c.Found || c.Path != path || c.Mode != ModeUnset || c.Type != DefaultType || len(c.Warnings) != 1 ||
		!strings.Contains(c.Warnings[0].String(), path+": file not found") {
		t.Errorf("missing config: got %+v", c)
	}

	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, []byte("SELINUX=enforcing\nSELINUXTYPE=default\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	c, err = Load(root)
	if err != nil || !c.Found || c.Mode != ModeEnforcing || c.Type != "default" || c.Path != path {
		t.Errorf("Load(%s) = %+v, %v", root, c, err)
	}
	if got := c.Layout(root).PolicyFile(33); got != root+"/etc/selinux/default/policy/policy.33" {
		t.Errorf("layout: %s", got)
	}
}

// TestLoadRefuses checks the files Load must not read, each failing fast with an error
// naming the path (a FIFO would block a plain open(2) forever).
func TestLoadRefuses(t *testing.T) {
	for _, tc := range []struct {
		name  string
		setup func(path string) error
		want  string
	}{
		{"directory", func(p string) error { return os.Mkdir(p, 0o755) }, "not a regular file"},
		{"fifo", func(p string) error { return syscall.Mkfifo(p, 0o644) }, "not a regular file"},
		{"device", func(p string) error { return os.Symlink("/dev/zero", p) }, "not a regular file"},
		{"too large", func(p string) error { return os.WriteFile(p, bytes.Repeat([]byte("#\n"), MaxSize/2+1), 0o644) }, "too large"},
		{"dangling parent", func(p string) error {
			return os.WriteFile(filepath.Dir(p)+"/x", nil, 0o644)
		}, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			root := t.TempDir()
			path := filepath.Join(root, "etc/selinux/config")
			if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
				t.Fatal(err)
			}
			if err := tc.setup(path); err != nil {
				t.Fatal(err)
			}
			done := make(chan struct{})
			var c *Config
			var err error
			go func() { c, err = Load(root); close(done) }()
			select {
			case <-done:
			case <-time.After(10 * time.Second):
				t.Fatal("Load blocked")
			}
			if tc.want == "" { // only a missing file: the defaults
				if err != nil || c.Found {
					t.Fatalf("got %+v, %v", c, err)
				}
				return
			}
			if err == nil || !strings.Contains(err.Error(), path) || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("got %v, %v; want an error naming %s and saying %q", c, err, path, tc.want)
			}
		})
	}
}

func TestLoadPermission(t *testing.T) {
	if os.Geteuid() == 0 {
		t.Skip("root reads files whatever their mode")
	}
	root := t.TempDir()
	path := filepath.Join(root, "etc/selinux/config")
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, []byte("SELINUX=enforcing\n"), 0); err != nil {
		t.Fatal(err)
	}
	if _, err := Load(root); !errors.Is(err, fs.ErrPermission) {
		t.Fatalf("got %v, want a permission error", err)
	}
}

func TestWarningString(t *testing.T) {
	if got := (Warning{"/etc/selinux/config", 3, "m"}).String(); got != "/etc/selinux/config:3: m" {
		t.Error(got)
	}
	if got := (Warning{"/etc/selinux/config", 0, "m"}).String(); got != "/etc/selinux/config: m" {
		t.Error(got)
	}
}

func TestWarningsBounded(t *testing.T) {
	c, err := Parse("c", bytes.Repeat([]byte("junk\n"), 1000))
	if err != nil {
		t.Fatal(err)
	}
	// Line 0 (no SELINUX=) and lines 1..64 fill the list; checking stops at line 65.
	if len(c.Warnings) != maxWarnings+1 || c.Warnings[maxWarnings].Line != maxWarnings+1 ||
		!strings.Contains(c.Warnings[maxWarnings].Message, "too many warnings") {
		t.Errorf("got %d warnings, last %v", len(c.Warnings), c.Warnings[len(c.Warnings)-1])
	}
}

// checkInvariants holds for every input; FuzzParse calls it.
func checkInvariants(t *testing.T, data []byte, c *Config) {
	if !c.Mode.valid() || (c.Mode == ModeUnset) != (c.ModeLine == 0) {
		t.Fatalf("mode %v at line %d", c.Mode, c.ModeLine)
	}
	if c.TypeLine == 0 && c.Type != DefaultType {
		t.Fatalf("type %q without a line", c.Type)
	}
	lines := bytes.Count(data, []byte("\n")) + 1
	if c.ModeLine > lines || c.TypeLine > lines || len(c.Warnings) > maxWarnings+1 {
		t.Fatalf("line numbers beyond the file: %+v", c)
	}
	for _, w := range c.Warnings {
		if w.Line < 0 || w.Line > lines || !utf8.ValidString(w.Message) {
			t.Fatalf("bad warning %q", w)
		}
		for _, r := range w.Message {
			if !unicode.IsPrint(r) {
				t.Fatalf("warning %q carries a non-printable character %U to the console", w, r)
			}
		}
	}
}

func FuzzParse(f *testing.F) {
	for _, q := range quirks() {
		f.Add([]byte(q.data))
	}
	for _, dir := range fixtures(f) {
		if data, err := os.ReadFile(filepath.Join(dir, "config")); err == nil {
			f.Add(data)
		}
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		c, err := Parse("/etc/selinux/config", data)
		if err != nil {
			if len(data) <= MaxSize {
				t.Fatal(err)
			}
			return
		}
		checkInvariants(t, data, c)
	})
}
