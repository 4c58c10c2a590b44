package fcontext

import (
	"bytes"
	"encoding/binary"
	"fmt"
	"os"
	"sort"
	"unsafe"

	"golang.org/x/sys/unix"
)

// Compiled file_contexts.bin (D.8). The magic is the same number in both generations; v1–v5
// (libselinux ≤ 3.7) store it and every integer in host byte order, v6 (≥ 3.8) in big-endian.
const (
	binMagic      = 0xF97CFF8A
	binMaxV5      = 5 // SELINUX_COMPILED_FCONTEXT_MAX_VERS in libselinux ≤ 3.7
	binV6         = 6 // SELINUX_COMPILED_FCONTEXT_TREE_LAYOUT
	binPCREVers   = 2 // first version with the regex library version string
	binModeVers   = 3 // mode stored as uint32 (before: mode_t, 4 bytes on Linux too)
	binPrefixVers = 4 // prefix length stored
	binArchVers   = 5 // arch string stored
	binMaxDepth   = 32
)

// binKind returns which compiled format data starts with: 5 for v1–v5 (host order), 6 for
// v6 (big-endian), 0 for anything else (text).
func binKind(data []byte) int {
	if len(data) < 4 {
		return 0
	}
	switch {
	case binary.NativeEndian.Uint32(data) == binMagic:
		return 5
	case binary.BigEndian.Uint32(data) == binMagic:
		return 6
	}
	return 0
}

// binReader reads the fields of a compiled file with bounds checks (next_entry).
type binReader struct {
	data    []byte
	off     int
	order   binary.ByteOrder
	err     error
	mapped  bool // data is a private file mapping: pages read past may be dropped
	dropped int  // data[:dropped] has been dropped
}

// dropEvery is how much of a mapped file is read before its pages are given back: the
// PCRE2 blobs that make up most of a compiled file are skipped, and without this every page
// of them would count in the process's resident set until the file is unmapped.
const dropEvery = 1 << 20

// skip passes over n bytes that are not needed (serialised regex code).
func (r *binReader) skip(n uint64) {
	r.take(n)
	if r.mapped && r.err == nil && r.off-r.dropped >= dropEvery {
		end := r.off &^ (os.Getpagesize() - 1)
		_ = unix.Madvise(r.data[r.dropped:end], unix.MADV_DONTNEED)
		r.dropped = end
	}
}

func (r *binReader) take(n uint64) []byte {
	if r.err != nil {
		return nil
	}
	if n > uint64(len(r.data)-r.off) {
		r.err = fmt.Errorf("truncated at offset %d (want %d more bytes)", r.off, n)
		return nil
	}
	b := r.data[r.off : r.off+int(n)]
	r.off += int(n)
	return b
}

func (r *binReader) u8() uint8 {
	if b := r.take(1); b != nil {
		return b[0]
	}
	return 0
}

func (r *binReader) u16() uint16 {
	if b := r.take(2); b != nil {
		return r.order.Uint16(b)
	}
	return 0
}

func (r *binReader) u32() uint32 {
	if b := r.take(4); b != nil {
		return r.order.Uint32(b)
	}
	return 0
}

func (r *binReader) u64() uint64 {
	if b := r.take(8); b != nil {
		return r.order.Uint64(b)
	}
	return 0
}

func (r *binReader) fail(format string, args ...any) {
	if r.err == nil {
		r.err = fmt.Errorf(format+" at offset %d", append(args, r.off)...)
	}
}

// cbytes reads n bytes that must end with a NUL and returns them as a C string (up to the
// first NUL).
func (r *binReader) cbytes(n uint64, what string) []byte {
	b := r.take(n)
	if r.err != nil {
		return nil
	}
	if n == 0 || b[n-1] != 0 {
		r.fail("%s not NUL-terminated", what)
		return nil
	}
	if i := bytes.IndexByte(b, 0); i >= 0 {
		b = b[:i]
	}
	return b
}

