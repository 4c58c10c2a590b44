package relabel

import (
	"errors"
	"fmt"
	"strconv"
	"strings"
)

// errBadContext is returned for a label that libselinux's context_new would reject.
var errBadContext = errors.New("not a security context (want user:role:type[:range])")

// contextType returns the type field of a security context, following libselinux's
// context_new: 2 to 5 colons, no tab, newline or carriage return, no space before the third
// colon; the type is the text between the second and third colon (or the end).
func contextType(c string) (string, error) {
	first, second, third := -1, -1, -1
	colons := 0
	for i := 0; i < len(c); i++ {
		switch c[i] {
		case ':':
			colons++
			switch colons {
			case 1:
				first = i
			case 2:
				second = i
			case 3:
				third = i
			}
		case '\n', '\t', '\r':
			return "", errBadContext
		case ' ':
			if colons < 3 {
				return "", errBadContext
			}
		}
	}
	if colons < 2 || colons > 5 || first < 0 {
		return "", errBadContext
	}
	if third < 0 {
		return c[second+1:], nil
	}
	return c[second+1 : third], nil
}

// withType returns cur with its type replaced by typ, keeping user, role and range: the label
// setfiles writes without -F when only the type differs (compare_types in
// selinux_restorecon.c). cur must have passed contextType.
func withType(cur, typ string) string {
	i := strings.IndexByte(cur, ':')
	j := i + 1 + strings.IndexByte(cur[i+1:], ':')
	rest := ""
	if k := strings.IndexByte(cur[j+1:], ':'); k >= 0 {
		rest = cur[j+1+k:]
	}
	return cur[:j+1] + typ + rest
}

// verdict is what setfiles' rules say to do with one object.
type verdict int

const (
	// relabel: write the returned context.
	relabel verdict = iota
	// keepUnchanged: the label is already right (without force: the type is).
	keepUnchanged
	// keepCustomized: the current type is customizable and force is off.
	keepCustomized
)

// decide applies setfiles' comparison (restorecon_sb, selinux-userspace.md §E.1 steps 8-11)
// to an object whose current label is cur (has is false when it has none) and whose
// file_contexts context is want. Without force, only the type is compared, a customizable
// type is kept, and the label written is cur with its type replaced; with force, the full
// context is compared and written.
func decide(cur string, has bool, want string, force bool, types *TypeSet) (string, verdict, error) {
	if !has {
		return want, relabel, nil
	}
	if cur == want {
		return "", keepUnchanged, nil
	}
	if force {
		return want, relabel, nil
	}
	curType, err := contextType(cur)
	if err != nil {
		return "", 0, fmt.Errorf("current label %s: %w", strconv.Quote(cur), err)
	}
	if types.Has(curType) {
		return "", keepCustomized, nil
	}
	wantType, err := contextType(want)
	if err != nil {
		return "", 0, fmt.Errorf("file_contexts label %s: %w", strconv.Quote(want), err)
	}
	if curType == wantType {
		return "", keepUnchanged, nil
	}
	return withType(cur, wantType), relabel, nil
}

// WouldChange reports whether a relabel would write a new label on an object whose current
// label is cur (has is false when it has none) and whose file_contexts context is want, by
// the rules Run applies. A current label those rules cannot parse counts as a change.
func WouldChange(cur string, has bool, want string, force bool, types *TypeSet) bool {
	_, v, err := decide(cur, has, want, force, types)
	return err != nil || v == relabel
}
