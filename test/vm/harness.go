// Package vm is nsinit's real-kernel test harness: it boots Debian's kernels (bookworm's
// 6.1, sid's 7.x) under qemu (software emulation) with SELinux enabled, from an ext4 disk
// image labelled on the host, runs nsinit as PID 1 and reads the verdict from the serial
// console.
//
// The boot chain is the one of a real machine with an initramfs:
//
//	kernel (security=selinux) -> /init = stage0 (initramfs: modules, mount /dev/vda, switch root)
//	  -> /sbin/nsinit (PID 1, attr/current "kernel") -> /sbin/init = testinit (marker line, power off)
//
// The pieces: Env (where the policy and the cache are), Kernel (one kernel, Env.Kernel, chosen
// per run), Image (an ext4 root, labelled on the host or not at all), Machine.Boot (qemu
// with a hard timeout, console parsed into a Result), ImageLabels and SetfilesLabels (labels
// read back from an image after a boot, and the policy's setfiles as their oracle), the
// Scenarios of issues 2, 4, 5 and 6 with their checks, and the policy families of issue 12
// (PolicyScenarios: the same scenarios for any policy directory), shared by the tests and
// the demo (cmd/vmrun). See docs/testing.md.
package vm

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"time"
)

// Console markers the harness reacts to.
const (
	markerPrefix    = "TESTINIT: "
	appPrefix       = "TESTAPP: "
	appExitMarker   = "nsinit: application exited with status "
	emergencyMarker = "nsinit: emergency:"
	freezingMarker  = "nsinit: freezing"
	stage0Error     = "stage0: error:"
	panicMarker     = "Kernel panic - not syncing"
	powerOffMarker  = "reboot: Power down"
)

// DefaultTimeout bounds one boot. A boot takes 7-12 s of emulation on an idle machine,
// but a minute was seen on two cores shared with a dozen busy processes.
const DefaultTimeout = 180 * time.Second

// freezeGrace is how long the harness keeps reading after "nsinit: freezing" before it
// kills qemu: enough for the kernel's last console lines (the audit thread prints AVC
// denials asynchronously, and an emulated guest on a loaded host can lag by a second),
// far less than a timeout.
const freezeGrace = 2 * time.Second

// Machine is one qemu boot.
type Machine struct {
	// Kernel is the kernel qemu boots (Env.Kernel).
	Kernel Kernel
	// Initrd is the stage0 initramfs built for Kernel (Env.Initramfs).
	Initrd string
	// Disk is the root filesystem image, attached as /dev/vda with snapshot=on: the guest's
	// writes go to a temporary overlay and the image is left as it was. Empty attaches no
	// disk (the root is the initramfs).
	Disk string
	// RDInit is the program the kernel runs as PID 1 from the initramfs (rdinit=);
	// empty is /init (stage0).
	RDInit string
	// Cmdline holds extra kernel command line words, before the "--" (KEY=VALUE words reach
	// PID 1 as environment variables, e.g. STAGE0_INIT=/sbin/init).
	Cmdline []string
	// Args are the arguments stage0 passes to the next init (nsinit). They go on the kernel
	// command line after "--" when it can carry them, else in /stage0.args (a literal "--",
	// an empty word, spaces or quotes).
	Args []string
	// NoSELinux boots without security=selinux: Debian's kernels then run AppArmor and
	// there is no selinuxfs at all.
	NoSELinux bool
	// Writable attaches Disk without snapshot=on: the guest's writes (a first-boot
	// relabel) land in the file, to be inspected after the power-off. Boot a copy.
	Writable bool
	// Timeout is the hard limit for the whole boot; 0 means DefaultTimeout.
	Timeout time.Duration
	// Console, if set, receives the console output as it arrives (the demo streams it).
	Console io.Writer
}

