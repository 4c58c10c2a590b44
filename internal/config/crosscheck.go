package config

import (
	"bytes"
	"fmt"
	"strconv"
	"strings"

	"gopkg.in/ini.v1"
)

// The cross-check compares libselinux's reading of each line (scanMode, scanType) with how
// a generic KEY=value reader tokenises it, and warns where they disagree. gopkg.in/ini.v1 is
// that reader. It is handed one line at a time because it reports no line numbers: the
// "shadows" of a repeated key are the lines themselves, kept here with their numbers. The
// options keep the raw text (no interpolation: only Key.Value is read; no continuation
// lines; inline comments and surrounding quotes kept), so that this package decides what a
// quote or a '#' means, the same way for every line.
var iniOptions = ini.LoadOptions{
	IgnoreContinuation:      true,
	IgnoreInlineComment:     true,
	PreserveSurroundedQuote: true,
	KeyValueDelimiters:      "=", // ':' is no delimiter for libselinux or a shell
}

// iniLine is how ini.v1 reads one line.
type iniLine struct {
	key, value string // set when the line is a key=value line
	isKey      bool
	section    string // set when the line is a [section] header
	err        error  // ini.v1 rejects the line
}

// readINI tokenises one line with ini.v1. Blank and '#' lines, which every reader skips,
// are not handed to it.
func readINI(text []byte) iniLine {
	if t := trimLeftCSpace(text); len(t) == 0 || t[0] == '#' {
		return iniLine{}
	}
	f, err := ini.LoadSources(iniOptions, bytes.Clone(text))
	if err != nil {
		return iniLine{err: err}
	}
	if secs := f.Sections(); len(secs) > 1 {
		return iniLine{section: secs[1].Name()}
	}
	if keys := f.Section("").Keys(); len(keys) == 1 {
		return iniLine{key: keys[0].Name(), value: keys[0].Value(), isKey: true}
	}
	return iniLine{}
}

// intended is what a shell or INI reader takes a raw value to mean: surrounding quotes
// removed, or else a '#' comment after a blank cut off.
func intended(raw string) string {
	v := strings.TrimSpace(raw)
	if len(v) >= 2 && (v[0] == '"' || v[0] == '\'') && v[len(v)-1] == v[0] {
		return v[1 : len(v)-1]
	}
	for i := 1; i < len(v); i++ {
		if v[i] == '#' && isCSpace(v[i-1]) {
			return strings.TrimSpace(v[:i])
		}
	}
	return v
}

// seen is intended(raw) up to any NUL byte: a NUL has a warning of its own.
func seen(raw string) string { return intended(string(cString([]byte(raw)))) }

var utf8BOM = []byte("\xef\xbb\xbf")

// maxWarnings bounds the warnings for one file: a PID 1 logs them all on the console.
const maxWarnings = 64

