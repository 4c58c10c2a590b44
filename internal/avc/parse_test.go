package avc

import (
	"io"
	"strings"
	"testing"
	"testing/iotest"
	"time"
)

// One event (serial 456, 2025-12-02 00:00:00.123 UTC) in every form it is collected in.
const (
	rawAVC     = `type=AVC msg=audit(1764633600.123:456): avc:  denied  { read open } for  pid=812 comm="cat" name="secret" dev="vda" ino=1234 scontext=system_u:system_r:app_t:s0 tcontext=system_u:object_r:etc_t:s0 tclass=file permissive=1`
	rawSyscall = `type=SYSCALL msg=audit(1764633600.123:456): arch=c000003e syscall=257 success=yes exit=3 a0=ffffff9c items=1 ppid=1 pid=812 auid=4294967295 uid=0 comm="cat" exe="/usr/bin/cat" subj=system_u:system_r:app_t:s0 key=(null)`
	rawPath    = `type=PATH msg=audit(1764633600.123:456): item=0 name="/etc/secret" inode=1234 dev=fe:00 mode=0100644 obj=system_u:object_r:etc_t:s0 nametype=NORMAL`
	rawTitle   = `type=PROCTITLE msg=audit(1764633600.123:456): proctitle=636174002F6574632F736563726574`
	interpAVC  = `type=AVC msg=audit(12/02/2025 00:00:00.123:456) : avc:  denied  { read open } for  pid=812 comm=cat name=secret dev="vda" ino=1234 scontext=system_u:system_r:app_t:s0 tcontext=system_u:object_r:etc_t:s0 tclass=file permissive=1`
	dmesgAVC   = `[   12.345678] audit: type=1400 audit(1764633600.123:456): avc:  denied  { read open } for  pid=812 comm="cat" name="secret" dev="vda" ino=1234 scontext=system_u:system_r:app_t:s0 tcontext=system_u:object_r:etc_t:s0 tclass=file permissive=1`
	journalAVC = `Dec 02 00:00:00 host kernel: audit: type=1400 audit(1764633600.123:456): avc:  denied  { read open } for  pid=812 comm="cat" name="secret" dev="vda" ino=1234 scontext=system_u:system_r:app_t:s0 tcontext=system_u:object_r:etc_t:s0 tclass=file permissive=1`
	consoleSys = `[   12.345900] audit: type=1300 audit(1764633600.123:456): arch=c000003e syscall=257 success=yes exit=3 pid=812 comm="cat" exe="/usr/bin/cat" subj=system_u:system_r:app_t:s0 key=(null)`
	userAVC    = `type=USER_AVC msg=audit(1764633600.500:460): pid=1 uid=0 auid=4294967295 ses=4294967295 subj=system_u:system_r:init_t:s0 msg='avc:  denied  { status } for auid=n/a uid=0 gid=0 cmdline="" scontext=system_u:system_r:app_t:s0 tcontext=system_u:system_r:init_t:s0 tclass=system permissive=0  exe="/usr/lib/systemd/systemd" sauid=0 hostname=? addr=? terminal=?'`
)

func read(t *testing.T, inputs ...string) *Result {
	t.Helper()
	rd := NewReader()
	for i, in := range inputs {
		if err := rd.Read("in"+string(rune('0'+i)), strings.NewReader(in)); err != nil {
			t.Fatal(err)
		}
	}
	return rd.Result()
}

func TestForms(t *testing.T) {
	old := time.Local
	time.Local = time.UTC // ausearch -i writes local time; the test's zone is UTC
	t.Cleanup(func() { time.Local = old })
	for _, tc := range []struct{ name, in string }{
		{"audit.log", rawAVC + "\n" + rawSyscall + "\n" + rawPath + "\n" + rawTitle + "\n"},
		{"ausearch raw", "----\ntime->Tue Dec  2 00:00:00 2025\n" + rawPath + "\n" + rawSyscall + "\n" + rawAVC + "\n"},
		{"ausearch -i", "----\n" + interpAVC + "\n"},
		{"dmesg", dmesgAVC + "\n" + consoleSys},
		{"journalctl -k", journalAVC + "\n"},
		{"enriched audit.log", "node=h1 " + rawAVC + "\x1dAUID=\"unset\"\n"},
		{"CRLF serial console", dmesgAVC + "\r\n"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			res := read(t, tc.in)
			if len(res.Events) != 1 || len(res.Malformed) != 0 {
				t.Fatalf("events %d, malformed %v", len(res.Events), res.Malformed)
			}
			ev := res.Events[0]
			if ev.Key.Serial != 456 || ev.Key.Milli != 1764633600123 {
				t.Errorf("key %+v", ev.Key)
			}
			d := ev.Denials[0]
			if !d.Denied || d.Source != "app_t" || d.Target != "etc_t" || d.Class != "file" ||
				strings.Join(d.Perms, " ") != "read open" || d.Permissive != 1 || d.Fields.Get("comm") != "cat" || d.Fields.Get("ino") != "1234" {
				t.Errorf("denial %+v", d)
			}
			if strings.Contains(tc.in, "SYSCALL") && ev.Syscall().Get("exe") != "/usr/bin/cat" {
				t.Errorf("syscall %v", ev.Syscall())
			}
			if strings.Contains(tc.in, "PATH") && (len(ev.Paths()) != 1 || ev.Paths()[0].Get("name") != "/etc/secret") {
				t.Errorf("paths %v", ev.Paths())
			}
		})
	}
}