// Result is what a boot printed, classified.
type Result struct {
	// Kernel is the kernel that booted (Machine.Kernel): checks whose expectation depends on
	// it (a policy downgrade, the LSM syscalls, the relabel's xattr calls) read it.
	Kernel Kernel
	// Console is the whole serial console output, "\r" removed.
	Console string
	// Marker is testinit's report; nil when the test init never ran.
	Marker *Marker
	// Notes and Denials are testinit's "note:" lines and the AVC records it relayed.
	Notes, Denials []string
	// Labels maps a path to its label as the guest read it, from testinit's
	// "label CONTEXT PATH" lines (TESTINIT_LABELS=1); nil when it printed none.
	Labels map[string]string
	// App holds the key=value words of testapp's "TESTAPP: " lines (a later line's key
	// replaces an earlier one's); nil when the application never reported.
	App map[string]string
	// AppExit is the status nsinit's supervisor reported with "nsinit: application exited
	// with status N; powering off" as the machine's PID 1; nil when it printed none.
	AppExit *int
	// Emergency holds nsinit's "nsinit: emergency:" lines, each from that marker on,
	// joined by newlines.
	Emergency string
	// Frozen: nsinit printed "nsinit: freezing"; the harness then killed qemu.
	Frozen bool
	// Stage0Error is stage0's error line, if it failed.
	Stage0Error string
	// Panic is the kernel's panic line, if it panicked (e.g. PID 1 exited).
	Panic string
	// PoweredOff: the guest powered off by itself.
	PoweredOff bool
	// TimedOut: the hard timeout killed qemu.
	TimedOut bool
	// inEmergency: the last line was part of an emergency message (classify).
	inEmergency bool
	// Inspection and InspectErr are what Scenario.Inspect found on the disk the guest
	// wrote (empty for scenarios without an inspection).
	Inspection  string
	InspectErr  error
	InspectTime time.Duration
	// Elapsed is the wall time of the boot.
	Elapsed time.Duration
}

// Marker is testinit's marker line:
// "TESTINIT: pid=1 context=C enforce=E label=L exe=X maxrss=N argv=[...]".
type Marker struct {
	PID     int
	Context string
	Enforce string
	Label   string
	Exe     string
	// MaxRSSKiB is the process's peak resident set across its execs (getrusage): with
	// nsinit as PID 1 before testinit, nsinit's peak.
	MaxRSSKiB int
	Argv      []string
}

// ParseMarker parses the part of a marker line after "TESTINIT: ".
func ParseMarker(s string) (*Marker, error) {
	head, argv, ok := strings.Cut(s, " argv=")
	if !ok {
		return nil, fmt.Errorf("marker %q: no argv=", s)
	}
	m := &Marker{}
	if err := json.Unmarshal([]byte(argv), &m.Argv); err != nil {
		return nil, fmt.Errorf("marker %q: argv: %v", s, err)
	}
	seen := map[string]bool{}
	for _, f := range strings.Fields(head) {
		k, v, ok := strings.Cut(f, "=")
		if !ok {
			return nil, fmt.Errorf("marker %q: field %q is not key=value", s, f)
		}
		if seen[k] {
			return nil, fmt.Errorf("marker %q: %s= repeated", s, k)
		}
		seen[k] = true
		switch k {
		case "pid":
			n, err := strconv.Atoi(v)
			if err != nil {
				return nil, fmt.Errorf("marker %q: pid: %v", s, err)
			}
			m.PID = n
		case "context":
			m.Context = v
		case "enforce":
			m.Enforce = v
		case "label":
			m.Label = v
		case "exe":
			m.Exe = v
		case "maxrss":
			n, err := strconv.Atoi(v)
			if err != nil {
				return nil, fmt.Errorf("marker %q: maxrss: %v", s, err)
			}
			m.MaxRSSKiB = n
		default:
			return nil, fmt.Errorf("marker %q: unknown field %q", s, k)
		}
	}
	for _, k := range []string{"pid", "context", "enforce"} {
		if !seen[k] {
			return nil, fmt.Errorf("marker %q: no %s=", s, k)
		}
	}
	return m, nil
}

// String renders the marker the way testinit prints it, for messages.
func (m *Marker) String() string {
	argv, _ := json.Marshal(m.Argv)
	return fmt.Sprintf("pid=%d context=%s enforce=%s label=%s exe=%s maxrss=%d argv=%s",
		m.PID, m.Context, m.Enforce, m.Label, m.Exe, m.MaxRSSKiB, argv)
}

