package fcontext

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

var fuzzPatterns = []string{
	"/usr/(.*/)?lib(/.*)?", "/a?quota\\.(user|group)", "/dev/tty[0-9]+", "/x\\.y.*", "/usr/lib|/opt",
	"/home/[^/]+/\\.ssh(/.*)?", "/a{2,3}b", "/a\\d", "/[[:alpha:]]+", "/run/.*", "/a(?:b|c)$", "/e\\s\\v\\h",
	"/q[]x]", "/o{x}", "/p(64)?", "/z.*\\.so(\\.[^/]*)*", "/n\\Z", "/b[^/]{2}", "/a\\]", "/(?i)abc",
}

// FuzzParseText: any file content either loads or fails with an error; a loaded handle
// answers lookups without panicking.
func FuzzParseText(f *testing.F) {
	f.Add([]byte("/a u:r:a_t:s0\n/b(/.*)? -d u:r:b_t:s0\n/c <<none>>\n"), "/b/x")
	f.Add([]byte("# c\n\n/a\n"), "/a")
	f.Add([]byte("/a -x c\n/\xff c\n/a(b c\n"), "/a")
	for _, p := range fuzzPatterns {
		f.Add([]byte(p+" u:r:t:s0\n/.* u:r:d:s0\n"), "/usr/lib/x")
	}
	f.Fuzz(func(t *testing.T, data []byte, key string) {
		l := newLoader()
		if err := l.parseText(string(data), "fc"); err != nil {
			if !strings.HasPrefix(err.Error(), "fc:") {
				t.Fatalf("error without file name: %v", err)
			}
			return
		}
		h, err := l.finish(Semantics(len(data) % 2)) // both rules
		if err != nil {
			if !strings.HasPrefix(err.Error(), "fc:") {
				t.Fatalf("error without file name: %v", err)
			}
			return
		}
		h.Lookup(key, 0)
		h.Lookup(key, sIFDIR)
		for i := range h.entries {
			h.Lookup(h.entries[i].regex, h.entries[i].mode)
		}
	})
}

// FuzzParseBin: any compiled file, of either generation, is read or refused without panic.
func FuzzParseBin(f *testing.F) {
	f.Add(v6([][3]string{{"/a", "", "u:r:a_t:s0"}}, [][3]string{{"/a.*", "--", "u:r:re_t:s0"}}))
	if tool, err := exec.LookPath("sefcontext_compile"); err == nil {
		dir := f.TempDir()
		fc := filepath.Join(dir, "fc")
		if err := os.WriteFile(fc, []byte("/a u:r:a_t:s0\n/b(/.*)? -d u:r:b_t:s0\n/c <<none>>\n"), 0o644); err == nil {
			if exec.Command(tool, "-o", fc+".bin", fc).Run() == nil {
				if data, err := os.ReadFile(fc + ".bin"); err == nil {
					f.Add(data)
				}
			}
		}
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		l := newLoader()
		var err error
		switch binKind(data) {
		case 5:
			err = l.parseBinV5(data, "fc.bin", false)
		case 6:
			err = l.parseBinV6(data, "fc.bin", false)
		default:
			return
		}
		if err != nil {
			return
		}
		if h, err := l.finish(Libselinux34); err == nil {
			for i := range h.entries {
				h.Lookup(h.entries[i].regex, h.entries[i].mode)
			}
		}
	})
}

// FuzzMatcher checks the fast paths against RE2 on the translated pattern: for every pattern
// libselinux would accept and we compile, an entry matches a key exactly when the regex
// does, and a pattern safeStructure vouches for must compile. Keys are the fuzzed one and
// samples generated from the pattern.
func FuzzMatcher(f *testing.F) {
	for _, p := range fuzzPatterns {
		f.Add(p, "/usr/lib/x")
	}
	f.Fuzz(func(t *testing.T, pattern, key string) {
		if checkDialect(pattern) != nil {
			return
		}
		p, err := compileProgram(pattern)
		if safeStructure(pattern) && err != nil {
			t.Fatalf("safeStructure(%q) but RE2 fails: %v", pattern, err)
		}
		if err != nil {
			return
		}
		l := newLoader()
		l.add(pattern, "u:r:t:s0", 0, "fc", 1)
		h, err := l.finish(Libselinux34)
		if err != nil {
			t.Fatalf("prepare(%q) failed after a successful compile: %v", pattern, err)
		}
		e := &h.entries[0]
		for _, k := range append(samplePaths(pattern), key) {
			mapped, _ := latin1(k)
			want := p.re.MatchString(mapped)
			if got := h.matches(e, &probe{key: k}); got != want {
				t.Fatalf("pattern %q key %q: fast path %v, regex %v (kind %d, prefix %q)", pattern, k, got, want, e.kind, e.prefix)
			}
		}
	})
}
