package config

import (
	"os"
	"path/filepath"
	"strings"
)

// Cmdline is what nsinit takes from the kernel command line (/proc/cmdline).
type Cmdline struct {
	// Enforcing is enforcing= by libselinux ≥ 3.10's rule: the last occurrence at the start
	// of the line or after a blank counts; its value is read as strtol(…, 0) does (any
	// base); non-zero gives ModeEnforcing, zero or not a number ModePermissive. ModeUnset
	// when there is none.
	Enforcing Mode
	// Init is the last init= parameter, "" if none (the kernel's rule: the last one wins).
	Init string
	// Autorelabel is set by the word "autorelabel" (the Fedora/systemd convention) or
	// autorelabel=1.
	Autorelabel bool
}

// ParseCmdline parses the content of /proc/cmdline.
//
// enforcing= is found as libselinux finds it: in the first line, up to one page less one
// byte (its fgets buffer), up to any NUL, as a substring preceded by nothing or a blank —
// so it also counts inside a quoted parameter or after "--", where the kernel would not
// see a parameter. init= and autorelabel are read as the kernel splits its parameters:
// blank-separated words, double quotes grouping, and nothing after a "--" word (those words
// are the init's arguments).
func ParseCmdline(s string) Cmdline {
	var c Cmdline
	c.Enforcing = cmdlineEnforcing(s)
	for rest := s; ; {
		var param, val string
		var hasVal bool
		param, val, hasVal, rest = nextArg(rest)
		if param == "" && !hasVal && rest == "" {
			return c
		}
		switch {
		case param == "--" && !hasVal:
			return c
		case param == "init" && hasVal:
			c.Init = val
		case param == "autorelabel" && (!hasVal || val == "1"):
			c.Autorelabel = true
		}
	}
}

// cmdlineEnforcing applies libselinux's enforcing= rule (selinux-userspace.md §B.1 step 4).
func cmdlineEnforcing(s string) Mode {
	const tag = "enforcing="
	if i := strings.IndexByte(s, '\n'); i >= 0 {
		s = s[:i+1]
	}
	if len(s) > pageSize-1 {
		s = s[:pageSize-1]
	}
	if i := strings.IndexByte(s, 0); i >= 0 {
		s = s[:i]
	}
	m := ModeUnset
	for off := 0; ; {
		i := strings.Index(s[off:], tag)
		if i < 0 {
			return m
		}
		at := off + i
		off = at + 1
		if at > 0 && !isCSpace(s[at-1]) {
			continue
		}
		if strtolNonZero(s[at+len(tag):]) {
			m = ModeEnforcing
		} else {
			m = ModePermissive
		}
	}
}

// strtolNonZero reports whether strtol(s, NULL, 0) is non-zero: blanks and a sign skipped,
// "0x"+hex digit starts hex, a leading 0 octal, else decimal; the digits valid in that base
// are read and overflow saturates (still non-zero). No digits at all gives 0.
func strtolNonZero(s string) bool {
	i := 0
	for i < len(s) && isCSpace(s[i]) {
		i++
	}
	if i < len(s) && (s[i] == '+' || s[i] == '-') {
		i++
	}
	digit := func(c byte) bool { return '0' <= c && c <= '9' }
	if i+2 < len(s) && s[i] == '0' && lowerASCII(s[i+1]) == 'x' && isHexDigit(s[i+2]) {
		i += 2
		digit = isHexDigit
	} else if i < len(s) && s[i] == '0' {
		digit = func(c byte) bool { return '0' <= c && c <= '7' }
	}
	for ; i < len(s) && digit(s[i]); i++ {
		if s[i] != '0' {
			return true
		}
	}
	return false
}

func isHexDigit(c byte) bool {
	return '0' <= c && c <= '9' || 'a' <= lowerASCII(c) && lowerASCII(c) <= 'f'
}

// nextArg splits the next parameter off the kernel command line as the kernel's next_arg()
// (lib/cmdline.c) does: leading blanks skipped; a word ends at a blank outside double
// quotes; param=val is split at the first '='; a quote opening the word or the value, and
// the matching last quote, are removed. It returns the rest of the line after the word.
func nextArg(s string) (param, val string, hasVal bool, rest string) {
	i := 0
	for i < len(s) && isCSpace(s[i]) {
		i++
	}
	s = s[i:]
	if s == "" {
		return "", "", false, ""
	}
	quoted := s[0] == '"'
	if quoted {
		s = s[1:]
	}
	inQuote, eq := quoted, -1
	end := 0
	for ; end < len(s); end++ {
		c := s[end]
		if isCSpace(c) && !inQuote {
			break
		}
		if eq < 0 && c == '=' && end > 0 { // like the kernel, a leading '=' does not split
			eq = end
		}
		if c == '"' {
			inQuote = !inQuote
		}
	}
	word, rest := s[:end], s[end:]
	if eq < 0 {
		if quoted {
			word = strings.TrimSuffix(word, `"`)
		}
		return word, "", false, rest
	}
	param, val = word[:eq], word[eq+1:]
	if strings.HasPrefix(val, `"`) {
		val = strings.TrimSuffix(val[1:], `"`)
	} else if quoted {
		val = strings.TrimSuffix(val, `"`)
	}
	return param, val, true, rest
}

// ReadCmdline reads and parses <procDir>/cmdline. Only the machine's PID 1 should: inside a
// container the file is the host's command line.
func ReadCmdline(procDir string) (Cmdline, error) {
	b, err := os.ReadFile(filepath.Join(procDir, "cmdline"))
	if err != nil {
		return Cmdline{}, err
	}
	return ParseCmdline(string(b)), nil
}
