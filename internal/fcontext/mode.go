package fcontext

import (
	"fmt"
	"strconv"
)

// modeNames are the file type words matchpathcon -m accepts.
var modeNames = map[string]uint32{
	"file": sIFREG, "dir": sIFDIR, "lnk": sIFLNK, "chr": sIFCHR,
	"blk": sIFBLK, "sock": sIFSOCK, "fifo": sIFIFO,
}

// ParseMode reads a lookup mode as matchpathcon takes it: a file type word (file, dir, lnk,
// chr, blk, sock, fifo) or an octal st_mode such as 0100644 or 40000 (0 = any type).
func ParseMode(s string) (uint32, error) {
	if m, ok := modeNames[s]; ok {
		return m, nil
	}
	v, err := strconv.ParseUint(s, 8, 32)
	if err != nil {
		return 0, fmt.Errorf("invalid mode %q: want file, dir, lnk, chr, blk, sock, fifo or an octal st_mode", s)
	}
	return uint32(v), nil
}
