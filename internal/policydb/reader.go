package policydb

import (
	"encoding/binary"
	"fmt"
	"math/bits"
)

// FormatError says where and why a policy image is malformed: the walker could not read it
// the way the kernel would. Offset is the byte where the offending item starts.
type FormatError struct {
	Offset int
	// Item names what was being read, e.g. "type_attr_map[12]" or "avtab entry 4031".
	Item   string
	Reason string
}

func (e *FormatError) Error() string {
	return fmt.Sprintf("malformed policy at byte %d (%s): %s", e.Offset, e.Item, e.Reason)
}

// reader is a bounds-checked cursor over a policy image. Every read checks the remaining
// length first; nothing is allocated from a length field, only skipped or sliced.
type reader struct {
	data []byte
	off  int
	// item and index name what is being read, for error messages: "item" when index is
	// negative, else "item entry index" (formatted only on error: the walk stays cheap).
	item  string
	index int64
}

// at sets the error context to an item as a whole.
func (r *reader) at(item string) { r.item, r.index = item, -1 }

// atEntry sets the error context to entry i of an item.
func (r *reader) atEntry(item string, i uint32) { r.item, r.index = item, int64(i) }

func (r *reader) errorf(format string, args ...any) error {
	item := r.item
	if r.index >= 0 {
		item = fmt.Sprintf("%s entry %d", item, r.index)
	}
	return &FormatError{Offset: r.off, Item: item, Reason: fmt.Sprintf(format, args...)}
}

// need fails unless n more bytes are available.
func (r *reader) need(n uint64) error {
	if left := uint64(len(r.data) - r.off); n > left {
		return r.errorf("needs %d bytes, only %d left", n, left)
	}
	return nil
}

func (r *reader) u8() (uint8, error) {
	if err := r.need(1); err != nil {
		return 0, err
	}
	v := r.data[r.off]
	r.off++
	return v, nil
}

func (r *reader) u16() (uint16, error) {
	if err := r.need(2); err != nil {
		return 0, err
	}
	v := binary.LittleEndian.Uint16(r.data[r.off:])
	r.off += 2
	return v, nil
}

func (r *reader) u32() (uint32, error) {
	if err := r.need(4); err != nil {
		return 0, err
	}
	v := binary.LittleEndian.Uint32(r.data[r.off:])
	r.off += 4
	return v, nil
}

// u32s reads len(dst) words.
func (r *reader) u32s(dst []uint32) error {
	if err := r.need(4 * uint64(len(dst))); err != nil {
		return err
	}
	for i := range dst {
		dst[i] = binary.LittleEndian.Uint32(r.data[r.off:])
		r.off += 4
	}
	return nil
}

func (r *reader) skip(n uint64) error {
	if err := r.need(n); err != nil {
		return err
	}
	r.off += int(n)
	return nil
}

// bytes returns the next n bytes as a sub-slice of the image (no copy).
func (r *reader) bytes(n uint32) ([]byte, error) {
	if err := r.need(uint64(n)); err != nil {
		return nil, err
	}
	b := r.data[r.off : r.off+int(n) : r.off+int(n)]
	r.off += int(n)
	return b, nil
}

// Extensible bitmaps (libsepol ebitmap.c ebitmap_read, kernel ss/ebitmap.c).
const (
	// ebitmapUnit is MAPSIZE: the bits per node, the only map size the kernel accepts.
	ebitmapUnit = 64
	// ebitmapHeader is mapsize, highbit and count; each node adds a u32 start and a u64 map.
	ebitmapHeader = 12
	ebitmapNode   = 12
)

// ebitmap reads one extensible bitmap, validated as the kernel does (node size 64, aligned,
// strictly increasing start bits below highbit, no empty node), and returns the number of
// bits set: zero exactly when the bitmap is the 12-byte empty one.
func (r *reader) ebitmap() (setBits int, err error) {
	var h [3]uint32
	if err := r.u32s(h[:]); err != nil {
		return 0, err
	}
	mapsize, highbit, count := h[0], h[1], h[2]
	if mapsize != ebitmapUnit {
		return 0, r.errorf("ebitmap node size %d (want %d)", mapsize, ebitmapUnit)
	}
	if highbit%ebitmapUnit != 0 {
		return 0, r.errorf("ebitmap high bit %d not a multiple of %d", highbit, ebitmapUnit)
	}
	if highbit == 0 && count != 0 || highbit != 0 && count == 0 {
		return 0, r.errorf("ebitmap high bit %d with %d nodes", highbit, count)
	}
	if err := r.need(uint64(count) * ebitmapNode); err != nil {
		return 0, err
	}
	next := uint64(0) // the lowest start bit the next node may have
	for i := uint32(0); i < count; i++ {
		start := uint64(binary.LittleEndian.Uint32(r.data[r.off:]))
		m := binary.LittleEndian.Uint64(r.data[r.off+4:])
		if start%ebitmapUnit != 0 || start < next || start+ebitmapUnit > uint64(highbit) {
			return 0, r.errorf("ebitmap node %d starts at bit %d (high bit %d)", i, start, highbit)
		}
		if m == 0 { // libsepol never writes one; the kernel rejects it ("null map")
			return 0, r.errorf("ebitmap node %d at bit %d is empty", i, start)
		}
		next = start + ebitmapUnit
		setBits += bits.OnesCount64(m)
		r.off += ebitmapNode
	}
	return setBits, nil
}
