package unshare

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"golang.org/x/sys/unix"

	"github.com/nsinit/nsinit/internal/lsm"
)

// call is one call the fake saw, with the thread it came from.
type call struct {
	what string
	tid  int
}

// fake records every call and fails the one named in fail with its errno.
type fake struct {
	calls []call
	fail  map[string]syscall.Errno
	ctx   []byte // what lsm_set_self_attr was given
	attr  uint64
	flags uint32
	// yield makes each call give the scheduler a chance to move the goroutine.
	yield bool
	// execNil makes Exec return nil, which a real execve never does.
	execNil bool
}

func (f *fake) rec(what string) error {
	if f.yield {
		runtime.Gosched()
		time.Sleep(100 * time.Microsecond)
	}
	f.calls = append(f.calls, call{what, unix.Gettid()})
	if e, ok := f.fail[strings.Fields(what)[0]]; ok {
		return e
	}
	return nil
}

func (f *fake) Unshare(flags int) error { return f.rec(fmt.Sprintf("unshare %#x", flags)) }
func (f *fake) Mount(src, target, fstype string, flags uintptr, data string) error {
	return f.rec(fmt.Sprintf("mount %s %s %q %#x %q", src, target, fstype, flags, data))
}
func (f *fake) Unmount(target string, flags int) error {
	return f.rec(fmt.Sprintf("umount %s %d", target, flags))
}
func (f *fake) SetSelfAttr(attr uint64, ctx []byte, flags uint32) error {
	f.attr, f.ctx, f.flags = attr, append([]byte(nil), ctx...), flags
	return f.rec(fmt.Sprintf("lsm_set_self_attr %d %d %d", attr, len(ctx), flags))
}
func (f *fake) Exec(path string, argv, env []string) error {
	if err := f.rec(fmt.Sprintf("exec %s %q %q", path, argv, env)); err != nil {
		return err
	}
	if f.execNil {
		return nil
	}
	return errExeced
}

// errExeced is what the fake's successful exec returns (a real one does not return).
var errExeced = errors.New("execed")

func opts() Options {
	return Options{Path: "/bin/prog", Argv: []string{"prog", "-x"}, Env: []string{"A=1"},
		MountRoot: "/", SelinuxfsDir: "/sys/fs/selinux", Domain: "unconfined_t"}
}

var wantAll = []string{
	fmt.Sprintf("unshare %#x", unix.CLONE_NEWNS),
	fmt.Sprintf(`mount none / "" %#x ""`, unix.MS_REC|unix.MS_PRIVATE),
	"lsm_set_self_attr 106 32 0",
	"umount /sys/fs/selinux 0",
	`exec /bin/prog ["prog" "-x"] ["A=1"]`,
}

func whats(cs []call) []string {
	w := make([]string, len(cs))
	for i, c := range cs {
		w[i] = c.what
	}
	return w
}

// runLocked runs Run on a fresh goroutine (Run locks it for good, as the CLI's main
// goroutine is) and returns its error.
func runLocked(f *fake, o Options) error {
	ch := make(chan error)
	go func() { ch <- Run(f, o) }()
	return <-ch
}

