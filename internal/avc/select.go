package avc

import (
	"cmp"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"
)

// Unlabeled is the type of objects the policy has no label for: a denial on it means the
// files were never labelled (a relabel is missing), not that a rule is.
const Unlabeled = "unlabeled_t"

// Filter selects the denials a module is built from. Zero fields select everything.
type Filter struct {
	// Since and Until bound the event time, both inclusive.
	Since, Until time.Time
	// Sources, Targets and Comms, when set, are the only source types, target types and
	// commands (comm) selected.
	Sources, Targets, Comms []string
	// AllowUnlabeled keeps denials on unlabeled_t instead of refusing them.
	AllowUnlabeled bool
}

// Item is one AVC record of an event.
type Item struct {
	Event  *Event
	Denial *Denial
}

// Comm is the record's command: the AVC's comm, else its event's SYSCALL's.
func (it Item) Comm() string {
	if c := it.Denial.Fields.Get("comm"); c != "" {
		return c
	}
	return it.Event.Syscall().Get("comm")
}

// Object describes the object the record is about as the record names it: name, path, ino,
// dev and the event's PATH names (what locates an unlabelled file).
func (it Item) Object() string {
	var parts []string
	for _, k := range []string{"path", "name", "ino", "dev"} {
		if v, ok := it.Denial.Fields.Lookup(k); ok {
			parts = append(parts, k+"="+strconv.Quote(v))
		}
	}
	for _, p := range it.Event.Paths() {
		if n := p.Get("name"); n != "" {
			parts = append(parts, "PATH name="+strconv.Quote(n)+" inode="+p.Get("inode")+" dev="+p.Get("dev"))
		}
	}
	if it.Event.Cwd() != "" {
		parts = append(parts, "cwd="+strconv.Quote(it.Event.Cwd()))
	}
	if len(parts) == 0 {
		return "(the record names no file)"
	}
	return strings.Join(parts, " ")
}

// String is one line for --explain and the lists of refused records: where, when, the
// decision and who made the access.
func (it Item) String() string {
	d, ev := it.Denial, it.Event
	mode := map[int]string{1: "permissive=1", 0: "permissive=0 (enforced)", -1: "permissive unknown"}[d.Permissive]
	s := fmt.Sprintf("%s audit(%s:%d) %s comm=%q { %s } %s → %s tclass=%s %s", d.At, ev.Time().UTC().Format("2006-01-02T15:04:05.000Z"), ev.Key.Serial,
		map[bool]string{true: "denied", false: "granted"}[d.Denied], it.Comm(), strings.Join(d.Perms, " "), d.Scontext, d.Tcontext, d.Class, mode)
	if exe := cmp.Or(d.Fields.Get("exe"), ev.Syscall().Get("exe")); exe != "" {
		s += " exe=" + strconv.Quote(exe)
	}
	if sc := ev.Syscall().Get("syscall"); sc != "" {
		s += " syscall=" + sc
	}
	if d.User {
		s += " (USER_AVC)"
	}
	return s
}

// Selection is what Select made of the events.
type Selection struct {
	// Kept are the denials to build rules from.
	Kept []Item
	// Granted are records of granted access (auditallow), never rules; OutOfRange are
	// outside --since/--until; NotMatched do not match the type or comm filters.
	Granted, OutOfRange, NotMatched int
	// Unlabeled are denials on unlabeled_t, refused unless Filter.AllowUnlabeled.
	Unlabeled []Item
	// Permissive and Enforced count the kept records by permissive=1 and 0.
	Permissive, Enforced int
	// First and Last are the times of the first and last kept events.
	First, Last time.Time
}

// Select applies f to events (in time order, as Result returns them).
func (f Filter) Select(events []*Event) Selection {
	var s Selection
	for _, ev := range events {
		for i := range ev.Denials {
			it := Item{ev, &ev.Denials[i]}
			d := it.Denial
			switch {
			case !d.Denied:
				s.Granted++
			case !f.Since.IsZero() && ev.Time().Before(f.Since), !f.Until.IsZero() && ev.Time().After(f.Until):
				s.OutOfRange++
			case !matches(f.Sources, d.Source), !matches(f.Targets, d.Target), !matches(f.Comms, it.Comm()):
				s.NotMatched++
			case !f.AllowUnlabeled && (d.Target == Unlabeled || d.Source == Unlabeled):
				s.Unlabeled = append(s.Unlabeled, it)
			default:
				s.Kept = append(s.Kept, it)
				switch d.Permissive {
				case 1:
					s.Permissive++
				case 0:
					s.Enforced++
				}
				if s.First.IsZero() {
					s.First = ev.Time()
				}
				s.Last = ev.Time()
			}
		}
	}
	return s
}

// matches reports whether v is in want, or want is empty.
func matches(want []string, v string) bool { return len(want) == 0 || slices.Contains(want, v) }

// timeLayouts are the forms --since and --until accept besides SEC[.MS], in local time
// unless they name a zone.
var timeLayouts = []string{time.RFC3339Nano, "2006-01-02T15:04:05", "2006-01-02 15:04:05", "2006-01-02 15:04", "2006-01-02"}

// ParseTime reads a time bound: seconds since the epoch as audit(...) shows them (SEC or
// SEC.MS), RFC 3339, or YYYY-MM-DD[ HH:MM[:SS]] in the local time zone.
func ParseTime(s string) (time.Time, error) {
	if sec, ms, _ := strings.Cut(s, "."); allDigits(sec) && (ms == "" || allDigits(ms)) && len(sec) <= 12 && len(ms) <= 3 {
		n, _ := strconv.ParseInt(sec, 10, 64)
		m, _ := strconv.ParseInt((ms + "000")[:3], 10, 64)
		return time.UnixMilli(n*1000 + m), nil
	}
	for _, layout := range timeLayouts {
		if t, err := time.ParseInLocation(layout, s, time.Local); err == nil {
			return t, nil
		}
	}
	return time.Time{}, fmt.Errorf("time %q: want SEC[.MS] (as in audit(SEC.MS:SERIAL)), RFC 3339 or YYYY-MM-DD[ HH:MM[:SS]]", s)
}
