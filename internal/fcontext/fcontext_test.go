package fcontext

import (
	"bytes"
	"encoding/binary"
	"errors"
	"io/fs"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/nsinit/nsinit/internal/testutil"
)

// writeFiles creates name → content files in a new directory and returns its
// file_contexts path.
func writeFiles(t *testing.T, files map[string]string) string {
	t.Helper()
	dir := t.TempDir()
	for name, data := range files {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(data), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return filepath.Join(dir, "file_contexts")
}

func TestLoadMalformed(t *testing.T) {
	for _, tc := range []struct {
		name, text, want string
	}{
		{"missing fields", "/a\tctx_t\n/b\n", ":2: line is missing fields"},
		{"bad type", "/a -x ctx\n", ":1: invalid file type -x"},
		{"long type", "/a --- ctx\n", ":1: invalid file type ---"},
		{"trailing comment", "/a ctx # comment\n", ":1: invalid file type ctx"},
		{"non-ascii", "\n\n/é ctx\n", ":3: error due to: Non-ASCII characters found"},
		{"non-ascii context", "/a u:r:é_t\n", ":1: error due to: Non-ASCII"},
		{"backreference", "/a(b)\\1 ctx\n", ":1: invalid regex /a(b)\\1: backreference"},
		{"lookahead", "#c\n/a(?=b) ctx\n", ":2: invalid regex /a(?=b):"},
		{"unbalanced", "/a(b ctx\n", ":1: invalid regex /a(b:"},
		{"stray paren", "/a) ctx\n", ":1: invalid regex /a):"},
		{"possessive", "/a.*+ ctx\n", ":1: invalid regex /a.*+:"},
		{"unterminated class", "/a[b ctx\n", ":1: invalid regex /a[b: missing terminating ]"},
		{"big repeat", "/a{2000} ctx\n", ":1: invalid regex /a{2000}:"},
		{"unknown escape", "/a\\K ctx\n", ":1: invalid regex /a\\K: escape \\K"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			fc := writeFiles(t, map[string]string{"file_contexts": tc.text})
			_, err := Load(fc)
			var pe *ParseError
			if err == nil || !errors.As(err, &pe) || !strings.Contains(err.Error(), fc+tc.want) {
				t.Fatalf("Load = %v, want a ParseError containing %q", err, fc+tc.want)
			}
		})
	}
}

func TestLoadAccepts(t *testing.T) {
	// What libselinux accepts silently: extra fields, blank and comment lines, CRLF, a last
	// line without newline, a NUL ending a line, indentation.
	fc := writeFiles(t, map[string]string{"file_contexts": "# comment\n\n   \n  /a\t--\tu:r:a_t:s0 extra fields\r\n" +
		"\t#indented comment\n/b\t-d\tu:r:b_t:s0\x00 ignored after NUL é\n/c u:r:c_t:s0"})
	h, err := Load(fc)
	if err != nil {
		t.Fatal(err)
	}
	for key, want := range map[string]string{"/a": "u:r:a_t:s0", "/b": "u:r:b_t:s0", "/c": "u:r:c_t:s0"} {
		if got, ok := h.Lookup(key, 0); !ok || got != want {
			t.Errorf("Lookup(%q) = %q %v, want %q", key, got, ok, want)
		}
	}
	if _, ok := h.Lookup("", 0); ok {
		t.Error("empty key must not match")
	}
}

// setMtime sets a file's modification time to t0 + secs seconds.
func setMtime(t *testing.T, path string, secs int) {
	t.Helper()
	tm := time.Date(2024, 1, 1, 0, 0, secs, 0, time.UTC)
	if err := os.Chtimes(path, tm, tm); err != nil {
		t.Fatal(err)
	}
}

// compileBin runs Debian's sefcontext_compile (libselinux 3.4) on a text file.
func compileBin(t *testing.T, text string) {
	t.Helper()
	tool := testutil.RequireTool(t, "sefcontext_compile")
	if out, err := exec.Command(tool, "-o", text+".bin", text).CombinedOutput(); err != nil {
		t.Fatalf("sefcontext_compile %s: %v\n%s", text, err, out)
	}
}