func TestRunSequence(t *testing.T) {
	tests := []struct {
		name     string
		mod      func(*Options)
		fail     map[string]syscall.Errno
		want     []string // calls made
		wantStep string   // "" : reached the exec
		wantMsg  []string
	}{
		{name: "all steps", want: wantAll},
		{name: "no private mounts", mod: func(o *Options) { o.NoPrivateMounts = true },
			want: []string{wantAll[0], wantAll[2], wantAll[3], wantAll[4]}},
		{name: "selinuxfs not mounted is a warning", fail: map[string]syscall.Errno{"umount": syscall.EINVAL}, want: wantAll},
		{name: "selinuxfs locked is a warning", fail: map[string]syscall.Errno{"umount": syscall.EPERM}, want: wantAll},
		{name: "mount namespace refused", fail: map[string]syscall.Errno{"unshare": syscall.EPERM},
			want: wantAll[:1], wantStep: "unshare the mount namespace",
			wantMsg: []string{"unshare(CLONE_NEWNS): EPERM", "CAP_SYS_ADMIN", "--cap-add SYS_ADMIN"}},
		{name: "private mount refused", fail: map[string]syscall.Errno{"mount": syscall.EINVAL},
			want: wantAll[:2], wantStep: "make the mount tree recursively private",
			wantMsg: []string{`mount("/", MS_REC|MS_PRIVATE): EINVAL`, "not a mount point"}},
		{name: "Linux < 6.8", fail: map[string]syscall.Errno{"lsm_set_self_attr": syscall.ENOSYS},
			want: wantAll[:3], wantStep: "unshare the SELinux namespace",
			wantMsg: []string{"lsm_set_self_attr(LSM_ATTR_UNSHARE): ENOSYS", "no LSM syscalls", "older than 6.8"}},
		{name: "no namespace support", fail: map[string]syscall.Errno{"lsm_set_self_attr": syscall.EOPNOTSUPP},
			want: wantAll[:3], wantStep: "unshare the SELinux namespace",
			wantMsg: []string{"lsm_set_self_attr(LSM_ATTR_UNSHARE): EOPNOTSUPP", "no SELinux namespaces", "CONFIG_SECURITY_SELINUX_NS", "as of 7.3"}},
		{name: "host policy denies", fail: map[string]syscall.Errno{"lsm_set_self_attr": syscall.EACCES},
			want: wantAll[:3], wantStep: "unshare the SELinux namespace",
			wantMsg: []string{"EACCES", "allow unconfined_t self:process2 unshare_selinuxns;"}},
		{name: "seccomp or policy", fail: map[string]syscall.Errno{"lsm_set_self_attr": syscall.EPERM},
			want: wantAll[:3], wantStep: "unshare the SELinux namespace",
			wantMsg: []string{"EPERM", "seccomp", "allow unconfined_t self:process2 unshare_selinuxns;"}},
		{name: "interface mismatch", fail: map[string]syscall.Errno{"lsm_set_self_attr": syscall.EINVAL},
			want: wantAll[:3], wantStep: "unshare the SELinux namespace", wantMsg: []string{"EINVAL", "not stable ABI"}},
		{name: "too big", fail: map[string]syscall.Errno{"lsm_set_self_attr": syscall.E2BIG},
			want: wantAll[:3], wantStep: "unshare the SELinux namespace", wantMsg: []string{"E2BIG", "larger than a page"}},
		{name: "limit", fail: map[string]syscall.Errno{"lsm_set_self_attr": syscall.ENOSPC},
			want: wantAll[:3], wantStep: "unshare the SELinux namespace", wantMsg: []string{"ENOSPC", "maxnsdepth"}},
		{name: "exec fails", fail: map[string]syscall.Errno{"exec": syscall.EACCES},
			want: wantAll, wantStep: "exec the program", wantMsg: []string{`execve("/bin/prog"): EACCES`, "execute_no_trans"}},
		{name: "undocumented errno", fail: map[string]syscall.Errno{"unshare": syscall.EBADF},
			want: wantAll[:1], wantStep: "unshare the mount namespace", wantMsg: []string{"EBADF: bad file descriptor"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			o := opts()
			if tt.mod != nil {
				tt.mod(&o)
			}
			f := &fake{fail: tt.fail}
			err := runLocked(f, o)
			if got := whats(f.calls); strings.Join(got, "\n") != strings.Join(tt.want, "\n") {
				t.Errorf("calls:\n  %s\nwant:\n  %s", strings.Join(got, "\n  "), strings.Join(tt.want, "\n  "))
			}
			var e *Error
			if !errors.As(err, &e) {
				t.Fatalf("Run = %v, want an *Error", err)
			}
			if tt.wantStep == "" {
				if !errors.Is(err, errExeced) {
					t.Fatalf("Run = %v, want the exec reached", err)
				}
				return
			}
			if e.Step != tt.wantStep {
				t.Errorf("step %q, want %q", e.Step, tt.wantStep)
			}
			if errno, ok := tt.fail[strings.Fields(tt.want[len(tt.want)-1])[0]]; !ok || !errors.Is(err, errno) {
				t.Errorf("error %v does not wrap the errno", err)
			}
			for _, w := range tt.wantMsg {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("message %q lacks %q", err, w)
				}
			}
		})
	}
}

