package vm

import (
	"bytes"
	"encoding/binary"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
)

// Kernels the provisioning fetches (Kernel.Name, Env.Kernel).
const (
	// Linux6 is Debian bookworm's 6.1 (provisioning step kernel, Cache/kernel): no LSM
	// syscalls, no getxattrat, policy versions up to 33, virtio and ext4 as .ko modules.
	Linux6 = "linux6"
	// Linux7 is Debian sid's 7.x (step kernel7, Cache/kernel7): lsm_list_modules,
	// getxattrat/setxattrat, policy.35 native, virtio built in, modules as .ko.xz.
	Linux7 = "linux7"
)

// Kernel is one kernel the harness boots: its image, its modules and what the checks need to
// know about it.
type Kernel struct {
	// Name is Linux6 or Linux7.
	Name string
	// Vmlinuz is the image qemu boots (-kernel).
	Vmlinuz string
	// Modules is its lib/modules/<release> tree: kernel/**/*.ko or *.ko.xz and
	// modules.builtin{,.modinfo} (Debian ships no modules.dep).
	Modules string
	// Release is uname's release, read from the image's header (KernelRelease).
	Release string
	// PolicyVersion is the newest policy version the kernel loads (selinuxfs policyvers):
	// nsinit downgrades a newer policy file to it in memory.
	PolicyVersion int
	// LSMSyscalls: the kernel has lsm_list_modules and lsm_get_self_attr (Linux 6.8).
	LSMSyscalls bool
}

// kernelLayout is where the provisioning puts each kernel under the cache, and the facts the
// checks assert about it (observed: docs/testing.md).
var kernelLayout = map[string]struct {
	dir           string
	policyVersion int
	lsmSyscalls   bool
}{
	Linux6: {"kernel", 33, false},
	Linux7: {"kernel7", 35, true},
}

// Kernel returns the provisioned kernel called name (Linux6, Linux7).
func (e Env) Kernel(name string) (Kernel, error) {
	l, ok := kernelLayout[name]
	if !ok {
		return Kernel{}, fmt.Errorf("unknown kernel %q (want %s or %s)", name, Linux6, Linux7)
	}
	dir := filepath.Join(e.Cache, l.dir)
	k := Kernel{Name: name, Vmlinuz: filepath.Join(dir, "vmlinuz"), Modules: filepath.Join(dir, "modules"),
		PolicyVersion: l.policyVersion, LSMSyscalls: l.lsmSyscalls}
	var err error
	if k.Release, err = KernelRelease(k.Vmlinuz); err != nil {
		return Kernel{}, err
	}
	return k, nil
}

// x86 boot protocol (Documentation/arch/x86/boot.rst): the setup header's magic "HdrS" at
// 0x202 and kernel_version at 0x20e, the offset of the version string less 0x200.
const (
	bootMagicOffset   = 0x202
	bootMagic         = "HdrS"
	bootVersionOffset = 0x20e
	bootSetupBase     = 0x200
	bootVersionMax    = 256
)

// KernelRelease returns the release of the bzImage at path (uname -r, the first word of the
// version string the setup header points to), e.g. "6.1.0-57-amd64".
func KernelRelease(path string) (string, error) {
	f, err := os.Open(path)
	if err != nil {
		return "", err
	}
	defer f.Close()
	hdr := make([]byte, bootVersionOffset+2)
	if _, err := io.ReadFull(f, hdr); err != nil {
		return "", fmt.Errorf("%s: read the boot header: %w", path, err)
	}
	if string(hdr[bootMagicOffset:bootMagicOffset+4]) != bootMagic {
		return "", fmt.Errorf("%s: not a bzImage (no %q at %#x)", path, bootMagic, bootMagicOffset)
	}
	off := int64(binary.LittleEndian.Uint16(hdr[bootVersionOffset:])) + bootSetupBase
	buf := make([]byte, bootVersionMax)
	n, err := f.ReadAt(buf, off)
	if n == 0 {
		return "", fmt.Errorf("%s: read the version string at %#x: %w", path, off, err)
	}
	s, _, ok := bytes.Cut(buf[:n], []byte{0})
	release, _, _ := strings.Cut(string(s), " ")
	if !ok || release == "" {
		return "", fmt.Errorf("%s: no version string at %#x", path, off)
	}
	return release, nil
}
