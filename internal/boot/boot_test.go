package boot

import (
	"bytes"
	"context"
	"errors"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"go.uber.org/zap"

	"github.com/nsinit/nsinit/internal/config"
	"github.com/nsinit/nsinit/internal/detect"
	"github.com/nsinit/nsinit/internal/exitcode"
	"github.com/nsinit/nsinit/internal/fcontext"
	"github.com/nsinit/nsinit/internal/handoff"
	"github.com/nsinit/nsinit/internal/imagefile"
	"github.com/nsinit/nsinit/internal/policydb/policytest"
	"github.com/nsinit/nsinit/internal/selinuxfs"
	"github.com/nsinit/nsinit/internal/supervise"
)

// world is a fake machine: an image root, a fake selinuxfs and recorded side effects.
type world struct {
	t        *testing.T
	root     string
	sfs      string
	verdict  detect.Verdict
	pid1     bool
	env      map[string]string
	mountErr error

	execed     *handoff.Target
	execCtx    string
	frozen     bool
	poweredOff bool
	console    bytes.Buffer
	mounted    bool
	// relabel is the relabel step (nil: a no-op).
	relabel func(ctx context.Context, req RelabelRequest) (string, error)
	// context is nsinit's context, labels the files' labels (default init_exec_t), policy
	// the loaded policy's answers (default: no transition anywhere).
	context string
	labels  map[string]string
	policy  *fakePolicy
	// reexecs records the re-execs: the target and the state.
	reexecs []reexec
	// prefetched receives each System.Prefetch (a goroutine of the bring-up makes it).
	prefetched chan prefetchCall
}

// prefetchCall is one recorded System.Prefetch.
type prefetchCall struct {
	files   []imagefile.Ahead
	lookups []string
}

// reexec is one recorded System.Reexec.
type reexec struct {
	argv   []string
	target string
	state  []byte
}

