package vm

import (
	"fmt"
	"strconv"
	"strings"

	"github.com/nsinit/nsinit/internal/sigpolicy"
	"github.com/nsinit/nsinit/internal/sigpolicy/sigtest"
)

// AppLabel is testapp's file label in the images (Debian's file_contexts: /usr/bin(/.*)?).
const AppLabel = "system_u:object_r:bin_t:s0"

// predictedDomain returns the domain nsinit's summary line announced for the program it
// hands over to ("handing off: ... exec PATH as DOMAIN; total ...", or in supervisor mode
// "starting the supervised application: ... start PATH as DOMAIN; ..."), or "".
func predictedDomain(console, path string) string {
	for _, l := range strings.Split(console, "\n") {
		if !strings.Contains(l, "nsinit") {
			continue
		}
		for _, marker := range []string{"handing off: ", "starting the supervised application: "} {
			if !strings.Contains(l, marker) {
				continue
			}
			for _, verb := range []string{"exec ", "start "} {
				if _, rest, ok := strings.Cut(l, verb+path+" as "); ok {
					d, _, _ := strings.Cut(rest, ";")
					return strings.TrimSpace(d)
				}
			}
		}
	}
	return ""
}

// expectSupervised checks a supervisor-mode boot: testapp at path ran enforcing in the
// domain that nsinit predicted and that the kernel computes for it, its orphan was
// re-parented to nsinit and reaped (testapp saw it vanish, nsinit counted it), no zombie was left, nsinit reported the application's
// status and powered the machine off, and the test init never ran.
func expectSupervised(path string, status int) func(*Result) error {
	return func(r *Result) error {
		if r.App == nil {
			return fmt.Errorf("the application never reported (%s)%s", r.Outcome(), emergencySuffix(r))
		}
		a := r.App
		var errs []string
		want := func(key, value string) {
			if a[key] != value {
				errs = append(errs, fmt.Sprintf("%s=%q, want %q", key, a[key], value))
			}
		}
		predicted := predictedDomain(r.Console, path)
		if predicted == "" {
			errs = append(errs, "no nsinit summary line says \"start "+path+" as DOMAIN\"")
		}
		want("context", predicted)
		want("computed", predicted)
		want("label", AppLabel)
		want("enforce", "1")
		want("exe", path)
		want("ppid", "1")
		want("orphan_ppid", "1")
		want("orphan_reaped", "yes")
		want("zombies", "0")
		want("exit", strconv.Itoa(status))
		switch {
		case r.AppExit == nil:
			errs = append(errs, "nsinit did not report the application's status")
		case *r.AppExit != status:
			errs = append(errs, fmt.Sprintf("nsinit reported status %d, want %d", *r.AppExit, status))
		}
		if !supervisorReaped(r.Console, status, 1) {
			errs = append(errs, fmt.Sprintf("no nsinit log line says the application exited with status %d after 1 other process was reaped", status))
		}
		if r.Marker != nil {
			errs = append(errs, "the test init ran: "+r.Marker.String())
		}
		if r.Emergency != "" {
			errs = append(errs, "unexpected "+r.Emergency)
		}
		if !r.PoweredOff {
			errs = append(errs, "the guest did not power off: "+r.Outcome())
		}
		if len(errs) > 0 {
			return fmt.Errorf("supervised application: %s (report: %v)", strings.Join(errs, "; "), a)
		}
		return nil
	}
}

// supervisorReaped reports whether nsinit's supervisor logged the application's end with
// status and the number of other processes it reaped (testapp's orphan), as in
// `INFO nsinit application exited {"pid": 94, "status": 7, "reaped": 1}`.
func supervisorReaped(console string, status, reaped int) bool {
	for _, l := range strings.Split(console, "\n") {
		if strings.Contains(l, "\tnsinit\tapplication exited") &&
			strings.Contains(l, fmt.Sprintf(`"status": %d,`, status)) &&
			strings.Contains(l, fmt.Sprintf(`"reaped": %d}`, reaped)) {
			return true
		}
	}
	return false
}

// expectSignalsSurvived checks testapp's -signals report: for each method every relayed
// signal came back, every other catchable one was kept by nsinit, SIGKILL and SIGSTOP were
// discarded by the kernel, and there was no discrepancy. That nsinit survived them all is
// expectSupervised's status and power-off.
func expectSignalsSurvived(r *Result) error {
	if r.App == nil {
		return fmt.Errorf("the application never reported (%s)", r.Outcome())
	}
	relayed := len(sigpolicy.Relayed())
	var errs []string
	want := func(key string, value int) {
		if r.App[key] != strconv.Itoa(value) {
			errs = append(errs, fmt.Sprintf("%s=%q, want %d", key, r.App[key], value))
		}
	}
	for _, m := range sigtest.Methods {
		want("signals_"+string(m)+"_relayed", relayed)
		want("signals_"+string(m)+"_kept", 62-relayed)
		want("signals_"+string(m)+"_discarded", 2)
	}
	want("signal_errors", 0)
	if len(errs) > 0 {
		return fmt.Errorf("signals to the supervisor: %s (report: %v)", strings.Join(errs, "; "), r.App)
	}
	return nil
}
