package firstboot

// The kill-point fault test: a first-boot relabel of a real tree is interrupted — SIGKILL
// (as by kill -9 or a power cut), SIGTERM, SIGINT — at points spread over its run, for every
// trigger; the next start (auto, no command line) must finish the job, and the labels must
// then be exactly what Debian's setfiles gives the same tree. The relabel runs in a child:
// the test binary re-executed (TestMain dispatches on helperEnv).

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"golang.org/x/sys/unix"

	"github.com/nsinit/nsinit/internal/relabel"
	"github.com/nsinit/nsinit/internal/relabel/relabeltest"
	"github.com/nsinit/nsinit/internal/testutil"
)

// helperEnv carries the helper's options (JSON) to a re-executed test binary.
const helperEnv = "NSINIT_FIRSTBOOT_HELPER"

// helperOpts configure one first boot in the helper process.
type helperOpts struct {
	Root, FileContexts string
	Policy             Policy
	Cmdline            bool
	KillAt             int64 // send Signal to itself at this file_contexts lookup (0: never)
	Signal             syscall.Signal
}

// helperResult is the helper's report on stdout after a run it survived.
type helperResult struct {
	Lookups int64
	Err     string
}

func TestMain(m *testing.M) {
	if v := os.Getenv(helperEnv); v != "" {
		os.Exit(helperRole(v))
	}
	os.Exit(m.Run())
}

// countingLabeler counts lookups and, at the kill point, signals its own process.
type countingLabeler struct {
	relabel.Labeler
	n      atomic.Int64
	killAt int64
	sig    syscall.Signal
}

func (c *countingLabeler) Lookup(p string, mode uint32) (string, bool) {
	if c.n.Add(1) == c.killAt {
		unix.Kill(os.Getpid(), c.sig)
	}
	return c.Labeler.Lookup(p, mode)
}

// helperRole runs Run as the bring-up would (SIGTERM and SIGINT cancel it) and exits 0 when
// it completed, 6 when interrupted, 1 on any other error.
func helperRole(v string) int {
	var o helperOpts
	if err := json.Unmarshal([]byte(v), &o); err != nil {
		fmt.Fprintln(os.Stderr, "helper options:", err)
		return 100
	}
	lab, err := relabel.LoadFileContexts(o.FileContexts)
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 100
	}
	cl := &countingLabeler{Labeler: lab, killAt: o.KillAt, sig: o.Signal}
	ctx, stop := signal.NotifyContext(context.Background(), unix.SIGTERM, unix.SIGINT)
	defer stop()
	_, err = Run(ctx, Options{Root: o.Root, Labeler: cl, Policy: o.Policy, CmdlineAutorelabel: o.Cmdline, Jobs: 2})
	res := helperResult{Lookups: cl.n.Load()}
	if err != nil {
		res.Err = err.Error()
	}
	json.NewEncoder(os.Stdout).Encode(res)
	switch {
	case errors.Is(err, context.Canceled):
		return 6
	case err != nil:
		return 1
	}
	return 0
}

// killPoint is one interrupted first boot.
type killPoint struct {
	trigger string // auto, marker, cmdline, always
	sig     syscall.Signal
	killAt  int64         // at this lookup, from inside
	after   time.Duration // or this long after the start, from outside
}