func TestUserAVC(t *testing.T) {
	res := read(t, userAVC)
	d := res.Events[0].Denials[0]
	if !d.User || d.Source != "app_t" || d.Target != "init_t" || d.Class != "system" || d.Permissive != 0 || d.Fields.Get("exe") != "/usr/lib/systemd/systemd" || d.Fields.Get("sauid") != "" {
		t.Errorf("%+v", d)
	}
}

// TestInterleaved: records of two events alternate, across two inputs, and the same event
// arrives twice (audit.log and the console): grouped by serial, the copy counted.
func TestInterleaved(t *testing.T) {
	other := strings.NewReplacer(":456)", ":457)", "{ read open }", "{ write }", "pid=812", "pid=813").Replace
	log := strings.Join([]string{rawAVC, other(rawAVC), other(rawSyscall), "noise from the console", rawSyscall, other(rawPath)}, "\n")
	res := read(t, log, dmesgAVC+"\n")
	if len(res.Events) != 2 {
		t.Fatalf("%d events", len(res.Events))
	}
	a, b := res.Events[0], res.Events[1]
	if a.Key.Serial != 456 || b.Key.Serial != 457 || len(a.Denials) != 1 || b.Denials[0].Perms[0] != "write" || b.Denials[0].Fields.Get("pid") != "813" || a.Denials[0].Fields.Get("pid") != "812" || b.Syscall().Get("exe") != "/usr/bin/cat" || len(b.Paths()) != 1 || len(a.Paths()) != 0 {
		t.Errorf("%+v\n%+v", a, b)
	}
	c := res.Counts
	if c.Duplicates != 1 || c.NotRecords != 1 || c.Lines != 7 || c.Records != 6 {
		t.Errorf("counts %+v", c)
	}
}

// TestMalformed: lines that look like records but cannot be read are counted with their line
// numbers; the rest of the input is still read.
func TestMalformed(t *testing.T) {
	for _, tc := range []struct{ name, line, reason string }{
		{"truncated fields", rawAVC[:strings.Index(rawAVC, " tclass")], "no tclass"},
		{"truncated quote", rawAVC[:strings.Index(rawAVC, `cat"`)], "no closing quote"},
		{"truncated perms", rawAVC[:strings.Index(rawAVC, " open")], "without }"},
		{"truncated header", `type=AVC msg=audit(1764633600.1`, "closing parenthesis"},
		{"no serial", `type=AVC msg=audit(1764633600.123): avc:`, "no :SERIAL"},
		{"no millis", `type=AVC msg=audit(1764633600:5): avc:`, "milliseconds"},
		{"bad date", `type=AVC msg=audit(yesterday 00:00:00.123:5) : avc:`, "date format"},
		{"no colon", `type=AVC msg=audit(1764633600.123:5) avc:`, "no ':'"},
		{"no avc", `type=AVC msg=audit(1764633600.123:5): denied`, `without the "avc:" text`},
		{"neither", `type=AVC msg=audit(1764633600.123:5): avc:  maybe { read }`, "neither"},
		{"empty perms", `type=AVC msg=audit(1764633600.123:5): avc:  denied { } for scontext=a:b:c_t tcontext=a:b:c_t tclass=file`, "empty"},
		{"bad context", strings.Replace(rawAVC, "system_u:system_r:app_t:s0", "app_t", 1), "not a security context"},
		{"injected type", strings.Replace(rawAVC, "app_t", "app_t)(allow", 1), "not a security context"},
		{"injected perm", strings.Replace(rawAVC, "{ read open }", "{ read) }", 1), "not a name"},
		{"injected class", strings.Replace(rawAVC, "tclass=file", "tclass=file))", 1), "not a name"},
		{"headerless avc", `avc:  denied  { read } for pid=1 scontext=a:b:c_t tcontext=a:b:c_t tclass=file`, "header"},
		{"journald form", `Dec 02 00:00:00 host audit[812]: AVC avc:  denied  { read } for pid=812`, "journald"},
		{"bad path field", `type=PATH msg=audit(1764633600.123:456): item=0 name="/etc/sec`, "closing quote"},
		{"long line", rawAVC + strings.Repeat("x", MaxLine), "longer than"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			res := read(t, "first line\n"+tc.line+"\n"+rawAVC+"\n")
			if len(res.Malformed) != 1 {
				t.Fatalf("malformed %v", res.Malformed)
			}
			m := res.Malformed[0]
			if m.At.Line != 2 || !strings.Contains(m.Reason, tc.reason) || len(m.Text) > maxQuoted+8 {
				t.Errorf("%v, want line 2: …%s…", m, tc.reason)
			}
			if len(res.Events) != 1 || len(res.Events[0].Denials) != 1 {
				t.Errorf("the good record after it was not read: %+v", res.Events)
			}
			// A record that cannot be read makes no event of its own.
			if res.Counts.Lines != 3 || res.Counts.Orphans != 0 || res.Counts.Records != 1 {
				t.Errorf("counts %+v", res.Counts)
			}
		})
	}
}

