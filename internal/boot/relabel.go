package boot

import (
	"context"
	"fmt"
	"time"

	"go.uber.org/zap"

	"github.com/nsinit/nsinit/internal/firstboot"
)

// FirstBootRelabel returns the relabel step of the bring-up: firstboot.Run with the
// image's file_contexts, honouring the kernel command line's autorelabel only at boot.
func FirstBootRelabel(policy firstboot.Policy, jobs int, log *zap.Logger) RelabelFunc {
	return func(ctx context.Context, req RelabelRequest) (string, error) {
		res, err := firstboot.Run(ctx, firstboot.Options{
			Root:               req.Root,
			FileContexts:       req.Layout.FileContexts(),
			CustomizableTypes:  req.Layout.CustomizableTypes(),
			Policy:             policy,
			CmdlineAutorelabel: req.AtBoot && req.Cmdline.Autorelabel,
			Namespace:          req.Namespace,
			Jobs:               jobs,
			Log:                log,
		})
		if err != nil {
			return "", err
		}
		if !res.Ran {
			return "no relabel (" + res.Reason + ")", nil
		}
		s := res.Stats
		return fmt.Sprintf("relabelled %d of %d objects in %s (%s)", s.Relabeled, s.Seen, s.Duration.Round(time.Millisecond), res.Reason), nil
	}
}
