package regexsample

import (
	"regexp"
	"regexp/syntax"
	"testing"
)

// TestGenerateMatches: every generated string is matched by its pattern (anchored as
// file_contexts anchors specs), for the shapes Debian's file_contexts uses.
func TestGenerateMatches(t *testing.T) {
	patterns := []string{
		`/usr/lib/systemd/systemd`,
		`/etc/(cron\.d|crontab)(/.*)?`,
		`/home/[^/]+/\.ssh(/.*)?`,
		`/var/run/[a-z]+\.pid`,
		`/dev/tty[0-9]*`,
		`/usr/lib/python3\.[0-9]+/.+\.so`,
		`/opt/x{2,4}y?`,
		`/srv/.*`,
	}
	for _, p := range patterns {
		full := "(?s)^(?:" + p + ")$"
		re, err := syntax.Parse(full, syntax.Perl)
		if err != nil {
			t.Fatal(err)
		}
		m := regexp.MustCompile(full)
		seen := map[string]bool{}
		for v := range 4 {
			s := Generate(re, v)
			if !m.MatchString(s) {
				t.Errorf("%s: generated %q, which it does not match", p, s)
			}
			seen[s] = true
		}
		if len(seen) < 2 && p != `/usr/lib/systemd/systemd` {
			t.Errorf("%s: no variation across choices: %v", p, seen)
		}
	}
}

func FuzzGenerate(f *testing.F) {
	f.Add(`/etc/(cron\.d|crontab)(/.*)?`, 1)
	f.Add(`/dev/[a-z]{1,3}[0-9]*`, 2)
	f.Fuzz(func(t *testing.T, p string, v int) {
		full := "(?s)^(?:" + p + ")$"
		re, err := syntax.Parse(full, syntax.Perl)
		if err != nil {
			return
		}
		m, err := regexp.Compile(full)
		if err != nil || v < 0 || v > 1000 {
			return
		}
		s := Generate(re, v)
		// Empty-width assertions inside the pattern and non-ASCII classes are not
		// modelled: only check patterns that hold no such operators.
		inner, err := syntax.Parse("(?s)"+p, syntax.Perl)
		if err == nil && simple(inner) && !m.MatchString(s) {
			t.Fatalf("%q generated %q, not matched", p, s)
		}
	})
}

// simple reports whether re uses only operators Generate models exactly, over ASCII.
func simple(re *syntax.Regexp) bool {
	switch re.Op {
	case syntax.OpLiteral:
		for _, r := range re.Rune {
			if r >= 128 {
				return false
			}
		}
		return re.Flags&syntax.FoldCase == 0
	case syntax.OpCharClass:
		return len(re.Rune) > 0 && re.Rune[0] < 128
	case syntax.OpAnyChar:
		return true
	case syntax.OpStar, syntax.OpPlus, syntax.OpQuest, syntax.OpRepeat, syntax.OpConcat, syntax.OpAlternate, syntax.OpCapture:
		for _, s := range re.Sub {
			if !simple(s) {
				return false
			}
		}
		return true
	}
	return false
}
