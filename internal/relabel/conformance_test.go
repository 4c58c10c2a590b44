package relabel

import (
	"context"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"testing"
	"time"

	"golang.org/x/sys/unix"

	"github.com/nsinit/nsinit/internal/testutil"
)

// addExtras adds to a copied minbase tree what debootstrap does not have: hard links with
// and without conflicting contexts, symlinks, fifos, sockets, device nodes, awkward names
// and a nested tmpfs mount (the mount point and its contents must stay untouched).
func addExtras(t *testing.T, root string) {
	t.Helper()
	w := func(rel string) {
		if err := os.WriteFile(filepath.Join(root, rel), []byte("x"), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	must := func(err error) {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
	}
	for _, n := range []string{"etc/with space", "etc/new\nline", "etc/\xff\xfe-latin1", "usr/bin/tab\tname",
		"var/log/x.log", "home/file", "tmp/file", "etc/hl-etc"} {
		w(n)
	}
	must(os.Link(filepath.Join(root, "etc/hl-etc"), filepath.Join(root, "usr/bin/hl-bin")))
	must(os.Link(filepath.Join(root, "etc/hl-etc"), filepath.Join(root, "var/log/hl-log")))
	// More inodes whose names get different contexts, spread over directories, so that
	// agreeing with setfiles on every winner cannot be luck.
	dirs := []string{"etc", "usr/bin", "var/log", "usr/sbin", "var/lib", "etc/default", "tmp", "usr/lib"}
	for i := range 8 {
		first := filepath.Join(root, dirs[i], fmt.Sprintf("conflict-%d", i))
		w(filepath.Join(dirs[i], fmt.Sprintf("conflict-%d", i)))
		for k := 1; k < 4; k++ {
			must(os.Link(first, filepath.Join(root, dirs[(i+k*3)%len(dirs)], fmt.Sprintf("conflict-%d-%d", i, k))))
		}
	}
	must(os.Link(filepath.Join(root, "etc/with space"), filepath.Join(root, "etc/with space 2")))
	must(os.Symlink("/etc/passwd", filepath.Join(root, "usr/bin/link-to-etc")))
	must(os.Symlink("dangling", filepath.Join(root, "var/log/dangling")))
	must(unix.Mkfifo(filepath.Join(root, "run/initctl"), 0o600))
	must(unix.Mkfifo(filepath.Join(root, "tmp/fifo"), 0o600))
	must(unix.Mknod(filepath.Join(root, "dev/loop7"), unix.S_IFBLK|0o660, int(unix.Mkdev(7, 7))))
	must(unix.Mknod(filepath.Join(root, "dev/tty9"), unix.S_IFCHR|0o620, int(unix.Mkdev(4, 9))))
	must(unix.Mknod(filepath.Join(root, "etc/odd-node"), unix.S_IFCHR|0o600, int(unix.Mkdev(1, 3))))
	l, err := net.ListenUnix("unix", &net.UnixAddr{Name: filepath.Join(root, "run/sock"), Net: "unix"})
	must(err)
	l.SetUnlinkOnClose(false)
	l.Close()
	must(os.MkdirAll(filepath.Join(root, "srv/nested"), 0o755))
	mount(t, "tmpfs", filepath.Join(root, "srv/nested"), "tmpfs", 0, "mode=755")
	t.Cleanup(func() { unix.Unmount(filepath.Join(root, "srv/nested"), unix.MNT_DETACH) })
	must(os.MkdirAll(filepath.Join(root, "srv/nested/dir"), 0o755))
	w("srv/nested/dir/file")
}

// prepareTrees makes two identical copies of minbase with extras, without labels.
func prepareTrees(t *testing.T) (a, b string) {
	t.Helper()
	minbase := testutil.Minbase(t)
	tmp := t.TempDir()
	a, b = filepath.Join(tmp, "a"), filepath.Join(tmp, "b")
	for _, d := range []string{a, b} {
		testutil.CopyTree(t, minbase, d)
		addExtras(t, d)
		stripLabels(t, d)
	}
	return a, b
}

// policyForSetfiles makes Debian's customizable_types visible to setfiles, which reads
// them from the host's /etc/selinux (mount namespace private, so this is the test's own).
func policyForSetfiles(t *testing.T) (fc, types string) {
	t.Helper()
	pol := testutil.DebianPolicyDir(t)
	etc := t.TempDir()
	must := func(err error) {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
	}
	must(os.MkdirAll(filepath.Join(etc, "default/contexts"), 0o755))
	must(os.WriteFile(filepath.Join(etc, "config"), []byte("SELINUX=permissive\nSELINUXTYPE=default\n"), 0o644))
	b, err := os.ReadFile(filepath.Join(pol, "contexts/customizable_types"))
	must(err)
	must(os.WriteFile(filepath.Join(etc, "default/contexts/customizable_types"), b, 0o644))
	mount(t, etc, "/etc/selinux", "", unix.MS_BIND, "")
	return filepath.Join(pol, "contexts/files/file_contexts"), filepath.Join(pol, "contexts/customizable_types")
}

func setfiles(t *testing.T, args ...string) time.Duration {
	t.Helper()
	start := time.Now()
	mustRun(t, testutil.RequireTool(t, "setfiles"), args...)
	return time.Since(start)
}

// TestConformanceWithSetfiles labels two copies of a real tree, one with Debian's setfiles
// and one with Run, and compares the security.selinux bytes of every object: first forced
// on unlabelled trees, then without force on labelled trees with mixed, customizable and
// missing labels.
func TestConformanceWithSetfiles(t *testing.T) {
	if !inMountNS(t) {
		return
	}
	testutil.RequireRoot(t)
	a, b := prepareTrees(t)
	fc, typesPath := policyForSetfiles(t)
	lab, err := LoadFileContexts(fc)
	if err != nil {
		t.Fatal(err)
	}
	types, err := LoadCustomizableTypes(typesPath)
	if err != nil {
		t.Fatal(err)
	}

	ds := setfiles(t, "-F", "-r", a, fc, a)
	s, err := Run(context.Background(), Options{Root: b, Labeler: lab, Force: true})
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("forced: setfiles %v, nsinit %v (%.1fx); %+v", ds, s.Duration, ds.Seconds()/s.Duration.Seconds(), s)
	want := labelsOf(t, a)
	compareLabels(t, want, labelsOf(t, b))
	if s.Conflicts < 5 || s.Relabeled < 6000 {
		t.Errorf("expected hard-link conflicts and thousands of labels: %+v", s)
	}
	if want["srv/nested"] != "<none>" || want["srv/nested/dir/file"] != "<none>" || want["srv"] == "<none>" {
		t.Errorf("setfiles crossed or labelled the nested mount: %q %q", want["srv/nested"], want["srv/nested/dir/file"])
	}

	// Without force: both trees get the same mixture of labels, then each tool fixes its own.
	mix := []string{"", "system_u:object_r:tmp_t:s0", "unconfined_u:object_r:etc_t:s0-s0:c0.c1023",
		"staff_u:staff_r:tmp_t:s0:c1", "system_u:object_r:tmp_t", "system_u:object_r:public_content_t:s0",
		"system_u:object_r:swapfile_t:s0", "user_u:object_r:user_home_t:s0"}
	i := 0
	for _, root := range []string{a, b} {
		i = 0
		walkObjects(t, root, func(p string) {
			rel, _ := filepath.Rel(root, p)
			if rel == "srv/nested" || filepath.Dir(rel) == "srv/nested" || filepath.Dir(filepath.Dir(rel)) == "srv/nested" {
				return
			}
			if i++; i%3 == 0 {
				if m := mix[(i/3)%len(mix)]; m == "" {
					unix.Lremovexattr(p, "security.selinux")
				} else {
					setLabel(t, p, m)
				}
			}
		})
	}
	compareLabels(t, labelsOf(t, a), labelsOf(t, b))
	ds = setfiles(t, "-r", a, fc, a)
	s, err = Run(context.Background(), Options{Root: b, Labeler: lab, Customizable: types})
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("type only: setfiles %v, nsinit %v; %+v", ds, s.Duration, s)
	compareLabels(t, labelsOf(t, a), labelsOf(t, b))
	if s.Customized == 0 || s.Relabeled == 0 || s.Unchanged == 0 {
		t.Errorf("the mixture did not exercise every rule: %+v", s)
	}
}
