package relabel

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"testing"

	"go.uber.org/zap"
	"go.uber.org/zap/zaptest/observer"
	"golang.org/x/sys/unix"

	"github.com/nsinit/nsinit/internal/testutil"
)

// populate writes a few objects under dir.
func populate(t *testing.T, dir string) {
	t.Helper()
	for _, d := range []string{"a/b", "c"} {
		if err := os.MkdirAll(filepath.Join(dir, d), 0o755); err != nil {
			t.Fatal(err)
		}
	}
	for _, f := range []string{"a/f1", "a/b/f2", "c/f3", "f4"} {
		if err := os.WriteFile(filepath.Join(dir, f), nil, 0o644); err != nil {
			t.Fatal(err)
		}
	}
}

// TestReadOnlyFilesystems: a read-only tmpfs and a read-only bind mount give one warning
// each, count what needed a change, write nothing and report no per-object errors.
func TestReadOnlyFilesystems(t *testing.T) {
	if !inMountNS(t) {
		return
	}
	testutil.RequireRoot(t)
	tmp := t.TempDir()
	ro, src, bind := filepath.Join(tmp, "ro"), filepath.Join(tmp, "src"), filepath.Join(tmp, "bind")
	for _, d := range []string{ro, src, bind} {
		os.Mkdir(d, 0o755)
	}
	mount(t, "tmpfs", ro, "tmpfs", 0, "")
	t.Cleanup(func() { unix.Unmount(ro, unix.MNT_DETACH) })
	populate(t, ro)
	mount(t, "", ro, "", unix.MS_REMOUNT|unix.MS_RDONLY, "")
	populate(t, src)
	stripLabels(t, src)
	mount(t, src, bind, "", unix.MS_BIND, "")
	t.Cleanup(func() { unix.Unmount(bind, unix.MNT_DETACH) })
	mount(t, "", bind, "", unix.MS_REMOUNT|unix.MS_BIND|unix.MS_RDONLY, "")

	for _, root := range []string{ro, bind} {
		core, logs := observer.New(zap.InfoLevel)
		s, err := Run(context.Background(), Options{Root: root, Labeler: fakeLabeler{}, Force: true, Log: zap.New(core)})
		if err != nil || s.Errors != 0 || s.Relabeled != 0 || s.NotWritable != s.Seen {
			t.Errorf("%s: %+v %v", root, s, err)
		}
		if n := logs.FilterMessageSnippet("read-only").Len(); n != 1 {
			t.Errorf("%s: %d read-only messages, want 1: %v", root, n, logs.All())
		}
		if n := logs.FilterMessage("cannot relabel").Len(); n != 0 {
			t.Errorf("%s: %d per-object errors", root, n)
		}
	}
	// At first boot an unlabelled read-only root cannot be fixed: an error, so that the
	// bring-up fails closed when enforcing.
	if res, err := FirstBoot(context.Background(), FirstBootOptions{Root: ro, Labeler: fakeLabeler{}}); !errors.Is(err, ErrIncomplete) || !res.Ran {
		t.Errorf("FirstBoot on a read-only unlabelled root: %+v %v", res, err)
	}
	for rel, l := range labelsOf(t, src) {
		if l != "<none>" {
			t.Errorf("the read-only bind mount's source %s got %q", rel, l)
		}
	}
	// Became read-only after the start (EROFS from setxattr): one message as well.
	rw := filepath.Join(tmp, "rw")
	os.Mkdir(rw, 0o755)
	mount(t, "tmpfs", rw, "tmpfs", 0, "")
	t.Cleanup(func() { unix.Unmount(rw, unix.MNT_DETACH) })
	populate(t, rw)
	core, logs := observer.New(zap.InfoLevel)
	o := Options{Root: rw, Labeler: fakeLabeler{}, Force: true, Jobs: 2, Log: zap.New(core), hook: func(pt hookPoint, key string) {
		if pt == hookBeforeEntries && key == "/" {
			mount(t, "", rw, "", unix.MS_REMOUNT|unix.MS_RDONLY, "")
		}
	}}
	s, err := Run(context.Background(), o)
	if err != nil || s.Errors != 0 || s.NotWritable == 0 || logs.FilterMessageSnippet("read-only").Len() != 1 {
		t.Errorf("remounted read-only during the walk: %+v %v %v", s, err, logs.All())
	}
}

