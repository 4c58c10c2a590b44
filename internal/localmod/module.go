// Package localmod builds a local SELinux policy module from AVC denials, round after round:
// one `allow` per (source, target, class) with exactly the permissions denied, checked
// against the binary policy the rules are meant for, written as CIL (and .te), and merged
// into the module an earlier round wrote so that the module grows instead of being rebuilt
// from every log ever collected.
package localmod

import (
	"cmp"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/nsinit/nsinit/internal/avc"
	"github.com/nsinit/nsinit/internal/policydb"
)

// Key is what one allow rule is about.
type Key struct{ Source, Target, Class string }

func (k Key) compare(o Key) int {
	return cmp.Or(strings.Compare(k.Source, o.Source), strings.Compare(k.Target, o.Target), strings.Compare(k.Class, o.Class))
}

// Rule is one allow rule: Perms are sorted and unique.
type Rule struct {
	Key
	Perms []string
}

// CIL is the rule as a CIL statement.
func (r Rule) CIL() string {
	return fmt.Sprintf("(allow %s %s (%s (%s)))", r.Source, r.Target, r.Class, strings.Join(r.Perms, " "))
}

// Module is a module's rules and the rounds that made them.
type Module struct {
	// Rounds are the header lines of the rounds so far, oldest first, without "; ".
	Rounds []string
	rules  map[Key][]string
}

// Round is the number the next round gets.
func (m *Module) Round() int { return len(m.Rounds) + 1 }

// Rules returns the rules sorted by (source, target, class).
func (m *Module) Rules() []Rule {
	out := make([]Rule, 0, len(m.rules))
	for k, p := range m.rules {
		out = append(out, Rule{k, p})
	}
	slices.SortFunc(out, func(a, b Rule) int { return a.Key.compare(b.Key) })
	return out
}

// add unions perms into the rule for k and returns the permissions that are new.
func (m *Module) add(k Key, perms []string) []string {
	if m.rules == nil {
		m.rules = map[Key][]string{}
	}
	old := m.rules[k]
	var added []string
	for _, p := range perms {
		if !slices.Contains(old, p) && !slices.Contains(added, p) {
			added = append(added, p)
		}
	}
	if len(added) > 0 || old == nil {
		m.rules[k] = slices.Sorted(slices.Values(append(slices.Clone(old), added...)))
	}
	slices.Sort(added)
	return added
}

// Refusal is a denial left out of the module because the policy lacks what it names.
type Refusal struct {
	Item   avc.Item
	Reason string
}

// Check says why the policy syms cannot hold a rule for k with perms ("" when it can): the
// types (not attributes), the class and each permission of it must be declared. A denial
// that fails this came from the host or another container, whose policy is not this one.
func Check(syms *policydb.Symbols, k Key, perms []string) string {
	var why []string
	for _, t := range []string{k.Source, k.Target} {
		switch syms.Types[t] {
		case 0:
			why = append(why, fmt.Sprintf("type %s is not in the policy", t))
		case policydb.KindAttribute:
			why = append(why, fmt.Sprintf("%s is an attribute, not a type", t))
		}
	}
	classPerms, ok := syms.Classes[k.Class]
	if !ok {
		why = append(why, fmt.Sprintf("class %s is not in the policy", k.Class))
	}
	for _, p := range perms {
		if ok && !slices.Contains(classPerms, p) {
			why = append(why, fmt.Sprintf("permission %s is not in class %s", p, k.Class))
		}
	}
	return strings.Join(why, "; ")
}

// Change is what a round added to one rule: the rule is new (Added holds all its
// permissions) or Added are permissions new to an old rule.
type Change struct {
	Key
	Added []string
	New   bool
}

// Stats describe the input of a round, for its header line: the records read and the
// malformed lines (avc.Counts).
type Stats struct{ Records, Malformed int }

// header is a round's header line.
func (s Stats) header(round int, sel avc.Selection, refused int) string {
	when := "no denials"
	if !sel.First.IsZero() {
		when = "events " + stamp(sel.First) + " to " + stamp(sel.Last)
	}
	return fmt.Sprintf("round %d: %d records read, %d malformed lines; %d denials selected (%d permissive=1, %d permissive=0), %d of them not in the policy; %d on unlabeled_t refused; %s",
		round, s.Records, s.Malformed, len(sel.Kept), sel.Permissive, sel.Enforced, refused, len(sel.Unlabeled), when)
}

func stamp(t time.Time) string { return t.UTC().Format("2006-01-02T15:04:05.000Z") }

// Build is one round's result.
type Build struct {
	Changes []Change
	// Refused are the selected denials the policy cannot hold.
	Refused []Refusal
	// Causes lists, per rule key, the records that asked for it this round.
	Causes map[Key][]avc.Item
}

// AddRound adds the selected denials to m as one round: each is checked against syms (nil:
// not checked) and its permissions unioned into its rule. The round's header line records
// stats. Nothing is added that was not denied: no attribute, no wildcard, no other permission.
func (m *Module) AddRound(sel avc.Selection, syms *policydb.Symbols, stats Stats) Build {
	b := Build{Causes: map[Key][]avc.Item{}}
	changed := map[Key]*Change{}
	for _, it := range sel.Kept {
		d := it.Denial
		k := Key{d.Source, d.Target, d.Class}
		if syms != nil {
			if why := Check(syms, k, d.Perms); why != "" {
				b.Refused = append(b.Refused, Refusal{it, why})
				continue
			}
		}
		_, existed := m.rules[k]
		added := m.add(k, d.Perms)
		b.Causes[k] = append(b.Causes[k], it)
		if len(added) == 0 {
			continue
		}
		c := changed[k]
		if c == nil {
			c = &Change{Key: k, New: !existed}
			changed[k] = c
		}
		c.Added = slices.Sorted(slices.Values(append(c.Added, added...)))
	}
	for _, c := range changed {
		b.Changes = append(b.Changes, *c)
	}
	slices.SortFunc(b.Changes, func(a, c Change) int { return a.Key.compare(c.Key) })
	m.Rounds = append(m.Rounds, stats.header(m.Round(), sel, len(b.Refused)))
	return b
}