func newWorld(t *testing.T, configText string) *world {
	t.Helper()
	w := &world{t: t, root: t.TempDir(), sfs: t.TempDir(), verdict: detect.Boot, pid1: true, env: map[string]string{},
		context: kernelT, labels: map[string]string{}, prefetched: make(chan prefetchCall, 8)}
	w.write("etc/selinux/config", configText, 0o644)
	w.write("etc/selinux/default/policy/policy.33", string(policytest.Image(33)), 0o644)
	w.write("sbin/init", "#!/bin/sh\n", 0o755)
	for name, content := range map[string]string{"policyvers": "33", "enforce": "0", "load": "", "mls": "1"} {
		if err := os.WriteFile(filepath.Join(w.sfs, name), []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	if err := os.Mkdir(filepath.Join(w.sfs, "class"), 0o755); err != nil {
		t.Fatal(err)
	}
	return w
}

func (w *world) write(rel, content string, mode os.FileMode) {
	w.t.Helper()
	p := filepath.Join(w.root, rel)
	if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
		w.t.Fatal(err)
	}
	if err := os.WriteFile(p, []byte(content), mode); err != nil {
		w.t.Fatal(err)
	}
}

func (w *world) node(name string) string {
	b, err := os.ReadFile(filepath.Join(w.sfs, name))
	if err != nil {
		w.t.Fatal(err)
	}
	return string(b)
}

var errFakeExec = errors.New("fake exec: process image would be replaced here")

var errFakeReexec = errors.New("fake re-exec: nsinit would continue in its second stage here")

func (w *world) system() System {
	return System{
		Getenv:     func(k string) string { return w.env[k] },
		Environ:    func() []string { return []string{"container=test"} },
		KernelPID1: func() bool { return w.pid1 },
		MountAPI:   func(string, string) ([]string, error) { return nil, nil },
		Detect: func(detect.Options) detect.Result {
			return detect.Result{Verdict: w.verdict, Signal: "test", Context: "kernel", Reason: "test reason"}
		},
		MountSelinuxfs: func(dir string) (*selinuxfs.FS, selinuxfs.MountResult, error) {
			if w.mountErr != nil {
				return nil, selinuxfs.MountResult{}, w.mountErr
			}
			w.mounted = true
			return selinuxfs.Open(w.sfs), selinuxfs.MountResult{}, nil
		},
		Prefetch: func(files []imagefile.Ahead, lookups []string) {
			select { // recorded up to the buffer's size: a bring-up never waits for a test
			case w.prefetched <- prefetchCall{files, lookups}:
			default:
			}
		},
		Relabel: func(ctx context.Context, req RelabelRequest) (string, error) {
			if w.relabel == nil {
				return "", nil
			}
			return w.relabel(ctx, req)
		},
		CurrentContext: func() (string, error) { return w.context, nil },
		FileContext: func(path string) (string, error) {
			if l, ok := w.labels[path]; ok {
				return l, nil
			}
			return initExecT, nil
		},
		Policy: func(*selinuxfs.FS) PolicyQuery {
			if w.policy == nil {
				return &fakePolicy{}
			}
			return w.policy
		},
		Reexec: func(argv func(int) []string, env []string, target string, state []byte) error {
			w.reexecs = append(w.reexecs, reexec{argv: argv(9), target: target, state: state})
			return errFakeReexec
		},
		ReadResume: func(int) ([]byte, error) { return nil, errors.New("fake: no resume state") },
		Exec: func(t handoff.Target, env []string, execCtx string) error {
			w.execed, w.execCtx = &t, execCtx
			return errFakeExec
		},
		PowerOff: func() error { w.poweredOff = true; return nil },
		Freeze:   func() { w.frozen = true },
	}
}

func (w *world) run(ctx context.Context, o Options) int {
	o.Root, o.ProcDir, o.SysDir, o.SelinuxfsDir = w.root, "/nonexistent/proc", "/nonexistent/sys", w.sfs
	o.Log = zap.NewNop()
	o.Console = &w.console
	return Run(ctx, o, w.system())
}

func TestBringUp(t *testing.T) {
	const enforcing = "SELINUX=enforcing\nSELINUXTYPE=default\n"
	const permissive = "SELINUX=permissive\nSELINUXTYPE=default\n"
	// The fake exec returns an error (a real one does not return), so every case that
	// reaches the exec ends with exitcode.ExecFailed.
	tests := []struct {
		name    string
		config  string
		setup   func(w *world)
		opts    Options
		code    int    // expected status (after the fake exec "fails": see errFakeExec)
		exec    bool   // the init was executed
		loaded  bool   // the policy reached the load node
		enforce string // final enforce node ("" = don't check)
		frozen  bool
		console string // substring of the console output
		// notConsole must not appear in the console output
		notConsole string
	}{
		{name: "boot enforcing", config: enforcing, code: exitcode.FailClosed, exec: true, loaded: true, enforce: "1", frozen: true},
		{name: "permissive", config: permissive, code: exitcode.ExecFailed, exec: true, loaded: true, enforce: "0", frozen: true},
		{name: "disabled", config: "SELINUX=disabled\nSELINUXTYPE=default\n", code: exitcode.ExecFailed, exec: true, loaded: false, enforce: "0", frozen: true},
		{name: "flag overrides config", config: enforcing, opts: Options{Mode: config.ModePermissive}, code: exitcode.ExecFailed, exec: true, loaded: true, enforce: "0", frozen: true},
		{name: "env overrides config", config: permissive, setup: func(w *world) { w.env["NSINIT_MODE"] = "enforcing" }, code: exitcode.FailClosed, exec: true, loaded: true, enforce: "1", frozen: true},
		{name: "bad env", config: permissive, setup: func(w *world) { w.env["NSINIT_MODE"] = "enforce-ish" }, code: exitcode.Usage, frozen: true, console: "NSINIT_MODE",
			notConsole: "enforcing mode requested"},
		{name: "bad env in a container: mode unknown, fail closed", config: enforcing,
			setup: func(w *world) { w.pid1 = false; w.env["NSINIT_MODE"] = "enforce-ish" }, code: exitcode.Usage, console: "mode is unknown",
			notConsole: "enforcing mode requested"},
		{name: "enforcing, no init: fail closed, not the permissive code", config: enforcing,
			setup: func(w *world) { w.pid1 = false; os.Remove(filepath.Join(w.root, "sbin/init")) },
			code:  exitcode.FailClosed, console: "find the init"},
		{name: "enforcing, policy missing", config: enforcing,
			setup: func(w *world) { os.Remove(filepath.Join(w.root, "etc/selinux/default/policy/policy.33")) },
			code:  exitcode.FailClosed, frozen: true, enforce: "0", console: "etc/selinux/default/policy"},
		{name: "permissive, policy missing", config: permissive,
			setup: func(w *world) { os.Remove(filepath.Join(w.root, "etc/selinux/default/policy/policy.33")) },
			code:  exitcode.ExecFailed, exec: true, frozen: true, enforce: "0"},
		{name: "enforcing, corrupt policy", config: enforcing,
			setup: func(w *world) {
				w.write("etc/selinux/default/policy/policy.33", "garbage garbage garbage garbage!", 0o644)
			},
			code: exitcode.FailClosed, frozen: true, console: "bad magic"},
		{name: "enforcing in a container: exit, no freeze", config: enforcing,
			setup: func(w *world) { w.pid1 = false; w.verdict = detect.Unshared; w.mountErr = os.ErrPermission },
			code:  exitcode.FailClosed, console: "mount selinuxfs"},
		{name: "refused, enforcing", config: enforcing, setup: func(w *world) { w.pid1 = false; w.verdict = detect.Refused },
			code: exitcode.Refused, console: "test reason"},
		{name: "refused, permissive: init runs, nothing touched", config: permissive, setup: func(w *world) { w.pid1 = false; w.verdict = detect.Refused },
			code: exitcode.ExecFailed, exec: true, enforce: "0"},
		{name: "unavailable, enforcing", config: enforcing, setup: func(w *world) { w.pid1 = false; w.verdict = detect.Unavailable },
			code: exitcode.FailClosed, console: "security=selinux"},
		{name: "already initialized", config: enforcing, setup: func(w *world) { w.pid1 = false; w.verdict = detect.Initialized },
			code: exitcode.FailClosed, exec: true, enforce: "0"},
		{name: "unreadable config, --mode permissive: init runs, nothing loaded", config: permissive, opts: Options{Mode: config.ModePermissive},
			setup: func(w *world) {
				os.Remove(filepath.Join(w.root, "etc/selinux/config"))
				os.Mkdir(filepath.Join(w.root, "etc/selinux/config"), 0o755)
			},
			code: exitcode.ExecFailed, exec: true, frozen: true},
		{name: "unreadable config, no mode given: fail closed", config: permissive,
			setup: func(w *world) {
				os.Remove(filepath.Join(w.root, "etc/selinux/config"))
				os.Mkdir(filepath.Join(w.root, "etc/selinux/config"), 0o755)
			},
			code: exitcode.FailClosed, frozen: true, console: "etc/selinux/config"},
		{name: "no init", config: permissive, setup: func(w *world) { w.pid1 = false; os.Remove(filepath.Join(w.root, "sbin/init")) },
			code: exitcode.ExecFailed},
		{name: "explicit init and args", config: permissive,
			setup: func(w *world) { w.pid1 = false; w.write("bin/app", "", 0o755) },
			opts:  Options{Args: []string{"/bin/app", "--flag"}}, code: exitcode.ExecFailed, exec: true, loaded: true},
		{name: "exec context passed", config: enforcing, opts: Options{ExecContext: "system_u:system_r:init_t:s0"},
			code: exitcode.FailClosed, exec: true, loaded: true, frozen: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			w := newWorld(t, tt.config)
			if tt.setup != nil {
				tt.setup(w)
			}
			code := w.run(context.Background(), tt.opts)
			if code != tt.code {
				t.Errorf("status %d, want %d; console:\n%s", code, tt.code, w.console.String())
			}
			if (w.execed != nil) != tt.exec {
				t.Errorf("init executed = %v, want %v; console:\n%s", w.execed != nil, tt.exec, w.console.String())
			}
			if got := w.node("load") != ""; got != tt.loaded {
				t.Errorf("policy loaded = %v, want %v", got, tt.loaded)
			}
			if tt.enforce != "" && w.node("enforce") != tt.enforce {
				t.Errorf("enforce = %q, want %q", w.node("enforce"), tt.enforce)
			}
			if w.frozen != tt.frozen {
				t.Errorf("frozen = %v, want %v", w.frozen, tt.frozen)
			}
			for _, line := range strings.Split(strings.TrimSuffix(w.console.String(), "\n"), "\n") {
				if line != "" && !strings.HasPrefix(line, "nsinit: ") {
					t.Errorf("console line %q is not attributed to nsinit", line)
				}
			}
			if !strings.Contains(w.console.String(), tt.console) {
				t.Errorf("console %q does not contain %q", w.console.String(), tt.console)
			}
			if tt.notConsole != "" && strings.Contains(w.console.String(), tt.notConsole) {
				t.Errorf("console %q contains %q", w.console.String(), tt.notConsole)
			}
			if tt.opts.ExecContext != "" && w.execCtx != tt.opts.ExecContext {
				t.Errorf("exec context %q, want %q", w.execCtx, tt.opts.ExecContext)
			}
			if tt.opts.Args != nil && w.execed != nil && strings.Join(w.execed.Argv, " ") != strings.Join(tt.opts.Args, " ") {
				t.Errorf("argv %q, want %q", w.execed.Argv, tt.opts.Args)
			}
		})
	}
}

