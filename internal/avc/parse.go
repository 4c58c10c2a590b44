// Package avc reads SELinux AVC records in the forms admins collect them: audit.log lines and
// `ausearch -m avc` output (raw and -i interpreted), and kernel log lines (journalctl -k,
// dmesg, a serial console: `audit: type=1400 audit(T:SERIAL): avc:  denied  { … } for …`),
// mixed in one stream. Records of one event (AVC, SYSCALL, PATH, CWD) are grouped by the
// event's time and serial, whatever order they arrive in. A line that looks like a record but
// cannot be read is counted as malformed with its line number; nothing is fatal but a read
// error, and no line is dropped without being counted.
package avc

import (
	"bufio"
	"bytes"
	"cmp"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"slices"
	"strconv"
	"strings"
	"time"
)

// MaxLine bounds a line: the kernel's largest audit record (MAX_AUDIT_MESSAGE_LENGTH, 8970
// bytes in include/linux/audit.h) with room for a journal or console prefix. A longer line
// cannot be one record; it is counted as malformed and skipped without being held.
const MaxLine = 16 << 10

// maxQuoted bounds what a Malformed entry quotes of its line.
const maxQuoted = 80

// Record types an event is built from, by name and by number (AUDIT_* in
// include/uapi/linux/audit.h): the kernel log shows numbers, audit.log names.
var recordTypes = map[string]string{
	"1400": "AVC", "1107": "USER_AVC", "1300": "SYSCALL", "1302": "PATH", "1307": "CWD",
	"AVC": "AVC", "USER_AVC": "USER_AVC", "SYSCALL": "SYSCALL", "PATH": "PATH", "CWD": "CWD",
}

// keptFields are the fields kept of SYSCALL, PATH and CWD records: what --explain and the
// unlabeled-file report show.
var keptFields = map[string][]string{
	"SYSCALL": {"pid", "comm", "exe", "syscall", "success", "exit"},
	"PATH":    {"name", "inode", "dev", "nametype"},
	"CWD":     {"cwd"},
}

// untrusted are the fields the kernel writes with audit_log_untrustedstring: quoted, or as
// hexadecimal when they hold a space, a quote or a control character (raw form only).
var untrusted = map[string]bool{"comm": true, "exe": true, "name": true, "path": true, "cwd": true}

// Key identifies an audit event: the records of one event share node, time and serial.
type Key struct {
	Node   string
	Milli  int64
	Serial uint64
}

// Denial is one AVC record: an access decision for one (scontext, tcontext, tclass).
type Denial struct {
	// Denied is false for a `granted` record (auditallow).
	Denied bool
	// User is true for a USER_AVC record (a userspace object manager: dbus, systemd).
	User  bool
	Perms []string
	// Scontext and Tcontext are the contexts; Source and Target their types.
	Scontext, Tcontext, Source, Target, Class string
	// Permissive is 1 or 0 from permissive=, -1 when the record has none (older kernels).
	Permissive int
	// Fields are the record's other fields (pid, comm, name, dev, ino, path, ...), decoded.
	Fields map[string]string
	// At is where the record was read.
	At Location
}

// Location names a line of the input.
type Location struct {
	File string
	Line int
}

func (l Location) String() string { return fmt.Sprintf("%s:%d", l.File, l.Line) }

// Event is one audit event that holds at least one AVC record.
type Event struct {
	Key  Key
	Time time.Time
	// Denials are the event's AVC records, duplicates (the same event read twice, as from
	// audit.log and the console) removed.
	Denials []Denial
	// Syscall, Paths and Cwd are the kept fields of the event's SYSCALL, PATH and CWD records.
	Syscall map[string]string
	Paths   []map[string]string
	Cwd     string
}

// Malformed is a line that looks like an audit record but could not be read.
type Malformed struct {
	At     Location
	Reason string
	// Text quotes the start of the line.
	Text string
}

func (m Malformed) String() string { return fmt.Sprintf("%s: %s: %s", m.At, m.Reason, m.Text) }

