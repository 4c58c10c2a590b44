package relabel

import (
	"cmp"
	"errors"
	"slices"
	"sync"

	"go.uber.org/zap"
	"golang.org/x/sys/unix"
)

// Hard links (setfiles' add_assoc): an inode with several names gets the context of its
// first name in a depth-first walk in directory order — the order setfiles' fts walk visits
// them — whatever the number of workers. The walk notes every name of a multiply-linked
// non-directory instead of labelling it, keeping per inode only the first name of each
// context (memory per inode, not per name: a user can make 65000 names of one file, each
// 5 KB long); labelLinks then labels each inode once, through its winning name, and reports
// the first names of the other contexts.

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

// linkEntry is one multiply-linked inode: how many names were found, and the first name
// of each context among them.
type linkEntry struct {
	id    inodeKey
	names int
	first []linkName
}

// winner returns the first name of all.
func (e *linkEntry) winner() *linkName {
	w := &e.first[0]
	for i := range e.first[1:] {
		if slices.Compare(e.first[i+1].order, w.order) < 0 {
			w = &e.first[i+1]
		}
	}
	return w
}

// hardlinks is the table of multiply-linked inodes of one walk.
type hardlinks struct {
	mu sync.Mutex
	m  map[inodeKey]*linkEntry
}

// add records name key (at walk position order+idx, context ctx) of the inode st describes.
// key is copied only when the name is kept.
func (h *hardlinks) add(st *unix.Statx_t, order []uint32, idx uint32, key []byte, ctx string) {
	id := inodeKey{st.Dev_major, st.Dev_minor, st.Ino}
	h.mu.Lock()
	defer h.mu.Unlock()
	e := h.m[id]
	if e == nil {
		e = &linkEntry{id: id}
		h.m[id] = e
	}
	e.names++
	for i := range e.first {
		if f := &e.first[i]; f.ctx == ctx {
			if comparePos(order, idx, f.order) < 0 {
				f.order, f.key = position(order, idx), string(key)
			}
			return
		}
	}
	e.first = append(e.first, linkName{order: position(order, idx), key: string(key), ctx: ctx})
}

// position returns the walk position order+idx as a new slice.
func position(order []uint32, idx uint32) []uint32 {
	pos := make([]uint32, len(order)+1)
	copy(pos, order)
	pos[len(order)] = idx
	return pos
}

// comparePos compares the walk position order+idx with pos as slices.Compare would,
// without building the former.
func comparePos(order []uint32, idx uint32, pos []uint32) int {
	n := min(len(order), len(pos))
	if c := slices.Compare(order[:n], pos[:n]); c != 0 {
		return c
	}
	if len(order) >= len(pos) {
		return 1 // pos is a proper prefix of order+idx
	}
	if c := cmp.Compare(idx, pos[len(order)]); c != 0 {
		return c
	}
	return cmp.Compare(len(order)+1, len(pos))
}

// labelLinks labels every recorded inode through its first name and returns the counters
// and the number of inodes it labelled (or tried to).
func (w *walk) labelLinks() (*Stats, uint64) {
	entries := make([]*linkEntry, 0, len(w.links.m))
	for _, e := range w.links.m {
		entries = append(entries, e)
	}
	w.links.m = nil
	slices.SortFunc(entries, func(a, b *linkEntry) int { return slices.Compare(a.winner().order, b.winner().order) })
	k := newWorker(w)
	k.late = true
	if len(entries) == 0 {
		return &k.stats, 0
	}
	var wg sync.WaitGroup
	var linked uint64
	k.start(&wg, func() {
		for _, e := range entries {
			if w.stopped() {
				return
			}
			k.link(e)
			linked++
		}
	})
	wg.Wait()
	return &k.stats, linked
}

// errReplaced reports a name that no longer leads to the inode found during the walk.
var errReplaced = errors.New("replaced during the relabel")

// link labels the inode of e through its first name and reports the other contexts' first
// names.
func (k *worker) link(e *linkEntry) {
	win := e.winner()
	if !k.w.oneCall {
		k.stats.Skipped += uint64(e.names - 1)
	}
	if len(e.first) > 1 {
		k.stats.Conflicts++
	}
	for _, n := range e.first {
		if n.ctx != win.ctx {
			k.w.log.Warn("conflicting specifications for hard links, using the first name's",
				zap.String("path", k.w.hostPath(n.key)), zap.String("context", n.ctx),
				zap.String("first", k.w.hostPath(win.key)), zap.String("using", win.ctx))
		}
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
