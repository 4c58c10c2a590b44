package config

// C-locale character classes and string helpers. libselinux runs in the "C" locale (nothing
// calls setlocale before PID 1 loads the policy), so these are ASCII-only on purpose:
// strings.EqualFold would, for example, accept U+017F (long s) as an 's' where strncasecmp
// does not.

// isCSpace reports whether c is a C isspace() character: space, \t, \n, \v, \f or \r.
func isCSpace(c byte) bool { return c == ' ' || (c >= '\t' && c <= '\r') }

// isCCntrl reports whether c is a C iscntrl() character: 0-31 and 127.
func isCCntrl(c byte) bool { return c < ' ' || c == 0x7f }

// lowerASCII folds one ASCII upper-case letter to lower case.
func lowerASCII(c byte) byte {
	if 'A' <= c && c <= 'Z' {
		return c + 'a' - 'A'
	}
	return c
}

// hasPrefixFoldASCII is strncasecmp(s, prefix, len(prefix)) == 0.
func hasPrefixFoldASCII(s []byte, prefix string) bool {
	if len(s) < len(prefix) {
		return false
	}
	for i := 0; i < len(prefix); i++ {
		if lowerASCII(s[i]) != lowerASCII(prefix[i]) {
			return false
		}
	}
	return true
}

// equalFoldASCII reports whether a and b are equal ignoring ASCII case.
func equalFoldASCII(a, b string) bool {
	return len(a) == len(b) && hasPrefixFoldASCII([]byte(a), b)
}

// cString returns b up to its first NUL byte: the string C code sees in a buffer.
func cString(b []byte) []byte {
	for i, c := range b {
		if c == 0 {
			return b[:i]
		}
	}
	return b
}

// trimLeftCSpace skips leading C whitespace.
func trimLeftCSpace(b []byte) []byte {
	for len(b) > 0 && isCSpace(b[0]) {
		b = b[1:]
	}
	return b
}