// cmdlineSafe reports whether the kernel can pass arg to PID 1 unchanged: it splits the
// command line at white space, strips double quotes and ends init's arguments at "--".
func cmdlineSafe(arg string) bool {
	return arg != "" && arg != "--" && !strings.ContainsAny(arg, " \t\n\"")
}

// kernelCmdline returns the kernel command line, and the arguments that must travel in
// /stage0.args instead (nil when the command line carries them all).
func (m *Machine) kernelCmdline() (string, []string) {
	words := []string{"console=ttyS0"}
	if !m.NoSELinux {
		words = append(words, "security=selinux") // built in, but AppArmor is the default
	}
	rdinit := m.RDInit
	if rdinit == "" {
		rdinit = "/init"
	}
	words = append(words,
		"panic=-1",   // a panic reboots at once, and -no-reboot ends qemu
		"loglevel=6", // AVC and audit records (KERN_NOTICE) but not the boot chatter
		"sysctl.kernel.printk_ratelimit=0",
		"rdinit="+rdinit,
	)
	words = append(words, m.Cmdline...)
	for _, a := range m.Args {
		if !cmdlineSafe(a) {
			return strings.Join(words, " "), m.Args
		}
	}
	if len(m.Args) > 0 {
		words = append(words, "--")
		words = append(words, m.Args...)
	}
	return strings.Join(words, " "), nil
}

// drive is qemu's -drive option for the root disk.
func (m *Machine) drive() string {
	d := "file=" + m.Disk + ",format=raw,if=virtio"
	if !m.Writable {
		d += ",snapshot=on"
	}
	return d
}

// Boot runs the machine until the guest powers off, nsinit freezes, the kernel panics or
// the timeout expires, and returns what the console showed. The error is for failures of
// the harness itself (qemu missing, unreadable files); what the guest did is in Result.
func (m *Machine) Boot(ctx context.Context) (*Result, error) {
	timeout := m.Timeout
	if timeout == 0 {
		timeout = DefaultTimeout
	}
	cmdline, fileArgs := m.kernelCmdline()
	initrd := m.Initrd
	if fileArgs != nil {
		dir, err := os.MkdirTemp("", "nsinit-vm-")
		if err != nil {
			return nil, err
		}
		defer os.RemoveAll(dir)
		if initrd, err = appendArgs(dir, m.Initrd, fileArgs); err != nil {
			return nil, err
		}
	}
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	// One virtual CPU: on two busy host cores a second TCG vCPU thread made boots slower
	// (7.5 s against 10-17 s measured back to back), and it leaves a core to the rest.
	cmd := exec.CommandContext(ctx, "qemu-system-x86_64",
		"-machine", "pc,accel=tcg", "-cpu", "qemu64", "-smp", "1", "-m", "768",
		"-nodefaults", "-no-reboot", "-display", "none", "-monitor", "none",
		"-serial", "stdio",
		"-kernel", m.Kernel.Vmlinuz, "-initrd", initrd, "-append", cmdline)
	if m.Disk != "" {
		cmd.Args = append(cmd.Args, "-drive", m.drive())
	}
	cmd.WaitDelay = 5 * time.Second
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		return nil, err
	}
	var stderr strings.Builder
	cmd.Stderr = &stderr
	start := time.Now()
	if err := cmd.Start(); err != nil {
		return nil, fmt.Errorf("start qemu: %w", err)
	}
	r := &Result{Kernel: m.Kernel}
	var console strings.Builder
	var once sync.Once
	sc := bufio.NewScanner(stdout)
	sc.Buffer(make([]byte, 64*1024), 1024*1024)
	for sc.Scan() {
		line := strings.TrimRight(sc.Text(), "\r")
		console.WriteString(line + "\n")
		if m.Console != nil {
			fmt.Fprintln(m.Console, line)
		}
		if r.classify(line) {
			once.Do(func() { time.AfterFunc(freezeGrace, cancel) })
		}
	}
	werr := cmd.Wait()
	r.Elapsed = time.Since(start)
	r.Console = console.String()
	if errors.Is(ctx.Err(), context.DeadlineExceeded) {
		r.TimedOut = true
	}
	if werr != nil && !r.Frozen && !r.TimedOut && !r.PoweredOff && r.Panic == "" {
		return r, fmt.Errorf("qemu: %v\n%s", werr, stderr.String())
	}
	return r, nil
}

