// Package policytest builds policy images for tests of the packages that select and load
// policies: a valid header (as policydb.ParseHeader checks it) of any version over a small
// real body.
package policytest

import (
	_ "embed"
	"encoding/binary"

	"github.com/nsinit/nsinit/internal/policydb"
)

// body is policydb's testdata/rich.33 (copied by testdata/gen.sh): a checkpolicy-built MLS
// policy in the version-33 format.
//
//go:embed testdata/policy.33
var body []byte

// Image returns a policy image whose header says version v (with the object-context count
// that version needs) over the body of a real version-33 policy. It passes the admission
// check (policydb.Analyze) for 33 and 34, whose formats are the same; for 35 it is
// malformed (that format has one more bitmap), and for versions below 33 it is a valid
// header nsinit reads but refuses to load.
func Image(v int) []byte {
	b := append([]byte(nil), body...)
	le := binary.LittleEndian
	le.PutUint32(b[16:], uint32(v))
	ocons := uint32(7)
	if v >= policydb.VersionInfiniband {
		ocons = 9
	}
	le.PutUint32(b[28:], ocons)
	return b
}
