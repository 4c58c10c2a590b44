package vm

import (
	"bytes"
	"debug/elf"
	"fmt"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
)

// BootModules are the modules a kernel needs to mount an ext4 root on a virtio disk, by
// name. ModuleOrder drops those the kernel builds in (Debian's 6.1 builds in none of them,
// its 7.x virtio_pci) and adds what the rest need: depends= and softdep= pre: (ext4 and jbd2
// ask the crypto API for crc32c at mount time, and there is no modprobe in the initramfs
// to load it on demand).
var BootModules = []string{"virtio_pci", "virtio_blk", "ext4"}

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

// Module file suffixes: Debian's 6.1 ships plain ELF, its 7.x xz-compressed modules.
const (
	moduleSuffix   = ".ko"
	moduleSuffixXZ = ".ko.xz"
)

// moduleName normalizes a module name: the kernel treats '-' and '_' alike.
func moduleName(s string) string {
	s = filepath.Base(s)
	s = strings.TrimSuffix(strings.TrimSuffix(s, ".xz"), moduleSuffix)
	return strings.ReplaceAll(s, "-", "_")
}

// isModuleFile reports whether p names a module file (.ko or .ko.xz).
func isModuleFile(p string) bool {
	return strings.HasSuffix(p, moduleSuffix) || strings.HasSuffix(p, moduleSuffixXZ)
}

// readModule returns the ELF bytes of the module file p, decompressing a .ko.xz with xz(1).
func readModule(p string) ([]byte, error) {
	if !strings.HasSuffix(p, moduleSuffixXZ) {
		return os.ReadFile(p)
	}
	var stderr bytes.Buffer
	cmd := exec.Command("xz", "--decompress", "--stdout", "--", p)
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		return nil, fmt.Errorf("xz -d %s: %v: %s", p, err, strings.TrimSpace(stderr.String()))
	}
	return out, nil
}

// indexModules maps module names to their module files under dir (a lib/modules/<version>).
func indexModules(dir string) (map[string]string, error) {
	idx := map[string]string{}
	err := filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if !d.IsDir() && isModuleFile(p) {
			idx[moduleName(p)] = p
		}
		return nil
	})
	return idx, err
}

// readBuiltin returns the names of the modules built into the kernel of dir and the aliases
// they declare: modules.builtin (one kernel/.../name.ko per line) and modules.builtin.modinfo
// (NUL-separated name.key=value records), both in every Debian kernel package.
func readBuiltin(dir string) (map[string]bool, error) {
	builtin := map[string]bool{}
	list, err := os.ReadFile(filepath.Join(dir, "modules.builtin"))
	if err != nil {
		return nil, err
	}
	for _, l := range strings.Split(string(list), "\n") {
		if l = strings.TrimSpace(l); l != "" {
			builtin[moduleName(l)] = true
		}
	}
	info, err := os.ReadFile(filepath.Join(dir, "modules.builtin.modinfo"))
	if err != nil {
		return nil, err
	}
	for _, rec := range bytes.Split(info, []byte{0}) {
		key, value, ok := strings.Cut(string(rec), "=")
		if _, field, _ := strings.Cut(key, "."); ok && field == "alias" {
			builtin[value] = true
		}
	}
	return builtin, nil
}

// softdepPre returns the names a softdep= value asks to be loaded before the module
// ("pre: a b post: c" gives a and b).
func softdepPre(v string) []string {
	var pre []string
	in := false
	for _, w := range strings.Fields(v) {
		switch w {
		case "pre:":
			in = true
		case "post:":
			in = false
		default:
			if in {
				pre = append(pre, w)
			}
		}
	}
	return pre
}

// moduleSet resolves module names and aliases in one lib/modules/<version> tree.
type moduleSet struct {
	dir     string
	idx     map[string]string // module name -> file
	builtin map[string]bool   // built-in module names and aliases
	info    map[string]map[string][]string
}

// modinfo returns the .modinfo of the module called name (cached).
func (s *moduleSet) modinfo(name string) (map[string][]string, error) {
	if info, ok := s.info[name]; ok {
		return info, nil
	}
	p, ok := s.idx[name]
	if !ok {
		return nil, fmt.Errorf("module %s: no %s%s or %s%s under %s", name, name, moduleSuffix, name, moduleSuffixXZ, s.dir)
	}
	data, err := readModule(p)
	if err != nil {
		return nil, err
	}
	info, err := parseModinfo(data)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", p, err)
	}
	s.info[name] = info
	return info, nil
}

// provider returns the module to load for a softdep name: none when the kernel builds it in,
// the module of that name, else a module declaring it as alias= (there is no modules.alias:
// the candidates are the modules whose name contains the alias's last word, "crc32c" for
// "crypto-crc32c"). Of several, one outside kernel/arch/ wins: the arch-specific ones need
// CPU features the emulated qemu64 CPU lacks (crc32c-intel: SSE4.2) and fail to load.
func (s *moduleSet) provider(alias string) (string, error) {
	if s.builtin[alias] || s.builtin[moduleName(alias)] {
		return "", nil
	}
	if _, ok := s.idx[moduleName(alias)]; ok {
		return moduleName(alias), nil
	}
	stem := moduleName(alias[strings.LastIndex(alias, "-")+1:])
	var found []string
	for name := range s.idx {
		if !strings.Contains(name, stem) {
			continue
		}
		info, err := s.modinfo(name)
		if err != nil {
			return "", err
		}
		if slices.Contains(info["alias"], alias) {
			found = append(found, name)
		}
	}
	if len(found) == 0 {
		return "", fmt.Errorf("no module under %s provides %q", s.dir, alias)
	}
	arch := func(name string) bool {
		return strings.HasPrefix(s.idx[name], filepath.Join(s.dir, "kernel", "arch")+"/")
	}
	slices.SortFunc(found, func(a, b string) int {
		if arch(a) != arch(b) {
			if arch(a) {
				return 1
			}
			return -1
		}
		return strings.Compare(a, b)
	})
	return found[0], nil
}

// deps returns the modules to load before name: its depends= and the providers of its
// softdep= pre: names.
func (s *moduleSet) deps(name string) ([]string, error) {
	info, err := s.modinfo(name)
	if err != nil {
		return nil, err
	}
	var out []string
	for _, d := range info["depends"] {
		for _, n := range strings.Split(d, ",") {
			if n != "" {
				out = append(out, moduleName(n))
			}
		}
	}
	for _, sd := range info["softdep"] {
		for _, a := range softdepPre(sd) {
			p, err := s.provider(a)
			if err != nil {
				return nil, fmt.Errorf("module %s: softdep %s: %w", name, a, err)
			}
			if p != "" {
				out = append(out, p)
			}
		}
	}
	return out, nil
}

// ModuleOrder returns the module files for the modules of want that the kernel does not build
// in and everything they need (depends= and softdep= pre:, recursively, read from each
// module's .modinfo), each after what it needs: the order in which finit_module(2) accepts
// them.
func ModuleOrder(dir string, want []string) ([]string, error) {
	idx, err := indexModules(dir)
	if err != nil {
		return nil, err
	}
	builtin, err := readBuiltin(dir)
	if err != nil {
		return nil, err
	}
	s := &moduleSet{dir: dir, idx: idx, builtin: builtin, info: map[string]map[string][]string{}}
	var roots []string
	for _, w := range want {
		if !builtin[moduleName(w)] {
			roots = append(roots, w)
		}
	}
	names, err := topoSort(roots, s.deps)
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
