package boot

import (
	"context"
	"fmt"
	"path/filepath"
	"time"

	"go.uber.org/zap"

	"github.com/nsinit/nsinit/internal/config"
	"github.com/nsinit/nsinit/internal/detect"
	"github.com/nsinit/nsinit/internal/firstboot"
	"github.com/nsinit/nsinit/internal/imagefile"
	"github.com/nsinit/nsinit/internal/loadpolicy"
)

// loadPolicy writes the policy the plan chose to the kernel.
func (b *bringUp) loadPolicy(context.Context) *Failure {
	img := b.plan.Policy
	loadTime, err := loadpolicy.Load(b.fs, img)
	if err != nil {
		return &Failure{What: "load the policy", Err: err}
	}
	b.loaded = true
	what := fmt.Sprintf("%s, %.1f MB, loaded in %s", filepath.Base(img.Path), float64(len(img.Data))/1e6, loadTime.Round(time.Millisecond))
	if img.Downgraded {
		what = fmt.Sprintf("%s (downgraded from %d to %d)", what, img.FileVersion, img.Header.Version)
	}
	b.summary = append(b.summary, what)
	b.fields = append(b.fields, zap.Duration("kernel_load", loadTime.Round(time.Microsecond)))
	b.details = append(b.details, zap.String("file", img.Path), zap.Int("file_bytes", img.FileBytes), zap.Int("loaded_bytes", len(img.Data)),
		zap.Int("version", img.Header.Version), zap.Bool("mls", img.Header.MLS), zap.Stringer("handle_unknown", img.Header.HandleUnknown))
	return nil
}

// relabel relabels what the policy load made stale: the first-boot relabel of the root,
// and in a fresh namespace the API filesystems the runtime mounted with host labels.
func (b *bringUp) relabel(ctx context.Context) *Failure {
	b.resumeGC()
	sum, err := b.sys.Relabel(ctx, b.relabelRequest())
	if err != nil {
		return &Failure{What: "relabel", Err: err, Hint: "run `nsinit relabel` by hand to see every error; the /.autorelabel marker is kept so the next start retries"}
	}
	if sum != "" {
		b.summary = append(b.summary, sum)
	}
	b.fields = append(b.fields, zap.String("result", sum), zap.String("context", b.currentContext()))
	return nil
}

// relabelRequest is what the relabel step asks of System.Relabel.
func (b *bringUp) relabelRequest() RelabelRequest {
	return RelabelRequest{
		Root:      b.o.Root,
		Layout:    b.plan.Layout,
		Policy:    b.o.Relabel,
		Jobs:      b.o.Jobs,
		Cmdline:   b.facts.Cmdline,
		Namespace: b.plan.Verdict == detect.Unshared,
		Log:       b.log,
	}
}

// prefetch has the kernel read, in the background, what the steps after configure read
// from the image: the policy file in policyDir, then what the relabel step reads before it
// decides (firstboot.Inputs of relabel). The bring-up goes on meanwhile (it runs in a
// goroutine of its own, on copies): on a cold disk the reads it would wait for are in memory
// by the time the steps make them (docs/performance.md).
func prefetch(do func([]imagefile.Ahead, []string), policyDir string, relabel firstboot.Options) {
	var files []imagefile.Ahead
	if p := loadpolicy.Likely(policyDir); p != "" {
		files = append(files, imagefile.Ahead{Path: p, Limit: loadpolicy.MaxImageSize})
	}
	more, lookups := firstboot.Inputs(relabel)
	do(append(files, more...), lookups)
}

// setMode switches to the plan's mode.
func (b *bringUp) setMode(context.Context) *Failure {
	if err := b.fs.SetEnforce(b.plan.Mode == config.ModeEnforcing); err != nil {
		return &Failure{What: "set " + b.plan.Mode.String() + " mode", Err: err}
	}
	b.summary = append(b.summary, b.plan.Mode.String())
	b.fields = append(b.fields, zap.Stringer("mode", b.plan.Mode), zap.String("context", b.currentContext()))
	return nil
}
