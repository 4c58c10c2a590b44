package main

import (
	"strings"
	"testing"

	"github.com/nsinit/nsinit/internal/exitcode"
)

// FuzzDispatch feeds arbitrary argument vectors (words separated by NUL) to dispatch on a
// fake machine, as a host process, a container's PID 1 or the machine's PID 1. Nothing can
// happen there: SELinux is unavailable, nothing is mounted, exec and the supervisor only
// record their target (and fail the test if it lies outside the fake image root), relabels
// are recorded, files cannot be created. It checks that dispatch never panics, exits with a
// documented status, and starts a program only when the bring-up was asked for: the word
// "boot", or no command word as PID 1.
//
// The bring-up gets the fake image root as --root (after "boot", else first): inputs that
// name a --root of their own are skipped, since the host's init would be a legitimate
// target there.
func FuzzDispatch(f *testing.F) {
	for _, seed := range []string{
		"", "stauts", "--mode\x00permissive\x00status", "0", "single", "-b", "--help", "help\x00relabel",
		"boot", "boot\x00--\x00/sbin/init\x00single", "boot\x00single", "boot\x00--supervise\x00--\x00echo\x00hi",
		"--supervise\x00--\x00nosuch", "--\x00", "--\x00--\x00-x", "boot\x00--mode\x00bogus", "boot\x00--grace\x005s",
		"relabel\x00--dry-run\x00--file-contexts\x00FC\x00x\x00--force", "lookup\x00/etc/shadow\x00--mode\x00file",
		"lookup\x00--batch\x00--mode\x00dir", "policy\x00inspect", "policy\x00--kernel-max\x00x\x00inspect",
		"version\x00--short\x00extra", "man\x00-x", "status\x00--mode=x", "boot\x00-h", "boot\x00--log-level\x00x",
		"/usr/bin/echo\x00x", "-s\x00emergency", "--=x", "---x", "-\x00--", "boot\x00--exec-context=\x00--\x00",
		"unshare\x00--\x00/usr/bin/echo", "unshare\x00--boot\x00--mode\x00permissive", "--unshare\x00--\x00/sbin/init",
		"unshare\x00--no-private-mounts\x00--boot", "boot\x00--unshare\x00--supervise",
		"denials\x00--since\x00x", "denials\x00--te\x00x.te\x00--name\x00",
	} {
		for _, role := range []struct{ pid1, machine bool }{{false, false}, {true, false}, {true, true}} {
			f.Add(seed, role.pid1, role.machine)
		}
	}
	valid := map[int]bool{}
	for _, c := range exitcode.Codes {
		valid[c.Status] = true
	}
	f.Fuzz(func(t *testing.T, argv string, pid1, machine bool) {
		var words []string
		if argv != "" {
			words = strings.Split(argv, "\x00")
		}
		for _, w := range words {
			if strings.HasPrefix(w, "--root") {
				t.Skip("names its own --root")
			}
		}
		m := newFakeMachine(t)
		m.pid1, m.machine = pid1, pid1 && machine
		explicit := len(words) > 0 && words[0] == bringUp
		root := "--root=" + m.root
		switch {
		case explicit:
			words = append([]string{bringUp, root}, words[1:]...)
		case len(words) == 0 || m.machine || (commands[words[0]] == nil && words[0] != "help"):
			words = append([]string{root}, words...)
		}
		code, _, stderr := m.run(words...)
		if !valid[code] {
			t.Errorf("nsinit %q: exit status %d is not documented\n%s", words, code, stderr)
		}
		if started := len(m.execs) + len(m.supervised); started > 0 && !explicit && !pid1 {
			t.Errorf("nsinit %q, not PID 1, without %q: started %+v %+v", words, bringUp, m.execs, m.supervised)
		}
		// An unshare only when asked: the word "unshare", "boot --unshare", or --unshare as PID 1.
		if len(m.unshares) > 0 && !explicit && !pid1 && words[0] != "unshare" {
			t.Errorf("nsinit %q, not PID 1, without %q or %q: unshared %+v", words, bringUp, "unshare", m.unshares)
		}
		if m.frozen > 0 && !m.machine {
			t.Errorf("nsinit %q froze although it is not the machine's PID 1", words)
		}
	})
}
