package handoff

import (
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
)

// tree creates files below a fresh root: name → mode (0 = directory).
func tree(t *testing.T, files map[string]os.FileMode) string {
	t.Helper()
	root := t.TempDir()
	for name, mode := range files {
		p := filepath.Join(root, name)
		if mode == 0 {
			if err := os.MkdirAll(p, 0o755); err != nil {
				t.Fatal(err)
			}
			continue
		}
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte("#!/bin/sh\n"), mode); err != nil {
			t.Fatal(err)
		}
	}
	return root
}

func TestSelect(t *testing.T) {
	tests := []struct {
		name    string
		files   map[string]os.FileMode
		req     Request
		want    Target
		wantErr string
	}{
		{"command wins", map[string]os.FileMode{"/bin/app": 0o755, "/sbin/init": 0o755}, Request{Command: []string{"/bin/app", "-x", "y"}, CmdlineInit: "/sbin/other"},
			Target{"/bin/app", []string{"/bin/app", "-x", "y"}, FromArgs}, ""},
		{"bare name in PATH", map[string]os.FileMode{"/usr/bin/echo": 0o755, "/sbin/init": 0o755}, Request{Command: []string{"echo", "hi"}, Path: "/usr/local/bin:/usr/bin"},
			Target{"/usr/bin/echo", []string{"echo", "hi"}, FromArgs}, ""},
		{"PATH order", map[string]os.FileMode{"/usr/bin/echo": 0o755, "/opt/bin/echo": 0o755}, Request{Command: []string{"echo"}, Path: "/opt/bin:/usr/bin"},
			Target{"/opt/bin/echo", []string{"echo"}, FromArgs}, ""},
		{"default PATH", map[string]os.FileMode{"/bin/echo": 0o755}, Request{Command: []string{"echo"}},
			Target{"/bin/echo", []string{"echo"}, FromArgs}, ""},
		{"PATH skips non-executable and relative entries", map[string]os.FileMode{"/a/echo": 0o644, "/b/echo": 0o755, "/rel/echo": 0o755}, Request{Command: []string{"echo"}, Path: "rel::/a:/b"},
			Target{"/b/echo", []string{"echo"}, FromArgs}, ""},
		{"kernel words after the command", map[string]os.FileMode{"/sbin/init": 0o755}, Request{Command: []string{"/sbin/init", "a"}, Words: []string{"single"}},
			Target{"/sbin/init", []string{"/sbin/init", "a", "single"}, FromArgs}, ""},
		{"kernel's absolute first word is the init", map[string]os.FileMode{"/lib/systemd/systemd": 0o755, "/sbin/init": 0o755}, Request{Words: []string{"/lib/systemd/systemd", "single"}},
			Target{"/lib/systemd/systemd", []string{"/lib/systemd/systemd", "single"}, FromWords}, ""},
		{"cmdline init", map[string]os.FileMode{"/sbin/other": 0o755, "/sbin/init": 0o755}, Request{CmdlineInit: "/sbin/other"},
			Target{"/sbin/other", []string{"/sbin/other"}, FromCmdline}, ""},
		{"kernel words go to the init", map[string]os.FileMode{"/sbin/init": 0o755}, Request{Words: []string{"single", "-b"}},
			Target{"/sbin/init", []string{"/sbin/init", "single", "-b"}, FromDefault}, ""},
		{"default order", map[string]os.FileMode{"/lib/systemd/systemd": 0o755, "/usr/lib/systemd/systemd": 0o755}, Request{},
			Target{"/lib/systemd/systemd", []string{"/lib/systemd/systemd"}, FromDefault}, ""},
		{"nothing after --", map[string]os.FileMode{"/sbin/init": 0o755}, Request{Command: []string{}},
			Target{"/sbin/init", []string{"/sbin/init"}, FromDefault}, ""},
		{"skips non-executable default", map[string]os.FileMode{"/sbin/init": 0o644, "/usr/lib/systemd/systemd": 0o755}, Request{},
			Target{"/usr/lib/systemd/systemd", []string{"/usr/lib/systemd/systemd"}, FromDefault}, ""},
		{"none", map[string]os.FileMode{"/etc": 0}, Request{}, Target{}, "no init found"},
		{"relative word", nil, Request{Words: []string{"bin/app"}}, Target{}, "absolute path"},
		{"PATH without an absolute directory", nil, Request{Command: []string{"echo"}, Path: "bin:."}, Target{}, `PATH "bin:." has no absolute directory`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			root := tree(t, tt.files)
			got, err := Select(root, tt.req)
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("Select error = %v, want %q", err, tt.wantErr)
				}
				return
			}
			tt.want.Path = filepath.Join(root, tt.want.Path)
			if err != nil || !reflect.DeepEqual(got, tt.want) {
				t.Fatalf("Select = %+v, %v; want %+v", got, err, tt.want)
			}
		})
	}
}

