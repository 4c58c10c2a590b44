// Command testapp is the application of the VM tests' supervisor scenario: the image
// installs it as /usr/bin/testapp (bin_t in Debian's file_contexts) and boots
// `nsinit --supervise -- /usr/bin/testapp -exit N`. It reports on the console, in
// "TESTAPP: key=value ..." lines:
//
//	TESTAPP: pid=2 ppid=1 context=<attr/current> enforce=<0|1|none> label=<its file's label> exe=<path>
//	TESTAPP: computed=<the kernel's compute_create for PID 1's context, its label, class process>
//	TESTAPP: orphan=<pid> orphan_ppid=<its parent once orphaned> orphan_reaped=<yes|no>
//	TESTAPP: zombies=<number of zombie processes left> exit=<N>
//
// With -signals it first sends every signal 1–64 to PID 1, with kill(2) and with sigqueue(3)
// (sigtest.Torture: relayed signals must come back, others not, SIGKILL and SIGSTOP must be
// discarded by the kernel), and reports, per method:
//
//	TESTAPP: signals_<kill|queue>_relayed=<N> signals_<...>_kept=<N> signals_<...>_discarded=<N>
//	TESTAPP: signal_error=<a discrepancy, spaces as _>   (one line each)
//	TESTAPP: signal_errors=<number of discrepancies>
//
// then exits with status N. computed is the domain the policy gives an exec of this file
// from PID 1's domain, asked of the kernel independently of nsinit (selinuxfs "create").
// The orphan is a grandchild whose parent exits at once: it is re-parented to PID 1 and
// exits 200 ms later, and the application waits until it has disappeared from /proc,
// which only PID 1's wait can make happen (a zombie keeps its /proc entry). zombies counts
// the processes in state Z after that, the application's own children included.
//
// Internal modes: "-orphan-parent" starts "-orphan" and prints its pid; "-orphan" sleeps.
package main

import (
	"errors"
	"flag"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"golang.org/x/sys/unix"

	"github.com/nsinit/nsinit/internal/sigpolicy"
	"github.com/nsinit/nsinit/internal/sigpolicy/sigtest"
)

const (
	prefix    = "TESTAPP: "
	selinuxfs = "/sys/fs/selinux"
)

func main() {
	status := flag.Int("exit", 0, "exit `STATUS`")
	orphanParent := flag.Bool("orphan-parent", false, "internal: start an orphan, print its pid and exit")
	orphan := flag.Bool("orphan", false, "internal: sleep 200 ms and exit")
	signals := flag.Bool("signals", false, "first send every signal 1-64 to PID 1 and check what is relayed")
	flag.Parse()
	switch {
	case *orphan:
		time.Sleep(200 * time.Millisecond)
		return
	case *orphanParent:
		self, err := os.Executable()
		if err == nil {
			cmd := exec.Command(self, "-orphan")
			if err = cmd.Start(); err == nil {
				fmt.Println(cmd.Process.Pid)
				return // without waiting: the child becomes an orphan
			}
		}
		fmt.Fprintln(os.Stderr, "testapp: start orphan:", err)
		os.Exit(1)
	}

	ctx, _ := readAttr("/proc/self/attr/current")
	exe, _ := os.Readlink("/proc/self/exe")
	label := "none"
	if l, err := getLabel(exe); err == nil {
		label = l
	} else {
		say("note=read-label:%v", strings.ReplaceAll(err.Error(), " ", "_"))
	}
	say("pid=%d ppid=%d context=%s enforce=%s label=%s exe=%s",
		os.Getpid(), os.Getppid(), orNone(ctx), readEnforce(), label, orNone(exe))

	initCtx, err := readAttr("/proc/1/attr/current")
	if err == nil {
		var c string
		if c, err = computeCreate(initCtx, label, "process"); err == nil {
			say("computed=%s", c)
		}
	}
	if err != nil {
		say("computed=error:%s", strings.ReplaceAll(err.Error(), " ", "_"))
	}

	if *signals {
		tortureSupervisor()
	}

	pid, ppid, reaped, err := orphanRun()
	if err != nil {
		say("orphan=error:%s", strings.ReplaceAll(err.Error(), " ", "_"))
	} else {
		say("orphan=%d orphan_ppid=%d orphan_reaped=%s", pid, ppid, yesNo(reaped))
	}
	say("zombies=%d exit=%d", zombies(), *status)
	os.Exit(*status)
}