// crossCheck returns the warnings for a parsed file, in line order (the file-level one,
// line 0, first). It stops looking once it has more than maxWarnings.
func crossCheck(c *Config, data []byte) []Warning {
	var ws []Warning
	add := func(line int, format string, args ...any) {
		ws = append(ws, Warning{File: c.Path, Line: line, Message: fmt.Sprintf(format, args...)})
	}
	if c.ModeLine == 0 {
		add(0, "no valid SELINUX= line: the mode is unspecified, which libselinux treats as permissive")
	}
	crlf := false
	for l := range lines(data) {
		if len(ws) > maxWarnings {
			ws = append(ws[:maxWarnings], Warning{File: c.Path, Line: l.no,
				Message: "too many warnings: not checking this line and the rest of the file"})
			break
		}
		n := l.no
		in := readINI(l.text)
		if !crlf && bytes.HasSuffix(l.text, []byte("\r")) {
			crlf = true
			add(n, "CRLF line ending: libselinux ignores the \\r, but shell readers of this file (fixfiles, selinux-autorelabel) keep it in the value")
		}
		if i := bytes.IndexByte(l.text, 0); i >= 0 {
			add(n, "NUL byte at column %d: libselinux reads this line only up to it", i+1)
		}
		if l.chunks > 1 {
			msg := fmt.Sprintf("line is %d bytes long: libselinux reads SELINUX= lines in pieces of %d bytes, each as a line of its own", len(l.text), pageSize-1)
			for _, h := range l.modeHits {
				if h.offset > 0 {
					msg += fmt.Sprintf("; it sees SELINUX= at byte %d", h.offset)
				}
			}
			add(n, "%s", msg)
		}
		checkModeLine(c, l, in, add)
		typ, isType := l.typeValue()
		checkTypeLine(c, l, typ, isType, in, add)
		switch {
		case ini.IsErrDelimiterNotFound(in.err):
			add(n, "not a KEY=value line: libselinux ignores it, an INI reader rejects it")
		case in.err != nil && len(l.modeHits) == 0 && !isType:
			add(n, "an INI reader rejects this line (%q); libselinux ignores it", in.err.Error())
		case in.err != nil:
			add(n, "an INI reader rejects this line (%q)", in.err.Error())
		case in.section != "":
			add(n, "section header %q: libselinux ignores it, an INI reader files the keys below it under that section", in.section)
		case in.isKey && strings.HasSuffix(in.value, `\`) && (len(l.modeHits) > 0 || isType):
			add(n, "trailing backslash: shell and INI readers continue the value on the next line, libselinux does not")
		}
	}
	return ws
}

// checkModeLine warns about a line that is, or looks like, a SELINUX= line.
func checkModeLine(c *Config, l *physLine, in iniLine, add func(int, string, ...any)) {
	n := l.no
	if len(l.modeHits) == 0 {
		if in.isKey && equalFoldASCII(in.key, "SELINUX") {
			add(n, "libselinux ignores this SELINUX line: %s", whyNotKey(l.text, "SELINUX", true))
		}
		return
	}
	for _, h := range l.modeHits {
		switch {
		case n > c.ModeLine && c.ModeLine > 0:
			add(n, "SELINUX= ignored: libselinux uses the first valid one (line %d: %s), a shell or INI reader the last", c.ModeLine, c.Mode)
			return
		case h.mode == ModeUnset && len(h.value) == 0:
			add(n, "SELINUX= has no value: libselinux ignores this line")
		case h.mode == ModeUnset && (h.value[0] == '"' || h.value[0] == '\''):
			add(n, "SELINUX value %s is quoted: libselinux does not remove quotes and ignores this line", shown(h.value))
		case h.mode == ModeUnset:
			add(n, "SELINUX value %s is not enforcing, permissive or disabled: libselinux ignores this line", shown(h.value))
		case h.offset == 0 && in.isKey && !equalFoldASCII(seen(in.value), h.mode.String()):
			add(n, "libselinux reads SELINUX value %q as %s: it only compares the leading letters", in.value, h.mode)
		}
		if h.mode != ModeUnset {
			return // libselinux stops reading the file here
		}
	}
}

// checkTypeLine warns about a line that is, or looks like, a SELINUXTYPE= line; isType
// and v are libselinux's reading of it.
func checkTypeLine(c *Config, l *physLine, v string, isType bool, in iniLine, add func(int, string, ...any)) {
	n := l.no
	if !isType {
		if in.isKey && equalFoldASCII(in.key, "SELINUXTYPE") {
			add(n, "libselinux ignores this SELINUXTYPE line: %s", whyNotKey(l.text, "SELINUXTYPE", false))
		}
		return
	}
	if key := trimLeftCSpace(l.text)[:len("SELINUXTYPE")]; string(key) != "SELINUXTYPE" {
		add(n, "key %q: libselinux accepts SELINUXTYPE in any case, shell readers of this file (fixfiles, selinux-autorelabel) do not", key)
	}
	switch {
	case n != c.TypeLine:
		add(n, "SELINUXTYPE= overridden by line %d: the last one wins", c.TypeLine)
	case v == "":
		add(n, "empty SELINUXTYPE: libselinux uses /etc/selinux/ itself as the policy directory")
	case in.isKey && v != seen(in.value):
		why := ""
		if seen(in.value) != strings.TrimSpace(string(cString([]byte(in.value)))) {
			why = ": libselinux removes no quotes or comments"
		}
		add(n, "libselinux reads SELINUXTYPE as %q (policy directory %q) where a shell or INI reader sees %q%s", v, "/etc/selinux/"+v, seen(in.value), why)
	case strings.Contains(v, "/") || v == "." || v == "..":
		add(n, "SELINUXTYPE %q is a path, not a name: the policy directory is %q", v, "/etc/selinux/"+v)
	}
}

// whyNotKey explains why libselinux does not see key= on a line a KEY=value reader reads
// as that key. column0 says whether libselinux needs the key at column 0 (SELINUX) or
// skips leading blanks (SELINUXTYPE, whose key is also case-insensitive).
func whyNotKey(text []byte, key string, column0 bool) string {
	t := text
	if !column0 {
		t = trimLeftCSpace(t)
	}
	switch {
	case bytes.HasPrefix(text, utf8BOM):
		return "it starts with a UTF-8 byte-order mark, which libselinux does not skip"
	case column0 && len(t) > 0 && isCSpace(t[0]):
		return "it is indented, and libselinux only reads SELINUX= at the start of a line"
	case bytes.IndexByte(text, 0) >= 0 && !bytes.Contains(cString(text), []byte("=")):
		return "a NUL byte comes before the '='"
	case column0 && len(t) >= len(key) && string(t[:len(key)]) != key && hasPrefixFoldASCII(t, key):
		return fmt.Sprintf("the key is spelt %q, and libselinux matches %s= case-sensitively", t[:len(key)], key)
	case len(t) > len(key) && hasPrefixFoldASCII(t, key) && isCSpace(t[len(key)]):
		return fmt.Sprintf("there is a blank before '=', and libselinux only recognises %s= with none", key)
	}
	return fmt.Sprintf("it does not start with %s=", key)
}

// shown returns a value for a message: its trailing blanks dropped, as is when it is
// printable ASCII, else Go-quoted so that a control character cannot garble the console.
func shown(v []byte) string {
	for len(v) > 0 && isCSpace(v[len(v)-1]) {
		v = v[:len(v)-1]
	}
	for _, c := range v {
		if c < ' ' || c > '~' {
			return strconv.Quote(string(v))
		}
	}
	return string(v)
}
