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
// nsinit, and sends it every signal 1-64 that the bring-up does not abort on, with kill(2)
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
	// Into the bring-up: its signal handling is installed before the first step.
	time.Sleep(300 * time.Millisecond)
	sent, failed := 0, 0
	for _, m := range sigtest.Methods {
		for sig := unix.Signal(1); sig <= 64; sig++ {
			if r, ok := sigpolicy.Lookup(sig); ok && (r.BringUp == sigpolicy.Abort || r.BringUp == sigpolicy.Uncatchable) {
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

// comm is PID 1's command name.
func comm() string {
	b, _ := os.ReadFile(signallerProc + "/1/comm")
	return strings.TrimSpace(string(b))
}
