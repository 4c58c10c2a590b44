package policydb

// TypeKind says what a name of the type table is.
type TypeKind uint8

// Kinds of type-table names, as seinfo splits them.
const (
	KindType TypeKind = iota + 1
	KindAttribute
	KindAlias
)

func (k TypeKind) String() string {
	switch k {
	case KindType:
		return "type"
	case KindAttribute:
		return "attribute"
	case KindAlias:
		return "alias"
	}
	return "not declared"
}

// Symbols are the names a policy declares that an access rule can use.
type Symbols struct {
	// Types maps every name of the type table to its kind.
	Types map[string]TypeKind
	// Classes maps every class to its permissions: its common's, then its own, each in file
	// order.
	Classes map[string][]string

	// commons holds each common's permissions while the classes are read.
	commons map[string][]string
}

// ReadSymbols walks data completely, as Analyze does (it fails where Analyze fails), and
// returns the names it declares. The names are copies: nothing aliases data.
func ReadSymbols(data []byte) (*Symbols, error) {
	syms := &Symbols{Types: map[string]TypeKind{}, Classes: map[string][]string{}, commons: map[string][]string{}}
	if _, err := analyze(data, syms); err != nil {
		return nil, err
	}
	syms.commons = nil
	return syms, nil
}
