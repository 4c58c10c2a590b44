// Command floor is the syscall floor of a relabel, for scripts/bench/bench.sh: a parallel walk
// that does, per object, only what any labeller must do on an unlabelled tree (read the
// directory, lgetxattr and lsetxattr of security.selinux), with no file_contexts matching.
// A relabeller cannot be much faster than this on the same tree; the benchmark reports
// `nsinit relabel` as a multiple of it.
//
//	floor [-jobs N] [-strip] ROOT
//
// Directories are read with getdents (the entry types come from it: no stat per object) by
// N workers (default: one per CPU) sharing a stack of directories. Every object, ROOT
// included, gets its security.selinux read and then set to a fixed context, by default with
// getxattrat + setxattrat relative to the open directory (Linux >= 6.13: the kernel resolves
// one name, the cheapest form of the two calls), else (-abs, or an older kernel) with
// lgetxattr + lsetxattr by absolute path, the calls setfiles makes. It prints
// "objects=N seconds=S mode=at|abs".
//
// With -stat it also calls statx per entry (type, inode, link count, mount id: what a real
// labeller needs to handle hard links and mounts).
//
// With -create it tries setxattrat(XATTR_CREATE) first and reads and sets only when a label
// exists (EEXIST): one call per object on an unlabelled tree, a bound for labellers that skip
// the read on first boot.
//
// With -strip it removes security.selinux instead (lremovexattr; ENODATA ignored): the
// benchmark strips the trees with it before every relabel run.
package main

import (
	"bytes"
	"errors"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"sync"
	"sync/atomic"
	"time"
	"unsafe"

	"golang.org/x/sys/unix"
)

// xattrName is XATTR_NAME_SELINUX (include/uapi/linux/xattr.h).
const xattrName = "security.selinux"

// label is what the floor writes: a typical context with its trailing NUL, as setfiles writes.
var label = []byte("system_u:object_r:usr_t:s0\x00")

// xattrArgs is struct xattr_args (include/uapi/linux/xattr.h) of getxattrat/setxattrat.
type xattrArgs struct {
	value uint64
	size  uint32
	flags uint32
}

// Syscall numbers of getxattrat/setxattrat (arch/x86/entry/syscalls/syscall_64.tbl, 6.13).
const (
	sysSetxattrat = 463
	sysGetxattrat = 464
)

var xattrNameC = append([]byte(xattrName), 0)

// xattrAt calls getxattrat or setxattrat(dirfd, name, AT_SYMLINK_NOFOLLOW, security.selinux)
// with the buffer and (setxattrat) XATTR_* flags.
func xattrAt(nr uintptr, dirfd int, name *byte, buf []byte, flags uint32) unix.Errno {
	a := xattrArgs{value: uint64(uintptr(unsafe.Pointer(unsafe.SliceData(buf)))), size: uint32(len(buf)), flags: flags}
	_, _, e := unix.Syscall6(nr, uintptr(dirfd), uintptr(unsafe.Pointer(name)), unix.AT_SYMLINK_NOFOLLOW,
		uintptr(unsafe.Pointer(&xattrNameC[0])), uintptr(unsafe.Pointer(&a)), unsafe.Sizeof(a))
	return e
}

// walker shares a stack of directories between workers.
type walker struct {
	mu      sync.Mutex
	cond    sync.Cond
	stack   []string
	pending int // directories pushed and not finished
	objects atomic.Int64
	errs    atomic.Int64
	visit   func(path string, buf []byte)
	// visitAt, when set, replaces visit for entries: the NUL-terminated name in the open
	// directory dirfd.
	visitAt func(dirfd int, name *byte, buf []byte)
}

func (w *walker) push(dir string) {
	w.mu.Lock()
	w.stack = append(w.stack, dir)
	w.pending++
	w.mu.Unlock()
	w.cond.Signal()
}

// pop returns the next directory, or false when the walk is over.
func (w *walker) pop() (string, bool) {
	w.mu.Lock()
	defer w.mu.Unlock()
	for len(w.stack) == 0 {
		if w.pending == 0 {
			return "", false
		}
		w.cond.Wait()
	}
	d := w.stack[len(w.stack)-1]
	w.stack = w.stack[:len(w.stack)-1]
	return d, true
}

func (w *walker) done() {
	w.mu.Lock()
	w.pending--
	end := w.pending == 0
	w.mu.Unlock()
	if end {
		w.cond.Broadcast()
	}
}

