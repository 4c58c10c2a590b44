package vm

import (
	"fmt"
	"os"
	"os/exec"
	"strings"
)

// ProfilePath is where WithCPUProfile has nsinit write its profile inside the guest.
const ProfilePath = "/root/nsinit.pprof"

// WithCPUProfile returns s booted with nsinit --cpuprofile ProfilePath, writable, and
// after the power-off the profile copied from the disk to out (debugfs dump; a journal
// debugfs does not replay is no concern: the guest unmounts cleanly before powering
// off). An Inspect of s runs first and keeps its summary.
func WithCPUProfile(s Scenario, out string) Scenario {
	s.Args = append([]string{"--cpuprofile", ProfilePath}, s.Args...)
	inspect := s.Inspect
	s.Inspect = func(e Env, im *Image, disk string, r *Result) (string, error) {
		var summary string
		if inspect != nil {
			var err error
			if summary, err = inspect(e, im, disk, r); err != nil {
				return summary, err
			}
		}
		os.Remove(out)
		b, err := exec.Command("debugfs", "-R", fmt.Sprintf("dump %s %s", ProfilePath, out), disk).CombinedOutput()
		if st, serr := os.Stat(out); serr != nil || st.Size() == 0 {
			return summary, fmt.Errorf("no CPU profile at %s on the disk: %v %s", ProfilePath, err, strings.TrimSpace(string(b)))
		}
		return strings.TrimPrefix(summary+"; CPU profile in "+out, "; "), nil
	}
	return s
}