// tortureSupervisor runs sigtest.Torture against PID 1 with every method and reports.
func tortureSupervisor() {
	n := 0
	for _, m := range sigtest.Methods {
		f, errs := sigtest.Torture(1, m, "/proc", sigpolicy.Relayed(), time.Minute)
		say("signals_%s_relayed=%d signals_%s_kept=%d signals_%s_discarded=%d", m, f.Relayed, m, f.Kept, m, f.Discarded)
		for _, err := range errs {
			say("signal_error=%s:%s", m, strings.ReplaceAll(err.Error(), " ", "_"))
		}
		n += len(errs)
	}
	say("signal_errors=%d", n)
}

// say prints one report line.
func say(format string, args ...any) {
	fmt.Fprintf(os.Stdout, prefix+format+"\n", args...)
}

func orNone(s string) string {
	if s == "" {
		return "none"
	}
	return s
}

func yesNo(b bool) string {
	if b {
		return "yes"
	}
	return "no"
}

// readAttr reads a /proc attr file; the kernel ends the value with a NUL byte.
func readAttr(path string) (string, error) {
	b, err := os.ReadFile(path)
	return strings.TrimRight(string(b), "\x00\n"), err
}

// readEnforce returns selinuxfs's enforce value (nsinit mounted selinuxfs for us).
func readEnforce() string {
	b, err := os.ReadFile(selinuxfs + "/enforce")
	if err != nil {
		return "none"
	}
	return strings.TrimSpace(string(b))
}

// getLabel returns path's security.selinux attribute.
func getLabel(path string) (string, error) {
	buf := make([]byte, 256)
	n, err := unix.Getxattr(path, "security.selinux", buf)
	if err != nil {
		return "", err
	}
	return strings.TrimRight(string(buf[:n]), "\x00"), nil
}

// computeCreate asks the kernel which context an object of class tclass gets when scon
// creates it from tcon: for "process", the domain of an exec of a file labelled tcon
// (libselinux security_compute_create; selinuxfs's create node takes "scon tcon class#").
func computeCreate(scon, tcon, tclass string) (string, error) {
	idx, err := os.ReadFile(filepath.Join(selinuxfs, "class", tclass, "index"))
	if err != nil {
		return "", err
	}
	f, err := os.OpenFile(selinuxfs+"/create", os.O_RDWR, 0)
	if err != nil {
		return "", err
	}
	defer f.Close()
	if _, err := f.Write([]byte(scon + " " + tcon + " " + strings.TrimSpace(string(idx)))); err != nil {
		return "", err
	}
	buf := make([]byte, 4096)
	n, err := f.Read(buf)
	if err != nil {
		return "", err
	}
	return strings.TrimRight(string(buf[:n]), "\x00\n"), nil
}

// orphanRun makes an orphan (see the package comment) and waits up to 10 s until it is
// gone. It returns the orphan's pid, its parent after its own parent exited, and whether
// it was reaped.
func orphanRun() (pid, ppid int, reaped bool, err error) {
	self, err := os.Executable()
	if err != nil {
		return 0, 0, false, err
	}
	out, err := exec.Command(self, "-orphan-parent").Output() // waits for (and reaps) the parent
	if err != nil {
		return 0, 0, false, fmt.Errorf("orphan parent: %w", err)
	}
	if pid, err = strconv.Atoi(strings.TrimSpace(string(out))); err != nil {
		return 0, 0, false, fmt.Errorf("orphan parent said %q", out)
	}
	ppid = -1
	for deadline := time.Now().Add(10 * time.Second); time.Now().Before(deadline); time.Sleep(10 * time.Millisecond) {
		_, pp, err := procStat(pid)
		if errors.Is(err, os.ErrNotExist) {
			return pid, ppid, true, nil
		}
		if err == nil {
			ppid = pp
		}
	}
	return pid, ppid, false, nil
}

// procStat returns a process's state letter and parent pid from /proc/PID/stat.
func procStat(pid int) (state byte, ppid int, err error) {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return 0, 0, err
	}
	// "pid (comm) S ppid ...": comm may hold spaces and parentheses, so cut at the last ')'.
	i := strings.LastIndexByte(string(b), ')')
	f := strings.Fields(string(b[i+1:]))
	if i < 0 || len(f) < 2 || len(f[0]) != 1 {
		return 0, 0, fmt.Errorf("/proc/%d/stat: malformed %q", pid, b)
	}
	ppid, err = strconv.Atoi(f[1])
	return f[0][0], ppid, err
}

// zombies counts the processes in state Z.
func zombies() int {
	ents, err := os.ReadDir("/proc")
	if err != nil {
		return -1
	}
	n := 0
	for _, e := range ents {
		pid, err := strconv.Atoi(e.Name())
		if err != nil {
			continue
		}
		if st, _, err := procStat(pid); err == nil && st == 'Z' {
			n++
		}
	}
	return n
}
