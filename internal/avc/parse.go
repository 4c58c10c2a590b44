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

// MaxMalformed bounds the malformed lines described in a Result (Counts.Malformed counts them
// all): a description is longer than a short bad line, and a file of them must not cost
// more than its size.
const MaxMalformed = 1000

// Record types an event is built from, by name and by number (AUDIT_* in
// include/uapi/linux/audit.h): the kernel log shows numbers, audit.log names.
var recordTypes = map[string]string{
	"1400": "AVC", "1107": "USER_AVC", "1300": "SYSCALL", "1302": "PATH", "1307": "CWD",
	"AVC": "AVC", "USER_AVC": "USER_AVC", "SYSCALL": "SYSCALL", "PATH": "PATH", "CWD": "CWD",
}

// keptFields are the fields kept of each record type besides an AVC's decision: what
// --explain, --comm and the unlabeled-file report use. The others are dropped as read, so
// that what is kept of a log stays smaller than the log.
var keptFields = map[string][]string{
	"AVC":     {"pid", "comm", "exe", "name", "path", "dev", "ino", "capability"},
	"SYSCALL": {"comm", "exe", "syscall"},
	"PATH":    {"name", "inode", "dev"},
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

// Fields are the kept fields of a record, decoded, in keptFields' order, in one string:
// each field is one byte naming its key (fieldKeys) and the value, the fields separated by
// NUL bytes (a slice of pairs per record would cost more than the record's line).
type Fields string

// fieldKeys are the keys of every kept field; a field's first byte is 'a'+its index.
var fieldKeys = []string{"pid", "comm", "exe", "name", "path", "dev", "ino", "capability", "syscall", "inode", "cwd"}

// Lookup returns the value of key and whether the record has it.
func (fs Fields) Lookup(key string) (string, bool) {
	i := slices.Index(fieldKeys, key)
	if i < 0 || fs == "" {
		return "", false
	}
	for f := range strings.SplitSeq(string(fs), "\x00") {
		if f != "" && f[0] == byte('a'+i) {
			return f[1:], true
		}
	}
	return "", false
}

// Get returns the value of key, "" when the record has none.
func (fs Fields) Get(key string) string {
	v, _ := fs.Lookup(key)
	return v
}

// Decision is what an AVC record decided, for one (scontext, tcontext, tclass). A log
// repeats the same decisions: Reader keeps one copy of each, shared by its records.
type Decision struct {
	// Denied is false for a `granted` record (auditallow).
	Denied bool
	// User is true for a USER_AVC record (a userspace object manager: dbus, systemd).
	User bool
	// Permissive is 1 or 0 from permissive=, -1 when the record has none (older kernels).
	Permissive int
	Perms      []string
	// Scontext and Tcontext are the contexts; Source and Target their types.
	Scontext, Tcontext, Source, Target, Class string
}

// key identifies the decision, for Reader's copy.
func (d *Decision) key() string {
	return fmt.Sprint(d.Denied, d.User, d.Permissive, d.Perms, d.Scontext, d.Tcontext, d.Class)
}

// Denial is one AVC record: its decision and what the record says about the access.
type Denial struct {
	*Decision
	// Fields are the record's kept fields (pid, comm, exe, name, path, dev, ino, capability).
	Fields Fields
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
	Key Key
	// Denials are the event's AVC records, duplicates (the same event read twice, as from
	// audit.log and the console) removed.
	Denials []Denial
	// more holds what the event's other records said; nil for the bare AVC lines of a
	// console, which are most of a large log: an event costs less than its line.
	more *eventRecords
}

// eventRecords are the kept fields of an event's SYSCALL, PATH and CWD records.
type eventRecords struct {
	syscall Fields
	paths   []Fields
	cwd     string
}

// Syscall returns the kept fields of the event's SYSCALL record ("" without one).
func (e *Event) Syscall() Fields {
	if e.more == nil {
		return ""
	}
	return e.more.syscall
}

// Paths returns the kept fields of the event's PATH records.
func (e *Event) Paths() []Fields {
	if e.more == nil {
		return nil
	}
	return e.more.paths
}

// Cwd returns the directory of the event's CWD record ("" without one).
func (e *Event) Cwd() string {
	if e.more == nil {
		return ""
	}
	return e.more.cwd
}

// Time is the event's time, from its audit(TIME:SERIAL) stamp.
func (e *Event) Time() time.Time { return time.UnixMilli(e.Key.Milli) }

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
	// records seen twice in one event; Orphans events (SYSCALL, PATH, ...) with no AVC record;
	// Malformed lines that look like records but cannot be read.
	Lines, Records, OtherRecords, NotRecords, Duplicates, Orphans, Malformed int
}

// Result is everything read.
type Result struct {
	// Events in time order (then serial, then node).
	Events []*Event
	// Malformed describes the first MaxMalformed malformed lines.
	Malformed []Malformed
	Counts    Counts
}

// Reader accumulates records from several inputs; Result groups them.
type Reader struct {
	events map[eventKey]*Event
	// nodes numbers the node= names seen, for eventKey.
	nodes map[string]uint32
	// strs and decisions hold one copy of each repeating string and decision.
	strs      map[string]string
	decisions map[string]*Decision
	malformed []Malformed
	counts    Counts
}

// NewReader returns an empty Reader.
func NewReader() *Reader {
	return &Reader{events: map[eventKey]*Event{}, nodes: map[string]uint32{}, strs: map[string]string{}, decisions: map[string]*Decision{}}
}