// Counts says what the input held, line by line.
type Counts struct {
	// Lines read; Records read of the kinds events are built from (AVC, USER_AVC, SYSCALL,
	// PATH, CWD); OtherRecords are audit records of other types; NotRecords lines that are not
	// audit records at all (console output, ausearch's ---- separators); Duplicates AVC
	// records seen twice in one event; Orphans events (SYSCALL, PATH, ...) with no AVC record.
	Lines, Records, OtherRecords, NotRecords, Duplicates, Orphans int
}

// Result is everything read.
type Result struct {
	// Events in time order (then serial, then node).
	Events    []*Event
	Malformed []Malformed
	Counts    Counts
}

// Reader accumulates records from several inputs; Result groups them.
type Reader struct {
	events    map[Key]*event
	malformed []Malformed
	counts    Counts
}

// event is an Event being collected.
type event struct {
	Event
	hasAVC bool
	seen   map[string]bool
}

// NewReader returns an empty Reader.
func NewReader() *Reader { return &Reader{events: map[Key]*event{}} }

// Read reads the lines of r, named name in messages. Only a read error is returned; every
// line is counted, and those that look like records but cannot be read are Malformed. Memory
// stays proportional to what is kept of the records read, a line never beyond MaxLine.
func (rd *Reader) Read(name string, r io.Reader) error {
	br := bufio.NewReaderSize(r, MaxLine)
	for n := 1; ; n++ {
		line, err := br.ReadSlice('\n')
		if errors.Is(err, bufio.ErrBufferFull) {
			rd.counts.Lines++
			rd.bad(Location{name, n}, fmt.Sprintf("line longer than %d bytes", MaxLine), line)
			for errors.Is(err, bufio.ErrBufferFull) {
				_, err = br.ReadSlice('\n')
			}
			if err != nil && !errors.Is(err, io.EOF) {
				return fmt.Errorf("reading %s: %w", name, err)
			}
			if err != nil {
				return nil
			}
			continue
		}
		if len(line) == 0 && errors.Is(err, io.EOF) {
			return nil
		}
		if err != nil && !errors.Is(err, io.EOF) {
			return fmt.Errorf("reading %s: %w", name, err)
		}
		rd.counts.Lines++
		rd.line(Location{name, n}, bytes.TrimRight(line, "\r\n"))
		if err != nil {
			return nil
		}
	}
}

// bad records a malformed line.
func (rd *Reader) bad(at Location, reason string, line []byte) {
	rd.malformed = append(rd.malformed, Malformed{At: at, Reason: reason, Text: quoteShort(line)})
}

// quoteShort quotes b, cut to maxQuoted bytes (marked "…").
func quoteShort(b []byte) string {
	if len(b) > maxQuoted {
		return strconv.Quote(string(b[:maxQuoted])) + "…"
	}
	return strconv.Quote(string(b))
}

// line reads one line.
func (rd *Reader) line(at Location, line []byte) {
	h, ok, err := findHeader(line)
	switch {
	case err != nil:
		rd.bad(at, err.Error(), line)
		return
	case !ok:
		if bytes.Contains(line, []byte("avc:")) {
			rd.bad(at, "an avc: message without its type=… audit(TIME:SERIAL) header (journald's `audit[PID]: AVC` form drops it: use journalctl -k, ausearch or audit.log)", line)
			return
		}
		rd.counts.NotRecords++
		return
	}
	typ, known := recordTypes[h.typ]
	if !known {
		rd.counts.OtherRecords++
		return
	}
	// audit.log's ENRICHED format appends interpreted fields after a GS byte.
	body := h.body
	if i := bytes.IndexByte(body, 0x1d); i >= 0 {
		body = body[:i]
	}
	switch typ {
	case "AVC", "USER_AVC":
		d, err := parseAVC(body, typ == "USER_AVC", h.interpreted)
		if err != nil {
			rd.bad(at, err.Error(), line)
			return
		}
		d.At = at
		rd.counts.Records++
		ev := rd.event(h.key)
		ev.hasAVC = true
		if id := d.identity(); ev.seen[id] {
			rd.counts.Duplicates++
		} else {
			if ev.seen == nil {
				ev.seen = map[string]bool{}
			}
			ev.seen[id] = true
			ev.Denials = append(ev.Denials, d)
		}
	default:
		f, err := parseFields(body, h.interpreted)
		if err != nil {
			rd.bad(at, err.Error(), line)
			return
		}
		rd.counts.Records++
		ev := rd.event(h.key)
		kept := map[string]string{}
		for _, k := range keptFields[typ] {
			if v, ok := f[k]; ok {
				kept[k] = v
			}
		}
		switch typ {
		case "SYSCALL":
			if ev.Syscall != nil {
				rd.counts.Duplicates++
			}
			ev.Syscall = kept
		case "PATH":
			if !slices.ContainsFunc(ev.Paths, func(p map[string]string) bool { return fmt.Sprint(p) == fmt.Sprint(kept) }) {
				ev.Paths = append(ev.Paths, kept)
			}
		case "CWD":
			ev.Cwd = kept["cwd"]
		}
	}
}

