package faults

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"syscall"
	"testing"
	"time"

	"go.uber.org/zap"
	"go.uber.org/zap/zaptest/observer"

	"github.com/nsinit/nsinit/internal/config"
	"github.com/nsinit/nsinit/internal/firstboot"
	"github.com/nsinit/nsinit/internal/imagefile"
	"github.com/nsinit/nsinit/internal/loadpolicy"
	"github.com/nsinit/nsinit/internal/policydb/policytest"
	"github.com/nsinit/nsinit/internal/relabel"
)

// policyType is the SELINUXTYPE of the test image.
const policyType = "default"

// kernelMax is the policy version the test kernel supports (the image ships policy.33).
const kernelMax = 33

// image writes a small, complete policy image under a new root: the config, policy.33,
// file_contexts with every text companion, and customizable_types.
func image(t *testing.T) (root string, l config.Layout) {
	t.Helper()
	root = t.TempDir()
	l = config.Layout{Dir: root + "/etc/selinux/" + policyType}
	for path, data := range map[string]string{
		root + "/etc/selinux/config":    "SELINUX=enforcing\nSELINUXTYPE=" + policyType + "\n",
		l.PolicyFile(kernelMax):         string(policytest.Image(kernelMax)),
		l.FileContexts():                "/\tsystem_u:object_r:root_t:s0\n/.*\tsystem_u:object_r:default_t:s0\n",
		l.FileContexts() + ".homedirs":  "/home/[^/]+\tsystem_u:object_r:user_home_dir_t:s0\n",
		l.FileContexts() + ".local":     "/srv(/.*)?\tsystem_u:object_r:var_t:s0\n",
		l.FileContexts() + ".subs":      "/opt /usr\n",
		l.FileContexts() + ".subs_dist": "/bin /usr/bin\n",
		l.CustomizableTypes():           "httpd_user_content_t\n",
	} {
		if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(path, []byte(data), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return root, l
}

// kind is one thing an image may hold at a path nsinit reads.
type kind struct {
	name string
	// plant replaces whatever is at path with the thing.
	plant func(t *testing.T, path string)
	// refusal is the imagefile error a file reader must give for it (nil: not refused).
	refusal error
}

// hugeSize is the apparent size of the sparse file: above every limit, no disk used.
const hugeSize = 8 << 30

var kinds = []kind{
	{"FIFO", func(t *testing.T, p string) { must(t, syscall.Mkfifo(p, 0o644)) }, imagefile.ErrNotRegular},
	{"/dev/zero", func(t *testing.T, p string) { must(t, os.Symlink("/dev/zero", p)) }, imagefile.ErrNotRegular},
	{"directory", func(t *testing.T, p string) { must(t, os.Mkdir(p, 0o755)) }, imagefile.ErrNotRegular},
	{"dangling symlink", func(t *testing.T, p string) { must(t, os.Symlink(p+".nowhere", p)) }, nil},
	{"sparse 8 GiB", func(t *testing.T, p string) {
		f, err := os.Create(p)
		must(t, err)
		must(t, f.Truncate(hugeSize))
		must(t, f.Close())
	}, imagefile.ErrTooLarge},
	{"missing", func(*testing.T, string) {}, nil},
}

func must(t *testing.T, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}

// Outcomes of a load, as the table expects them.
const (
	refused    = "refused"     // an error naming the path
	absent     = "absent"      // loaded as if the file were not there, as libselinux does
	passedOver = "passed over" // a compiled companion it cannot read: the text form is used
)

// target is a path the bring-up reads and the loader it reads it with.
type target struct {
	name string
	path func(root string, l config.Layout) string
	// load runs the bring-up's loader for the image at root.
	load func(root string, l config.Layout) error
	// whenAbsent is the outcome for a missing file or a dangling symlink.
	whenAbsent string
	// compiled is true for a .bin companion: when nsinit cannot read it, the text form
	// (present in the image) is used, as libselinux falls back when a .bin fails to load.
	compiled bool
	// dir is true for a directory the loader lists; a special file there is refused too,
	// but not by imagefile (the listing is opened O_DIRECTORY).
	dir bool
	// request is true for the relabel marker: whatever sits there is a request to relabel
	// (never opened unless it is a small regular file), not an error.
	request bool
}

// loadMarker is the first-boot marker read (firstboot.Run, with --relabel=never so that
// nothing else runs); it fails unless the marker counted as a request.
func loadMarker(root string, _ config.Layout) error {
	core, logs := observer.New(zap.WarnLevel)
	if _, err := firstboot.Run(context.Background(), firstboot.Options{Root: root, Policy: firstboot.RelabelNever, Log: zap.New(core)}); err != nil {
		return err
	}
	if _, err := os.Lstat(filepath.Join(root, firstboot.Marker)); err == nil && logs.FilterMessageSnippet("requested by the marker").Len() == 0 {
		return fmt.Errorf("%s: not taken as a relabel request", filepath.Join(root, firstboot.Marker))
	}
	return nil
}

// loadFileContexts is the bring-up's file_contexts load (firstboot.Run), and checks the
// text forms were used when a compiled companion was passed over.
func loadFileContexts(root string, l config.Layout) error {
	lab, err := relabel.LoadFileContexts(l.FileContexts())
	if err != nil {
		return err
	}
	if h, ok := lab.(interface{ Sources() []string }); ok {
		for _, s := range h.Sources() {
			if strings.HasSuffix(s, ".bin") {
				return fmt.Errorf("loaded %s, which is no file_contexts", s)
			}
		}
	}
	return nil
}

var targets = []target{
	{name: "config", path: func(root string, _ config.Layout) string { return root + "/etc/selinux/config" },
		load: func(root string, _ config.Layout) error { _, err := config.Load(root); return err }, whenAbsent: absent},
	{name: "policy directory", path: func(_ string, l config.Layout) string { return l.PolicyDir() },
		load: loadPolicy, whenAbsent: refused, dir: true},
	{name: "policy.33", path: func(_ string, l config.Layout) string { return l.PolicyFile(kernelMax) },
		load: loadPolicy, whenAbsent: refused},
	{name: "file_contexts", path: func(_ string, l config.Layout) string { return l.FileContexts() },
		load: loadFileContexts, whenAbsent: refused},
	{name: "file_contexts.bin", path: func(_ string, l config.Layout) string { return l.FileContexts() + ".bin" },
		load: loadFileContexts, whenAbsent: absent, compiled: true},
	{name: "file_contexts.homedirs", path: func(_ string, l config.Layout) string { return l.FileContexts() + ".homedirs" },
		load: loadFileContexts, whenAbsent: absent},
	{name: "file_contexts.homedirs.bin", path: func(_ string, l config.Layout) string { return l.FileContexts() + ".homedirs" + ".bin" },
		load: loadFileContexts, whenAbsent: absent, compiled: true},
	{name: "file_contexts.local", path: func(_ string, l config.Layout) string { return l.FileContexts() + ".local" },
		load: loadFileContexts, whenAbsent: absent},
	{name: "file_contexts.local.bin", path: func(_ string, l config.Layout) string { return l.FileContexts() + ".local" + ".bin" },
		load: loadFileContexts, whenAbsent: absent, compiled: true},
	{name: "file_contexts.subs", path: func(_ string, l config.Layout) string { return l.FileContexts() + ".subs" },
		load: loadFileContexts, whenAbsent: absent},
	{name: "file_contexts.subs_dist", path: func(_ string, l config.Layout) string { return l.FileContexts() + ".subs_dist" },
		load: loadFileContexts, whenAbsent: absent},
	{name: "customizable_types", path: func(_ string, l config.Layout) string { return l.CustomizableTypes() },
		load: func(_ string, l config.Layout) error {
			_, err := relabel.LoadCustomizableTypes(l.CustomizableTypes())
			return err
		}, whenAbsent: absent},
	{name: "/.autorelabel", path: func(root string, _ config.Layout) string { return filepath.Join(root, firstboot.Marker) },
		load: loadMarker, whenAbsent: absent, request: true},
}

// loadPolicy is the bring-up's policy read (boot: loadpolicy.Read of the layout's policy
// directory for the kernel's version).
func loadPolicy(_ string, l config.Layout) error {
	_, err := loadpolicy.Read(l.PolicyDir(), kernelMax)
	return err
}

// Bounds every case must keep.
const (
	maxTime  = 5 * time.Second
	maxAlloc = 8 << 20
)

// TestSpecialFiles puts every kind of special file at every path nsinit reads from an image
// and runs the loader the bring-up uses for that path: each case must end within maxTime,
// allocate at most maxAlloc, and give its defined outcome.
func TestSpecialFiles(t *testing.T) {
	counts := map[string]int{}
	var slowest time.Duration
	var mostAlloc uint64
	cases := 0
	for _, tg := range targets {
		for _, k := range kinds {
			t.Run(tg.name+"/"+k.name, func(t *testing.T) {
				cases++
				root, l := image(t)
				path := tg.path(root, l)
				if err := os.RemoveAll(path); err != nil {
					t.Fatal(err)
				}
				k.plant(t, path)
				want := refused
				switch {
				case k.refusal == nil:
					want = tg.whenAbsent
				case tg.compiled:
					want = passedOver
				case tg.request:
					want = absent // a request, read or not: no error
				}
				if tg.dir && k.name == "directory" {
					want = refused // an empty policy directory: no policy
				}
				took, alloc, err := run(t, path, func() error { return tg.load(root, l) })
				slowest, mostAlloc = max(slowest, took), max(mostAlloc, alloc)
				got := refused
				if err == nil {
					got = want // absent and passed over differ only in which file was missing
					if want == refused {
						got = "loaded"
					}
				}
				counts[got]++
				t.Logf("%-28s %-17s → %-11s in %8s, %7d bytes allocated: %v", tg.name, k.name, got, took.Round(time.Microsecond), alloc, err)
				if got != want {
					t.Fatalf("outcome %q (err %v), want %q", got, err, want)
				}
				if err != nil && !strings.Contains(err.Error(), path) {
					t.Errorf("the error %q does not name %s", err, path)
				}
				if err != nil && k.refusal != nil && !tg.dir && !errors.Is(err, k.refusal) {
					t.Errorf("the error %q is not %v", err, k.refusal)
				}
				if alloc > maxAlloc {
					t.Errorf("allocated %d bytes, want ≤ %d", alloc, maxAlloc)
				}
			})
		}
	}
	t.Logf("special-file fault suite: %d targets × %d kinds: %d cases run (%d refused with the path, %d absent as in libselinux or taken as a relabel request, %d compiled companions passed over for the text); slowest %s, most allocated %d bytes",
		len(targets), len(kinds), cases, counts[refused], counts[absent], counts[passedOver], slowest.Round(time.Microsecond), mostAlloc)
}

// run calls load with a deadline and measures it. A load still blocked at the deadline
// (in open(2) on a FIFO) fails the test and is released by opening the FIFO's other end.
func run(t *testing.T, path string, load func() error) (took time.Duration, alloc uint64, err error) {
	t.Helper()
	var before, after runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&before)
	start := time.Now()
	done := make(chan error, 1)
	go func() { done <- load() }()
	select {
	case err = <-done:
	case <-time.After(maxTime):
		if f, oerr := os.OpenFile(path, os.O_WRONLY|syscall.O_NONBLOCK, 0); oerr == nil {
			f.Close()
		}
		t.Fatalf("still blocked after %s", maxTime)
	}
	took = time.Since(start)
	runtime.ReadMemStats(&after)
	return took, after.TotalAlloc - before.TotalAlloc, err
}