// TestManyMalformed: every malformed line is counted, the first MaxMalformed described.
func TestManyMalformed(t *testing.T) {
	res := read(t, strings.Repeat("type=AVC msg=audit(\n", MaxMalformed+5))
	if res.Counts.Malformed != MaxMalformed+5 || len(res.Malformed) != MaxMalformed || res.Malformed[MaxMalformed-1].At.Line != MaxMalformed {
		t.Errorf("counted %d, described %d", res.Counts.Malformed, len(res.Malformed))
	}
}

// TestSplitReads: a reader returning one byte at a time, and a last line without a newline.
func TestSplitReads(t *testing.T) {
	rd := NewReader()
	if err := rd.Read("x", iotest.OneByteReader(strings.NewReader(rawSyscall+"\n"+rawAVC))); err != nil {
		t.Fatal(err)
	}
	res := rd.Result()
	if len(res.Events) != 1 || res.Events[0].Syscall().Get("comm") != "cat" {
		t.Fatalf("%+v", res)
	}
}

func TestReadError(t *testing.T) {
	err := NewReader().Read("x", io.MultiReader(strings.NewReader(rawAVC), iotest.ErrReader(io.ErrUnexpectedEOF)))
	if err == nil || !strings.Contains(err.Error(), "reading x") {
		t.Fatalf("err %v", err)
	}
}

func TestHexFields(t *testing.T) {
	// A raw name with a space is hexadecimal; interpreted output has it decoded already.
	res := read(t, strings.Replace(rawAVC, `name="secret"`, `name=6120622063`, 1))
	if got := res.Events[0].Denials[0].Fields.Get("name"); got != "a b c" {
		t.Errorf("name %q", got)
	}
}

// FuzzRead: no input panics, hangs or is dropped: every line is a record, a non-record or
// malformed, and every kept denial names valid identifiers only.
func FuzzRead(f *testing.F) {
	for _, s := range []string{rawAVC, rawSyscall, rawPath, interpAVC, dmesgAVC, journalAVC, userAVC, rawAVC[:100], "type=AVC msg=audit(", "type=1400 audit(1.000:1): avc: denied { x } for"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, in string) {
		rd := NewReader()
		if err := rd.Read("f", strings.NewReader(in)); err != nil {
			t.Fatal(err)
		}
		res := rd.Result()
		c := res.Counts
		if got := c.Records + c.OtherRecords + c.NotRecords + c.Malformed; got != c.Lines || len(res.Malformed) > MaxMalformed {
			t.Fatalf("%d lines but %d accounted for", c.Lines, got)
		}
		for _, ev := range res.Events {
			for _, d := range ev.Denials {
				for _, n := range append([]string{d.Source, d.Target, d.Class}, d.Perms...) {
					if !ValidName(n) {
						t.Fatalf("invalid name %q kept", n)
					}
				}
			}
		}
	})
}
