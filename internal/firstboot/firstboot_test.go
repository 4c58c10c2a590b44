package firstboot

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"golang.org/x/sys/unix"

	"github.com/nsinit/nsinit/internal/fcontext"
	"github.com/nsinit/nsinit/internal/relabel"
	"github.com/nsinit/nsinit/internal/relabel/relabeltest"
	"github.com/nsinit/nsinit/internal/testutil"
)

type fakeLabeler = relabeltest.FakeLabeler

// faultLabeler wraps FakeLabeler: it calls onLookup (if set) before every lookup, and gives
// the key bad a context too large for any filesystem (setxattr: E2BIG), a per-object error.
type faultLabeler struct {
	bad      string
	onLookup func(key string)
}

func (f faultLabeler) Lookup(p string, mode uint32) (string, bool) {
	if f.onLookup != nil {
		f.onLookup(p)
	}
	if p == f.bad {
		return strings.Repeat("x", 1<<17), true
	}
	return fakeLabeler{}.Lookup(p, mode)
}

func TestParsePolicy(t *testing.T) {
	for _, p := range []Policy{RelabelAuto, RelabelAlways, RelabelNever} {
		if q, err := ParsePolicy(p.String()); err != nil || q != p {
			t.Errorf("%v: %v %v", p, q, err)
		}
	}
	if _, err := ParsePolicy("sometimes"); err == nil {
		t.Error("bad policy accepted")
	}
}

func TestFirstBootDecision(t *testing.T) {
	testutil.RequireRoot(t)
	rootCtx := "system_u:object_r:dir_t:s0"
	tests := []struct {
		name      string
		rootLabel string // "" = none
		marker    string // "-" = no marker
		policy    Policy
		cmdline   bool
		ran       bool
		reason    string
	}{
		{"unlabelled image", "", "-", RelabelAuto, false, true, "no label"},
		{"labelled image", rootCtx, "-", RelabelAuto, false, false, "matches"},
		{"other user only", "unconfined_u:object_r:dir_t:s0", "-", RelabelAuto, false, false, "matches"},
		{"wrong type", "system_u:object_r:tmp_t:s0", "-", RelabelAuto, false, true, "file_contexts says"},
		{"customizable root", "system_u:object_r:public_content_t:s0", "-", RelabelAuto, false, false, "matches"},
		{"marker", rootCtx, "", RelabelAuto, false, true, ".autorelabel"},
		{"marker force", "unconfined_u:object_r:dir_t:s0", "-F \n", RelabelAuto, false, true, ".autorelabel"},
		{"cmdline", rootCtx, "-", RelabelAuto, true, true, "command line"},
		{"always", rootCtx, "-", RelabelAlways, false, true, "always"},
		{"never beats marker", "", "", RelabelNever, true, false, "never"},
	}
	types := filepath.Join(t.TempDir(), "customizable_types")
	os.WriteFile(types, []byte("public_content_t\n"), 0o644)
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			root := t.TempDir()
			relabeltest.Populate(t, root)
			relabeltest.StripLabels(t, root)
			if tc.rootLabel != "" {
				relabeltest.SetLabel(t, root, tc.rootLabel)
			}
			marker := filepath.Join(root, Marker)
			if tc.marker != "-" {
				os.WriteFile(marker, []byte(tc.marker), 0o644)
			}
			res, err := Run(context.Background(), Options{Root: root, Labeler: fakeLabeler{},
				CustomizableTypes: types, Policy: tc.policy, CmdlineAutorelabel: tc.cmdline})
			if err != nil {
				t.Fatal(err)
			}
			if res.Ran != tc.ran || !strings.Contains(res.Reason, tc.reason) {
				t.Fatalf("ran=%v reason %q, want %v %q", res.Ran, res.Reason, tc.ran, tc.reason)
			}
			if _, err := os.Lstat(marker); tc.ran && err == nil {
				t.Error("marker left after a successful relabel")
			} else if !tc.ran && tc.marker != "-" && err != nil {
				t.Error("marker removed without a relabel")
			}
			if tc.ran && relabeltest.Label(t, filepath.Join(root, "a/f1")) == "" {
				t.Error("relabel did not label the tree")
			}
			if tc.name == "marker force" && relabeltest.Label(t, root) != rootCtx {
				t.Errorf("-F in the marker did not force: root %q", relabeltest.Label(t, root))
			}
		})
	}
}