// event returns the event of key k, adding it on its first record.
func (rd *Reader) event(k Key) *event {
	ev := rd.events[k]
	if ev == nil {
		ev = &event{Event: Event{Key: k, Time: time.UnixMilli(k.Milli)}}
		rd.events[k] = ev
	}
	return ev
}

// identity is what makes two AVC records of one event the same record.
func (d Denial) identity() string {
	return fmt.Sprint(d.Denied, d.User, d.Perms, d.Scontext, d.Tcontext, d.Class, d.Fields)
}

// header is the part of a record line before its fields.
type header struct {
	typ         string
	key         Key
	interpreted bool
	body        []byte
}

// findHeader finds `[node=N ]type=T [msg=]audit(TIME:SERIAL)[ ]:` anywhere in line (a
// journal or console prefix may come first). ok is false when the line has no header; err
// says why a header that is there cannot be read.
func findHeader(line []byte) (h header, ok bool, err error) {
	for off := 0; ; {
		i := bytes.Index(line[off:], []byte("type="))
		if i < 0 {
			return header{}, false, nil
		}
		i += off
		off = i + len("type=")
		if i > 0 && !isSpace(line[i-1]) {
			continue // part of another word: "ptype=", "nametype="
		}
		j := off
		for j < len(line) && (isAlnum(line[j]) || line[j] == '_') {
			j++
		}
		typ := string(line[off:j])
		rest := bytes.TrimLeft(line[j:], " ")
		rest = bytes.TrimPrefix(rest, []byte("msg="))
		if typ == "" || !bytes.HasPrefix(rest, []byte("audit(")) {
			continue
		}
		rest = rest[len("audit("):]
		end := bytes.IndexByte(rest, ')')
		if end < 0 {
			return header{}, false, errors.New("truncated: audit( without its closing parenthesis")
		}
		key, interpreted, err := parseStamp(string(rest[:end]))
		if err != nil {
			return header{}, false, err
		}
		body := bytes.TrimLeft(rest[end+1:], " ")
		if !bytes.HasPrefix(body, []byte(":")) {
			return header{}, false, errors.New("no ':' after audit(TIME:SERIAL)")
		}
		key.Node = nodeBefore(line[:i])
		return header{typ: typ, key: key, interpreted: interpreted, body: bytes.TrimLeft(body[1:], " ")}, true, nil
	}
}

// nodeBefore returns N of a `node=N ` directly before the type field, "" without one.
func nodeBefore(prefix []byte) string {
	prefix = bytes.TrimRight(prefix, " ")
	i := bytes.LastIndexByte(prefix, ' ') + 1
	if v, ok := bytes.CutPrefix(prefix[i:], []byte("node=")); ok {
		return string(v)
	}
	return ""
}