// TestFilesystemWithoutLabels: ramfs has no xattr support; the walk reports it once and
// stops without per-object errors.
func TestFilesystemWithoutLabels(t *testing.T) {
	if !inMountNS(t) {
		return
	}
	testutil.RequireRoot(t)
	dir := t.TempDir()
	mount(t, "ramfs", dir, "ramfs", 0, "")
	t.Cleanup(func() { unix.Unmount(dir, unix.MNT_DETACH) })
	populate(t, dir)
	core, logs := observer.New(zap.InfoLevel)
	s, err := Run(context.Background(), Options{Root: dir, Labeler: fakeLabeler{}, Force: true, Log: zap.New(core)})
	if err != nil || s.Errors != 0 || s.Relabeled != 0 || s.NotWritable != 1 {
		t.Errorf("%+v %v", s, err)
	}
	if n := logs.FilterMessageSnippet("cannot store security labels").Len(); n != 1 {
		t.Errorf("%d messages, want 1: %v", n, logs.All())
	}
	// FirstBoot in auto mode has nothing to do on such a root.
	res, err := FirstBoot(context.Background(), FirstBootOptions{Root: dir, Labeler: fakeLabeler{}})
	if err != nil || res.Ran {
		t.Errorf("FirstBoot on ramfs: %+v %v", res, err)
	}
}

// TestFirstBootNamespaceAPIFilesystems: in a namespace, /dev, /dev/shm and /run mounts get
// full contexts even when the root needs nothing.
func TestFirstBootNamespaceAPIFilesystems(t *testing.T) {
	if !inMountNS(t) {
		return
	}
	testutil.RequireRoot(t)
	root := t.TempDir()
	for _, d := range []string{"dev", "run", "etc"} {
		os.Mkdir(filepath.Join(root, d), 0o755)
	}
	for _, d := range []string{"dev", "run"} {
		p := filepath.Join(root, d)
		mount(t, "tmpfs", p, "tmpfs", 0, "")
		t.Cleanup(func() { unix.Unmount(p, unix.MNT_DETACH) })
	}
	os.Mkdir(filepath.Join(root, "dev/shm"), 0o755)
	mount(t, "tmpfs", filepath.Join(root, "dev/shm"), "tmpfs", 0, "")
	t.Cleanup(func() { unix.Unmount(filepath.Join(root, "dev/shm"), unix.MNT_DETACH) })
	for _, f := range []string{"dev/null", "dev/shm/seg", "run/pid", "etc/passwd"} {
		os.WriteFile(filepath.Join(root, f), nil, 0o644)
	}
	host := "system_u:object_r:container_file_t:s0:c1,c2"
	for _, rel := range []string{".", "etc", "etc/passwd"} {
		setLabel(t, filepath.Join(root, rel), "system_u:object_r:dir_t:s0")
	}
	setLabel(t, filepath.Join(root, "etc/passwd"), "system_u:object_r:etc_t:s0")
	for _, rel := range []string{"dev", "dev/null", "dev/shm", "dev/shm/seg", "run", "run/pid"} {
		setLabel(t, filepath.Join(root, rel), host)
	}
	res, err := FirstBoot(context.Background(), FirstBootOptions{Root: root, Labeler: fakeLabeler{}, Namespace: true})
	if err != nil || !res.Ran {
		t.Fatalf("%+v %v", res, err)
	}
	for rel, want := range map[string]string{"dev": "system_u:object_r:dir_t:s0", "dev/null": "system_u:object_r:file_t:s0",
		"dev/shm/seg": "system_u:object_r:file_t:s0", "run/pid": "system_u:object_r:file_t:s0", "dev/shm": "system_u:object_r:dir_t:s0"} {
		if got := getLabel(t, filepath.Join(root, rel)); got != want {
			t.Errorf("%s: %q, want %q", rel, got, want)
		}
	}
	if res.Stats.Relabeled != 6 {
		t.Errorf("only the API filesystems should change: %+v", res)
	}
}
