// Package mutant generates deterministic mutations of policy images, the corpus of the
// admission fuzz test and of the real-kernel oracle scenario (test/vm): host and guest derive
// the same mutant from the same seed and index, so no corpus is shipped.
package mutant

import (
	"encoding/binary"
	"fmt"
	"math/rand/v2"
)

// Mutant is one deterministic mutation of a policy image.
type Mutant struct {
	// Kind says what was done, e.g. "flip byte 1234 bit 3" or "truncate to 99 bytes".
	Kind string
	Data []byte
}

// Mutate returns mutant i of data for seed: the same (data, seed, i) always gives the same
// mutant, so a host and a guest can generate the same corpus without shipping it. The kinds
// rotate: a bit flip, a truncation, an inflated word (a small little-endian u32 — a count,
// length or value — made larger), and trailing garbage.
func Mutate(data []byte, seed uint64, i int) Mutant {
	r := rand.New(rand.NewPCG(seed, uint64(i)))
	b := append([]byte(nil), data...)
	switch i % 4 {
	case 0:
		off, bit := r.IntN(len(b)), r.IntN(8)
		b[off] ^= 1 << bit
		return Mutant{fmt.Sprintf("flip byte %d bit %d", off, bit), b}
	case 1:
		n := r.IntN(len(b))
		return Mutant{fmt.Sprintf("truncate to %d bytes", n), b[:n]}
	case 2:
		le := binary.LittleEndian
		for off := r.IntN(len(b) - 4); off+4 <= len(b); off++ {
			v := le.Uint32(b[off:])
			if v == 0 || v > 1<<16 {
				continue
			}
			nv := v + 1 + uint32(r.IntN(3))*v*uint32(r.IntN(1<<12))
			le.PutUint32(b[off:], nv)
			return Mutant{fmt.Sprintf("word at byte %d %d -> %d", off, v, nv), b}
		}
		return Mutant{"unchanged", b}
	default:
		n := 1 + r.IntN(64)
		for j := 0; j < n; j++ {
			b = append(b, byte(r.Uint32()))
		}
		return Mutant{fmt.Sprintf("%d trailing bytes", n), b}
	}
}
