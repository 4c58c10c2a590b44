package vm

import (
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"golang.org/x/sys/unix"

	"github.com/nsinit/nsinit/internal/testutil"
)

func TestParseEaGet(t *testing.T) {
	paths := []string{"/a", "/b", "/c"}
	out := "debugfs: ea_get -x \"/a\" security.selinux\n" +
		"security.selinux (4) = 61 3a 62 00 \n\n" +
		"debugfs: ea_get -x \"/b\" security.selinux\n" +
		"debugfs: ea_get -x \"/c\" security.selinux\n" +
		"security.selinux (2) = 78 79 \n"
	got, err := parseEaGet(out, paths)
	if err != nil {
		t.Fatal(err)
	}
	if got["/a"] != "a:b\x00" || got["/b"] != "" || got["/c"] != "xy" {
		t.Errorf("parseEaGet = %q", got)
	}
	for _, bad := range []string{
		"",             // no command answered
		"debugfs: x\n", // too few answers
		"debugfs: 1\ndebugfs: 2\ndebugfs: 3\ndebugfs: 4\n", // too many
		"security.selinux (1) = 61\ndebugfs: 1\ndebugfs: 2\ndebugfs: 3\n",
		"debugfs: 1\nsecurity.selinux (2) = 61\ndebugfs: 2\ndebugfs: 3\n", // size mismatch
		"debugfs: 1\nsecurity.selinux (1) = zz\ndebugfs: 2\ndebugfs: 3\n", // not hex
		"debugfs: 1\nsecurity.selinux (1) 61\ndebugfs: 2\ndebugfs: 3\n",   // no " = "
	} {
		if got, err := parseEaGet(bad, paths); err == nil {
			t.Errorf("parseEaGet(%q) = %q, want an error", bad, got)
		}
	}
}

func FuzzParseEaGet(f *testing.F) {
	f.Add("debugfs: ea_get\nsecurity.selinux (2) = 61 00\n")
	f.Add("debugfs: a\ndebugfs: b\n")
	f.Fuzz(func(t *testing.T, out string) {
		got, err := parseEaGet(out, []string{"/x", "/y"})
		if err == nil && len(got) != 2 {
			t.Fatalf("no error but %d values", len(got))
		}
	})
}

// TestImageSkeletonLabels builds an image from a skeleton holding every kind of object
// (a name with a space, a hard link, a symlink, a setuid file, a FIFO that must be left
// out), labels it with setfiles on the host, and reads every label back in bulk with
// ImageLabels: each must equal the label setfiles wrote (SetfilesLabels, the oracle of the
// first-boot scenario). It also shows the oracle's two modes on /root, whose
// file_contexts.homedirs entry has the user unconfined_u.
func TestImageSkeletonLabels(t *testing.T) {
	fc := filepath.Join(testutil.DebianPolicyDir(t), "contexts", "files", "file_contexts")
	for _, tool := range []string{"setfiles", "mkfs.ext4", "debugfs"} {
		testutil.RequireTool(t, tool)
	}
	skel := t.TempDir()
	for _, d := range []string{"usr/bin", "etc/with space", "root"} {
		if err := os.MkdirAll(filepath.Join(skel, d), 0o755); err != nil {
			t.Fatal(err)
		}
	}
	write := func(p string, mode fs.FileMode) {
		if err := os.WriteFile(filepath.Join(skel, p), []byte("content"), 0o600); err != nil {
			t.Fatal(err)
		}
		if err := os.Chmod(filepath.Join(skel, p), mode); err != nil {
			t.Fatal(err)
		}
	}
	write("usr/bin/passwd", fs.ModeSetuid|0o755)
	write("etc/with space/file", 0o644)
	write("root/.profile", 0o644)
	if err := os.Link(filepath.Join(skel, "usr/bin/passwd"), filepath.Join(skel, "usr/bin/passwd2")); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink("usr/bin", filepath.Join(skel, "bin")); err != nil {
		t.Fatal(err)
	}
	if err := unix.Mkfifo(filepath.Join(skel, "etc/fifo"), 0o644); err != nil {
		t.Fatal(err)
	}

	im := NewImage(8)
	im.FileContexts = fc
	im.Skeleton = skel
	im.AddFile("sbin/init", 0o755, []byte("#!/bin/true\n"))
	im.AddDir("lost+found", 0o700)
	img, err := im.Build(Env{Cache: t.TempDir()})
	if err != nil {
		t.Fatal(err)
	}
	want, err := SetfilesLabels(im, fc, "")
	if err != nil {
		t.Fatal(err)
	}
	if _, ok := want["/etc/fifo"]; ok {
		t.Error("the skeleton copied a FIFO")
	}
	for _, p := range []string{"/", "/bin", "/usr/bin/passwd2", "/etc/with space/file", "/lost+found"} {
		if want[p] == "" {
			t.Errorf("setfiles left %s unlabelled (oracle %q)", p, want)
		}
	}
	paths := make([]string, 0, len(want))
	for p := range want {
		paths = append(paths, p)
	}
	got, err := ImageLabels(img, paths)
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range paths {
		if got[p] != want[p] {
			t.Errorf("%s: image %s, setfiles %s", p, showLabel(got[p]), showLabel(want[p]))
		}
	}

	// Names, types, modes and links are kept; contents are dropped.
	out, err := exec.Command("debugfs", "-R", "stat /usr/bin/passwd2", img).CombinedOutput()
	if err != nil || !strings.Contains(string(out), "Mode:  04755") || !strings.Contains(string(out), "Links: 2") ||
		!strings.Contains(string(out), "Size: 0") {
		t.Errorf("/usr/bin/passwd2 in the image (want mode 04755, 2 links, size 0): %v\n%s", err, out)
	}
	out, err = exec.Command("debugfs", "-R", "stat /bin", img).CombinedOutput()
	if err != nil || !strings.Contains(string(out), `Fast link dest: "usr/bin"`) {
		t.Errorf("/bin in the image is not the symlink to usr/bin: %v\n%s", err, out)
	}

	// Without -F, from the kernel's unlabelled context, only the type changes.
	kept, err := SetfilesLabels(im, fc, unlabeledContext)
	if err != nil {
		t.Fatal(err)
	}
	if kept["/root"] != "system_u:object_r:user_home_dir_t:s0\x00" || !strings.HasPrefix(want["/root"], "unconfined_u:") {
		t.Errorf("/root: without -F %s, with -F %s; want system_u and unconfined_u", showLabel(kept["/root"]), showLabel(want["/root"]))
	}
	if labelType(kept["/root"]) != labelType(want["/root"]) {
		t.Errorf("labelType: %q vs %q", labelType(kept["/root"]), labelType(want["/root"]))
	}
}
