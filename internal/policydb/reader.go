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
	return &FormatError{Offset: r.off, Item: r.describe(), Reason: fmt.Sprintf(format, args...)}
}

// describe names what is being read.
func (r *reader) describe() string {
	if r.index >= 0 {
		return fmt.Sprintf("%s entry %d", r.item, r.index)
	}
	return r.item
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

// bitmap is a validated extensible bitmap: its nodes (u32 start bit, u64 map, 12 bytes
// each, start bits strictly increasing, no empty map) alias the image.
type bitmap struct {
	nodes []byte
}

// node returns node i's start bit and map.
func (b bitmap) node(i int) (uint32, uint64) {
	n := b.nodes[i*ebitmapNode:]
	return binary.LittleEndian.Uint32(n), binary.LittleEndian.Uint64(n[4:])
}

func (b bitmap) len() int { return len(b.nodes) / ebitmapNode }

// has says whether bit is set.
func (b bitmap) has(bit uint32) bool {
	for i := 0; i < b.len(); i++ {
		start, m := b.node(i)
		if bit < start {
			return false
		}
		if bit-start < ebitmapUnit {
			return m&(1<<(bit-start)) != 0
		}
	}
	return false
}

// max returns the highest bit set, -1 for the empty bitmap.
func (b bitmap) max() int64 {
	if b.len() == 0 {
		return -1
	}
	start, m := b.node(b.len() - 1)
	return int64(start) + int64(63-bits.LeadingZeros64(m))
}

// count returns the number of bits set.
func (b bitmap) count() int {
	n := 0
	for i := 0; i < b.len(); i++ {
		_, m := b.node(i)
		n += bits.OnesCount64(m)
	}
	return n
}

// subsetOf says whether every bit of b is set in o (the kernel's ebitmap_contains).
func (b bitmap) subsetOf(o bitmap) bool {
	j := 0
	for i := 0; i < b.len(); i++ {
		start, m := b.node(i)
		for j < o.len() {
			if s, _ := o.node(j); s >= start {
				break
			}
			j++
		}
		if j == o.len() {
			return false
		}
		s, om := o.node(j)
		if s != start || m&^om != 0 {
			return false
		}
	}
	return true
}

// ebitmap reads one extensible bitmap, validated as libsepol's ebitmap_read does (node size
// 64, start bits aligned, strictly increasing and below highbit, no empty node, highbit
// exactly the end of the last node; the kernel rounds highbit up to its own node size first).
func (r *reader) ebitmap() (bitmap, error) {
	var h [3]uint32
	if err := r.u32s(h[:]); err != nil {
		return bitmap{}, err
	}
	mapsize, highbit, count := h[0], h[1], h[2]
	if mapsize != ebitmapUnit {
		return bitmap{}, r.errorf("ebitmap node size %d (want %d)", mapsize, ebitmapUnit)
	}
	if highbit%ebitmapUnit != 0 {
		return bitmap{}, r.errorf("ebitmap high bit %d not a multiple of %d", highbit, ebitmapUnit)
	}
	if highbit == 0 && count != 0 || highbit != 0 && count == 0 {
		return bitmap{}, r.errorf("ebitmap high bit %d with %d nodes", highbit, count)
	}
	if err := r.need(uint64(count) * ebitmapNode); err != nil {
		return bitmap{}, err
	}
	next := uint64(0) // the lowest start bit the next node may have
	for i := uint32(0); i < count; i++ {
		start := uint64(binary.LittleEndian.Uint32(r.data[r.off+int(i)*ebitmapNode:]))
		m := binary.LittleEndian.Uint64(r.data[r.off+int(i)*ebitmapNode+4:])
		if start%ebitmapUnit != 0 || start < next || start+ebitmapUnit > uint64(highbit) {
			return bitmap{}, r.errorf("ebitmap node %d starts at bit %d (high bit %d)", i, start, highbit)
		}
		if m == 0 { // libsepol never writes one; the kernel rejects it ("null map")
			return bitmap{}, r.errorf("ebitmap node %d at bit %d is empty", i, start)
		}
		next = start + ebitmapUnit
	}
	if count > 0 && next != uint64(highbit) {
		return bitmap{}, r.errorf("ebitmap high bit %d, but its last node ends at bit %d", highbit, next)
	}
	b := bitmap{nodes: r.data[r.off : r.off+int(count)*ebitmapNode]}
	r.off += int(count) * ebitmapNode
	return b, nil
}
