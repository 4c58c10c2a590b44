package relabel

import (
	"context"
	"os"
	"path/filepath"
	"testing"

	"go.uber.org/zap"
	"go.uber.org/zap/zaptest/observer"
	"golang.org/x/sys/unix"

	"github.com/nsinit/nsinit/internal/testutil"
)

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
}
