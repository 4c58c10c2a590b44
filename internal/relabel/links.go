package relabel

import (
	"errors"
	"slices"
	"sync"

	"go.uber.org/zap"
	"golang.org/x/sys/unix"
)

// Hard links (setfiles' add_assoc): an inode with several names gets the context of its
// first name in a depth-first walk in directory order — the order setfiles' fts walk visits
// them — whatever the number of workers. The walk records every name of a multiply-linked
// non-directory instead of labelling it; labelLinks then labels each inode once, through
// its winning name, and reports names whose context differs.

// inodeKey identifies an inode.
type inodeKey struct {
	major, minor uint32
	ino          uint64
}

// linkName is one name of a multiply-linked inode.
type linkName struct {
	order []uint32 // walk position: directory order path, then the index in the directory
	key   string
	ctx   string
}

// linkEntry is one multiply-linked inode and the names found for it.
type linkEntry struct {
	id    inodeKey
	names []linkName
}

// hardlinks is the table of multiply-linked inodes of one walk.
type hardlinks struct {
	mu sync.Mutex
	m  map[inodeKey]*linkEntry
}

// add records name key (at walk position order+idx, context ctx) of the inode st describes.
func (h *hardlinks) add(st *unix.Statx_t, order []uint32, idx uint32, key, ctx string) {
	pos := make([]uint32, len(order)+1)
	copy(pos, order)
	pos[len(order)] = idx
	id := inodeKey{st.Dev_major, st.Dev_minor, st.Ino}
	h.mu.Lock()
	e := h.m[id]
	if e == nil {
		e = &linkEntry{id: id}
		h.m[id] = e
	}
	e.names = append(e.names, linkName{order: pos, key: key, ctx: ctx})
	h.mu.Unlock()
}

// labelLinks labels every recorded inode through its first name and returns the counters.
func (w *walk) labelLinks() *Stats {
	entries := make([]*linkEntry, 0, len(w.links.m))
	for _, e := range w.links.m {
		slices.SortFunc(e.names, func(a, b linkName) int { return slices.Compare(a.order, b.order) })
		entries = append(entries, e)
	}
	w.links.m = nil
	slices.SortFunc(entries, func(a, b *linkEntry) int { return slices.Compare(a.names[0].order, b.names[0].order) })
	k := newWorker(w)
	if len(entries) == 0 {
		return &k.stats
	}
	var wg sync.WaitGroup
	k.start(&wg, func() {
		for _, e := range entries {
			if w.stopped() {
				return
			}
			k.link(e)
		}
	})
	wg.Wait()
	return &k.stats
}

// errReplaced reports a name that no longer leads to the inode found during the walk.
var errReplaced = errors.New("replaced during the relabel")

// link labels the inode of e through its first name and reports conflicting names.
func (k *worker) link(e *linkEntry) {
	win := e.names[0]
	k.stats.Skipped += uint64(len(e.names) - 1)
	conflict := false
	for _, n := range e.names[1:] {
		if n.ctx != win.ctx {
			conflict = true
			k.w.log.Warn("conflicting specifications for hard links, using the first name's",
				zap.String("path", k.w.hostPath(n.key)), zap.String("context", n.ctx),
				zap.String("first", k.w.hostPath(win.key)), zap.String("using", win.ctx))
		}
	}
	if conflict {
		k.stats.Conflicts++
	}
	k.key = append(k.key[:0], win.key...)
	dir, name, err := k.w.openParent(win.key)
	if err != nil {
		k.fail("open", err)
		return
	}
	defer dir.release()
	cname := []byte(name)
	if err := statxAt(dir.fd, &cname[0], statxNoFollow, &k.st); err != nil {
		k.fail("statx", err)
		return
	}
	if (inodeKey{k.st.Dev_major, k.st.Dev_minor, k.st.Ino}) != e.id {
		k.fail("statx", errReplaced)
		return
	}
	k.label(dir, &cname[0], win.ctx)
}