// binMinSpec is the size of the smallest v5 spec record (lengths, one-byte strings, mode,
// stem, meta flag, prefix length, empty blob): it bounds the spec count a file can claim.
const binMinSpec = 4 + 1 + 4 + 1 + 4 + 4 + 4 + 4 + 4

// parseBinV5 reads a v1–v5 compiled file as libselinux 3.4 load_mmap does and adds its
// specs in stored order. The serialised PCRE blobs are skipped: the regex text is stored
// too. mapped says that data is a private file mapping (see binReader.skip).
func (l *loader) parseBinV5(data []byte, file string, mapped bool) error {
	r := &binReader{data: data, order: binary.NativeEndian, mapped: mapped}
	r.u32() // magic, checked by binKind
	version := r.u32()
	if r.err == nil && (version == 0 || version > binMaxV5) {
		return &ParseError{File: file, Reason: fmt.Sprintf("unsupported compiled format version %d", version)}
	}
	if version >= binPCREVers {
		v := r.take(uint64(r.u32()))
		if r.err == nil && bytes.HasPrefix(v, []byte("8.")) {
			// A PCRE1 build wrote it; libselinux built with PCRE2 (Debian's) rejects it on
			// the version check and falls back to the text file.
			return &ParseError{File: file, Reason: fmt.Sprintf("compiled with PCRE1 %q, expected PCRE2", v)}
		}
		if version >= binArchVers {
			r.take(uint64(r.u32()))
		}
	}
	nstems := r.u32()
	var stems []string
	for i := uint32(0); i < nstems && r.err == nil; i++ {
		n := r.u32()
		if r.err == nil && (n == 0 || n == ^uint32(0)) {
			r.fail("bad stem length %d", n)
		}
		s := r.take(uint64(n) + 1)
		if r.err == nil && s[n] != 0 {
			r.fail("stem not NUL-terminated")
		}
		if r.err == nil {
			stems = append(stems, string(s[:n]))
		}
	}
	nspecs := r.u32()
	if r.err == nil && nspecs == 0 {
		r.fail("no specs")
	}
	l.reserve(min(int(nspecs), len(data)/binMinSpec))
	for i := uint32(0); i < nspecs && r.err == nil; i++ {
		// A length of 0, or a string that ends at its first byte (cbytes stops at the
		// first NUL), is empty.
		cl := r.u32()
		ctx := r.cbytes(uint64(max(cl, 1)), "context")
		if r.err == nil && len(ctx) == 0 {
			r.fail("empty context")
		}
		rl := r.u32()
		re := r.cbytes(uint64(max(rl, 1)), "regex")
		if r.err == nil && len(re) == 0 {
			r.fail("empty regex")
		}
		mode := r.u32() // uint32 from v3; mode_t (also 4 bytes on Linux) before
		stemID := int32(r.u32())
		meta := r.u32()
		if version >= binPrefixVers {
			r.u32()
		}
		r.skip(uint64(r.u32())) // serialised pcre2 code
		if r.err != nil {
			break
		}
		if l.leavesOut(unsafe.String(&re[0], len(re))) {
			continue
		}
		stem := ""
		if stemID >= 0 && int(stemID) < len(stems) {
			stem = stems[stemID]
		}
		l.addCompiled(l.arena.bytes(re), l.arena.bytes(ctx), mode, meta == 0, stem, file, int(i+1))
	}
	if r.err != nil {
		return &ParseError{File: file, Reason: "invalid compiled file: " + r.err.Error()}
	}
	return nil
}

// kindModes maps the v6 file kind numbers (D.1) to S_IFMT values.
var kindModes = [8]uint32{0, sIFDIR, sIFCHR, sIFBLK, sIFSOCK, sIFIFO, sIFLNK, sIFREG}

