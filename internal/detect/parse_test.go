package detect

import (
	"os"
	"path/filepath"
	"slices"
	"strings"
	"syscall"
	"testing"
)

func TestClassifyLabel(t *testing.T) {
	tests := []struct {
		in   string
		want labelKind
	}{
		{"", labelNone},
		{"kernel", labelKernel},
		{"system_u:system_r:init_t:s0", labelSELinux},
		{"system_u:system_r:kernel_t:s0-s0:c0.c1023", labelSELinux},
		{"system_u:system_r:container_t:s0:c1,c2", labelSELinux},
		{"u:r:t", labelSELinux}, // non-MLS policy
		{"unconfined", labelForeign},
		{"docker-default (enforce)", labelForeign},
		{"/usr/bin/foo (complain)", labelForeign},
		{"_", labelForeign}, // Smack floor
		{"u:r", labelForeign},
		{"u::t", labelForeign},
		{":r:t", labelForeign},
		{"u:r:", labelForeign},
		{"u:r:t:", labelForeign},
		{"u:r:t s0", labelForeign},
		{"u:r:t\x00x", labelForeign},
		{"u:r:\tt", labelForeign},
		{"u:r:t\x7f", labelForeign},
		{"u:r:\xff", labelForeign},
		{"kernel ", labelForeign},
		{"Kernel", labelForeign},
	}
	for _, tt := range tests {
		if got := classifyLabel(tt.in); got != tt.want {
			t.Errorf("classifyLabel(%q) = %v, want %v", tt.in, got, tt.want)
		}
	}
}