func TestFirstBootKeepsMarkerOnFailure(t *testing.T) {
	testutil.RequireRoot(t)
	for _, mode := range []string{"error", "interrupt"} {
		t.Run(mode, func(t *testing.T) {
			root := t.TempDir()
			relabeltest.Populate(t, root)
			relabeltest.StripLabels(t, root)
			marker := filepath.Join(root, Marker)
			os.WriteFile(marker, nil, 0o644)
			ctx, cancel := context.WithCancel(context.Background())
			defer cancel()
			lab := faultLabeler{bad: "/a/f1"}
			if mode == "interrupt" {
				lab = faultLabeler{onLookup: func(string) { cancel() }}
			}
			res, err := Run(ctx, Options{Root: root, Labeler: lab, Jobs: 1})
			want := relabel.ErrIncomplete
			if mode == "interrupt" {
				want = context.Canceled
			}
			if !errors.Is(err, want) || !res.Ran {
				t.Fatalf("want %v, got %+v %v", want, res, err)
			}
			if _, err := os.Lstat(marker); err != nil {
				t.Fatalf("marker gone after a failed relabel: %v", err)
			}
			// The next start relabels again and, succeeding, removes the marker.
			res, err = Run(context.Background(), Options{Root: root, Labeler: fakeLabeler{}})
			if err != nil || !res.Ran {
				t.Fatalf("rerun: %+v %v", res, err)
			}
			if _, err := os.Lstat(marker); err == nil {
				t.Fatal("marker kept after the successful rerun")
			}
		})
	}
}

// TestFirstBootSpecialMarkers: whatever sits at /.autorelabel is a request to relabel; only
// a small regular file is read, so a FIFO or /dev/zero can neither block nor flood the
// bring-up. After the complete relabel the marker is gone (an empty directory too).
func TestFirstBootSpecialMarkers(t *testing.T) {
	testutil.RequireRoot(t)
	tests := []struct {
		name   string
		make   func(p string) error
		unread bool
	}{
		{"fifo", func(p string) error { return unix.Mkfifo(p, 0o600) }, true},
		{"dev zero", func(p string) error { return unix.Mknod(p, unix.S_IFCHR|0o600, int(unix.Mkdev(1, 5))) }, true},
		{"symlink to dev zero", func(p string) error { return os.Symlink("/dev/zero", p) }, true},
		{"dangling symlink", func(p string) error { return os.Symlink("nowhere", p) }, true},
		{"empty directory", func(p string) error { return os.Mkdir(p, 0o755) }, true},
		{"huge sparse file", func(p string) error {
			f, err := os.Create(p)
			if err == nil {
				err = f.Truncate(1 << 30)
				f.Close()
			}
			return err
		}, true},
		{"flags", func(p string) error { return os.WriteFile(p, []byte("-F\n"), 0o644) }, false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			root := t.TempDir()
			relabeltest.Populate(t, root)
			relabeltest.StripLabels(t, root)
			marker := filepath.Join(root, Marker)
			if err := tc.make(marker); err != nil {
				t.Fatal(err)
			}
			m, err := readMarker(root)
			if err != nil || !m.exists || (m.unread != nil) != tc.unread || m.force == tc.unread {
				t.Fatalf("readMarker: %+v %v", m, err)
			}
			done := make(chan struct{})
			var res Result
			go func() {
				defer close(done)
				res, err = Run(context.Background(), Options{Root: root, Labeler: fakeLabeler{}})
			}()
			select {
			case <-done:
			case <-time.After(20 * time.Second):
				t.Fatal("first boot hangs on the marker")
			}
			if err != nil || !res.Ran || !strings.Contains(res.Reason, Marker) {
				t.Fatalf("%+v %v", res, err)
			}
			if _, err := os.Lstat(marker); err == nil {
				t.Error("marker left after the complete relabel")
			}
		})
	}
}