// TestNamedTargetNeverFallsBack: whatever is wrong with the program named after --, Select
// fails naming it; it never picks an init by other means, although one exists here.
func TestNamedTargetNeverFallsBack(t *testing.T) {
	root := tree(t, map[string]os.FileMode{"/sbin/init": 0o755, "/lib/systemd/systemd": 0o755,
		"/usr/bin/noexec": 0o644, "/usr/bin/dir": 0})
	for _, tc := range []struct {
		command []string
		path    string
		want    string
	}{
		{[]string{"echo", "hi"}, "", `"echo" not found: no executable file of that name in ` + DefaultPath},
		{[]string{"echo"}, "/usr/bin", `"echo" not found: no executable file of that name in /usr/bin below ` + root},
		{[]string{"noexec"}, "/usr/bin", `"noexec" not found`},
		{[]string{"dir"}, "/usr/bin", `"dir" not found`},
		{[]string{"/bin/nope", "x"}, "", "no such file"},
		{[]string{"/usr/bin/noexec"}, "", "permission denied"},
		{[]string{"/usr/bin/dir"}, "", "not a regular file"},
		{[]string{"bin/app"}, "", "must be an absolute path or a bare name"},
		{[]string{""}, "", "empty program name"},
		{[]string{"single"}, "", `"single" not found`},
	} {
		got, err := Select(root, Request{Command: tc.command, Words: []string{"single"}, CmdlineInit: "/sbin/init", Path: tc.path})
		if err == nil {
			t.Errorf("Select(-- %q) fell back to %+v", tc.command, got)
			continue
		}
		if !strings.Contains(err.Error(), tc.want) || !strings.Contains(err.Error(), "after --") {
			t.Errorf("Select(-- %q): %v; want an error about the program after -- containing %q", tc.command, err, tc.want)
		}
	}
}

func TestSelectRefusesSelf(t *testing.T) {
	root := tree(t, map[string]os.FileMode{"/sbin/init": 0o755, "/lib/systemd/systemd": 0o755})
	old := selfExe
	selfExe = filepath.Join(root, "sbin/init")
	defer func() { selfExe = old }()
	if _, err := Select(root, Request{Command: []string{"/sbin/init"}}); err == nil || !strings.Contains(err.Error(), "nsinit itself") {
		t.Fatalf("explicit self: %v", err)
	}
	if _, err := Select(root, Request{Command: []string{"init"}, Path: "/sbin"}); err == nil || !strings.Contains(err.Error(), "nsinit itself") {
		t.Fatalf("self found in PATH: %v", err)
	}
	got, err := Select(root, Request{})
	if err != nil || got.Argv[0] != "/lib/systemd/systemd" {
		t.Fatalf("default search did not skip nsinit itself: %+v, %v", got, err)
	}
	// init=<nsinit> on the kernel command line is how nsinit is booted, not the real init.
	got, err = Select(root, Request{Words: []string{"single"}, CmdlineInit: "/sbin/init"})
	if err != nil || got.Source != FromDefault || strings.Join(got.Argv, " ") != "/lib/systemd/systemd single" {
		t.Fatalf("init= naming nsinit: %+v, %v", got, err)
	}
}

type fakeComputer struct {
	index int
	rules map[string]string // "scon tcon" → result
}

func (f fakeComputer) ClassIndex(class string) (int, error) {
	if class != "process" {
		return 0, errors.New("unknown class")
	}
	return f.index, nil
}

func (f fakeComputer) ComputeCreate(scon, tcon string, tclass int) (string, error) {
	if tclass != f.index {
		return "", errors.New("wrong class")
	}
	if r, ok := f.rules[scon+" "+tcon]; ok {
		return r, nil
	}
	return scon, nil
}