// classify records what line means and reports whether the run should end (nsinit froze).
func (r *Result) classify(line string) (stop bool) {
	switch {
	case strings.HasPrefix(line, markerPrefix+"note: "):
		r.Notes = append(r.Notes, strings.TrimPrefix(line, markerPrefix+"note: "))
	case strings.HasPrefix(line, markerPrefix+"avc: "):
		r.Denials = append(r.Denials, strings.TrimPrefix(line, markerPrefix+"avc: "))
	case strings.HasPrefix(line, markerPrefix+"label "):
		if ctx, path, ok := strings.Cut(strings.TrimPrefix(line, markerPrefix+"label "), " "); ok {
			if r.Labels == nil {
				r.Labels = map[string]string{}
			}
			r.Labels[path] = ctx
		}
	case strings.HasPrefix(line, appPrefix):
		if r.App == nil {
			r.App = map[string]string{}
		}
		for _, f := range strings.Fields(strings.TrimPrefix(line, appPrefix)) {
			if k, v, ok := strings.Cut(f, "="); ok {
				r.App[k] = v
			}
		}
	case strings.HasPrefix(line, markerPrefix+"pid="):
		if r.Marker == nil {
			if mk, err := ParseMarker(strings.TrimPrefix(line, markerPrefix)); err == nil {
				r.Marker = mk
			} else {
				r.Notes = append(r.Notes, "harness: "+err.Error())
			}
		}
	}
	if i := strings.Index(line, emergencyMarker); i >= 0 {
		if r.Emergency != "" {
			r.Emergency += "\n"
		}
		r.Emergency += line[i:]
		r.inEmergency = true
	} else if r.inEmergency && continuation(line) {
		// An error that spans lines (a refused policy: the file, the feature, the fixes)
		// continues without the marker.
		r.Emergency += "\n" + line
	} else {
		r.inEmergency = false
	}
	if i := strings.Index(line, appExitMarker); i >= 0 && r.AppExit == nil {
		num, _, _ := strings.Cut(line[i+len(appExitMarker):], ";")
		if n, err := strconv.Atoi(num); err == nil {
			r.AppExit = &n
		}
	}
	if i := strings.Index(line, stage0Error); i >= 0 && r.Stage0Error == "" {
		r.Stage0Error = line[i:]
	}
	if i := strings.Index(line, panicMarker); i >= 0 && r.Panic == "" {
		r.Panic = line[i:]
	}
	if strings.Contains(line, powerOffMarker) {
		r.PoweredOff = true
	}
	if strings.Contains(line, freezingMarker) {
		r.Frozen = true
		return true
	}
	return false
}

// continuation reports whether a console line can continue a multi-line message: it is
// not empty and not one of the lines with an origin (a kernel message, an nsinit log or
// marker line, stage0's or the test programs' lines).
func continuation(line string) bool {
	if line == "" || strings.HasPrefix(line, "[") || strings.Contains(line, "\tnsinit\t") {
		return false
	}
	for _, p := range []string{"nsinit:", "stage0:", markerPrefix, appPrefix} {
		if strings.HasPrefix(line, p) {
			return false
		}
	}
	return true
}

// Outcome summarizes how the boot ended, for messages.
func (r *Result) Outcome() string {
	switch {
	case r.TimedOut:
		return fmt.Sprintf("timed out after %v", r.Elapsed.Round(time.Second))
	case r.Frozen:
		return "nsinit froze (qemu killed by the harness)"
	case r.Stage0Error != "":
		return r.Stage0Error
	case r.Panic != "":
		return r.Panic
	case r.PoweredOff:
		return "guest powered off"
	}
	return "qemu exited"
}

// appendArgs writes initrd followed by an archive holding /stage0.args into dir and
// returns the new file's path.
func appendArgs(dir, initrd string, args []string) (string, error) {
	base, err := os.ReadFile(initrd)
	if err != nil {
		return "", err
	}
	extra, err := argsArchive(args)
	if err != nil {
		return "", err
	}
	out := filepath.Join(dir, "initrd.cpio")
	return out, os.WriteFile(out, append(base, extra...), 0o644)
}