func TestChooseTextOrBin(t *testing.T) {
	fc := writeFiles(t, map[string]string{"file_contexts": "/a u:r:old_t:s0\n"})
	compileBin(t, fc)
	// The text now says something else, so the answer shows which file was read.
	if err := os.WriteFile(fc, []byte("/a u:r:new_t:s0\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	check := func(want string, wantSrc string) {
		t.Helper()
		h, err := Load(fc)
		if err != nil {
			t.Fatal(err)
		}
		if got, _ := h.Lookup("/a", 0); got != want || h.Sources()[0] != wantSrc {
			t.Errorf("got %q from %v, want %q from %s", got, h.Sources(), want, wantSrc)
		}
	}
	setMtime(t, fc, 10)
	setMtime(t, fc+".bin", 10)
	check("u:r:old_t:s0", fc+".bin") // a tie goes to .bin
	setMtime(t, fc+".bin", 9)
	check("u:r:new_t:s0", fc) // text newer
	setMtime(t, fc+".bin", 11)
	check("u:r:old_t:s0", fc+".bin")
	// Sub-second differences do not count: libselinux compares whole seconds.
	tm := time.Date(2024, 1, 1, 0, 0, 20, 900_000_000, time.UTC)
	if err := os.Chtimes(fc, tm, tm); err != nil {
		t.Fatal(err)
	}
	setMtime(t, fc+".bin", 20)
	check("u:r:old_t:s0", fc+".bin")
	// A corrupt newer .bin falls back to the text; a corrupt newer text to the .bin.
	good, err := os.ReadFile(fc + ".bin")
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(fc+".bin", good[:len(good)/2], 0o644); err != nil {
		t.Fatal(err)
	}
	setMtime(t, fc+".bin", 30)
	check("u:r:new_t:s0", fc)
	if err := os.WriteFile(fc+".bin", good, 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(fc, []byte("/a\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	setMtime(t, fc+".bin", 30)
	setMtime(t, fc, 40)
	check("u:r:old_t:s0", fc+".bin")
	// Both bad: the error names both files.
	if err := os.WriteFile(fc+".bin", good[:9], 0o644); err != nil {
		t.Fatal(err)
	}
	setMtime(t, fc+".bin", 30)
	if _, err := Load(fc); err == nil || !strings.Contains(err.Error(), fc+":1:") || !strings.Contains(err.Error(), fc+".bin") {
		t.Errorf("Load with both inputs bad = %v", err)
	}
}

func TestLoadCompanions(t *testing.T) {
	if _, err := Load(filepath.Join(t.TempDir(), "file_contexts")); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("missing base: %v, want ErrNotExist", err)
	}
	// Missing .homedirs/.local/.subs are fine; a .bin alone is used.
	fc := writeFiles(t, map[string]string{
		"file_contexts":       "/a u:r:a_t:s0\n/h(/.*)? u:r:base_t:s0\n",
		"file_contexts.local": "/h/x u:r:local_t:s0\n",
	})
	h, err := Load(fc)
	if err != nil {
		t.Fatal(err)
	}
	if got, _ := h.Lookup("/h/x", 0); got != "u:r:local_t:s0" {
		t.Errorf("local: %q", got)
	}
	if n := h.Len(); n != 3 {
		t.Errorf("Len = %d, want 3", n)
	}
	hd := fc + ".homedirs"
	if err := os.WriteFile(hd, []byte("/h/y u:r:home_t:s0\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	compileBin(t, hd)
	if err := os.Remove(hd); err != nil {
		t.Fatal(err)
	}
	if h, err = Load(fc); err != nil {
		t.Fatal(err)
	}
	if got, _ := h.Lookup("/h/y", 0); got != "u:r:home_t:s0" {
		t.Errorf(".homedirs.bin alone: %q (sources %v)", got, h.Sources())
	}
	// A malformed .local fails the load.
	if err := os.WriteFile(fc+".local", []byte("/x\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	if _, err := Load(fc); err == nil || !strings.Contains(err.Error(), fc+".local:1:") {
		t.Errorf("malformed .local: %v", err)
	}
}

func TestParseSubs(t *testing.T) {
	long := "/" + strings.Repeat("x", 1100) + " /y\n"
	subs := parseSubs("# c\n  /a /b extra\n/one\n\n/c\t/d\n" + long + "/last /z")
	// Reverse file order; the 1101-byte alias is split by the 1022-byte reads: its second
	// piece "xx... /y" becomes an alias of its own.
	var got []string
	for _, s := range subs {
		got = append(got, s.src+">"+s.dst)
	}
	want := []string{"/last>/z", strings.Repeat("x", 1101-subsLineMax) + ">/y", "/c>/d", "/a>/b"}
	if strings.Join(got, ",") != strings.Join(want, ",") {
		t.Errorf("parseSubs = %q, want %q", got, want)
	}
	for _, tc := range []struct{ key, want string }{
		{"/a", "/b"}, {"/a/x", "/b/x"}, {"/ab", "/ab"}, {"/c/d/e", "/d/d/e"},
	} {
		if got, _ := applySub(subs, tc.key); got != tc.want {
			t.Errorf("applySub(%q) = %q, want %q", tc.key, got, tc.want)
		}
	}
	if got, _ := applySub([]sub{{"/chroot", "/"}}, "/chroot/etc"); got != "/etc" {
		t.Errorf("dst / : %q", got)
	}
}

func TestNormalize(t *testing.T) {
	for in, want := range map[string]string{
		"/": "/", "//": "/", "///a//b///": "/a/b", "/a/": "/a", "a//": "a", "/a/./b": "/a/./b",
	} {
		if got, ok := normalize(in); !ok || got != want {
			t.Errorf("normalize(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestRequiredPrefix(t *testing.T) {
	cases := map[string]string{
		"/usr/(.*/)?lib(/.*)?": "/usr/", "/a?quota": "/", "/dev/tty[0-9]+": "/dev/tty", "/x\\.y.*": "/x.y",
		"/usr/lib|/opt": "", "/a/b+": "/a/b", "/a/b{2}": "/a/", "/a/b*": "/a/", "/a(b|c)": "/a", "/a\\d": "/a",
		"/a\\-b\\.c/d\\.*": "/a-b.c/d", "/a\\.b?": "/a.",
	}
	// Unescaped prefixes made in one arena share its buffer: later ones must not change
	// earlier ones.
	var a arena
	fromArena := map[string]string{}
	for re, want := range cases {
		fromArena[re] = requiredPrefix(re, &a)
		if got := requiredPrefix(re, nil); got != want {
			t.Errorf("requiredPrefix(%q) = %q, want %q", re, got, want)
		}
	}
	for re, want := range cases {
		if got := fromArena[re]; got != want {
			t.Errorf("requiredPrefix(%q) in an arena = %q, want %q", re, got, want)
		}
	}
}

// v6 writes a libselinux ≥ 3.8 compiled file (big-endian tree layout, D.8) with one root
// node holding the given literal and regex specs, and one child node.
func v6(lits [][3]string, regexes [][3]string) []byte {
	var b []byte
	u16 := func(v int) { b = binary.BigEndian.AppendUint16(b, uint16(v)) }
	u32 := func(v int) { b = binary.BigEndian.AppendUint32(b, uint32(v)) }
	str := func(s string) { u16(len(s) + 1); b = append(append(b, s...), 0) }
	u32(binMagic)
	u32(6)
	u32(5)
	b = append(b, "10.42"...)
	u32(6)
	b = append(b, "8-8-el"...)
	b = binary.BigEndian.AppendUint64(b, uint64(len(lits)+len(regexes)))
	ctxs := map[string]int{}
	var order []string
	for _, s := range append(append([][3]string(nil), lits...), regexes...) {
		if _, ok := ctxs[s[2]]; !ok {
			order = append(order, s[2])
			ctxs[s[2]] = len(order)
		}
	}
	u32(len(order))
	for _, c := range order {
		u16(len(c))
		b = append(b, c...)
	}
	kind := func(k string) byte { return map[string]byte{"": 0, "-d": 1, "--": 7}[k] }
	u16(1)
	b = append(b, 0)
	u32(len(lits))
	for _, s := range lits {
		u32(ctxs[s[2]])
		str(s[0])
		str(strings.ReplaceAll(s[0], `\`, ""))
		b = append(b, kind(s[1]))
	}
	u32(len(regexes))
	for i, s := range regexes {
		u32(ctxs[s[2]])
		u32(i + 10)
		str(s[0])
		u16(1)
		b = append(b, kind(s[1]))
		u32(0)
	}
	u32(1) // one child, empty but for one literal
	str("usr")
	u32(1)
	u32(1)
	str("/usr")
	str("/usr")
	b = append(b, 0)
	u32(0)
	u32(0)
	return b
}

func TestBinV6(t *testing.T) {
	data := v6([][3]string{{"/a", "", "u:r:a_t:s0"}, {"/b\\.c", "-d", "u:r:bc_t:s0"}},
		[][3]string{{"/a.*", "", "u:r:re_t:s0"}, {"/x(/.*)?", "--", "u:r:x_t:s0"}})
	fc := writeFiles(t, map[string]string{"file_contexts": "/ignored u:r:text_t:s0\n"})
	if err := os.WriteFile(fc+".bin", data, 0o644); err != nil {
		t.Fatal(err)
	}
	setMtime(t, fc, 1)
	setMtime(t, fc+".bin", 2)
	h, err := Load(fc)
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		key  string
		mode uint32
		want string
	}{
		{"/a", 0, "u:r:a_t:s0"}, {"/ab", 0, "u:r:re_t:s0"}, {"/b.c", sIFDIR, "u:r:bc_t:s0"},
		{"/b.c", sIFREG, none}, {"/x/y", sIFREG, "u:r:x_t:s0"}, {"/usr", 0, "u:r:a_t:s0"}, {"/ignored", 0, none},
	} {
		got, ok := h.Lookup(tc.key, tc.mode)
		if !ok {
			got = none
		}
		if got != tc.want {
			t.Errorf("Lookup(%q, %o) = %q, want %q", tc.key, tc.mode, got, tc.want)
		}
	}
	// Every truncation is an error, never a panic; the text is then used.
	for n := 0; n < len(data); n++ {
		if err := newLoader().parseBinV6(data[:n], "x", false); err == nil {
			t.Fatalf("truncated v6 (%d of %d bytes) accepted", n, len(data))
		}
	}
}

func TestBinV5Truncated(t *testing.T) {
	fc := writeFiles(t, map[string]string{"file_contexts": "/a u:r:a_t:s0\n/b(/.*)? -d u:r:b_t:s0\n"})
	compileBin(t, fc)
	data, err := os.ReadFile(fc + ".bin")
	if err != nil {
		t.Fatal(err)
	}
	l := newLoader()
	if err := l.parseBinV5(data, "x", false); err != nil || l.nre+l.nlit != 2 {
		t.Fatalf("parseBinV5 = %v, %d specs", err, l.nre+l.nlit)
	}
	for n := 0; n < len(data); n++ {
		// Truncations inside the trailing blob of the last spec are errors too.
		if err := newLoader().parseBinV5(data[:n], "x", false); err == nil {
			t.Fatalf("truncated v5 (%d of %d bytes) accepted", n, len(data))
		}
	}
}

// TestBinV5EmptyStrings: a regex or context whose stored string starts with its NUL is
// empty, and refused as such (it used to make the loader index an empty string: a panic
// FuzzParseBin found, testdata/fuzz/FuzzParseBin/32d632d11afe9c0b).
func TestBinV5EmptyStrings(t *testing.T) {
	fc := writeFiles(t, map[string]string{"file_contexts": "/a u:r:a_t:s0\n"})
	compileBin(t, fc)
	data, err := os.ReadFile(fc + ".bin")
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct{ str, reason string }{{"/a\x00", "empty regex"}, {"u:r:a_t:s0\x00", "empty context"}} {
		i := bytes.Index(data, []byte(tc.str))
		if i < 0 {
			t.Fatalf("%q not in the compiled file", tc.str)
		}
		b := slices.Clone(data)
		b[i] = 0
		if err := newLoader().parseBinV5(b, "x", false); err == nil || !strings.Contains(err.Error(), tc.reason) {
			t.Errorf("%q cut to nothing: %v, want %q", tc.str, err, tc.reason)
		}
	}
}

func TestParseMode(t *testing.T) {
	for in, want := range map[string]uint32{"file": sIFREG, "dir": sIFDIR, "lnk": sIFLNK, "chr": sIFCHR,
		"blk": sIFBLK, "sock": sIFSOCK, "fifo": sIFIFO, "0100644": 0o100644, "0": 0, "40000": sIFDIR} {
		if got, err := ParseMode(in); err != nil || got != want {
			t.Errorf("ParseMode(%q) = %o, %v; want %o", in, got, err, want)
		}
	}
	for _, bad := range []string{"", "regular", "9", "-1", "0x10"} {
		if _, err := ParseMode(bad); err == nil {
			t.Errorf("ParseMode(%q) accepted", bad)
		}
	}
}

func TestTranslate(t *testing.T) {
	for _, tc := range []struct{ pattern, key string }{
		{`/a\s`, "/a\v"}, {`/a\v`, "/a\r"}, {`/a\h`, "/a\t"}, {`/a\e`, "/a\x1b"}, {`/a(?#c)b`, "/ab"},
		{`/a\Z`, "/a\n"}, {`/a`, "/a\n"}, {`/a[\b]`, "/a\b"}, {`/a.`, "/a\xff"}, {`/a[^/]{2}`, "/a\xc3\xa9"},
		{`/a[[:alpha:]]`, "/ab"}, {`/a\$`, "/a$"}, {`/a\`, "/a$"}, {`/a\\`, "/a\\"},
	} {
		p, err := compileProgram(tc.pattern)
		if err != nil {
			t.Errorf("compile %q: %v", tc.pattern, err)
			continue
		}
		mapped, _ := latin1(tc.key)
		if !p.re.MatchString(mapped) {
			t.Errorf("%q does not match %q", tc.pattern, tc.key)
		}
	}
	for _, tc := range []struct{ pattern, key string }{
		{`/a.`, "/a\xc3\xa9"}, {`/a`, "/a\n\n"}, {`/a\s`, "/ax"}, {`/a\`, "/a"},
	} {
		p, err := compileProgram(tc.pattern)
		if err != nil {
			t.Fatal(err)
		}
		mapped, _ := latin1(tc.key)
		if p.re.MatchString(mapped) {
			t.Errorf("%q matches %q", tc.pattern, tc.key)
		}
	}
}

// TestConcurrentLookups runs lookups from many goroutines while regexes compile lazily
// (run with -race to check the lazy compilation).
func TestConcurrentLookups(t *testing.T) {
	fc := filepath.Join(testutil.DebianPolicyDir(t), "contexts", "files", "file_contexts")
	h, err := Load(fc)
	if err != nil {
		t.Fatal(err)
	}
	ref, err := Load(fc)
	if err != nil {
		t.Fatal(err)
	}
	keys := specKeys(ref)
	want := make([]string, len(keys))
	for i, k := range keys {
		want[i], _ = ref.Lookup(k.path, k.mode)
	}
	done := make(chan error, 8)
	for g := 0; g < 8; g++ {
		go func(g int) {
			for i := g; i < len(keys); i += 3 {
				if got, _ := h.Lookup(keys[i].path, keys[i].mode); got != want[i] {
					done <- errors.New(keys[i].path + ": " + got + " != " + want[i])
					return
				}
			}
			done <- nil
		}(g)
	}
	for g := 0; g < 8; g++ {
		if err := <-done; err != nil {
			t.Error(err)
		}
	}
}

// TestFinalNewline: PCRE's "$" also matches before a final "\n", for literal specs (which
// libselinux matches as regexes too), shapes and regexes alike; two newlines never match.
func TestFinalNewline(t *testing.T) {
	fc := writeFiles(t, map[string]string{"file_contexts": "/.* u:r:default_t:s0\n/a u:r:lit_t:s0\n" +
		"/t(/.*)? u:r:tree_t:s0\n/r[0-9] u:r:re_t:s0\n"})
	h, err := Load(fc)
	if err != nil {
		t.Fatal(err)
	}
	for key, want := range map[string]string{
		"/a\n": "u:r:lit_t:s0", "/t\n": "u:r:tree_t:s0", "/r1\n": "u:r:re_t:s0",
		"/a\n\n": "u:r:default_t:s0", "/r1\n\n": "u:r:default_t:s0",
	} {
		if got, _ := h.Lookup(key, 0); got != want {
			t.Errorf("Lookup(%q) = %q, want %q", key, got, want)
		}
	}
}

// TestPlainRun checks the word-at-a-time field scanner against the byte loop: every byte
// value at every position of a field, and random strings.
func TestPlainRun(t *testing.T) {
	naive := func(s string, p int) int {
		for p < len(s) && textClass[s[p]] == cPlain {
			p++
		}
		return p
	}
	check := func(s string, p int) {
		if got, want := plainRun(s, p), naive(s, p); got != want {
			t.Fatalf("plainRun(%q, %d) = %d, want %d", s, p, got, want)
		}
	}
	base := "/usr/lib/systemd/system-generators/x"
	for c := 0; c < 256; c++ {
		for i := 0; i < len(base); i++ {
			s := base[:i] + string([]byte{byte(c)}) + base[i+1:]
			for p := 0; p < 3; p++ {
				check(s, p)
			}
		}
	}
	rng := rand.New(rand.NewPCG(1, 2))
	const alphabet = "ab/.\t \x00\x7f\x80\xff\x20\x21\x01"
	for n := 0; n < 20000; n++ {
		b := make([]byte, rng.IntN(40))
		for i := range b {
			b[i] = alphabet[rng.IntN(len(alphabet))]
		}
		check(string(b), 0)
	}
}

// TestCandidatesKeepEveryMatch checks the selector's invariant on Debian's policy: every
// regex entry that matches a key (spec keys and the minbase tree) is among its candidates,
// whatever directory node and byte the key selects.
func TestCandidatesKeepEveryMatch(t *testing.T) {
	h, err := Load(filepath.Join(testutil.DebianPolicyDir(t), "contexts", "files", "file_contexts"))
	if err != nil {
		t.Fatal(err)
	}
	keys := append(specKeys(h), treeKeys(t, testutil.Minbase(t))...)
	keys = append(keys, lookupKey{"/", 0}, lookupKey{"/usr", 0}, lookupKey{"/usr/bin", 0}, lookupKey{"/usr/bin/", 0})
	for _, k := range keys {
		key, ok := normalize(k.path)
		if !ok {
			continue
		}
		any, by := h.candidates(key)
		in := map[int32]bool{}
		for _, i := range append(slices.Clone(any), by...) {
			in[i] = true
		}
		p := probe{key: key}
		for i := range h.entries {
			if e := &h.entries[i]; e.kind != matchExact && h.matches(e, &p) && !in[int32(i)] {
				t.Errorf("%q matches %q (line %d of the regex block) but is not a candidate", e.regex, key, i)
			}
		}
	}
}

// TestSubIndex checks that a substitution index answers as its whole list does: aliases in
// the key's bucket in order, short aliases in every bucket, short keys against all.
func TestSubIndex(t *testing.T) {
	list := parseSubs("/usr/lib64 /usr/lib\n/usr/local/lib /usr/lib\n/u /srv\n/var/run /run\n/ /root\n/usr/lib64/x /opt\n")
	x := indexSubs(list)
	for _, key := range []string{"/", "/u", "/u/x", "/usr/lib64/x/y", "/usr/lib64/z", "/usr/local/lib/a", "/var/run/x", "/var/runx",
		"/etc/x", "u", "", "/usr", "/usr/lib6"} {
		got, gotOK := x.apply(key)
		want, wantOK := applySub(list, key)
		if got != want || gotOK != wantOK {
			t.Errorf("apply(%q) = %q, %v; the whole list gives %q, %v", key, got, gotOK, want, wantOK)
		}
	}
	if got, ok := (*subIndex)(nil).apply("/a"); got != "/a" || ok {
		t.Errorf("nil index: %q, %v", got, ok)
	}
}
