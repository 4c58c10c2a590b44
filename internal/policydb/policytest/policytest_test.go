package policytest

import (
	"bytes"
	"os"
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

// TestImageAdmission: what the doc comment promises about each version.
func TestImageAdmission(t *testing.T) {
	for v, ok := range map[int]bool{30: false, 32: false, 33: true, 34: true, 35: false} {
		if _, err := policydb.Analyze(Image(v)); (err == nil) != ok {
			t.Errorf("Analyze(Image(%d)) = %v, want accepted %v", v, err, ok)
		}
	}
}

func TestBodyNotStale(t *testing.T) {
	want, err := os.ReadFile("../testdata/rich.33")
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(body, want) {
		t.Error("testdata/policy.33 differs from ../testdata/rich.33: rerun ../testdata/gen.sh")
	}
}
