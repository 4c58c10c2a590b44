package avc

import (
	"strings"
	"testing"
	"time"
)

func TestSelect(t *testing.T) {
	ev := func(serial, sec, perms, src, tgt, comm, extra string) string {
		return "type=AVC msg=audit(" + sec + ".000:" + serial + "): avc:  denied  { " + perms + " } for pid=1 comm=\"" + comm + "\" " + extra +
			" scontext=u:r:" + src + ":s0 tcontext=u:object_r:" + tgt + ":s0 tclass=file permissive=1\n"
	}
	in := ev("1", "1000", "read", "app_t", "etc_t", "cat", "") +
		ev("2", "2000", "write", "app_t", "etc_t", "sh", "") +
		ev("3", "3000", "getattr", "app_t", Unlabeled, "ls", `name="data" dev="vdb" ino=77`) +
		`type=PATH msg=audit(3000.000:3): item=0 name="/srv/data" inode=77 dev=fe:10 nametype=NORMAL` + "\n" +
		ev("4", "4000", "open", "other_t", "etc_t", "cat", "") +
		strings.Replace(ev("5", "5000", "read", "app_t", "etc_t", "cat", ""), "denied", "granted", 1)
	events := read(t, in).Events
	for _, tc := range []struct {
		name   string
		f      Filter
		kept   string
		counts [3]int // granted, out of range, not matched
		unlab  int
	}{
		{"all", Filter{}, "1 2 4", [3]int{1, 0, 0}, 1},
		{"since", Filter{Since: time.Unix(2000, 0)}, "2 4", [3]int{1, 1, 0}, 1},
		{"until", Filter{Until: time.Unix(2000, 0)}, "1 2", [3]int{1, 2, 0}, 0},
		{"source", Filter{Sources: []string{"app_t"}}, "1 2", [3]int{1, 0, 1}, 1},
		{"target", Filter{Targets: []string{"etc_t"}}, "1 2 4", [3]int{1, 0, 1}, 0},
		{"comm", Filter{Comms: []string{"cat"}}, "1 4", [3]int{1, 0, 2}, 0},
		{"unlabeled allowed", Filter{AllowUnlabeled: true}, "1 2 3 4", [3]int{1, 0, 0}, 0},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s := tc.f.Select(events)
			var kept []string
			for _, it := range s.Kept {
				kept = append(kept, string(rune('0'+it.Event.Key.Serial)))
			}
			if strings.Join(kept, " ") != tc.kept || [3]int{s.Granted, s.OutOfRange, s.NotMatched} != tc.counts || len(s.Unlabeled) != tc.unlab {
				t.Errorf("kept %v counts %d %d %d unlabeled %d", kept, s.Granted, s.OutOfRange, s.NotMatched, len(s.Unlabeled))
			}
			if s.Permissive != len(s.Kept) || s.Enforced != 0 {
				t.Errorf("permissive %d enforced %d", s.Permissive, s.Enforced)
			}
		})
	}
	s := Filter{}.Select(events)
	if got, want := s.Unlabeled[0].Object(), `name="data" ino="77" dev="vdb" PATH name="/srv/data" inode=77 dev=fe:10`; got != want {
		t.Errorf("object %s, want %s", got, want)
	}
	if !s.First.Equal(time.Unix(1000, 0)) || !s.Last.Equal(time.Unix(4000, 0)) {
		t.Errorf("first %v last %v", s.First, s.Last)
	}
	if line := s.Kept[0].String(); !strings.Contains(line, "in0:1 audit(1970-01-01T00:16:40.000Z:1) denied comm=\"cat\" { read }") || !strings.Contains(line, "permissive=1") {
		t.Errorf("line %s", line)
	}
}

func TestParseTime(t *testing.T) {
	for in, want := range map[string]int64{
		"1764633600": 1764633600000, "1764633600.5": 1764633600500, "1764633600.123": 1764633600123,
		"2025-12-02T00:00:00Z": 1764633600000, "2025-12-02T01:00:00+01:00": 1764633600000,
	} {
		got, err := ParseTime(in)
		if err != nil || got.UnixMilli() != want {
			t.Errorf("%s: %v %v", in, got.UnixMilli(), err)
		}
	}
	if _, err := ParseTime("2025-12-02 00:00"); err != nil {
		t.Error(err)
	}
	for _, bad := range []string{"", "yesterday", "1.2345", "12/02/2025"} {
		if _, err := ParseTime(bad); err == nil {
			t.Errorf("%q accepted", bad)
		}
	}
}