// parseBinV6 reads a v6 (libselinux ≥ 3.8 tree layout, big-endian) compiled file. libselinux
// 3.4 cannot read it (it falls back to the text file); we read it so that a policy built by a
// newer toolchain still loads. Specs are laid out in classic order: regex specs by source
// line, then literal specs in tree order (v6 stores no line numbers for literals).
func (l *loader) parseBinV6(data []byte, file string, mapped bool) error {
	r := &binReader{data: data, order: binary.BigEndian, mapped: mapped}
	r.u32()
	if v := r.u32(); r.err == nil && v != binV6 {
		return &ParseError{File: file, Reason: fmt.Sprintf("unsupported compiled format version %d", v)}
	}
	r.take(uint64(r.u32())) // regex library version
	r.take(uint64(r.u32())) // arch
	r.u64()                 // total specs
	nctx := r.u32()
	var ctxs []string
	for i := uint32(0); i < nctx && r.err == nil; i++ {
		n := r.u16()
		if r.err == nil && (n == 0 || n == 0xFFFF) {
			r.fail("bad context length %d", n)
		}
		if b := r.take(uint64(n)); r.err == nil {
			ctxs = append(ctxs, l.arena.bytes(b))
		}
	}
	type v6spec struct {
		regex, ctx string
		mode       uint32
		line       uint32
	}
	var regexes, literals []v6spec
	kind := func() uint32 {
		k := r.u8()
		if r.err == nil && k > 7 {
			r.fail("bad file kind %d", k)
			return 0
		}
		return kindModes[k&7]
	}
	ctxAt := func() string {
		i := r.u32()
		if r.err == nil && (i == 0 || i > uint32(len(ctxs))) {
			r.fail("context index %d out of range", i)
			return ""
		}
		if r.err != nil {
			return ""
		}
		return ctxs[i-1]
	}
	var node func(depth int, root bool)
	node = func(depth int, root bool) {
		if depth >= binMaxDepth {
			r.fail("tree too deep")
			return
		}
		sl := r.u16()
		if r.err == nil && (root && sl != 1 || !root && sl < 2) {
			r.fail("bad stem length %d", sl)
		}
		r.cbytes(uint64(sl), "stem")
		nl := r.u32()
		for i := uint32(0); i < nl && r.err == nil; i++ {
			ctx := ctxAt()
			re := r.cbytes(uint64(r.u16()), "regex")
			r.cbytes(uint64(r.u16()), "literal")
			mode := kind()
			if r.err == nil {
				literals = append(literals, v6spec{regex: l.arena.bytes(re), ctx: ctx, mode: mode})
			}
		}
		nr := r.u32()
		for i := uint32(0); i < nr && r.err == nil; i++ {
			ctx := ctxAt()
			line := r.u32()
			re := r.cbytes(uint64(r.u16()), "regex")
			if pl := r.u16(); r.err == nil && int(pl) > len(re) {
				r.fail("prefix length %d longer than regex", pl)
			}
			mode := kind()
			r.skip(uint64(r.u32()))
			if r.err == nil {
				regexes = append(regexes, v6spec{l.arena.bytes(re), ctx, mode, line})
			}
		}
		nk := r.u32()
		if r.err == nil && !root && nl == 0 && nr == 0 && nk == 0 {
			r.fail("empty node")
		}
		for i := uint32(0); i < nk && r.err == nil; i++ {
			node(depth+1, false)
		}
	}
	node(0, true)
	if r.err != nil {
		return &ParseError{File: file, Reason: "invalid compiled file: " + r.err.Error()}
	}
	sort.SliceStable(regexes, func(i, j int) bool { return regexes[i].line < regexes[j].line })
	l.reserve(len(regexes) + len(literals))
	for _, s := range regexes {
		if !l.leavesOut(s.regex) {
			l.add(s.regex, s.ctx, s.mode, file, int(s.line))
		}
	}
	for _, s := range literals {
		if !l.leavesOut(s.regex) {
			l.add(s.regex, s.ctx, s.mode, file, 0)
		}
	}
	return nil
}
