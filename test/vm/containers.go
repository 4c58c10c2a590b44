package vm

import (
	"fmt"
	"strconv"
	"strings"

	"github.com/nsinit/nsinit/internal/exitcode"
)

// containerPrefix starts testinit's lines about the containers it ran (TESTINIT_CONTAINERS).
const containerPrefix = markerPrefix + "container: "

// ContainerRun is one run of nsinit as a container's PID 1 inside the guest, as testinit
// reported it.
type ContainerRun struct {
	// Name is the case (testinit/containers.go).
	Name string
	// Exit is nsinit's exit status (-1: it could not be started).
	Exit int
	// Before and After are the host's SELinux state around the run (testinit's hostState).
	Before, After string
	// Out is nsinit's output (and the container init's), line by line.
	Out []string
	// done: the summary line was seen.
	done bool
}

// problems returns what is wrong with the run against the checks every case shares: exit
// status exit, the host's state unchanged, the state before holding state and the state
// after holding also, and every one of out in the output.
func (c *ContainerRun) problems(exit int, state, also string, out []string) []string {
	var bad []string
	if c.Exit != exit {
		bad = append(bad, fmt.Sprintf("exit %d, want %d", c.Exit, exit))
	}
	if c.Before != c.After {
		bad = append(bad, fmt.Sprintf("the host's state changed: %s -> %s", c.Before, c.After))
	}
	if !strings.Contains(c.Before, state) || !strings.Contains(c.After, also) {
		bad = append(bad, fmt.Sprintf("host state %s, want %s and %s", c.After, state, also))
	}
	joined := strings.Join(c.Out, "\n")
	for _, s := range out {
		if !strings.Contains(joined, s) {
			bad = append(bad, fmt.Sprintf("output lacks %q", s))
		}
	}
	return bad
}

// ContainerRuns parses testinit's container lines from a console, by case name.
func ContainerRuns(console string) map[string]*ContainerRun {
	runs := map[string]*ContainerRun{}
	get := func(name string) *ContainerRun {
		if runs[name] == nil {
			runs[name] = &ContainerRun{Name: name, Exit: -1}
		}
		return runs[name]
	}
	for _, l := range strings.Split(console, "\n") {
		rest, ok := strings.CutPrefix(l, containerPrefix)
		if !ok {
			continue
		}
		name, rest, _ := strings.Cut(rest, " ")
		if out, ok := strings.CutPrefix(rest, "out: "); ok {
			get(name).Out = append(get(name).Out, out)
			continue
		}
		r := get(name)
		for _, f := range strings.Fields(rest) {
			k, v, _ := strings.Cut(f, "=")
			switch k {
			case "exit":
				if n, err := strconv.Atoi(v); err == nil {
					r.Exit = n
				}
			case "before":
				r.Before = v
			case "after":
				r.After = v
			}
		}
		r.done = true
	}
	return runs
}

// containerWant is what one container case must show.
type containerWant struct {
	name  string
	exit  int
	state string   // a substring of the host's state before the run
	out   []string // each in nsinit's output
}

// containerWants are the cases of testinit's runContainers on Debian's 6.1 kernel (no LSM
// syscalls, a stock selinuxfs): without a policy every run is refused, SELINUXNS=1 or not;
// with one, every run finds it and starts the init; the host's state never changes.
var containerWants = []containerWant{
	{"nopolicy", exitcode.Refused, "policy:none,enforce:0,init:kernel", []string{
		"refusing to load an SELinux policy", "SELINUXNS=1 is not in the environment", "ENOSYS, Linux 6.1."}},
	{"nopolicy-selinuxns", exitcode.Refused, "policy:none,enforce:0,init:kernel", []string{
		"refusing to load an SELinux policy", "SELINUXNS=1 is in the environment, yet the kernel shows no SELinux namespace support",
		"neither maxns nor maxnsdepth", "ENOSYS: Linux 6.1.", "has no LSM syscalls"}},
	{"nopolicy-selinuxns-fresh", exitcode.Refused, "policy:none,enforce:0,init:kernel", []string{
		"(a fresh selinuxfs mounted to look, unmounted again) has neither maxns nor maxnsdepth", "neither maxns nor maxnsdepth"}},
	{"permissive", exitcode.OK, "policy:loaded,enforce:0,init:system_u:system_r:kernel_t", []string{
		"a policy is already loaded", "container-child pid=1"}},
	{"permissive-selinuxns", exitcode.OK, "policy:loaded,enforce:0,init:system_u:system_r:kernel_t", []string{
		"a policy is already loaded", "container-child pid=1"}},
	{"enforcing", exitcode.OK, "policy:loaded,enforce:1,init:system_u:system_r:kernel_t", []string{
		"a policy is already loaded", "container-child pid=1"}},
	{"enforcing-selinuxns", exitcode.OK, "policy:loaded,enforce:1,init:system_u:system_r:kernel_t", []string{
		"a policy is already loaded", "container-child pid=1"}},
}

// expectContainers checks every container case: nsinit's exit status and output, and the
// host's SELinux state unchanged by the run (and without a selinuxfs left at the fresh
// mount point); then that testinit reported and powered off.
func expectContainers(r *Result) error {
	runs := ContainerRuns(r.Console)
	var errs []string
	for _, w := range containerWants {
		c := runs[w.name]
		if c == nil || !c.done {
			errs = append(errs, w.name+": not reported")
			continue
		}
		if bad := c.problems(w.exit, w.state, "fresh:unmounted", w.out); len(bad) > 0 {
			errs = append(errs, fmt.Sprintf("%s: %s\n  output:\n    %s", w.name, strings.Join(bad, "; "), strings.Join(c.Out, "\n    ")))
		}
	}
	if len(runs) != len(containerWants) {
		errs = append(errs, fmt.Sprintf("%d cases reported, want %d", len(runs), len(containerWants)))
	}
	if r.Marker == nil || !r.PoweredOff {
		errs = append(errs, "testinit did not report and power off: "+r.Outcome())
	}
	if len(errs) > 0 {
		return fmt.Errorf("containers:\n%s", strings.Join(errs, "\n"))
	}
	return nil
}