func TestParseAttr(t *testing.T) {
	for in, want := range map[string]string{
		"kernel\x00":                 "kernel",
		"u:r:t:s0\x00":               "u:r:t:s0",
		"unconfined\n":               "unconfined",
		"kernel\x00\n\x00":           "kernel",
		"":                           "",
		"\x00":                       "",
		"a\x00b\x00":                 "a\x00b",
		"docker-default (enforce)\n": "docker-default (enforce)",
	} {
		if got := parseAttr([]byte(in)); got != want {
			t.Errorf("parseAttr(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestHasSelinuxfs(t *testing.T) {
	for in, want := range map[string]bool{
		fsWithSELinux:                     true,
		fsWithoutSELinux:                  false,
		"nodev\tselinuxfs":                true, // no final newline
		"nodev selinuxfs\n":               true,
		"nodev\tselinuxfs2\n":             false,
		"nodev\tnotselinuxfs\n":           false,
		"":                                false,
		"selinuxfs\n":                     true,
		"nodev\tselinuxfs \r\n\text4\n":   true,
		"# selinuxfs is not here: ext4\n": false,
	} {
		if got := hasSelinuxfs([]byte(in)); got != want {
			t.Errorf("hasSelinuxfs(%q) = %v, want %v", in, got, want)
		}
	}
}

func TestParseLSMList(t *testing.T) {
	for in, want := range map[string][]string{
		"lockdown,capability,landlock,bpf": {"lockdown", "capability", "landlock", "bpf"},
		"capability,selinux\n":             {"capability", "selinux"},
		"":                                 nil,
		",,selinux,,":                      {"selinux"},
		" capability , apparmor ":          {"capability", "apparmor"},
	} {
		if got := parseLSMList([]byte(in)); !slices.Equal(got, want) {
			t.Errorf("parseLSMList(%q) = %q, want %q", in, got, want)
		}
	}
}

// FuzzDetect runs Detect on arbitrary /proc/filesystems and attr/current contents and
// probe answers, and checks the safety properties: it never panics, the verdict is one of
// the five, and nsinit is never told to load a policy (Unshared, Boot) unless the kernel
// said "unshared" or attr/current reads exactly "kernel" with a signal for it (SELINUXNS=1
// counts only when the kernel could not be asked; EOPNOTSUPP is an answer: no namespaces).
func FuzzDetect(f *testing.F) {
	f.Add([]byte(fsWithSELinux), []byte("kernel\x00"), uint8(1), "", 57, false, false)
	f.Add([]byte(fsWithSELinux), []byte("kernel\x00"), uint8(2), "1", 1, false, false)
	f.Add([]byte(fsWithSELinux), []byte("kernel\x00"), uint8(3), "", 1, true, false)
	f.Add([]byte(fsWithSELinux), []byte("u:r:t:s0\x00"), uint8(0), "", 1, true, false)
	f.Add([]byte(fsWithSELinux), []byte("unconfined\n"), uint8(4), "1", 1, false, true)
	f.Add([]byte(fsWithoutSELinux), []byte("kernel\x00"), uint8(1), "1", 1, true, true)
	f.Add([]byte(fsWithSELinux), []byte("kernel\x00"), uint8(0), "", 300, true, true)
	errs := []syscall.Errno{syscall.EPERM, syscall.ENOSYS, syscall.EOPNOTSUPP, syscall.EINVAL}
	f.Fuzz(func(t *testing.T, filesystems, attr []byte, mode uint8, selinuxns string, pid int, initial, assume bool) {
		dir := t.TempDir()
		for rel, b := range map[string][]byte{"filesystems": filesystems, threadSelf: attr} {
			p := filepath.Join(dir, rel)
			if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
				t.Fatal(err)
			}
			if err := os.WriteFile(p, b, 0o644); err != nil {
				t.Fatal(err)
			}
		}
		var unsharedErr error
		if mode >= 2 {
			unsharedErr = errno(errs[int(mode-2)%len(errs)])
		}
		e := Env{
			ProcDir:      dir,
			Getenv:       func(string) string { return selinuxns },
			Getpid:       func() int { return pid },
			Unshared:     func() (bool, error) { return mode == 1, unsharedErr },
			InitialPIDNS: func() (bool, error) { return initial, nil },
		}
		r := Detect(e, Options{AssumeOwnNamespace: assume})
		label := parseAttr(attr)
		if r.Verdict < Unavailable || r.Verdict > Initialized || r.Signal == "" || len(r.Evidence) == 0 {
			t.Fatalf("bad result %+v", r)
		}
		if (r.Verdict == Unavailable || r.Verdict == Refused) != (r.Reason != "") {
			t.Fatalf("reason %q with verdict %v", r.Reason, r.Verdict)
		}
		if r.Context != label {
			t.Fatalf("context %q, want %q", r.Context, label)
		}
		if !hasSelinuxfs(filesystems) && r.Verdict != Unavailable {
			t.Fatalf("verdict %v without selinuxfs", r.Verdict)
		}
		switch r.Verdict {
		case Unshared:
			eopnotsupp := mode >= 2 && errs[int(mode-2)%len(errs)] == syscall.EOPNOTSUPP
			ok := mode == 1 || label == "kernel" && (mode >= 2 && !eopnotsupp && selinuxns == "1" || assume && !(pid == 1 && initial))
			if !ok {
				t.Fatalf("unshared without a signal: mode %d label %q SELINUXNS %q pid %d initial %v assume %v (%s)", mode, label, selinuxns, pid, initial, assume, r.Signal)
			}
		case Boot:
			if mode == 1 || label != "kernel" || !initial || (pid != 1 && !assume) {
				t.Fatalf("boot without a signal: mode %d label %q pid %d initial %v assume %v", mode, label, pid, initial, assume)
			}
		case Initialized:
			if mode == 1 || !isSELinuxContext(label) {
				t.Fatalf("initialized with mode %d label %q", mode, label)
			}
		case Refused:
			if label != "kernel" || assume || mode == 1 || pid == 1 && initial {
				t.Fatalf("refused with mode %d label %q pid %d initial %v assume %v", mode, label, pid, initial, assume)
			}
		}
		for _, ev := range r.Evidence {
			if strings.ContainsRune(ev, '\n') {
				// Labels are %q-quoted in the evidence, so a log line stays one line.
				t.Fatalf("evidence line with a newline: %q", ev)
			}
		}
	})
}