func TestFirstBootSurvivesKillPoints(t *testing.T) {
	if !relabeltest.InMountNS(t) {
		return
	}
	testutil.RequireRoot(t)
	setfiles := testutil.RequireTool(t, "setfiles")
	minbase := testutil.Minbase(t)
	fc := filepath.Join(testutil.DebianPolicyDir(t), "contexts/files/file_contexts")
	lab, err := relabel.LoadFileContexts(fc)
	if err != nil {
		t.Fatal(err)
	}
	// Both trees on a tmpfs of their own (it stores security.selinux), unlabelled, with
	// hard links, one of them with names of different contexts.
	fsDir := t.TempDir()
	relabeltest.Mount(t, "tmpfs", fsDir, "tmpfs", 0, "mode=755")
	t.Cleanup(func() { unix.Unmount(fsDir, unix.MNT_DETACH) })
	oracle, root := filepath.Join(fsDir, "oracle"), filepath.Join(fsDir, "root")
	for _, d := range []string{oracle, root} {
		testutil.CopyTree(t, minbase, d)
		for i := range 6 {
			for _, l := range [][2]string{{"etc/hostname", fmt.Sprintf("usr/bin/hl-%d", i)}, {"etc/hostname", fmt.Sprintf("var/log/hl-%d", i)}} {
				if err := os.Link(filepath.Join(d, l[0]), filepath.Join(d, l[1])); err != nil {
					t.Fatal(err)
				}
			}
		}
		relabeltest.StripLabels(t, d)
	}
	relabeltest.MustRun(t, setfiles, "-r", oracle, fc, oracle)
	want := relabeltest.Labels(t, oracle)

	// A run without a kill: the number of lookups and the duration to spread points over.
	start := time.Now()
	code, res := runHelper(t, helperOpts{Root: root, FileContexts: fc}, 0)
	total := time.Since(start)
	if code != 0 {
		t.Fatalf("uninterrupted first boot: exit %d %+v", code, res)
	}
	if n := diffLabels(t, want, relabeltest.Labels(t, root)); n != 0 {
		t.Fatalf("uninterrupted first boot: %d labels differ from setfiles'", n)
	}
	lookups := res.Lookups

	var points []killPoint
	spread := func(trigger string, sig syscall.Signal, n int) {
		for i := range n {
			points = append(points, killPoint{trigger: trigger, sig: sig, killAt: 1 + int64(i)*(lookups-1)/int64(n-1)})
		}
	}
	spread("auto", unix.SIGKILL, 24)
	for _, tr := range []string{"marker", "cmdline", "always"} {
		spread(tr, unix.SIGKILL, 5)
	}
	spread("auto", unix.SIGTERM, 5)
	spread("auto", unix.SIGINT, 5)
	for i := range 8 {
		points = append(points, killPoint{trigger: "auto", sig: unix.SIGKILL, after: total * time.Duration(i+1) / 9})
	}

	killed, finished, differences := 0, 0, 0
	for _, p := range points {
		relabeltest.StripLabels(t, root)
		marker := filepath.Join(root, Marker)
		os.Remove(marker)
		o := helperOpts{Root: root, FileContexts: fc, KillAt: p.killAt, Signal: p.sig}
		switch p.trigger {
		case "marker":
			if err := os.WriteFile(marker, nil, 0o644); err != nil {
				t.Fatal(err)
			}
		case "cmdline":
			o.Cmdline = true
		case "always":
			o.Policy = RelabelAlways
		}
		code, res := runHelper(t, o, p.after)
		switch {
		case code == 0:
			finished++ // the kill came too late (timed points)
		case p.sig == unix.SIGKILL && code == -1, p.sig != unix.SIGKILL && code == 6:
			killed++
		default:
			t.Errorf("%+v: exit %d %+v", p, code, res)
		}
		// The next start: auto, nothing on the command line.
		if _, err := Run(context.Background(), Options{Root: root, Labeler: lab}); err != nil {
			t.Errorf("%+v: restart: %v", p, err)
		}
		n := diffLabels(t, want, relabeltest.Labels(t, root))
		if n != 0 {
			t.Errorf("%+v: after the restart %d labels differ from setfiles'", p, n)
		}
		differences += n
		if _, err := os.Lstat(marker); err == nil {
			t.Errorf("%+v: %s left after the completed restart", p, Marker)
		}
	}
	t.Logf("kill points tried: %d (interrupted %d, finished before the signal %d); objects %d, lookups per run %d, run %v; labels differing from setfiles after the restarts: %d",
		len(points), killed, finished, len(want), lookups, total.Round(time.Millisecond), differences)
}

// runHelper runs one first boot in a child and returns its exit code (-1 when a signal
// ended it) and its report. With after > 0 the child is sent SIGKILL that long after start.
func runHelper(t *testing.T, o helperOpts, after time.Duration) (int, helperResult) {
	t.Helper()
	b, _ := json.Marshal(o)
	cmd := exec.Command(os.Args[0], "-test.run=^$")
	cmd.Env = append(os.Environ(), helperEnv+"="+string(b))
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	if after > 0 {
		timer := time.AfterFunc(after, func() { cmd.Process.Signal(unix.SIGKILL) })
		defer timer.Stop()
	}
	err := cmd.Wait()
	var res helperResult
	json.Unmarshal(out.Bytes(), &res)
	var ee *exec.ExitError
	switch {
	case err == nil:
		return 0, res
	case errors.As(err, &ee):
		if ws, ok := ee.Sys().(syscall.WaitStatus); ok && ws.Signaled() {
			return -1, res
		}
		if ee.ExitCode() == 100 {
			t.Fatalf("helper: %s", errb.String())
		}
		return ee.ExitCode(), res
	}
	t.Fatal(err)
	return 0, res
}

// diffLabels returns the number of objects whose label differs between the trees, logging
// the first few.
func diffLabels(t *testing.T, want, got map[string]string) int {
	t.Helper()
	n := 0
	for k, w := range want {
		if g := got[k]; g != w {
			if n++; n <= 3 {
				t.Logf("%s: setfiles %q, first boot %q", k, w, g)
			}
		}
	}
	for k := range got {
		if _, ok := want[k]; !ok {
			if n++; n <= 3 {
				t.Logf("%s: only after the first boot", k)
			}
		}
	}
	return n
}