// TestRunExecReturns: an exec that comes back without an error is still a failure.
func TestRunExecReturns(t *testing.T) {
	err := runLocked(&fake{execNil: true}, opts())
	var e *Error
	if !errors.As(err, &e) || e.Step != "exec the program" || !errors.Is(err, errExecReturned) {
		t.Fatalf("Run = %v, want the exec step's failure", err)
	}
}

// TestRunBytes checks what reaches lsm_set_self_attr: attr 106, the 32 bytes of a bare
// lsm_ctx {id=101, flags=0, len=32, ctx_len=0}, flags 0.
func TestRunBytes(t *testing.T) {
	f := &fake{}
	_ = runLocked(f, opts())
	want := make([]byte, 32)
	lsm.PutCtxHeader(want, lsm.CtxHeader{ID: 101, Flags: 0, Len: 32, CtxLen: 0})
	if f.attr != 106 || f.flags != 0 || !bytes.Equal(f.ctx, want) {
		t.Fatalf("lsm_set_self_attr(%d, % x, %d), want (106, % x, 0)", f.attr, f.ctx, f.flags, want)
	}
}

// TestRunOneThread checks that every call from the unshares to the exec comes from one OS
// thread, while other goroutines keep the scheduler busy and each call yields.
func TestRunOneThread(t *testing.T) {
	var stop atomic.Bool
	defer stop.Store(true)
	for range 4 {
		go func() {
			for !stop.Load() {
				runtime.Gosched()
			}
		}()
	}
	for i := range 30 {
		f := &fake{yield: true}
		_ = runLocked(f, opts())
		tid := f.calls[0].tid
		for _, c := range f.calls {
			if c.tid != tid {
				t.Fatalf("run %d: %q on thread %d, the unshare on %d:\n%v", i, c.what, c.tid, tid, f.calls)
			}
		}
	}
}

func writeProc(t *testing.T, status, uidMap string) string {
	t.Helper()
	dir := t.TempDir()
	self := filepath.Join(dir, "self")
	if err := os.MkdirAll(self, 0o755); err != nil {
		t.Fatal(err)
	}
	if status != "" {
		if err := os.WriteFile(filepath.Join(self, "status"), []byte(status), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	if uidMap != "" {
		if err := os.WriteFile(filepath.Join(self, "uid_map"), []byte(uidMap), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return dir
}

func TestPreflight(t *testing.T) {
	const root = "Name:\tnsinit\nCapPrm:\t000001ffffffffff\nCapEff:\t000001ffffffffff\n"
	const docker = "Name:\tnsinit\nCapEff:\t00000000a80425fb\n"
	const host = "         0          0 4294967295\n"
	const userns = "         0     100000      65536\n"
	tests := []struct {
		name           string
		status, uidMap string
		needs          Needs
		want           []string // "" : passes
	}{
		{name: "root", status: root, uidMap: host, needs: BringUp},
		{name: "exec only ignores the user namespace", status: root, uidMap: userns, needs: ExecOnly},
		{name: "docker default capabilities", status: docker, uidMap: host, needs: ExecOnly,
			want: []string{"CAP_SYS_ADMIN", "--cap-add SYS_ADMIN", "capabilities.add: [SYS_ADMIN]", "CapEff 00000000a80425fb"}},
		{name: "user namespace", status: root, uidMap: userns, needs: BringUp,
			want: []string{"user namespace", "FS_USERNS_MOUNT", "hostUsers: true", `"0 100000 65536"`}},
		{name: "no procfs", needs: ExecOnly, want: []string{"procfs must be mounted"}},
		{name: "no CapEff", status: "Name:\tx\n", needs: ExecOnly, want: []string{"no CapEff"}},
		{name: "no uid_map", status: root, needs: BringUp, want: []string{"uid_map", "procfs must be mounted"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := Preflight(writeProc(t, tt.status, tt.uidMap), tt.needs)
			if len(tt.want) == 0 {
				if err != nil {
					t.Fatalf("Preflight: %v", err)
				}
				return
			}
			var e *Error
			if !errors.As(err, &e) {
				t.Fatalf("Preflight = %v, want an *Error", err)
			}
			for _, w := range tt.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("%q lacks %q", err, w)
				}
			}
		})
	}
}