// TestRelabelOrderAndFailure: the relabel step runs permissive after the load, and its
// failure in enforcing mode stops the bring-up before the mode switch and the exec.
func TestRelabelOrderAndFailure(t *testing.T) {
	w := newWorld(t, "SELINUX=enforcing\nSELINUXTYPE=default\n")
	if err := os.WriteFile(filepath.Join(w.sfs, "enforce"), []byte("1"), 0o644); err != nil { // booted with enforcing=1
		t.Fatal(err)
	}
	var sawEnforce, sawLoad string
	w.relabel = func(ctx context.Context, req RelabelRequest) (string, error) {
		sawEnforce, sawLoad = w.node("enforce"), w.node("load")
		return "", errors.New("3 objects could not be relabelled")
	}
	code := w.run(context.Background(), Options{})
	if sawEnforce != "0" || sawLoad == "" {
		t.Fatalf("relabel ran with enforce=%q, load=%d bytes; want permissive, after the load", sawEnforce, len(sawLoad))
	}
	if code != exitcode.FailClosed || w.execed != nil || w.node("enforce") != "0" {
		t.Fatalf("relabel failure in enforcing: status %d, exec %v, enforce %q", code, w.execed, w.node("enforce"))
	}
	if !strings.Contains(w.console.String(), "3 objects could not be relabelled") {
		t.Fatalf("console: %s", w.console.String())
	}
}

