package policydb

import (
	"cmp"
	"math/bits"
	"slices"
	"sort"
)

// The access-vector table's order, and why it matters: the kernel refuses a table with two
// entries of one key (avtab_insert), so admission must find duplicates among Debian's
// 100,000 rules, and the conditional rules need lookups in the same keys. A sort finds
// duplicates in any order; but libsepol writes the table as it holds it, a hash table
// walked bucket by bucket (write.c avtab_write), each chain ordered by source, target and
// class (avtab_insert). When the keys arrive in that order, one pass proves them distinct
// with no memory, and that order serves the lookups too. Under emulation (the bring-up in
// qemu) the sort was half of the admission walk. Any other order (another writer, a
// shuffled or hostile file) falls back to the sort: the order decides only how uniqueness
// is checked, never whether.

// avtabHashBits are the hash table sizes a writer may have used, in bits, most likely
// first: libsepol's expand and CIL compiler (semodule, secilc, checkpolicy) allocate the
// largest table, 2^20 buckets (MAX_AVTAB_HASH_BITS in libsepol's avtab.h; measured on
// Debian's bookworm, trixie and sid policies and the fixtures); a table libsepol read from
// a binary and wrote again is sized from its entry count (avtab_alloc), as the kernel's is
// (capped at 2^16, security/selinux/ss/avtab.h).
func avtabHashBits(n uint32) []uint {
	sized := func(max uint) uint {
		shift := uint(bits.Len32(n))
		if shift > 2 {
			shift -= 2
		}
		return min(shift, max)
	}
	out := []uint{20}
	for _, b := range []uint{sized(20), sized(16)} {
		if !slices.Contains(out, b) {
			out = append(out, b)
		}
	}
	return out
}

// avKey packs an avtab key as the walker keeps it: ascending keys are sorted by kind,
// class, target and source.
func avKey(source, target, class, kind uint16) uint64 {
	return uint64(source) | uint64(target)<<16 | uint64(class)<<32 | uint64(kind)<<48
}

func avSource(k uint64) uint32 { return uint32(k & 0xffff) }
func avTarget(k uint64) uint32 { return uint32(k >> 16 & 0xffff) }
func avClass(k uint64) uint32  { return uint32(k >> 32 & 0xffff) }
func avKind(k uint64) uint16   { return uint16(k >> 48) }

// avtabHash is the bucket of key k in a table of 2^hashBits buckets: libsepol's and the
// kernel's avtab_hash, a MurmurHash3-style mix of class, target and source type.
func avtabHash(k uint64, hashBits uint) uint32 {
	const c1, c2, r1, r2, m, n = 0xcc9e2d51, 0x1b873593, 15, 13, 5, 0xe6546b64
	var h uint32
	for _, v := range [3]uint32{avClass(k), avTarget(k), avSource(k)} {
		v *= c1
		v = bits.RotateLeft32(v, r1)
		v *= c2
		h ^= v
		h = bits.RotateLeft32(h, r2)
		h = h*m + n
	}
	h ^= h >> 16
	h *= 0x85ebca6b
	h ^= h >> 13
	h *= 0xc2b2ae35
	h ^= h >> 16
	return h & (1<<hashBits - 1)
}

// rank is where a libsepol table holds a key: its bucket, then source, target and class.
// Keys that differ only in their kind share a rank.
type rank struct {
	bucket uint32
	stc    uint64
}

func rankOf(k uint64, bucket uint32) rank {
	return rank{bucket, uint64(avSource(k))<<32 | uint64(avTarget(k))<<16 | uint64(avClass(k))}
}

func (r rank) compare(o rank) int {
	return cmp.Or(cmp.Compare(r.bucket, o.bucket), cmp.Compare(r.stc, o.stc))
}

// hashOrdered reports whether keys (in file order) are in the order of a table of
// 2^hashBits buckets, and if so whether two of them are equal; it records each key's
// bucket in buckets. Within one rank libsepol keeps insertion order, so a rank's kinds are
// checked as a set.
func hashOrdered(keys []uint64, hashBits uint, buckets []uint32) (ordered, dup bool) {
	var prev rank
	var kinds uint16
	for i, k := range keys {
		buckets[i] = avtabHash(k, hashBits)
		r := rankOf(k, buckets[i])
		c := r.compare(prev)
		switch {
		case i == 0 || c > 0:
			kinds = 0
		case c < 0:
			return false, false
		}
		dup = dup || kinds&avKind(k) != 0
		kinds |= avKind(k)
		prev = r
	}
	return true, dup
}

// avIndex is the set of unconditional keys, in hash order when the file was (hashBits >
// 0, with each key's bucket), else sorted ascending.
type avIndex struct {
	keys     []uint64
	buckets  []uint32
	hashBits uint
}

// checkUnique orders the keys for lookups and reports whether one occurs twice.
func (x *avIndex) checkUnique(n uint32) (dup bool) {
	buckets := make([]uint32, len(x.keys))
	for _, b := range avtabHashBits(n) {
		if ordered, dup := hashOrdered(x.keys, b, buckets); ordered {
			x.hashBits, x.buckets = b, buckets
			return dup
		}
	}
	radixSort(x.keys)
	for i := 1; i < len(x.keys); i++ {
		if x.keys[i] == x.keys[i-1] {
			return true
		}
	}
	return false
}

// has reports whether k is in the index (after checkUnique).
func (x *avIndex) has(k uint64) bool {
	if x.hashBits == 0 {
		_, found := slices.BinarySearch(x.keys, k)
		return found
	}
	r := rankOf(k, avtabHash(k, x.hashBits))
	at := func(i int) rank { return rankOf(x.keys[i], x.buckets[i]) }
	i := sort.Search(len(x.keys), func(i int) bool { return at(i).compare(r) >= 0 })
	for ; i < len(x.keys) && at(i) == r; i++ {
		if x.keys[i] == k {
			return true
		}
	}
	return false
}