// TestFirstBootMarkerKeepsForce: a forced relabel (Options.Force) that is interrupted
// leaves a marker saying -F, so the next start, not asked to force, forces too.
func TestFirstBootMarkerKeepsForce(t *testing.T) {
	testutil.RequireRoot(t)
	root := t.TempDir()
	relabeltest.Populate(t, root)
	relabeltest.StripLabels(t, root)
	other := "unconfined_u:object_r:dir_t:s0"
	relabeltest.SetLabel(t, filepath.Join(root, "c"), other)
	ctx, cancel := context.WithCancel(context.Background())
	lab := faultLabeler{onLookup: func(string) { cancel() }}
	if _, err := Run(ctx, Options{Root: root, Labeler: lab, Policy: RelabelAlways, Force: true, Jobs: 1}); !errors.Is(err, context.Canceled) {
		t.Fatalf("want an interruption, got %v", err)
	}
	if b, err := os.ReadFile(filepath.Join(root, Marker)); err != nil || string(b) != "-F\n" {
		t.Fatalf("marker %q %v, want -F", b, err)
	}
	if _, err := Run(context.Background(), Options{Root: root, Labeler: fakeLabeler{}}); err != nil {
		t.Fatal(err)
	}
	if got := relabeltest.Label(t, filepath.Join(root, "c")); got != "system_u:object_r:dir_t:s0" {
		t.Errorf("the resumed relabel did not force: %q", got)
	}
}

// TestAutoLooksBeyondTheRoot: on an initramfs root (rootfs, tmpfs) every inode has the
// filesystem's default label, which is also file_contexts' label for "/": auto must not
// conclude from the root directory alone that the tree is labelled.
func TestAutoLooksBeyondTheRoot(t *testing.T) {
	testutil.RequireRoot(t)
	const rootT = "system_u:object_r:root_t:s0"
	fc := filepath.Join(t.TempDir(), "file_contexts")
	os.WriteFile(fc, []byte("/\t"+rootT+"\n/etc(/.*)?\tsystem_u:object_r:etc_t:s0\n/sbin/init\t--\tsystem_u:object_r:init_exec_t:s0\n"), 0o644)
	for _, tc := range []struct {
		name   string
		labels map[string]string
		ran    bool
		reason string
	}{
		{"initramfs: everything root_t", map[string]string{"": rootT, "etc": rootT, "sbin": rootT, "sbin/init": rootT}, true, "/etc is labelled"},
		{"only the init wrong", map[string]string{"": rootT, "etc": "system_u:object_r:etc_t:s0", "sbin": rootT, "sbin/init": rootT}, true, "/sbin/init is labelled"},
		{"labelled", map[string]string{"": rootT, "etc": "system_u:object_r:etc_t:s0", "sbin": rootT, "sbin/init": "system_u:object_r:init_exec_t:s0"}, false, "matches"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			root := t.TempDir()
			os.MkdirAll(filepath.Join(root, "etc"), 0o755)
			os.MkdirAll(filepath.Join(root, "sbin"), 0o755)
			os.WriteFile(filepath.Join(root, "sbin/init"), nil, 0o755)
			for rel, l := range tc.labels {
				relabeltest.SetLabel(t, filepath.Join(root, rel), l)
			}
			res, err := Run(context.Background(), Options{Root: root, FileContexts: fc})
			if err != nil {
				t.Fatal(err)
			}
			if res.Ran != tc.ran || !strings.Contains(res.Reason, tc.reason) {
				t.Fatalf("ran=%v reason %q, want %v %q", res.Ran, res.Reason, tc.ran, tc.reason)
			}
		})
	}
}