// intern returns the Reader's copy of s.
func (rd *Reader) intern(s string) string {
	if c, ok := rd.strs[s]; ok {
		return c
	}
	rd.strs[s] = s
	return s
}

// keep returns the fields of f that keptFields lists for typ (a NUL in a decoded value
// becomes "\\0"), interned when they repeat whole, as a SYSCALL's or PATH's often do.
func (rd *Reader) keep(typ string, f map[string]string) Fields {
	var b strings.Builder
	for _, k := range keptFields[typ] {
		if v, ok := f[k]; ok {
			if b.Len() > 0 {
				b.WriteByte(0)
			}
			b.WriteByte(byte('a' + slices.Index(fieldKeys, k)))
			b.WriteString(strings.ReplaceAll(v, "\x00", `\0`))
		}
	}
	if typ == "AVC" {
		return Fields(b.String()) // its pid and inode make it unique
	}
	return Fields(rd.intern(b.String()))
}

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
	rd.counts.Malformed++
	if len(rd.malformed) < MaxMalformed {
		rd.malformed = append(rd.malformed, Malformed{At: at, Reason: reason, Text: quoteShort(line)})
	}
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
		dec, f, err := parseAVC(body, typ == "USER_AVC", h.interpreted)
		if err != nil {
			rd.bad(at, err.Error(), line)
			return
		}
		k := dec.key()
		if rd.decisions[k] == nil {
			rd.decisions[k] = dec
		}
		d := Denial{Decision: rd.decisions[k], Fields: rd.keep("AVC", f), At: at}
		rd.counts.Records++
		ev := rd.event(h.key)
		if slices.ContainsFunc(ev.Denials, d.same) {
			rd.counts.Duplicates++
		} else {
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
		kept := rd.keep(typ, f)
		if ev.more == nil {
			ev.more = &eventRecords{}
		}
		switch m := ev.more; typ {
		case "SYSCALL":
			if m.syscall != "" {
				rd.counts.Duplicates++
			}
			m.syscall = kept
		case "PATH":
			if !slices.Contains(m.paths, kept) {
				m.paths = append(m.paths, kept)
			}
		case "CWD":
			m.cwd = kept.Get("cwd")
		}
	}
}

// eventKey is Key with the node numbered (Reader.nodes): a smaller map key, for the one map
// entry every event costs.
type eventKey struct {
	milli, serial uint64
	node          uint32
}

// event returns the event of key k, adding it on its first record.
func (rd *Reader) event(k Key) *Event {
	n, ok := rd.nodes[k.Node]
	if !ok {
		n = uint32(len(rd.nodes))
		rd.nodes[k.Node] = n
	}
	ek := eventKey{uint64(k.Milli), k.Serial, n}
	ev := rd.events[ek]
	if ev == nil {
		ev = &Event{Key: k}
		rd.events[ek] = ev
	}
	return ev
}

// same reports whether d and o are the same AVC record (of one event, read twice).
func (d Denial) same(o Denial) bool {
	return d.Decision == o.Decision && d.Fields == o.Fields // decisions are shared: one pointer each
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
// `avc:  denied  { PERM... } for  FIELD=VALUE...` (a USER_AVC's sits in msg='…'). It returns
// the decision and the record's other fields.
func parseAVC(body []byte, user, interpreted bool) (*Decision, map[string]string, error) {
	i := bytes.Index(body, []byte("avc:"))
	if i < 0 {
		return nil, nil, errors.New(`AVC record without the "avc:" text`)
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
	d := &Decision{User: user, Permissive: -1}
	switch {
	case bytes.HasPrefix(s, []byte("denied")):
		d.Denied = true
		s = s[len("denied"):]
	case bytes.HasPrefix(s, []byte("granted")):
		s = s[len("granted"):]
	default:
		return nil, nil, errors.New("avc: neither denied nor granted")
	}
	s = bytes.TrimLeft(s, " ")
	if !bytes.HasPrefix(s, []byte("{")) {
		return nil, nil, errors.New("avc: no { permissions }")
	}
	end := bytes.IndexByte(s, '}')
	if end < 0 {
		return nil, nil, errors.New("truncated: { permissions without }")
	}
	for _, p := range strings.Fields(string(s[1:end])) {
		if !ValidName(p) {
			return nil, nil, fmt.Errorf("permission %q is not a name", p)
		}
		d.Perms = append(d.Perms, p)
	}
	if len(d.Perms) == 0 {
		return nil, nil, errors.New("avc: empty { }")
	}
	s = bytes.TrimLeft(s[end+1:], " ")
	s = bytes.TrimPrefix(s, []byte("for"))
	f, err := parseFields(s, interpreted)
	if err != nil {
		return nil, nil, err
	}
	for _, k := range []string{"scontext", "tcontext", "tclass"} {
		if f[k] == "" {
			return nil, nil, fmt.Errorf("truncated or incomplete AVC record: no %s", k)
		}
	}
	d.Scontext, d.Tcontext, d.Class = f["scontext"], f["tcontext"], f["tclass"]
	if d.Source, err = contextType(d.Scontext); err != nil {
		return nil, nil, err
	}
	if d.Target, err = contextType(d.Tcontext); err != nil {
		return nil, nil, err
	}
	if !ValidName(d.Class) {
		return nil, nil, fmt.Errorf("tclass %q is not a name", d.Class)
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
	return d, f, nil
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
		if len(ev.Denials) == 0 {
			res.Counts.Orphans++
			continue
		}
		res.Events = append(res.Events, ev)
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