// interpretedLayouts are the dates `ausearch -i` writes (strftime %x %T, which depends on the
// locale: C gives 12/02/26, en_US 12/02/2026; others are ISO or day-first with dots).
var interpretedLayouts = []string{"01/02/2006 15:04:05", "01/02/06 15:04:05", "2006-01-02 15:04:05", "02.01.2006 15:04:05"}

// parseStamp reads `SEC.MS:SERIAL` (raw) or `DATE TIME.MS:SERIAL` (ausearch -i, in the local
// time zone, which is how ausearch wrote it: TZ must match).
func parseStamp(s string) (Key, bool, error) {
	c := strings.LastIndexByte(s, ':')
	if c < 0 {
		return Key{}, false, fmt.Errorf("audit(%s): no :SERIAL", s)
	}
	serial, err := strconv.ParseUint(s[c+1:], 10, 64)
	if err != nil {
		return Key{}, false, fmt.Errorf("audit(%s): bad serial", s)
	}
	t, ms, ok := strings.Cut(s[:c], ".")
	if !ok || len(ms) != 3 || !allDigits(ms) {
		return Key{}, false, fmt.Errorf("audit(%s): time without milliseconds", s)
	}
	milli, _ := strconv.ParseInt(ms, 10, 64)
	if allDigits(t) {
		sec, err := strconv.ParseInt(t, 10, 64)
		if err != nil || sec > 1<<40 {
			return Key{}, false, fmt.Errorf("audit(%s): bad time", s)
		}
		return Key{Milli: sec*1000 + milli, Serial: serial}, false, nil
	}
	for _, layout := range interpretedLayouts {
		if tm, err := time.ParseInLocation(layout, t, time.Local); err == nil {
			return Key{Milli: tm.Unix()*1000 + milli, Serial: serial}, true, nil
		}
	}
	return Key{}, false, fmt.Errorf("audit(%s): unknown date format", s)
}

// parseAVC reads the body of an AVC or USER_AVC record:
// `avc:  denied  { PERM... } for  FIELD=VALUE...` (a USER_AVC's sits in msg='…').
func parseAVC(body []byte, user, interpreted bool) (Denial, error) {
	i := bytes.Index(body, []byte("avc:"))
	if i < 0 {
		return Denial{}, errors.New("AVC record without avc:")
	}
	s := body[i+len("avc:"):]
	if user {
		// The userspace message ends at msg's closing quote; the fields after it are the
		// sender's (pid, uid, exe, ...), not the decision's.
		if q := bytes.IndexByte(s, '\''); q >= 0 {
			s = s[:q]
		}
	}
	s = bytes.TrimLeft(s, " ")
	d := Denial{User: user, Permissive: -1}
	switch {
	case bytes.HasPrefix(s, []byte("denied")):
		d.Denied = true
		s = s[len("denied"):]
	case bytes.HasPrefix(s, []byte("granted")):
		s = s[len("granted"):]
	default:
		return Denial{}, errors.New("avc: neither denied nor granted")
	}
	s = bytes.TrimLeft(s, " ")
	if !bytes.HasPrefix(s, []byte("{")) {
		return Denial{}, errors.New("avc: no { permissions }")
	}
	end := bytes.IndexByte(s, '}')
	if end < 0 {
		return Denial{}, errors.New("truncated: { permissions without }")
	}
	for _, p := range strings.Fields(string(s[1:end])) {
		if !ValidName(p) {
			return Denial{}, fmt.Errorf("permission %q is not a name", p)
		}
		d.Perms = append(d.Perms, p)
	}
	if len(d.Perms) == 0 {
		return Denial{}, errors.New("avc: empty { }")
	}
	s = bytes.TrimLeft(s[end+1:], " ")
	s = bytes.TrimPrefix(s, []byte("for"))
	f, err := parseFields(s, interpreted)
	if err != nil {
		return Denial{}, err
	}
	for _, k := range []string{"scontext", "tcontext", "tclass"} {
		if f[k] == "" {
			return Denial{}, fmt.Errorf("truncated or incomplete AVC record: no %s", k)
		}
	}
	d.Scontext, d.Tcontext, d.Class = f["scontext"], f["tcontext"], f["tclass"]
	if d.Source, err = contextType(d.Scontext); err != nil {
		return Denial{}, err
	}
	if d.Target, err = contextType(d.Tcontext); err != nil {
		return Denial{}, err
	}
	if !ValidName(d.Class) {
		return Denial{}, fmt.Errorf("tclass %q is not a name", d.Class)
	}
	switch f["permissive"] {
	case "1", "yes":
		d.Permissive = 1
	case "0", "no":
		d.Permissive = 0
	}
	for _, k := range []string{"scontext", "tcontext", "tclass", "permissive"} {
		delete(f, k)
	}
	d.Fields = f
	return d, nil
}

