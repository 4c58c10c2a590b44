package boot

import (
	"encoding/json"
	"fmt"
	"os"

	"golang.org/x/sys/unix"
)

// Report says who decided nsinit's exit status: nsinit itself (a bring-up failure, an
// abort, a usage error) or the supervised application. An orchestrator cannot tell the
// two apart by the number (an application may exit 4 too); it reads the --status-file.
type Report struct {
	// By is "nsinit" or "application".
	By string `json:"by"`
	// Status is nsinit's exit status.
	Status int `json:"status"`
	// Reason is, for By == "nsinit", what stopped the bring-up.
	Reason string `json:"reason,omitempty"`
}

// writeReport writes r as one JSON line to path, replacing its content. O_NOFOLLOW: the
// path is the operator's, but a symlink planted there by the image must not redirect the
// write.
func writeReport(path string, r Report) error {
	b, err := json.Marshal(r)
	if err != nil {
		return err
	}
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_TRUNC|unix.O_NOFOLLOW|unix.O_CLOEXEC, 0o644)
	if err != nil {
		return err
	}
	if _, err := f.Write(append(b, '\n')); err != nil {
		f.Close()
		return fmt.Errorf("write %s: %w", path, err)
	}
	return f.Close()
}
