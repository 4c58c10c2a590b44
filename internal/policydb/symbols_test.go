package policydb

import (
	"slices"
	"testing"
)

func TestReadSymbols(t *testing.T) {
	s, err := ReadSymbols(fixture(t, "rich.33"))
	if err != nil {
		t.Fatal(err)
	}
	for name, want := range map[string]TypeKind{"init_t": KindType, "domain_attr": KindAttribute, "unlabeled_t": KindAlias, "file_t": KindType, "nosuch_t": 0} {
		if got := s.Types[name]; got != want {
			t.Errorf("%s: %v, want %v", name, got, want)
		}
	}
	for class, want := range map[string][]string{
		"file":     {"entrypoint", "execute", "ioctl", "read", "write"},
		"blk_file": {"ioctl", "read", "write"},
		"process":  {"dyntransition", "transition"},
	} {
		got := slices.Sorted(slices.Values(s.Classes[class]))
		if !slices.Equal(got, want) {
			t.Errorf("class %s: %v, want %v", class, got, want)
		}
	}
	if len(s.Classes) != 5 {
		t.Errorf("%d classes", len(s.Classes))
	}
	// It fails where Analyze fails.
	data := fixture(t, "rich.33")
	if _, err := ReadSymbols(data[:len(data)-1]); err == nil {
		t.Error("truncated policy read")
	}
}
