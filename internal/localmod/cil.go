package localmod

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"strings"

	"github.com/nsinit/nsinit/internal/avc"
)

// headerTitle starts the first line of every module written; roundPrefix each round's line.
const (
	headerTitle = "; Local policy module written by nsinit denials."
	roundPrefix = "; round "
)

// WriteCIL writes m as CIL: the header (one line per round) and one allow per line, sorted.
// The same module is always written the same way.
func (m *Module) WriteCIL(w io.Writer) error {
	bw := bufio.NewWriter(w)
	fmt.Fprintln(bw, headerTitle)
	fmt.Fprintln(bw, "; Install with semodule -i FILE.cil; grow it with nsinit denials --merge FILE.cil.")
	for _, r := range m.Rounds {
		fmt.Fprintf(bw, "; %s\n", r)
	}
	for _, r := range m.Rules() {
		fmt.Fprintln(bw, r.CIL())
	}
	return bw.Flush()
}

// ParseCIL reads a module WriteCIL wrote, or any CIL made only of plain allow statements
// `(allow SOURCE TARGET (CLASS (PERM...)))` and comments. Every rule is kept; the round lines
// of nsinit's header are kept. Any other statement is an error naming its line: dropping it
// would lose a rule, and merging a rule it cannot read could change its meaning.
func ParseCIL(data string) (*Module, error) {
	m := &Module{}
	for _, line := range strings.Split(data, "\n") {
		if rest, ok := strings.CutPrefix(line, roundPrefix); ok {
			m.Rounds = append(m.Rounds, "round "+rest)
		}
	}
	toks, err := tokenize(data)
	if err != nil {
		return nil, err
	}
	for p := 0; p < len(toks); {
		n, err := m.statement(toks[p:])
		if err != nil {
			return nil, err
		}
		p += n
	}
	return m, nil
}

// token is a parenthesis or an atom, with its line.
type token struct {
	text string
	line int
}

// tokenize splits CIL into parentheses and atoms, dropping ; comments. Quoted strings are
// refused: no plain allow statement holds one.
func tokenize(s string) ([]token, error) {
	var toks []token
	line := 1
	for i := 0; i < len(s); {
		c := s[i]
		switch {
		case c == '\n':
			line++
			i++
		case c == ' ' || c == '\t' || c == '\r':
			i++
		case c == ';':
			for i < len(s) && s[i] != '\n' {
				i++
			}
		case c == '(' || c == ')':
			toks = append(toks, token{string(c), line})
			i++
		case c == '"':
			return nil, fmt.Errorf("line %d: a quoted string: only allow statements are merged", line)
		default:
			j := i
			for j < len(s) && !strings.ContainsRune(" \t\r\n();\"", rune(s[j])) {
				j++
			}
			toks = append(toks, token{s[i:j], line})
			i = j
		}
	}
	return toks, nil
}

// errStatement explains what ParseCIL accepts.
var errStatement = errors.New("only plain (allow SOURCE TARGET (CLASS (PERM...))) statements are merged; keep other statements in a module of their own")

// statement reads one allow statement at the start of toks and returns how many tokens it took.
func (m *Module) statement(toks []token) (int, error) {
	fail := func(i int, why string) (int, error) {
		if i >= len(toks) {
			i = len(toks) - 1
		}
		return 0, fmt.Errorf("line %d: %s: %w", toks[i].line, why, errStatement)
	}
	// ( allow S T ( C ( P... ) ) )
	want := []string{"(", "allow", "", "", "(", "", "("}
	for i, w := range want {
		if i >= len(toks) {
			return fail(i, "unterminated statement")
		}
		t := toks[i].text
		switch {
		case w != "" && t != w:
			return fail(i, fmt.Sprintf("%q where %q belongs", t, w))
		case w == "" && !avc.ValidName(t):
			return fail(i, fmt.Sprintf("%q is not a name", t))
		}
	}
	i := len(want)
	var perms []string
	for ; i < len(toks) && toks[i].text != ")"; i++ {
		t := toks[i].text
		if !avc.ValidName(t) || t == "all" || t == "not" || t == "*" {
			return fail(i, fmt.Sprintf("%q is not a permission name", t))
		}
		perms = append(perms, t)
	}
	if len(perms) == 0 {
		return fail(i, "no permissions")
	}
	for range 3 {
		if i >= len(toks) || toks[i].text != ")" {
			return fail(i, "unterminated statement")
		}
		i++
	}
	m.add(Key{toks[2].text, toks[3].text, toks[5].text}, perms)
	return i, nil
}
