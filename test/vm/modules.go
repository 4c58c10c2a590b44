package vm

import (
	"bytes"
	"debug/elf"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
)

// BootModules are the modules Debian's kernel needs to mount an ext4 root on a virtio disk:
// in linux-image-*-amd64 they are not built in. crc32c_generic is named explicitly because
// ext4 asks the crypto API for "crc32c" at mount time (metadata_csum) rather than linking to
// it, and there is no modprobe in the initramfs to load it on demand.
var BootModules = []string{"virtio_pci", "virtio_blk", "crc32c_generic", "ext4"}

// parseModinfo returns the key=value strings of a module's .modinfo section. A key may
// repeat (alias=, parm=); the values are returned in order.
func parseModinfo(data []byte) (map[string][]string, error) {
	f, err := elf.NewFile(bytes.NewReader(data))
	if err != nil {
		return nil, err
	}
	sec := f.Section(".modinfo")
	if sec == nil {
		return nil, fmt.Errorf("no .modinfo section")
	}
	raw, err := sec.Data()
	if err != nil {
		return nil, fmt.Errorf(".modinfo: %w", err)
	}
	info := map[string][]string{}
	for _, field := range bytes.Split(raw, []byte{0}) {
		k, v, ok := strings.Cut(string(field), "=")
		if ok {
			info[k] = append(info[k], v)
		}
	}
	return info, nil
}

// moduleName normalizes a module name: the kernel treats '-' and '_' alike.
func moduleName(s string) string {
	return strings.ReplaceAll(strings.TrimSuffix(filepath.Base(s), ".ko"), "-", "_")
}

// indexModules maps module names to their .ko files under dir (a lib/modules/<version>).
func indexModules(dir string) (map[string]string, error) {
	idx := map[string]string{}
	err := filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if !d.IsDir() && strings.HasSuffix(p, ".ko") {
			idx[moduleName(p)] = p
		}
		return nil
	})
	return idx, err
}

// ModuleOrder returns the .ko files for want and everything they depend on (depends= in
// each module's .modinfo, recursively), each after its dependencies: the order in which
// finit_module(2) accepts them.
func ModuleOrder(dir string, want []string) ([]string, error) {
	idx, err := indexModules(dir)
	if err != nil {
		return nil, err
	}
	deps := func(name string) ([]string, error) {
		p, ok := idx[name]
		if !ok {
			return nil, fmt.Errorf("module %s: no %s.ko under %s", name, name, dir)
		}
		data, err := os.ReadFile(p)
		if err != nil {
			return nil, err
		}
		info, err := parseModinfo(data)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", p, err)
		}
		var out []string
		for _, d := range info["depends"] {
			for _, n := range strings.Split(d, ",") {
				if n != "" {
					out = append(out, moduleName(n))
				}
			}
		}
		return out, nil
	}
	names, err := topoSort(want, deps)
	if err != nil {
		return nil, err
	}
	paths := make([]string, len(names))
	for i, n := range names {
		paths[i] = idx[n]
	}
	return paths, nil
}

// topoSort returns roots and their transitive dependencies, dependencies first, each once.
// A dependency cycle is an error (the kernel could not load such modules either).
func topoSort(roots []string, deps func(string) ([]string, error)) ([]string, error) {
	const (
		visiting = 1
		done     = 2
	)
	state := map[string]int{}
	var order []string
	var visit func(name string, path []string) error
	visit = func(name string, path []string) error {
		switch state[name] {
		case done:
			return nil
		case visiting:
			return fmt.Errorf("module dependency cycle: %s -> %s", strings.Join(path, " -> "), name)
		}
		state[name] = visiting
		ds, err := deps(name)
		if err != nil {
			return err
		}
		for _, d := range ds {
			if err := visit(d, append(path, name)); err != nil {
				return err
			}
		}
		state[name] = done
		order = append(order, name)
		return nil
	}
	for _, r := range roots {
		if err := visit(moduleName(r), nil); err != nil {
			return nil, err
		}
	}
	return order, nil
}
