package vm

import (
	"bytes"
	"crypto/sha256"
	"debug/elf"
	"encoding/hex"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"time"
)

// Env locates the inputs and the cache of the harness. Tests fill it from internal/testutil;
// the demo from its flags.
type Env struct {
	// Repo is the repository's top directory (holding go.mod).
	Repo string
	// Cache is the provisioned cache (scripts/provision.sh): kernel/, kernel7/, policy/, ...
	// The harness keeps its own artefacts in Cache/vm.
	Cache string
}

// PolicyDir is Debian's built policy tree, SELINUXTYPE=default: policy/, contexts/, ...
func (e Env) PolicyDir() string {
	return filepath.Join(e.Cache, "policy", "etc", "selinux", "default")
}

// Minbase is the debootstrap --variant=minbase tree (never modified: images copy its names).
func (e Env) Minbase() string { return filepath.Join(e.Cache, "minbase") }

// MinbaseSystemd is the minbase tree plus systemd, systemd-sysv and dbus (provisioning step
// "systemd"; never modified: images copy it).
func (e Env) MinbaseSystemd() string { return filepath.Join(e.Cache, "minbase-systemd") }

// TrixiePolicy is one of the policy files the provisioning step "trixie" wrote with newer
// compilers: policy.34, policy.35 (Debian's policy at those versions), condxperm.34.
func (e Env) TrixiePolicy(name string) string {
	return filepath.Join(e.Cache, "trixie", "debian-policy", name)
}

// Missing returns the first provisioned input scenario s needs that is absent from the
// cache, or "".
func (e Env) Missing(s Scenario) string {
	for _, n := range s.Needs {
		var probe string
		switch n {
		case NeedMinbase:
			probe = filepath.Join(e.Minbase(), ".done")
		case NeedTrixie:
			probe = filepath.Join(e.Cache, "trixie", ".done")
		case NeedSidPolicy:
			probe = filepath.Join(e.Cache, "sid-policy", ".done")
		case NeedSystemd:
			probe = filepath.Join(e.MinbaseSystemd(), ".done")
		default:
			return n + " (unknown input)"
		}
		if _, err := os.Stat(probe); err != nil {
			return n
		}
	}
	return ""
}

// vmDir is where the harness caches what it builds.
func (e Env) vmDir() string { return filepath.Join(e.Cache, "vm") }

// BuildGo builds the main package pkg (relative to Repo, e.g. "./cmd/nsinit") as a static
// binary (CGO_ENABLED=0) and returns its path under Cache/vm/bin. The go command's build
// cache makes a rebuild without changes take well under a second.
func (e Env) BuildGo(pkg string) (string, error) {
	bin := filepath.Join(e.vmDir(), "bin")
	if err := os.MkdirAll(bin, 0o755); err != nil {
		return "", err
	}
	out := filepath.Join(bin, filepath.Base(pkg))
	tmp, err := os.CreateTemp(bin, ".build-*")
	if err != nil {
		return "", err
	}
	tmp.Close()
	cmd := exec.Command("go", "build", "-trimpath", "-ldflags=-s -w", "-o", tmp.Name(), pkg)
	cmd.Dir = e.Repo
	cmd.Env = append(os.Environ(), "CGO_ENABLED=0")
	if b, err := cmd.CombinedOutput(); err != nil {
		os.Remove(tmp.Name())
		return "", fmt.Errorf("go build %s: %v\n%s", pkg, err, b)
	}
	// Name the binary by its content and rename it into place: a concurrent run (the demo
	// while the tests run, a second checkout sharing the cache) never execs a half-written
	// file, nor another source's build of the same package.
	sum, err := fileSum(tmp.Name())
	if err != nil {
		return "", err
	}
	out += "-" + sum[:16]
	if err := os.Rename(tmp.Name(), out); err != nil {
		return "", err
	}
	pruneBuilds(bin, 24*time.Hour)
	return out, nil
}

// fileSum is the hex SHA-256 of the file at path.
func fileSum(path string) (string, error) {
	f, err := os.Open(path)
	if err != nil {
		return "", err
	}
	defer f.Close()
	h := sha256.New()
	if _, err := io.Copy(h, f); err != nil {
		return "", err
	}
	return hex.EncodeToString(h.Sum(nil)), nil
}

// pruneBuilds removes the builds in dir unused for longer than age (a rename refreshes
// nothing, so the modification time is the build's).
func pruneBuilds(dir string, age time.Duration) {
	ents, _ := os.ReadDir(dir)
	for _, e := range ents {
		if fi, err := e.Info(); err == nil && time.Since(fi.ModTime()) > age {
			os.Remove(filepath.Join(dir, e.Name()))
		}
	}
}

