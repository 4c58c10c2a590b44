package localmod

import (
	"bufio"
	"fmt"
	"io"
	"maps"
	"slices"
	"strings"
)

// WriteTE writes m as a .te module for checkmodule -M -m (then semodule_package): module
// name, a require block naming exactly the types, classes and permissions the rules use,
// and the same allow rules as the CIL.
func (m *Module) WriteTE(w io.Writer, name string) error {
	rules := m.Rules()
	types := map[string]bool{}
	classes := map[string][]string{}
	for _, r := range rules {
		types[r.Source], types[r.Target] = true, true
		for _, p := range r.Perms {
			if !slices.Contains(classes[r.Class], p) {
				classes[r.Class] = append(classes[r.Class], p)
			}
		}
	}
	bw := bufio.NewWriter(w)
	fmt.Fprintln(bw, "#"+strings.TrimPrefix(headerTitle, ";"))
	for _, r := range m.Rounds {
		fmt.Fprintf(bw, "# %s\n", r)
	}
	fmt.Fprintf(bw, "module %s %d.0;\n\nrequire {\n", name, len(m.Rounds))
	for _, t := range slices.Sorted(maps.Keys(types)) {
		fmt.Fprintf(bw, "\ttype %s;\n", t)
	}
	for _, c := range slices.Sorted(maps.Keys(classes)) {
		fmt.Fprintf(bw, "\tclass %s { %s };\n", c, strings.Join(slices.Sorted(slices.Values(classes[c])), " "))
	}
	fmt.Fprintln(bw, "}")
	fmt.Fprintln(bw)
	for _, r := range rules {
		fmt.Fprintf(bw, "allow %s %s:%s { %s };\n", r.Source, r.Target, r.Class, strings.Join(r.Perms, " "))
	}
	return bw.Flush()
}
