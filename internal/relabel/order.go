package relabel

import (
	"container/heap"
	"slices"
	"sync"
)

// Ordered reports (Options.Ordered) come in the order setfiles prints its -v lines: its walk
// (fts up to libselinux 3.10, an openat walker after; one thread by default) visits a tree
// depth first, each directory before its entries and the entries in the order the kernel
// returns them. A walk position — the index path of walk.go's job.order — sorts the same
// way (a directory's position is a prefix of its entries'), so the sequencer holds each
// change with its position and writes it once no pending job can yield an earlier one: every
// change and every new job comes from a pending job at a position not before that job's, so
// the first position among the pending jobs bounds everything still to come. Two kinds of
// object are labelled after the walk (the start directory, so that an interrupted walk leaves
// its label as it was, and the first name of a hard-linked inode, known only once all names
// are seen); their changes are foretold where setfiles prints them (worker.foretell), and a
// hard link's line is written only if its name is still the first when its turn comes — by
// then every name before it has been seen.

// mark is a pending job of an ordered walk: its first position, and whether it is done.
type mark struct {
	pos  []uint32
	done bool
}

// held is a change waiting for its turn; link, when set, is the inode of a hard-linked name
// whose line is written only if the name is the inode's first.
type held struct {
	pos            []uint32
	path, from, to string
	link           *inodeKey
}

// marks and lines are heaps by position (container/heap).
type (
	marks []*mark
	lines []held
)

func (h marks) Len() int           { return len(h) }
func (h marks) Less(i, j int) bool { return slices.Compare(h[i].pos, h[j].pos) < 0 }
func (h marks) Swap(i, j int)      { h[i], h[j] = h[j], h[i] }
func (h *marks) Push(x any)        { *h = append(*h, x.(*mark)) }
func (h *marks) Pop() any          { return pop(h) }
func (h lines) Len() int           { return len(h) }
func (h lines) Less(i, j int) bool { return slices.Compare(h[i].pos, h[j].pos) < 0 }
func (h lines) Swap(i, j int)      { h[i], h[j] = h[j], h[i] }
func (h *lines) Push(x any)        { *h = append(*h, x.(held)) }
func (h *lines) Pop() any          { return pop(h) }

func pop[S ~[]T, T any](h *S) T {
	old := *h
	x := old[len(old)-1]
	var zero T
	old[len(old)-1] = zero
	*h = old[:len(old)-1]
	return x
}

// sequencer writes one walk's changes to the report in walk order.
type sequencer struct {
	mu      sync.Mutex
	out     *reporter
	links   *hardlinks
	pending marks // jobs not done, with done ones left until they reach the top
	held    lines
	peak    int // most changes held at once
}

// start registers a job whose changes and subjobs are at pos or after.
func (s *sequencer) start(pos []uint32) *mark {
	m := &mark{pos: pos}
	s.mu.Lock()
	heap.Push(&s.pending, m)
	s.mu.Unlock()
	return m
}

// finish marks a job done and writes the changes whose turn has come.
func (s *sequencer) finish(m *mark) {
	s.mu.Lock()
	defer s.mu.Unlock()
	m.done = true
	for s.pending.Len() > 0 && s.pending[0].done {
		heap.Pop(&s.pending)
	}
	s.flush()
}

// add holds a change at pos, made by a pending job.
func (s *sequencer) add(c held) {
	s.mu.Lock()
	heap.Push(&s.held, c)
	s.peak = max(s.peak, s.held.Len())
	s.mu.Unlock()
}

// flush writes the held changes before the first pending job (all of them when none is).
func (s *sequencer) flush() {
	for s.held.Len() > 0 && (s.pending.Len() == 0 || slices.Compare(s.held[0].pos, s.pending[0].pos) < 0) {
		c := heap.Pop(&s.held).(held)
		if c.link != nil && !s.links.first(*c.link, c.pos) {
			continue // another name of the inode comes first and is labelled through
		}
		s.out.add(c.path, c.from, c.to)
	}
}

// first reports whether pos is the position of the first name seen of inode id.
func (h *hardlinks) first(id inodeKey, pos []uint32) bool {
	h.mu.Lock()
	defer h.mu.Unlock()
	e := h.m[id]
	return e != nil && slices.Equal(e.winner().order, pos)
}