// TestFirstBootFollowsTheImagesLibselinux: the first start labels with the lookup rules of
// the image's own libselinux, as `nsinit relabel` does by default (3.4: the last of two
// exact lines of one path that fits; 3.9-3.11: the first).
func TestFirstBootFollowsTheImagesLibselinux(t *testing.T) {
	testutil.RequireRoot(t)
	fc := filepath.Join(t.TempDir(), "file_contexts")
	os.WriteFile(fc, []byte("/\tsystem_u:object_r:root_t:s0\n/t\tsystem_u:object_r:first_t:s0\n/t\tsystem_u:object_r:second_t:s0\n"), 0o644)
	for _, tc := range []struct {
		name, lib, want string
	}{
		{"libselinux 3.4", "LIBSELINUX_3.4\x00", "system_u:object_r:second_t:s0"},
		{"libselinux 3.11", "LIBSELINUX_3.9\x00LIBSELINUX_3.10\x00", "system_u:object_r:first_t:s0"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			root := t.TempDir()
			lib := filepath.Join(root, "usr/lib/x86_64-linux-gnu")
			os.MkdirAll(lib, 0o755)
			os.WriteFile(filepath.Join(lib, "libselinux.so.1"), []byte(tc.lib), 0o644)
			os.WriteFile(filepath.Join(root, "t"), nil, 0o644)
			if _, err := Run(context.Background(), Options{Root: root, FileContexts: fc, Policy: RelabelAlways}); err != nil {
				t.Fatal(err)
			}
			if got := relabeltest.Label(t, filepath.Join(root, "t")); got != tc.want {
				t.Fatalf("/t labelled %q, want %q", got, tc.want)
			}
		})
	}
}

// TestAutoFollowsTheImagesLibselinux: the first start's check looks a probe with two exact
// specs up with the image's release (3.4: the last that fits; 3.9-3.11: the first), and
// finds no relabel needed only where that release's answer is on disk.
func TestAutoFollowsTheImagesLibselinux(t *testing.T) {
	testutil.RequireRoot(t)
	const rootT, first, second = "system_u:object_r:root_t:s0", "system_u:object_r:first_t:s0", "system_u:object_r:second_t:s0"
	fc := filepath.Join(t.TempDir(), "file_contexts")
	os.WriteFile(fc, []byte("/\t"+rootT+"\n/etc\t-d\t"+first+"\n/etc\t"+second+"\n"), 0o644)
	for _, tc := range []struct {
		name, lib, etc string
		ran            bool
	}{
		{"3.4, last line on disk", "LIBSELINUX_3.4\x00", second, false},
		{"3.4, first line on disk", "LIBSELINUX_3.4\x00", first, true},
		{"3.11, first line on disk", "LIBSELINUX_3.9\x00LIBSELINUX_3.10\x00", first, false},
		{"3.11, last line on disk", "LIBSELINUX_3.9\x00LIBSELINUX_3.10\x00", second, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			root := t.TempDir()
			lib := filepath.Join(root, "usr/lib/x86_64-linux-gnu")
			os.MkdirAll(lib, 0o755)
			os.WriteFile(filepath.Join(lib, "libselinux.so.1"), []byte(tc.lib), 0o644)
			os.MkdirAll(filepath.Join(root, "etc"), 0o755)
			relabeltest.SetLabel(t, root, rootT)
			relabeltest.SetLabel(t, filepath.Join(root, "etc"), tc.etc)
			res, err := Run(context.Background(), Options{Root: root, FileContexts: fc})
			if err != nil {
				t.Fatal(err)
			}
			if res.Ran != tc.ran {
				t.Fatalf("ran=%v (%s), want %v", res.Ran, res.Reason, tc.ran)
			}
		})
	}
}

// TestInputs: what the prefetch reads ahead is what Run reads before it decides (the
// fcontext text files, customizable_types) and looks up (the marker, the probes), under the
// root; nothing when the relabel never runs.
func TestInputs(t *testing.T) {
	o := Options{Root: "/img", FileContexts: "/img/fc", CustomizableTypes: "/img/ct", Policy: RelabelAuto}
	files, lookups := Inputs(o)
	var paths []string
	for _, f := range files {
		paths = append(paths, f.Path)
	}
	want := append([]string{"/img/ct"}, fcontext.TextFiles("/img/fc")...)
	if !slices.Equal(paths, want) {
		t.Errorf("files %q, want %q", paths, want)
	}
	wantLookups := []string{"/img/" + Marker}
	for _, p := range probes {
		wantLookups = append(wantLookups, filepath.Join("/img", p))
	}
	if !slices.Equal(lookups, wantLookups) {
		t.Errorf("lookups %q, want %q", lookups, wantLookups)
	}
	o.Policy = RelabelNever
	if files, lookups := Inputs(o); files != nil || lookups != nil {
		t.Errorf("--relabel=never: %v %v, want nothing", files, lookups)
	}
}