// contextType returns the type of user:role:type[:level].
func contextType(ctx string) (string, error) {
	parts := strings.SplitN(ctx, ":", 4)
	if len(parts) < 3 || !ValidName(parts[2]) {
		return "", fmt.Errorf("%q is not a security context (user:role:type[:level])", ctx)
	}
	return parts[2], nil
}

// ValidName reports whether s can be a policy identifier (type, class, permission): what
// CIL and the .te language accept, so that no record can inject syntax into a module.
func ValidName(s string) bool {
	if s == "" || len(s) > 256 {
		return false
	}
	for _, c := range []byte(s) {
		if !isAlnum(c) && c != '_' && c != '-' && c != '.' {
			return false
		}
	}
	return true
}

// parseFields reads `KEY=VALUE` fields separated by spaces; VALUE is "quoted" (to the next
// quote) or runs to the next space. In raw records an unquoted untrusted field is
// hexadecimal (audit_log_untrustedstring) and is decoded.
func parseFields(s []byte, interpreted bool) (map[string]string, error) {
	f := map[string]string{}
	for {
		s = bytes.TrimLeft(s, " ")
		if len(s) == 0 {
			return f, nil
		}
		eq := bytes.IndexByte(s, '=')
		sp := bytes.IndexByte(s, ' ')
		if eq < 0 || (sp >= 0 && sp < eq) {
			// A word without "=" (USER_AVC's trailing text, a journal suffix): skip it.
			if sp < 0 {
				return f, nil
			}
			s = s[sp:]
			continue
		}
		key := string(s[:eq])
		s = s[eq+1:]
		var val string
		switch {
		case len(s) > 0 && (s[0] == '"' || s[0] == '\''):
			q := bytes.IndexByte(s[1:], s[0])
			if q < 0 {
				return nil, fmt.Errorf("truncated: field %s has no closing quote", key)
			}
			val, s = string(s[1:1+q]), s[q+2:]
		default:
			end := bytes.IndexByte(s, ' ')
			if end < 0 {
				end = len(s)
			}
			val, s = string(s[:end]), s[end:]
			if !interpreted && untrusted[key] && len(val)%2 == 0 {
				if b, err := hex.DecodeString(val); err == nil && len(b) > 0 {
					val = string(b)
				}
			}
		}
		if _, dup := f[key]; !dup {
			f[key] = val
		}
	}
}

// Result returns the events read so far that hold an AVC record, in time order.
func (rd *Reader) Result() *Result {
	res := &Result{Malformed: rd.malformed, Counts: rd.counts}
	for _, ev := range rd.events {
		if !ev.hasAVC {
			res.Counts.Orphans++
			continue
		}
		e := ev.Event
		res.Events = append(res.Events, &e)
	}
	slices.SortFunc(res.Events, func(a, b *Event) int {
		return cmp.Or(cmp.Compare(a.Key.Milli, b.Key.Milli), cmp.Compare(a.Key.Serial, b.Key.Serial), strings.Compare(a.Key.Node, b.Key.Node))
	})
	return res
}

func isSpace(c byte) bool { return c == ' ' || c == '\t' }
func isAlnum(c byte) bool {
	return c >= '0' && c <= '9' || c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z'
}
func allDigits(s string) bool {
	return s != "" && strings.Trim(s, "0123456789") == ""
}
