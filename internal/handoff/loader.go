package handoff

import (
	"debug/elf"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"

	"github.com/nsinit/nsinit/internal/imagefile"
)

// libselinux is the soname of the library whose selinux_init_load_policy a stock systemd
// calls as the machine's PID 1 (src/core/selinux-setup.c, mac_selinux_setup).
const libselinux = "libselinux.so.1"

// maxELF bounds an init binary or library read to look at its dynamic section (systemd
// 252's libsystemd-shared is 3.6 MB; only the headers and .dynamic are read).
const maxELF = 256 << 20

// maxHops bounds the symbolic links followed from the init's path (the kernel's own limit
// is 40; /sbin/init -> /lib/systemd/systemd is one).
const maxHops = 8

// LoadsPolicy reports whether the target is a stock systemd that loads the SELinux policy
// itself: its path, after symbolic links (resolved inside root), names a file called
// "systemd" that needs libselinux.so.1, directly or through a library in its RUNPATH (systemd
// 252 links libsystemd-core-252.so, which needs it). As the machine's PID 1, such a systemd
// calls libselinux's selinux_init_load_policy at every boot, whoever loaded first; how
// says what was found, for the log. A systemd built without SELinux is not one: nsinit
// must load for it.
func LoadsPolicy(root string, t Target) (yes bool, how string) {
	path, err := resolveInRoot(root, t.Path)
	if err != nil || filepath.Base(path) != "systemd" {
		return false, ""
	}
	needed, runpath, err := dynamic(path)
	if err != nil {
		return false, ""
	}
	if slices.Contains(needed, libselinux) {
		return true, fmt.Sprintf("%s needs %s", path, libselinux)
	}
	for _, lib := range needed {
		for _, dir := range runpath {
			if strings.Contains(dir, "$") || !filepath.IsAbs(dir) {
				continue // $ORIGIN and relative entries: not what a distribution's systemd uses
			}
			p := filepath.Join(root, dir, lib)
			libNeeded, _, err := dynamic(p)
			if err == nil && slices.Contains(libNeeded, libselinux) {
				return true, fmt.Sprintf("%s needs %s, which needs %s", path, p, libselinux)
			}
		}
	}
	return false, ""
}

// resolveInRoot follows the symbolic links of path's last component, an absolute target
// taken below root.
func resolveInRoot(root, path string) (string, error) {
	for range maxHops {
		target, err := os.Readlink(path)
		if err != nil {
			if st, serr := os.Lstat(path); serr == nil && st.Mode().IsRegular() {
				return path, nil
			}
			return "", err
		}
		if filepath.IsAbs(target) {
			path = filepath.Join(root, target)
		} else {
			path = filepath.Join(filepath.Dir(path), target)
		}
	}
	return "", fmt.Errorf("%s: more than %d symbolic links", path, maxHops)
}

// dynamic returns the DT_NEEDED and DT_RUNPATH (or DT_RPATH) entries of the ELF file at path.
func dynamic(path string) (needed, runpath []string, err error) {
	f, _, err := imagefile.Open(path, maxELF)
	if err != nil {
		return nil, nil, err
	}
	defer f.Close()
	ef, err := elf.NewFile(f)
	if err != nil {
		return nil, nil, fmt.Errorf("%s: %w", path, err)
	}
	if needed, err = ef.DynString(elf.DT_NEEDED); err != nil {
		return nil, nil, fmt.Errorf("%s: %w", path, err)
	}
	for _, tag := range []elf.DynTag{elf.DT_RUNPATH, elf.DT_RPATH} {
		rp, err := ef.DynString(tag)
		if err != nil {
			return nil, nil, fmt.Errorf("%s: %w", path, err)
		}
		for _, r := range rp {
			runpath = append(runpath, filepath.SplitList(r)...)
		}
	}
	return needed, runpath, nil
}
