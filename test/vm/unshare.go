package vm

import (
	"fmt"
	"strings"

	"github.com/nsinit/nsinit/internal/exitcode"
)

// unshareAnswer is what lsm_set_self_attr(LSM_ATTR_UNSHARE) must answer on kernel k, which
// has no SELinux namespaces: ENOSYS without the LSM syscalls (before 6.8), EOPNOTSUPP with
// them (the syscall exists, SELinux has no LSM_ATTR_UNSHARE).
func unshareAnswer(k Kernel) ([]string, error) {
	switch {
	case k.Name == "":
		return nil, fmt.Errorf("the result names no kernel")
	case k.LSMSyscalls:
		return []string{"lsm_set_self_attr(LSM_ATTR_UNSHARE): EOPNOTSUPP", "this kernel has no SELinux namespaces",
			"CONFIG_SECURITY_SELINUX_NS", "not in upstream Linux as of 7.3"}, nil
	default:
		return []string{"lsm_set_self_attr(LSM_ATTR_UNSHARE): ENOSYS", "the kernel has no LSM syscalls: Linux older than 6.8"}, nil
	}
}

// unshareWants are testinit's unshare cases (testinit/unshare.go) by name: what each must
// print besides the kernel's answer.
var unshareWants = []struct {
	name string
	out  []string
}{
	{"unshare-cmd", []string{"nsinit unshare: error: no new SELinux namespace for /sbin/init:",
		"nsinit unshare: NOT started: /sbin/init;"}},
	{"unshare-boot", []string{"nsinit unshare: error: no new SELinux namespace for the bring-up, then /sbin/init:",
		"nsinit unshare: NOT started: the bring-up, then /sbin/init;"}},
	{"unshare-entrypoint", []string{"nsinit boot: error: no new SELinux namespace for the bring-up, then /sbin/init:",
		"nsinit boot: NOT started: the bring-up, then /sbin/init;"}},
}

// unsharePhases are the host states the cases run in, with the state each must leave as
// it found it.
var unsharePhases = []struct{ name, state string }{
	{"nopolicy", "policy:none,enforce:0,init:kernel"},
	{"enforcing", "policy:loaded,enforce:1,init:system_u:system_r:kernel_t"},
}

// expectUnshare checks every unshare case: exit status 1 (exitcode.Failure), the step that
// failed with the errno the booted kernel calls for (Kernel.LSMSyscalls), the steps before it done, the
// program never started, and the host's SELinux state (policy, enforce, PID 1's context,
// /dev labels, its selinuxfs mount) unchanged.
func expectUnshare(r *Result) error {
	answer, err := unshareAnswer(r.Kernel)
	if err != nil {
		return err
	}
	runs := ContainerRuns(r.Console)
	var errs []string
	for _, p := range unsharePhases {
		for _, w := range unshareWants {
			name := p.name + "-" + w.name
			c := runs[name]
			if c == nil || !c.done {
				errs = append(errs, name+": not reported")
				continue
			}
			want := append([]string{`step "unshare the SELinux namespace" failed`, "unshare the mount namespace",
				"make the mount tree recursively private"}, answer...)
			bad := c.problems(exitcode.Failure, p.state, ",selinuxfs:mounted", append(want, w.out...))
			out := strings.Join(c.Out, "\n")
			if strings.Contains(out, "container-child") {
				bad = append(bad, "the program ran")
			}
			if len(bad) > 0 {
				errs = append(errs, fmt.Sprintf("%s: %s\n  output:\n    %s", name, strings.Join(bad, "; "), strings.Join(c.Out, "\n    ")))
			}
		}
	}
	if n := len(unsharePhases) * len(unshareWants); len(runs) != n {
		errs = append(errs, fmt.Sprintf("%d cases reported, want %d", len(runs), n))
	}
	if r.Marker == nil || !r.PoweredOff {
		errs = append(errs, "testinit did not report and power off: "+r.Outcome())
	}
	if len(errs) > 0 {
		return fmt.Errorf("unshare on %s (%s):\n%s", r.Kernel.Name, r.Kernel.Release, strings.Join(errs, "\n"))
	}
	return nil
}