func TestPredict(t *testing.T) {
	c := fakeComputer{index: 2, rules: map[string]string{
		"system_u:system_r:kernel_t:s0 system_u:object_r:init_exec_t:s0": "system_u:system_r:init_t:s0",
	}}
	tr, err := Predict(c, "system_u:system_r:kernel_t:s0", "system_u:object_r:init_exec_t:s0")
	if err != nil || tr.Expected != "system_u:system_r:init_t:s0" || tr.Stays() {
		t.Fatalf("Predict init_exec_t = %+v, %v", tr, err)
	}
	tr, err = Predict(c, "system_u:system_r:kernel_t:s0", "system_u:object_r:bin_t:s0")
	if err != nil || !tr.Stays() {
		t.Fatalf("Predict bin_t = %+v, %v; want it to stay in kernel_t", tr, err)
	}
}

// TestExec runs Exec for real in a child process (exec replaces the process image).
func TestExec(t *testing.T) {
	if os.Getenv("NSINIT_HANDOFF_HELPER") == "exec" {
		if err := os.Chdir(os.TempDir()); err != nil {
			panic(err)
		}
		err := Exec(Target{Path: "/bin/sh", Argv: []string{"sh", "-c", `echo "$PWD|$0|$1|$NSINIT_X"; grep SigIgn /proc/self/status`, "arg0", "arg1"}}, []string{"NSINIT_X=kept"}, "")
		os.Stdout.WriteString("exec failed: " + err.Error())
		os.Exit(1)
	}
	// The helper is started with SIGHUP and signal 32 ignored (as a runtime or nohup may
	// leave them); the init must get them back at their defaults.
	cmd := exec.Command("/bin/sh", "-c", `trap '' HUP; exec "$0" "$@"`, os.Args[0], "-test.run=^TestExec$")
	cmd.Env = append(os.Environ(), "NSINIT_HANDOFF_HELPER=exec")
	out, err := cmd.CombinedOutput()
	if err != nil || strings.TrimSpace(string(out)) != "/|arg0|arg1|kept\nSigIgn:\t0000000000000000" {
		t.Fatalf("exec'd init saw %q (%v), want cwd /, argv and env passed through and no ignored signals", out, err)
	}
}

// TestExecContextFailure: on a kernel without SELinux the exec attribute cannot be set; Exec
// must fail before exec-ing, naming the attribute file.
func TestExecContextFailure(t *testing.T) {
	if os.Getenv("NSINIT_HANDOFF_HELPER") == "ctx" {
		err := Exec(Target{Path: "/bin/true", Argv: []string{"true"}}, nil, "system_u:system_r:init_t:s0")
		os.Stdout.WriteString("error: " + err.Error())
		os.Exit(3)
	}
	if b, _ := os.ReadFile("/proc/filesystems"); strings.Contains(string(b), "selinuxfs") {
		t.Skip("SELinux is available here; the failure case needs a kernel without it")
	}
	cmd := exec.Command(os.Args[0], "-test.run=^TestExecContextFailure$")
	cmd.Env = append(os.Environ(), "NSINIT_HANDOFF_HELPER=ctx")
	out, err := cmd.CombinedOutput()
	var ee *exec.ExitError
	if !errors.As(err, &ee) || ee.ExitCode() != 3 || !strings.Contains(string(out), "/proc/thread-self/attr/exec") {
		t.Fatalf("Exec with a context on a non-SELinux kernel: %v, %q", err, out)
	}
}

func TestMislabelled(t *testing.T) {
	const (
		kernel = "system_u:system_r:kernel_t:s0"
		initT  = "system_u:system_r:init_t:s0"
	)
	for _, tt := range []struct {
		name string
		tr   Transition
		want bool
	}{
		{"Debian: kernel_t -> init_t", Transition{Current: kernel, Expected: initT}, false},
		{"Debian: mislabelled, stays kernel_t", Transition{Current: kernel, Expected: kernel}, true},
		// userspace_initial_context: PID 1 is init_t after the load; staying there is right
		// (the old rule, Stays, raised the alarm here).
		{"userspace_initial_context: stays init_t", Transition{Current: initT, Expected: initT}, false},
	} {
		if got := Mislabelled(tt.tr, kernel); got != tt.want {
			t.Errorf("%s: Mislabelled = %v, want %v (Stays %v)", tt.name, got, tt.want, tt.tr.Stays())
		}
	}
}
