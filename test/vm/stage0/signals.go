package main

import (
	"fmt"
	"os"
	"os/exec"
	"strings"
	"time"

	"golang.org/x/sys/unix"

	"github.com/nsinit/nsinit/internal/sigpolicy"
	"github.com/nsinit/nsinit/internal/sigpolicy/sigtest"
)

// The signaller: with STAGE0_SIGNALS=1 on the kernel command line, stage0 starts a copy of
// itself before switching root. The copy stays in the initramfs, waits until PID 1 is
// nsinit and its bring-up has started (its procfs mount), and sends it every signal 1-64 that the bring-up does not abort on, with kill(2)
// and with sigqueue(3), while the bring-up runs (the first-boot relabel gives it seconds).
// It prints one line, "stage0: signals: ...", saying how many it sent and whether PID 1
// was still nsinit after the last one: the proof that they hit the bring-up.

const (
	signallerRole = "STAGE0_ROLE=signaller"
	signallerProc = "/sigproc" // procfs, mounted in the initramfs for the signaller alone
	signallerWait = 60 * time.Second
)

// startSignaller starts the signaller when the command line asks for it.
func startSignaller() error {
	if os.Getenv("STAGE0_SIGNALS") != "1" {
		return nil
	}
	cmd := exec.Command(os.Args[0])
	cmd.Env = []string{signallerRole}
	// /dev has moved to the new root already: no /dev/null for exec to open.
	cmd.Stdin, cmd.Stdout, cmd.Stderr = os.Stdin, os.Stderr, os.Stderr
	if err := cmd.Start(); err != nil {
		return fmt.Errorf("start the signaller: %w", err)
	}
	return nil
}

// isSignaller reports whether this process is the signaller.
func isSignaller() bool { return len(os.Environ()) == 1 && os.Environ()[0] == signallerRole }

// signaller is the signaller's main.
func signaller() {
	if err := sendSignals(); err != nil {
		fmt.Fprintf(os.Stderr, "stage0: signals: error: %v\n", err)
	}
}

func sendSignals() error {
	if err := os.MkdirAll(signallerProc, 0o555); err != nil {
		return err
	}
	if err := unix.Mount("proc", signallerProc, "proc", 0, ""); err != nil {
		return fmt.Errorf("mount proc: %w", err)
	}
	deadline := time.Now().Add(signallerWait)
	for comm() != "nsinit" {
		if time.Now().After(deadline) {
			return fmt.Errorf("PID 1 never became nsinit (comm %q)", comm())
		}
		time.Sleep(5 * time.Millisecond)
	}
	// Into the bring-up: once its first step has mounted procfs (a proc mount more in PID
	// 1's mountinfo), its handlers are installed (Guard at the start of main, then the
	// bring-up's own). A fixed wait after the exec lost the race when emulation slowed the
	// start: before Guard, the Go runtime's own handler turns a SIGQUIT into a crash dump.
	before := procMounts(1)
	for procMounts(1) <= before {
		if time.Now().After(deadline) {
			return fmt.Errorf("PID 1 never mounted procfs (its bring-up did not start)")
		}
		time.Sleep(5 * time.Millisecond)
	}
	sent, failed := 0, 0
	for _, m := range sigtest.Methods {
		for sig := unix.Signal(1); sig <= 64; sig++ {
			if skipped(sig) {
				continue
			}
			if err := sigtest.Send(1, sig, m); err != nil {
				failed++
				continue
			}
			sent++
		}
	}
	fmt.Fprintf(os.Stderr, "stage0: signals: sent=%d failed=%d pid1_still_nsinit=%v\n", sent, failed, comm() == "nsinit")
	return nil
}

// skipped reports whether the signaller leaves sig out: it aborts the bring-up, or it
// cannot be caught at all.
func skipped(sig unix.Signal) bool {
	r, ok := sigpolicy.Lookup(sig)
	return ok && (r.BringUp == sigpolicy.Abort || r.BringUp == sigpolicy.Uncatchable)
}

// procMounts counts the procfs mounts in process pid's mountinfo (field 9, after " - ",
// is the filesystem type).
func procMounts(pid int) int {
	b, _ := os.ReadFile(fmt.Sprintf("%s/%d/mountinfo", signallerProc, pid))
	n := 0
	for _, line := range strings.Split(string(b), "\n") {
		if _, after, ok := strings.Cut(line, " - "); ok && strings.HasPrefix(after, "proc ") {
			n++
		}
	}
	return n
}

// comm is PID 1's command name.
func comm() string {
	b, _ := os.ReadFile(signallerProc + "/1/comm")
	return strings.TrimSpace(string(b))
}