// work reads directories until the walk is over: each entry is visited, subdirectories
// (by d_type) are pushed. Raw openat/getdents64/close: no os.File (whose netpoller
// registration and fcntl calls are no part of the floor).
func (w *walker) work() {
	buf := make([]byte, 256)
	dents := make([]byte, 32<<10)
	for {
		dir, ok := w.pop()
		if !ok {
			return
		}
		fd, err := unix.Open(dir, unix.O_RDONLY|unix.O_DIRECTORY|unix.O_NOFOLLOW|unix.O_CLOEXEC, 0)
		if err != nil {
			w.errs.Add(1)
			w.done()
			continue
		}
		for {
			n, err := unix.Getdents(fd, dents)
			if err != nil || n <= 0 {
				if err != nil {
					w.errs.Add(1)
				}
				break
			}
			for off := 0; off < n; {
				// struct linux_dirent64: ino u64, off s64, reclen u16, type u8, name.
				reclen := int(*(*uint16)(unsafe.Pointer(&dents[off+16])))
				typ := dents[off+18]
				name := dents[off+19 : off+reclen]
				off += reclen
				name = name[:bytes.IndexByte(name, 0)+1] // with its NUL
				if string(name) == ".\x00" || string(name) == "..\x00" {
					continue
				}
				var p string
				if w.visitAt != nil {
					w.visitAt(fd, &name[0], buf)
				}
				if w.visitAt == nil || typ == unix.DT_DIR {
					p = dir + "/" + string(name[:len(name)-1])
				}
				if w.visitAt == nil {
					w.visit(p, buf)
				}
				w.objects.Add(1)
				if typ == unix.DT_DIR {
					w.push(p)
				}
			}
		}
		unix.Close(fd)
		w.done()
	}
}

func main() {
	jobs := flag.Int("jobs", runtime.NumCPU(), "`N` parallel workers")
	strip := flag.Bool("strip", false, "remove security.selinux instead of setting it")
	abs := flag.Bool("abs", false, "use lgetxattr/lsetxattr by absolute path even where getxattrat exists")
	stat := flag.Bool("stat", false, "also statx each entry (what a labeller needs for link counts and mounts)")
	create := flag.Bool("create", false, "create-first: setxattr with XATTR_CREATE, get and set only when a label exists")
	flag.Parse()
	if flag.NArg() != 1 {
		fmt.Fprintln(os.Stderr, "usage: floor [-jobs N] [-strip] ROOT")
		os.Exit(2)
	}
	root, err := filepath.Abs(flag.Arg(0))
	if err != nil {
		fmt.Fprintln(os.Stderr, "floor:", err)
		os.Exit(1)
	}
	w := &walker{}
	w.cond.L = &w.mu
	w.visit = func(p string, buf []byte) {
		_, _ = unix.Lgetxattr(p, xattrName, buf)
		if err := unix.Lsetxattr(p, xattrName, label, 0); err != nil {
			w.errs.Add(1)
		}
	}
	mode := "abs"
	if !*abs && !*strip && xattrAt(sysGetxattrat, unix.AT_FDCWD, &[]byte(root + "\x00")[0], nil, 0) != unix.ENOSYS {
		mode = "at"
		w.visitAt = func(dirfd int, name *byte, buf []byte) {
			xattrAt(sysGetxattrat, dirfd, name, buf, 0)
			if e := xattrAt(sysSetxattrat, dirfd, name, label, 0); e != 0 {
				w.errs.Add(1)
			}
		}
		if *create {
			mode = "at-create"
			w.visitAt = func(dirfd int, name *byte, buf []byte) {
				e := xattrAt(sysSetxattrat, dirfd, name, label, unix.XATTR_CREATE)
				if e == unix.EEXIST {
					xattrAt(sysGetxattrat, dirfd, name, buf, 0)
					e = xattrAt(sysSetxattrat, dirfd, name, label, 0)
				}
				if e != 0 {
					w.errs.Add(1)
				}
			}
		}
	}
	if *stat {
		if w.visitAt == nil {
			fmt.Fprintln(os.Stderr, "floor: -stat needs getxattrat (Linux >= 6.13) and no -abs")
			os.Exit(2)
		}
		mode += "+statx"
		visit := w.visitAt
		w.visitAt = func(dirfd int, name *byte, buf []byte) {
			var st unix.Statx_t
			_, _, e := unix.Syscall6(unix.SYS_STATX, uintptr(dirfd), uintptr(unsafe.Pointer(name)),
				unix.AT_SYMLINK_NOFOLLOW, unix.STATX_TYPE|unix.STATX_MODE|unix.STATX_INO|unix.STATX_NLINK|unix.STATX_MNT_ID,
				uintptr(unsafe.Pointer(&st)), 0)
			if e != 0 {
				w.errs.Add(1)
			}
			visit(dirfd, name, buf)
		}
	}
	if *strip {
		w.visit = func(p string, _ []byte) {
			if err := unix.Lremovexattr(p, xattrName); err != nil && !errors.Is(err, unix.ENODATA) {
				w.errs.Add(1)
			}
		}
	}
	t0 := time.Now()
	w.visit(root, make([]byte, 256))
	w.objects.Add(1)
	w.push(root)
	var wg sync.WaitGroup
	for range max(*jobs, 1) {
		wg.Go(w.work)
	}
	wg.Wait()
	fmt.Printf("objects=%d seconds=%.4f mode=%s\n", w.objects.Load(), time.Since(t0).Seconds(), mode)
	if n := w.errs.Load(); n > 0 {
		fmt.Fprintf(os.Stderr, "floor: %d errors\n", n)
		os.Exit(1)
	}
}