// TestPrefetch: a bring-up that loads has the policy it will read, then the relabel check's
// inputs, read ahead (the probes and the marker are looked up under the root); one that
// loads nothing prefetches nothing.
func TestPrefetch(t *testing.T) {
	w := newWorld(t, "SELINUX=enforcing\nSELINUXTYPE=default\n")
	w.write("etc/selinux/default/policy/policy.31", string(policytest.Image(31)), 0o644)
	w.run(context.Background(), Options{})
	var got prefetchCall
	select {
	case got = <-w.prefetched:
	case <-time.After(10 * time.Second):
		t.Fatal("no prefetch")
	}
	dir := filepath.Join(w.root, "etc/selinux/default")
	want := append([]string{dir + "/policy/policy.33", dir + "/contexts/customizable_types"}, fcontext.TextFiles(dir+"/contexts/files/file_contexts")...)
	var files []string
	for _, f := range got.files {
		files = append(files, f.Path)
	}
	if !slices.Equal(files, want) {
		t.Errorf("prefetched files\n%q\nwant\n%q", files, want)
	}
	for _, p := range []string{"/.autorelabel", "/sbin/init", "/usr/bin"} {
		if !slices.Contains(got.lookups, filepath.Join(w.root, p)) {
			t.Errorf("lookups %q lack %s under the root", got.lookups, p)
		}
	}

	// A bring-up that loads nothing starts no prefetch (one that was started would be
	// recorded within the wait).
	w = newWorld(t, "SELINUX=disabled\nSELINUXTYPE=default\n")
	w.run(context.Background(), Options{})
	w.verdict = detect.Initialized
	w.run(context.Background(), Options{Mode: config.ModeEnforcing})
	select {
	case got := <-w.prefetched:
		t.Fatalf("a bring-up that loads nothing prefetched %v", got)
	case <-time.After(100 * time.Millisecond):
	}
}

