package relabel

import "github.com/nsinit/nsinit/internal/relabel/relabeltest"

// Short names for the shared test helpers (relabeltest documents them).
type fakeLabeler = relabeltest.FakeLabeler

var (
	getLabel      = relabeltest.Label
	setLabel      = relabeltest.SetLabel
	stripLabels   = relabeltest.StripLabels
	walkObjects   = relabeltest.WalkObjects
	labelsOf      = relabeltest.Labels
	compareLabels = relabeltest.CompareLabels
	inMountNS     = relabeltest.InMountNS
	mount         = relabeltest.Mount
	mustRun       = relabeltest.MustRun
	populate      = relabeltest.Populate
)
