// Package policytest builds synthetic kernel policy images for tests of the packages that
// select and load policies: a valid header (as policydb.ParseHeader checks it) followed by
// a body no kernel would accept.
package policytest

import (
	"encoding/binary"

	"github.com/nsinit/nsinit/internal/policydb"
)

// Image returns a policy image of version v: a valid MLS header with the object-context
// count that version needs, then a few body bytes.
func Image(v int) []byte {
	le := binary.LittleEndian
	b := le.AppendUint32(nil, policydb.Magic)
	b = le.AppendUint32(b, uint32(len(policydb.Identifier)))
	b = append(b, policydb.Identifier...)
	ocons := uint32(7)
	if v >= policydb.VersionInfiniband {
		ocons = 9
	}
	const mls = 1 // POLICYDB_CONFIG_MLS
	for _, x := range []uint32{uint32(v), mls, 8, ocons} {
		b = le.AppendUint32(b, x)
	}
	return append(b, "body"...)
}
