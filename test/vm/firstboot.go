package vm

import (
	"errors"
	"fmt"
	"os/exec"
	"sort"
	"strings"
)

// autorelabel is the first-boot relabel marker in the root directory.
const autorelabel = ".autorelabel"

// bootMounts are the root's directories that are mount points when nsinit relabels at
// boot: stage0 moves its devtmpfs to /dev, nsinit mounts procfs and sysfs. A relabel
// neither crosses nor labels a mount point, and the directory underneath is unreachable
// while mounted, so these keep the labels the image was built with.
var bootMounts = []string{"/dev", "/proc", "/sys"}

// unlabelledMinbase returns a Change that turns the standard image into a first boot: no
// labels at all, the names of the whole minbase tree (6.7k objects, contents dropped) under
// the image's own files, /.autorelabel holding marker (empty, or "-F" as Fedora's
// `fixfiles -F onboot` writes it) and lost+found (which mkfs.ext4 would otherwise create
// outside the tree the oracle sees).
func unlabelledMinbase(marker string) func(e Env, im *Image) error {
	return func(e Env, im *Image) error {
		im.FileContexts = ""
		im.Skeleton = e.Minbase()
		im.SizeMB = 96
		im.AddFile(autorelabel, 0o644, []byte(marker))
		im.AddDir("lost+found", 0o700)
		return nil
	}
}

// unlabeledContext is what the kernel reports for an inode without a label once Debian's
// policy is loaded (its initial SID "file"), and so what a relabel at boot reads as the
// current label of every object of an unlabelled image.
const unlabeledContext = "system_u:object_r:unlabeled_t:s0"

// inspectRelabel returns the check of the disk a first-boot relabel wrote: the filesystem
// is clean, the marker is gone, the image had no labels before the boot, and every
// object's label now equals Debian's setfiles on the same tree on the host.
//
// With force (the marker says -F), exactly `setfiles -F` on the unlabelled tree. Without,
// two comparisons:
//   - exactly against setfiles without -F, starting, as the guest's relabel did, from every
//     object reading as unlabeledContext: only the type of a wrong label changes
//     (restorecon's default);
//   - in the type against `setfiles -F` (the user, role and range may differ).
//
// Objects at or under a mount point at boot (bootMounts) are unreachable for a relabel and
// must still have no label.
//
// p is the scenario's policy (nil: Debian 12's); its setfiles is the oracle.
func inspectRelabel(p *Policy, force bool) func(e Env, im *Image, disk string, r *Result) (string, error) {
	return func(e Env, im *Image, disk string, _ *Result) (string, error) {
		pol := e.BookwormPolicy()
		if p != nil {
			pol = *p
		}
		return checkRelabelled(e, pol, im, disk, force)
	}
}

func checkRelabelled(e Env, p Policy, im *Image, disk string, force bool) (string, error) {
	if out, err := exec.Command("e2fsck", "-fn", disk).CombinedOutput(); err != nil {
		return "", fmt.Errorf("e2fsck -fn on the written image: %v (the guest did not leave a clean filesystem)\n%s", err, out)
	}
	out, _ := exec.Command("debugfs", "-R", "stat /"+autorelabel, disk).CombinedOutput()
	if !strings.Contains(string(out), "File not found") {
		return "", fmt.Errorf("/%s is still in the image after the boot:\n%s", autorelabel, out)
	}
	fc := p.FileContexts()
	forced, err := SetfilesLabels(im, fc, "")
	if err != nil {
		return "", err
	}
	want := forced
	if !force {
		if want, err = SetfilesLabels(im, fc, unlabeledContext); err != nil {
			return "", err
		}
	}
	delete(want, "/"+autorelabel)
	paths := make([]string, 0, len(want))
	for p := range want {
		paths = append(paths, p)
	}
	sort.Strings(paths)
	pristine, err := im.Build(e) // a cache hit: the image the copy was made from
	if err != nil {
		return "", err
	}
	before, err := ImageLabels(pristine, paths)
	if err != nil {
		return "", err
	}
	got, err := ImageLabels(disk, paths)
	if err != nil {
		return "", err
	}
	var errs []string
	report := func(format string, args ...any) {
		if len(errs) < 20 {
			errs = append(errs, fmt.Sprintf(format, args...))
		} else if len(errs) == 20 {
			errs = append(errs, "...")
		}
	}
	bad, unreachable, userDiffers, contexts := 0, 0, 0, map[string]bool{}
	for _, p := range paths {
		if before[p] != "" {
			bad++
			report("%s was labelled %s before the boot: the image is not unlabelled", p, showLabel(before[p]))
		}
		w := want[p]
		if !force && w == unlabeledContext+"\x00" {
			w = "" // setfiles left it alone: on the disk it has no label
		}
		if underMount(p) {
			w = ""
			unreachable++
		} else if labelType(got[p]) != labelType(forced[p]) {
			bad++
			report("%s: the guest left %s, setfiles -F gives %s", p, showLabel(got[p]), showLabel(forced[p]))
		} else if got[p] != forced[p] {
			userDiffers++
		}
		if got[p] != w {
			bad++
			if force {
				report("%s: the guest left %s, setfiles -F gives %s", p, showLabel(got[p]), showLabel(w))
			} else {
				report("%s: the guest left %s, setfiles (from %s, without -F) gives %s", p, showLabel(got[p]), unlabeledContext, showLabel(w))
			}
		}
		contexts[got[p]] = true
	}
	if len(errs) > 0 {
		return "", fmt.Errorf("%d differences in %d objects:\n  %s", bad, len(paths), strings.Join(errs, "\n  "))
	}
	how := fmt.Sprintf("setfiles without -F labels them (the same types as setfiles -F, %d with another user, as restorecon without -F)", userDiffers)
	if force {
		how = "setfiles -F labels them"
	}
	return fmt.Sprintf("%d objects labelled exactly as %s, %d distinct contexts; %d under the boot's mount points %s left unlabelled; /%s removed; e2fsck clean",
		len(paths)-unreachable, how, len(contexts), unreachable, strings.Join(bootMounts, " "), autorelabel), nil
}

// underMount reports whether the image path p is a mount point at boot or below one.
func underMount(p string) bool {
	for _, m := range bootMounts {
		if p == m || strings.HasPrefix(p, m+"/") {
			return true
		}
	}
	return false
}

// expectInspected checks the result of the scenario's disk inspection.
func expectInspected(r *Result) error {
	if r.InspectErr != nil {
		return fmt.Errorf("disk after the boot: %w", r.InspectErr)
	}
	if r.Inspection == "" {
		return errors.New("the disk was not inspected")
	}
	return nil
}
