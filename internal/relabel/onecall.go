package relabel

import (
	"path/filepath"
	"sync"
	"unsafe"

	"golang.org/x/sys/unix"

	"github.com/nsinit/nsinit/internal/mountinfo"
)

// One call per object. A labeller needs, for each non-directory, its type, whether it is a
// mount point and whether it has other names (setfiles' first-name rule for hard links);
// statx answers all three but doubles the system calls of a relabel. Here the type comes
// from getdents (d_type), the mount points from one read of the mount table, and the link
// count is asked only of an object whose label must be overwritten: a label that is
// already right, or one created where there was none, is the same whatever the other
// names of the inode want, except when one of those names wants another context. That
// name then finds the inode labelled otherwise, reads the link count, and defers the
// inode: after the walk, a second walk (statx of every non-directory, the cost the walk
// saved) finds every name of the deferred inodes, and they are labelled through their
// first name as before (links.go). A tree without conflicting hard links is labelled
// with one call per object (create, or read when the label is already right); Debian's
// trees have none.
//
// Not used for dry runs and reports (-n, -v, --check: their lines are per name, in walk
// order), where the mount table cannot be read, or for objects without a d_type.

// mountTable is the mount points below one walk's start directory, by lookup key. Only the
// non-directories among them matter (file bind mounts: a container's /etc/hosts,
// /etc/resolv.conf), but they are not told apart: a stat of a mount point would ask the
// mounted filesystem (a dead NFS server hangs it), and a directory mount point is refused
// anyway when the walk opens it beneath its parent (EXDEV, openSubdir).
type mountTable map[string]bool

// fileMounts reads the mount table (procDir/self/mountinfo) and returns the mount points
// below the host directory start, keyed relative to root (lookup keys); ok is false when
// the table or the paths cannot be resolved, and the walk then uses statx.
func fileMounts(procDir, root, start string) (mountTable, bool) {
	mounts, err := mountinfo.Read(procDir)
	if err != nil {
		return nil, false
	}
	realRoot, err := filepath.EvalSymlinks(root)
	if err != nil {
		return nil, false
	}
	realStart, err := filepath.EvalSymlinks(start)
	if err != nil {
		return nil, false
	}
	t := mountTable{}
	for _, m := range mounts {
		if !mountinfo.Below(m.Point, realStart) {
			continue
		}
		key := m.Point
		if realRoot != "/" {
			key = m.Point[len(realRoot):]
		}
		t[key] = true
	}
	return t, true
}

// dtModes are the file types of getdents d_types (DT_* in include/linux/fs_types.h); 0 for
// DT_UNKNOWN and directories (walked, not labelled here), which need a statx.
var dtModes = [...]uint32{unix.DT_REG: unix.S_IFREG, unix.DT_LNK: unix.S_IFLNK, unix.DT_CHR: unix.S_IFCHR,
	unix.DT_BLK: unix.S_IFBLK, unix.DT_FIFO: unix.S_IFIFO, unix.DT_SOCK: unix.S_IFSOCK, unix.DT_WHT: 0}

// dtMode is the file type of d_type typ, 0 when a statx must tell.
func dtMode(typ uint8) uint32 {
	if int(typ) < len(dtModes) {
		return dtModes[typ]
	}
	return 0
}

// deferred is the set of inodes whose names found them labelled for another context:
// their names are collected by a second walk.
type deferred struct {
	mu sync.Mutex
	m  map[inodeKey]bool
}

func (d *deferred) add(id inodeKey) {
	d.mu.Lock()
	if d.m == nil {
		d.m = map[inodeKey]bool{}
	}
	d.m[id] = true
	d.mu.Unlock()
}

// quick handles the non-directory name (NUL-terminated) of type mode in dir without a
// statx: looked up, then labelled; label asks admit before overwriting a label.
func (k *worker) quick(dir *dirRef, name *byte, mode uint32, order []uint32, idx uint32) {
	k.order, k.idx, k.top = order, idx, false
	k.see()
	key := unsafe.String(unsafe.SliceData(k.key), len(k.key))
	if k.w.fileMounts[key] {
		k.stats.Skipped++
		return
	}
	ctx, ok := k.w.o.Labeler.Lookup(key, mode)
	if !ok {
		k.stats.NoMatch++
		return
	}
	k.unstated = true
	k.label(dir, name, ctx)
	k.unstated = false
}

// admit is asked by label before it overwrites the label of an object quick handled: it
// reads what statx would have told, and reports whether the write may go ahead. A name of
// a multiply-linked inode defers the inode (counted skipped, as the names labelled through
// their first name are); a name that vanished, or now is a mount point, is skipped.
func (k *worker) admit(dir *dirRef, name *byte) bool {
	if err := statxAt(dir.fd, name, statxNoFollow, &k.st); err != nil {
		if err == unix.ENOENT {
			k.stats.Skipped++
			return false
		}
		k.fail("statx", err)
		return false
	}
	switch {
	case k.mountPoint() || uint32(k.st.Mode)&unix.S_IFMT == unix.S_IFDIR:
		// Mounted, or replaced by a directory, since the mount table and getdents were read.
		k.stats.Skipped++
		return false
	case k.st.Nlink > 1:
		k.w.deferred.add(inodeKey{k.st.Dev_major, k.st.Dev_minor, k.st.Ino})
		k.stats.Skipped++
		return false
	}
	return true
}

// collectNames is the second walk: every name of the deferred inodes, with its context and
// walk position, into w.links. Its own counters are dropped, except errors.
func (w *walk) collectNames(root *job) Stats {
	c := &walk{run: w.run, ctx: w.ctx, startKey: w.startKey, startFd: w.startFd, baseKey: w.baseKey,
		mnt: w.mnt, hasMnt: w.hasMnt, devMaj: w.devMaj, devMin: w.devMin, collect: w.deferred.m}
	c.cond.L = &c.mu
	c.links.m = w.links.m
	// The first walk read the start directory to its end.
	if _, err := unix.Seek(w.startFd.fd, 0, 0); err != nil {
		w.fail(w.startKey, "lseek", err)
		return Stats{Errors: 1}
	}
	c.push(root)
	var s Stats
	for _, k := range c.work() {
		s.Errors += k.stats.Errors
	}
	if c.stop.Load() {
		w.stop.Store(true)
	}
	return s
}

// collectName is the second walk's handling of a non-directory (entry has the statx in
// k.st): a name of a deferred inode is noted with its context.
func (k *worker) collectName(mode uint32) {
	if k.st.Nlink < 2 || !k.w.collect[inodeKey{k.st.Dev_major, k.st.Dev_minor, k.st.Ino}] {
		return
	}
	key := unsafe.String(unsafe.SliceData(k.key), len(k.key))
	if ctx, ok := k.w.o.Labeler.Lookup(key, mode); ok {
		k.w.links.add(&k.st, k.order, k.idx, k.key, ctx)
	}
}
