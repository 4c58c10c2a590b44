package boot

import (
	"context"
	"fmt"
	"time"

	"go.uber.org/zap"

	"github.com/nsinit/nsinit/internal/config"
	"github.com/nsinit/nsinit/internal/firstboot"
)

// RelabelRequest is what the relabel step knows.
type RelabelRequest struct {
	Root   string
	Layout config.Layout
	// Policy is --relabel, Jobs --jobs.
	Policy firstboot.Policy
	Jobs   int
	// Cmdline is the kernel command line, nil outside the machine's PID 1 (in a container
	// /proc/cmdline is the host's, and its autorelabel is not ours).
	Cmdline *config.Cmdline
	// Namespace is true in a freshly unshared namespace (API filesystems need relabelling).
	Namespace bool
	Log       *zap.Logger
}

// options are the firstboot options of req.
func (req RelabelRequest) options() firstboot.Options {
	return firstboot.Options{
		Root:               req.Root,
		FileContexts:       req.Layout.FileContexts(),
		CustomizableTypes:  req.Layout.CustomizableTypes(),
		Policy:             req.Policy,
		CmdlineAutorelabel: req.Cmdline != nil && req.Cmdline.Autorelabel,
		Namespace:          req.Namespace,
		Jobs:               req.Jobs,
		Log:                req.Log,
	}
}

// FirstBootRelabel is the real relabel step: firstboot.Run with the image's
// file_contexts. It returns a one-line summary for the log; an error means labels may be
// incomplete.
func FirstBootRelabel(ctx context.Context, req RelabelRequest) (string, error) {
	res, err := firstboot.Run(ctx, req.options())
	if err != nil {
		return "", err
	}
	if !res.Ran {
		return "no relabel (" + res.Reason + ")", nil
	}
	s := res.Stats
	return fmt.Sprintf("relabelled %d of %d objects in %s (%s)", s.Relabeled, s.Seen, s.Duration.Round(time.Millisecond), res.Reason), nil
}