func TestAbortedBySignal(t *testing.T) {
	w := newWorld(t, "SELINUX=permissive\nSELINUXTYPE=default\n")
	w.pid1 = false
	ctx, cancel := context.WithCancelCause(context.Background())
	cancel(errors.New("received terminated"))
	code := w.run(ctx, Options{})
	if code != exitcode.Aborted || w.execed != nil || !strings.Contains(w.console.String(), "received terminated") {
		t.Fatalf("aborted bring-up: status %d, exec %v, console %q", code, w.execed, w.console.String())
	}
}

func TestSupervise(t *testing.T) {
	w := newWorld(t, "SELINUX=enforcing\nSELINUXTYPE=default\n")
	w.pid1 = false
	sys := w.system()
	var got supervise.Options
	stopped := false
	sys.BeforeHandoff = func() { stopped = true }
	sys.Supervise = func(ctx context.Context, o supervise.Options) (int, error) {
		got = o
		return 7, nil
	}
	o := Options{Root: w.root, ProcDir: "/x", SysDir: "/x", SelinuxfsDir: w.sfs, Log: zap.NewNop(), Console: &w.console,
		Supervise: &supervise.Options{ProcessGroup: true}, Args: []string{"/sbin/init", "a"}}
	if code := Run(context.Background(), o, sys); code != 7 {
		t.Fatalf("status %d, want the application's 7; console %q", code, w.console.String())
	}
	if w.execed != nil || !stopped || got.Path != filepath.Join(w.root, "sbin/init") || strings.Join(got.Argv, " ") != "/sbin/init a" || !got.ProcessGroup {
		t.Fatalf("supervise options %+v, exec %v, signals stopped %v", got, w.execed, stopped)
	}
	if w.node("enforce") != "1" {
		t.Fatalf("enforce = %q before the application started", w.node("enforce"))
	}
	// As the machine's PID 1 the application's end powers the machine off.
	w.pid1 = true
	if code := Run(context.Background(), o, sys); code != 7 || !w.poweredOff || !strings.Contains(w.console.String(), "status 7; powering off") {
		t.Fatalf("machine PID 1: status %d, powered off %v, console %q", code, w.poweredOff, w.console.String())
	}
	w.pid1 = false
	// A start failure in enforcing mode fails closed.
	sys.Supervise = func(context.Context, supervise.Options) (int, error) {
		return exitcode.ExecFailed, errors.New("no such file")
	}
	if code := Run(context.Background(), o, sys); code != exitcode.FailClosed || !strings.Contains(w.console.String(), "emergency") {
		t.Fatalf("start failure: status %d, console %q", code, w.console.String())
	}
}

// TestPID1DecidedAfterMountingProc: at a real boot /proc is not mounted when nsinit starts,
// so whether it is the machine's PID 1 can only be decided after MountAPI.
func TestPID1DecidedAfterMountingProc(t *testing.T) {
	w := newWorld(t, "SELINUX=enforcing\nSELINUXTYPE=default\n")
	os.Remove(filepath.Join(w.root, "etc/selinux/default/policy/policy.33"))
	sys := w.system()
	procMounted := false
	sys.MountAPI = func(string, string) ([]string, error) { procMounted = true; return []string{"proc"}, nil }
	sys.KernelPID1 = func() bool { return procMounted }
	o := Options{Root: w.root, ProcDir: "/x", SysDir: "/x", SelinuxfsDir: w.sfs, Log: zap.NewNop(), Console: &w.console}
	if code := Run(context.Background(), o, sys); code != exitcode.FailClosed || !w.frozen {
		t.Fatalf("status %d, frozen %v: a kernel PID 1 must freeze, not exit", code, w.frozen)
	}
}