// requireStatic fails unless path is an ELF executable without a program interpreter:
// the images hold no dynamic loader, and the kernel reports a missing one as ENOENT for the
// program itself, which is easy to misread.
func requireStatic(path string) error {
	f, err := elf.Open(path)
	if err != nil {
		return err
	}
	defer f.Close()
	for _, p := range f.Progs {
		if p.Type == elf.PT_INTERP {
			return fmt.Errorf("%s is dynamically linked: build it with CGO_ENABLED=0 (make build)", path)
		}
	}
	return nil
}

// Initramfs returns the stage0 initramfs for stage0 (the built test/vm/stage0 binary) and
// kernel k: it holds /init (stage0), /dev/console, /newroot and k's boot modules numbered in
// dependency order, as the package ships them (.ko or .ko.xz: the kernel decompresses). It is
// cached under Cache/vm by the hash of its bytes.
func (e Env) Initramfs(stage0 string, k Kernel) (string, error) {
	init, err := os.ReadFile(stage0)
	if err != nil {
		return "", err
	}
	mods, err := ModuleOrder(k.Modules, BootModules)
	if err != nil {
		return "", err
	}
	var buf bytes.Buffer
	c := &cpioWriter{w: &buf}
	c.Dir("dev", 0o755)
	// The kernel opens /dev/console for PID 1's stdin, stdout and stderr before it runs
	// /init; without the node PID 1 starts with no standard streams at all.
	c.CharDev("dev/console", 0o600, 5, 1)
	c.Dir("newroot", 0o755)
	c.Dir("modules", 0o755)
	for i, m := range mods {
		data, err := os.ReadFile(m)
		if err != nil {
			return "", err
		}
		c.File(fmt.Sprintf("modules/%02d-%s", i, filepath.Base(m)), 0o644, data)
	}
	c.File("init", 0o755, init)
	if err := c.Close(); err != nil {
		return "", err
	}
	return e.cacheBytes("initramfs", ".cpio", buf.Bytes())
}

// argsArchive returns a cpio archive holding /stage0.args: args, each ended by a NUL byte.
// Appended to the initramfs (the kernel unpacks concatenated archives in turn), it hands
// stage0 an argument vector the kernel command line cannot express.
func argsArchive(args []string) ([]byte, error) {
	var buf bytes.Buffer
	c := &cpioWriter{w: &buf}
	var data []byte
	for _, a := range args {
		data = append(append(data, a...), 0)
	}
	c.File("stage0.args", 0o644, data)
	err := c.Close()
	return buf.Bytes(), err
}

// cacheBytes stores data as Cache/vm/<kind>-<hash><ext> unless it is there already and
// returns the path. The name is the content's hash, so a hit needs no further check.
func (e Env) cacheBytes(kind, ext string, data []byte) (string, error) {
	sum := sha256.Sum256(data)
	path := filepath.Join(e.vmDir(), kind+"-"+hex.EncodeToString(sum[:8])+ext)
	if touch(path) {
		return path, nil
	}
	if err := os.MkdirAll(e.vmDir(), 0o755); err != nil {
		return "", err
	}
	tmp, err := os.CreateTemp(e.vmDir(), ".tmp-"+kind+"-*")
	if err != nil {
		return "", err
	}
	_, err = tmp.Write(data)
	if err == nil {
		err = tmp.Chmod(0o644)
	}
	if cerr := tmp.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = os.Rename(tmp.Name(), path)
	}
	if err != nil {
		os.Remove(tmp.Name())
		return "", err
	}
	e.prune(kind, ext)
	return path, nil
}

// touch marks a cached artefact as used and reports whether it exists.
func touch(path string) bool {
	now := time.Now()
	return os.Chtimes(path, now, now) == nil
}

// keepCached is how many artefacts of a kind prune keeps: every nsinit rebuild makes new
// images (about 20 MB each on disk), and they must not pile up.
const keepCached = 16

// prune removes all but the keepCached most recently used Cache/vm/<kind>-*<ext> files.
func (e Env) prune(kind, ext string) {
	paths, _ := filepath.Glob(filepath.Join(e.vmDir(), kind+"-*"+ext))
	type aged struct {
		path string
		used time.Time
	}
	var files []aged
	for _, p := range paths {
		if fi, err := os.Stat(p); err == nil {
			files = append(files, aged{p, fi.ModTime()})
		}
	}
	sort.Slice(files, func(i, j int) bool { return files[i].used.After(files[j].used) })
	for i := keepCached; i < len(files); i++ {
		os.Remove(files[i].path)
	}
}
