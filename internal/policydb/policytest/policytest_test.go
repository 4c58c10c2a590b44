package policytest

import (
	"testing"

	"github.com/nsinit/nsinit/internal/policydb"
)

func TestImageParses(t *testing.T) {
	for _, v := range []int{policydb.MinVersion + 4, 30, 31, 33, policydb.MaxVersion} {
		h, err := policydb.ParseHeader(Image(v))
		if err != nil || h.Version != v || !h.MLS {
			t.Errorf("Image(%d): %+v, %v", v, h, err)
		}
	}
}
