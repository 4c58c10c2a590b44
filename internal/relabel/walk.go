package relabel

import (
	"bytes"
	"context"
	"errors"
	"path"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"unsafe"

	"go.uber.org/zap"
	"golang.org/x/sys/unix"
)

// dirRef is an open directory shared by the jobs of its subdirectories: it is closed when
// its own job and every child job have opened what they need from it.
type dirRef struct {
	fd   int
	refs atomic.Int32
}

func (d *dirRef) release() {
	if d.refs.Add(-1) == 0 {
		unix.Close(d.fd)
	}
}

// job is one unit of work: a directory to open (relative to parent), label and read, or —
// for a start path that is not a directory — one object to label.
type job struct {
	parent *dirRef
	name   string // in parent, NUL-terminated
	key    string
	order  []uint32 // position in a depth-first walk in directory order (hard links)
	single bool     // label this one non-directory object only
	batch  []byte   // getdents records of parent, for another worker to handle (a batch job)
	idx    uint32   // batch: walk position of the entry before the batch's first
	mark   *mark    // in an ordered walk, the job's place in the sequencer
}

// first returns the first walk position of the job's objects.
func (j *job) first() []uint32 {
	if j.batch != nil {
		return position(j.order, j.idx+1)
	}
	return j.order
}

// walk is one start path: the directories of one filesystem (mount) below it.
type walk struct {
	*run
	ctx      context.Context
	startKey string
	startFd  *dirRef // directory of the start (the start itself, or its parent for a file)
	baseKey  string  // key of startFd
	startCtx string  // context of a start directory, labelled last ("": none)
	mnt      uint64  // mount id of the start, when the kernel reports it
	hasMnt   bool
	devMaj   uint32
	devMin   uint32

	mu      sync.Mutex
	cond    sync.Cond
	stack   []*job
	pending int

	idle     atomic.Int32 // workers waiting for a job
	stop     atomic.Bool  // cancelled, or the filesystem cannot store labels
	readOnly atomic.Bool
	roOnce   sync.Once
	nlOnce   sync.Once

	links hardlinks
	seq   *sequencer // Options.Ordered: the report in setfiles' order

	// oneCall: non-directories are labelled without a statx (onecall.go); fileMounts are
	// then the non-directory mount points, deferred the inodes left to collectNames.
	oneCall    bool
	fileMounts mountTable
	deferred   deferred
	// collect, set in the second walk of a one-call walk, holds the deferred inodes whose
	// names it collects; it labels nothing.
	collect map[inodeKey]bool
}

// walk labels the tree at key and returns its counters.
func (r *run) walk(ctx context.Context, key string) Stats {
	w := &walk{run: r, ctx: ctx, startKey: key}
	w.cond.L = &w.mu
	w.links.m = map[inodeKey]*linkEntry{}
	if r.report != nil && r.o.Ordered {
		w.seq = &sequencer{out: r.report, links: &w.links}
	}
	var s Stats
	fail := func(op string, err error) Stats {
		s.Seen, s.Errors = 1, 1
		r.fail(key, op, err)
		return s
	}
	if r.excluded([]byte(key)) {
		r.log.Info("start path is excluded", zap.String("path", r.hostPath(key)))
		return s
	}
	// The start's parent, opened beneath the root without following any symlink.
	rel := "."
	if key != "/" {
		rel = key[1:]
	}
	parentRel, name := path.Dir(rel), path.Base(rel)
	pfd, err := openBeneath(r.rootFd, parentRel, unix.O_PATH|unix.O_DIRECTORY, false)
	if err != nil {
		return fail("open", err)
	}
	parent := &dirRef{fd: pfd}
	parent.refs.Store(1)
	defer parent.release()
	var st unix.Statx_t
	cname := name + "\x00"
	if err := statxAt(pfd, unsafe.StringData(cname), statxNoFollow, &st); err != nil {
		return fail("statx", err)
	}
	w.devMaj, w.devMin = st.Dev_major, st.Dev_minor
	w.mnt, w.hasMnt = st.Mnt_id, st.Mask&unix.STATX_MNT_ID != 0
	w.startFd, w.baseKey = parent, path.Dir(key)
	j := &job{parent: parent, name: cname, key: key, single: st.Mode&unix.S_IFMT != unix.S_IFDIR}
	if j.single {
		parent.refs.Add(1) // the job's; the walk keeps its own for hard links
	} else {
		// The start is a directory, and the walk's reference for mounts is that directory.
		fd, err := openDirAt(pfd, unsafe.StringData(cname))
		if err != nil {
			return fail("open", err)
		}
		var sfs unix.Statfs_t
		if unix.Fstatfs(fd, &sfs) == nil && sfs.Flags&unix.ST_RDONLY != 0 && !r.o.DryRun {
			w.markReadOnly()
		}
		w.startFd, w.baseKey = &dirRef{fd: fd}, key
		w.startFd.refs.Store(1)
		defer w.startFd.release()
		j = &job{key: key}
		if !r.o.DryRun && r.report == nil && !r.o.statxAlways {
			w.fileMounts, w.oneCall = fileMounts(r.procDir(), r.root, r.hostPath(key))
		}
	}
	w.push(j)
	for _, wk := range w.work() {
		s.Add(&wk.stats)
	}
	if w.seq != nil {
		r.log.Debug("ordered report", zap.String("path", r.hostPath(key)), zap.Int("most_changes_held", w.seq.peak))
	}
	if len(w.deferred.m) > 0 && !w.stop.Load() {
		cs := w.collectNames(&job{key: key})
		s.Add(&cs)
	}
	if !w.stop.Load() {
		ls, linked := w.labelLinks()
		s.Add(ls)
		if w.oneCall {
			// Every name was counted when the walk met it; the inode's label replaces
			// one of its skipped names.
			s.Skipped -= linked
		}
	}
	s.Add(w.labelStart())
	return s
}

// work runs the walk's workers until its jobs are done and returns them (their counters).
func (w *walk) work() []*worker {
	workers := make([]*worker, w.jobs())
	var wg sync.WaitGroup
	for i := range workers {
		workers[i] = newWorker(w)
		workers[i].start(&wg, workers[i].loop)
	}
	wg.Wait()
	return workers
}

// labelStart labels the start directory, after everything below it: an interrupted walk
// leaves its label as it was, so that a root with the right label says the last walk over
// it ended (the first boot's check of the root relies on it).
func (w *walk) labelStart() *Stats {
	k := newWorker(w)
	k.late = true
	if w.startCtx == "" {
		return &k.stats
	}
	k.key = append(k.key[:0], w.startKey...)
	if w.stopped() {
		k.stats.Skipped++
	} else {
		k.label(w.startFd, nil, w.startCtx)
	}
	return &k.stats
}

// markReadOnly notes (once) that the filesystem is read-only: changes are counted, not made.
func (w *walk) markReadOnly() {
	w.readOnly.Store(true)
	w.roOnce.Do(func() {
		w.log.Warn("read-only filesystem: labels not changed", zap.String("path", w.hostPath(w.startKey)))
	})
}

// markNoLabels notes (once) that the filesystem cannot store labels and stops the walk.
func (w *walk) markNoLabels() {
	w.stop.Store(true)
	w.nlOnce.Do(func() {
		w.log.Warn("filesystem cannot store security labels: skipped", zap.String("path", w.hostPath(w.startKey)))
	})
}

// stopped reports whether the walk must end: cancelled or nothing more to do.
func (w *walk) stopped() bool {
	if w.stop.Load() {
		return true
	}
	if w.ctx.Err() != nil {
		w.stop.Store(true)
		return true
	}
	return false
}

func (w *walk) push(j *job) {
	if w.seq != nil {
		j.mark = w.seq.start(j.first())
	}
	w.mu.Lock()
	w.stack = append(w.stack, j)
	w.pending++
	w.mu.Unlock()
	w.cond.Signal()
}

// pop returns the next job (last pushed: depth first keeps few directories open), or nil
// when every job is done.
func (w *walk) pop() *job {
	w.mu.Lock()
	defer w.mu.Unlock()
	for len(w.stack) == 0 && w.pending > 0 {
		w.idle.Add(1)
		w.cond.Wait()
		w.idle.Add(-1)
	}
	if len(w.stack) == 0 {
		return nil
	}
	j := w.stack[len(w.stack)-1]
	w.stack[len(w.stack)-1] = nil
	w.stack = w.stack[:len(w.stack)-1]
	return j
}

func (w *walk) done() {
	w.mu.Lock()
	w.pending--
	last := w.pending == 0
	w.mu.Unlock()
	if last {
		w.cond.Broadcast()
	}
}

// worker labels objects named relative to their open parent: getxattrat(parent, "name"),
// or, where the kernel lacks it, lgetxattr("name") after fchdir(parent) on an OS thread
// whose working directory is private (CLONE_FS); where unshare is refused too (seccomp),
// names go through /proc/self/fd/N/.
type worker struct {
	w        *walk
	procPath bool
	cwd      *dirRef // directory the thread's cwd is on (nil: none yet)
	dents    []byte
	key      []byte
	xbuf     []byte
	val      []byte
	pbuf     []byte
	st       unix.Statx_t
	stats    Stats
	order    []uint32 // walk position of the object being labelled: order+idx, or top
	idx      uint32
	top      bool   // the object is the start of the walk
	late     bool   // labels after the walk: an ordered report has the changes already (foretell)
	later    []*job // ordered walk: subdirectories found by the current job, pushed when it ends
	unseen   uint64 // seen objects not yet added to run.seen
	create   bool   // forced relabel: try to create the label before reading it (label)
	unstated bool   // the object being labelled has not been statx'ed (quick; label asks admit)
	streak   int    // objects in a row where create was the wrong guess (mispredict)
}

func newWorker(w *walk) *worker {
	return &worker{w: w, procPath: w.o.procPath, dents: make([]byte, 32<<10), key: make([]byte, 0, 512),
		xbuf: make([]byte, 256), val: make([]byte, 0, 256), pbuf: make([]byte, 0, 512), create: w.o.Force && !w.o.DryRun}
}

// start runs fn on a new goroutine. Without getxattrat, that goroutine is locked to an OS
// thread whose working directory is private (unshare(CLONE_FS)); the thread is never
// unlocked, so it dies with the goroutine instead of running other code with that working
// directory. The main thread is avoided: Go cannot end it, and its working directory is the
// process's (/proc/PID/cwd). Where a private working directory is impossible, fn runs with
// k.procPath set.
func (k *worker) start(wg *sync.WaitGroup, fn func()) {
	wg.Add(1)
	if k.w.xattrAt {
		// Every object is named relative to an open directory fd: no working directory is
		// involved, so any thread will do.
		go func() {
			defer wg.Done()
			fn()
		}()
		return
	}
	go k.thread(wg, fn, 0)
}

func (k *worker) thread(wg *sync.WaitGroup, fn func(), try int) {
	runtime.LockOSThread()
	onMain := unix.Gettid() == unix.Getpid()
	if onMain && try < 8 {
		runtime.UnlockOSThread()
		go k.thread(wg, fn, try+1) // most likely lands on another thread
		return
	}
	defer wg.Done()
	if k.procPath || onMain || unix.Unshare(unix.CLONE_FS) != nil {
		k.procPath = true
		runtime.UnlockOSThread()
	}
	fn()
}

// loop runs jobs until the walk is done.
func (k *worker) loop() {
	for j := k.w.pop(); j != nil; j = k.w.pop() {
		k.run(j)
		if j.mark != nil {
			// Pushed in reverse, the subdirectories are popped in directory order, so
			// that the sequencer's pending positions advance as the walk does.
			for i := len(k.later) - 1; i >= 0; i-- {
				k.w.push(k.later[i])
				k.later[i] = nil
			}
			k.later = k.later[:0]
			k.w.seq.finish(j.mark)
		}
		k.w.done()
	}
	k.flushSeen()
}

func (k *worker) flushSeen() {
	k.w.seen.Add(k.unseen)
	k.unseen = 0
}

func (k *worker) see() {
	if k.w.collect != nil {
		return // the second walk meets objects the first one counted
	}
	k.stats.Seen++
	if k.unseen++; k.unseen == 256 {
		k.flushSeen()
	}
}

// run executes one job and releases its hold on the parent.
func (k *worker) run(j *job) {
	if j.parent != nil {
		defer j.parent.release()
	}
	if k.w.stopped() {
		return
	}
	k.key = append(k.key[:0], j.key...)
	if j.batch != nil {
		k.records(j.parent, j.batch, j.order, j.idx)
		return
	}
	if j.single {
		k.entry(j.parent, unsafe.StringData(j.name), j.order, 0)
		return
	}
	dir := k.w.startFd
	if j.parent != nil {
		if h := k.w.o.hook; h != nil {
			h(hookBeforeOpenDir, j.key)
		}
		fd, err := openSubdir(j.parent.fd, unsafe.StringData(j.name))
		switch {
		case err == unix.EXDEV:
			// A mount point: neither labelled nor descended.
			k.see()
			k.stats.Skipped++
			return
		case err == unix.ELOOP || err == unix.ENOTDIR:
			// Replaced by a non-directory since it was listed: label what is there now.
			k.entry(j.parent, unsafe.StringData(j.name), j.order[:len(j.order)-1], j.order[len(j.order)-1])
			return
		case err == unix.ENOENT:
			k.see()
			k.stats.Skipped++
			return
		case err != nil:
			k.see()
			k.fail("open", err)
			return
		}
		dir = &dirRef{fd: fd}
		dir.refs.Store(1)
		defer dir.release()
		k.see()
	} else {
		if err := statxFd(dir.fd, &k.st); err != nil {
			k.see()
			k.fail("statx", err)
			return
		}
		k.see()
	}
	if k.w.collect != nil {
		k.entries(dir, j.order)
		return
	}
	ctx, ok := k.w.o.Labeler.Lookup(j.key, unix.S_IFDIR)
	switch {
	case !ok:
		k.stats.NoMatch++
	case j.parent == nil:
		k.w.startCtx = ctx // the start directory is labelled last (labelStart)
		if k.w.seq != nil {
			k.top = true
			k.foretell(dir, nil, ctx, nil)
		}
	default:
		k.order, k.idx, k.top = j.order[:len(j.order)-1], j.order[len(j.order)-1], false
		k.label(dir, nil, ctx)
	}
	if h := k.w.o.hook; h != nil {
		h(hookBeforeEntries, j.key)
	}
	k.entries(dir, j.order)
}

// entries reads dir and handles each entry: subdirectories become jobs, other objects are
// labelled here. While other workers are idle, further getdents buffers are handed to them
// as batch jobs, so that one huge directory is labelled on every CPU too.
func (k *worker) entries(dir *dirRef, order []uint32) {
	var idx uint32 // walk position of the last entry handled or handed off
	for first := true; !k.w.stopped(); first = false {
		n, err := unix.Getdents(dir.fd, k.dents)
		if err == unix.EINTR {
			continue
		}
		if err != nil {
			k.fail("getdents", err)
			return
		}
		if n == 0 {
			return
		}
		if !first && k.w.idle.Load() > 0 {
			dir.refs.Add(1)
			k.w.push(&job{parent: dir, key: string(k.key[:k.keyBase()]), order: order, idx: idx, batch: bytes.Clone(k.dents[:n])})
			idx += countEntries(k.dents[:n])
			continue
		}
		idx = k.records(dir, k.dents[:n], order, idx)
	}
}

// keyBase is the length of the directory key that children's keys extend: the root's
// children are "/name", not "//name".
func (k *worker) keyBase() int {
	if len(k.key) == 1 {
		return 0
	}
	return len(k.key)
}

// records handles the getdents records in buf, read from dir whose key is in k.key; idx is
// the walk position of the entry before the first one. It returns the last position.
func (k *worker) records(dir *dirRef, buf []byte, order []uint32, idx uint32) uint32 {
	base := k.keyBase()
	for off := 0; off < len(buf); {
		d := (*LinuxDirent64)(unsafe.Pointer(&buf[off]))
		reclen, typ := int(d.Reclen), d.Type
		name := buf[off+direntNameOffset : off+reclen]
		off += reclen
		nl := nameLen(name)
		if isDots(name, nl) {
			continue
		}
		idx++
		k.key = append(append(k.key[:base], '/'), name[:nl]...)
		if h := k.w.o.unknownType; h != nil && h(string(k.key)) {
			typ = unix.DT_UNKNOWN
		}
		if h := k.w.o.hook; h != nil && typ != unix.DT_DIR {
			h(hookBeforeObject, string(k.key))
		}
		switch mode := dtMode(typ); {
		case typ == unix.DT_DIR:
			k.subdir(dir, name[:nl+1], order, idx)
		case mode != 0 && k.w.oneCall:
			k.quick(dir, &name[0], mode, order, idx)
		default:
			k.entry(dir, &name[0], order, idx)
		}
	}
	if base == 0 {
		k.key = k.key[:1]
	} else {
		k.key = k.key[:base]
	}
	return idx
}

// countEntries returns the number of records in buf other than "." and "..".
func countEntries(buf []byte) uint32 {
	var n uint32
	for off := 0; off < len(buf); {
		reclen := int(*(*uint16)(unsafe.Pointer(&buf[off+16])))
		name := buf[off+19 : off+reclen]
		off += reclen
		if !isDots(name, nameLen(name)) {
			n++
		}
	}
	return n
}

// nameLen returns the length of the NUL-terminated name at the start of b.
func nameLen(b []byte) int {
	n := 0
	for n < len(b) && b[n] != 0 {
		n++
	}
	return n
}

func isDots(name []byte, n int) bool {
	return (n == 1 && name[0] == '.') || (n == 2 && name[0] == '.' && name[1] == '.')
}

// subdir queues the directory whose NUL-terminated name is in dir, unless excluded.
func (k *worker) subdir(dir *dirRef, name []byte, order []uint32, idx uint32) {
	if k.w.excluded(k.key) {
		k.see()
		k.stats.Skipped++
		return
	}
	dir.refs.Add(1)
	j := &job{parent: dir, name: string(name), key: string(k.key), order: position(order, idx)}
	if k.w.seq != nil {
		k.later = append(k.later, j)
		return
	}
	k.w.push(j)
}

// entry handles the object name (NUL-terminated) in dir whose key is in k.key: a
// non-directory is labelled; a directory (from DT_UNKNOWN or a race) is queued.
func (k *worker) entry(dir *dirRef, name *byte, order []uint32, idx uint32) {
	k.order, k.idx, k.top = order, idx, false
	if err := statxAt(dir.fd, name, statxNoFollow, &k.st); err != nil {
		k.see()
		if err == unix.ENOENT {
			k.stats.Skipped++
			return
		}
		k.fail("statx", err)
		return
	}
	mode := uint32(k.st.Mode) & unix.S_IFMT
	if mode == unix.S_IFDIR {
		k.subdir(dir, unsafe.Slice(name, len(k.key)+1-lastSlash(k.key)-1), order, idx)
		return
	}
	k.see()
	if k.mountPoint() {
		k.stats.Skipped++
		return
	}
	if k.w.collect != nil {
		k.collectName(mode)
		return
	}
	key := unsafe.String(unsafe.SliceData(k.key), len(k.key))
	ctx, ok := k.w.o.Labeler.Lookup(key, mode)
	if !ok {
		k.stats.NoMatch++
		return
	}
	if k.st.Nlink > 1 {
		if k.w.oneCall {
			// Its other names may have been labelled without a statx: the second walk
			// collects them all (onecall.go).
			k.w.deferred.add(inodeKey{k.st.Dev_major, k.st.Dev_minor, k.st.Ino})
			k.stats.Skipped++
			return
		}
		k.w.links.add(&k.st, order, idx, k.key, ctx)
		if k.w.seq != nil {
			k.foretell(dir, name, ctx, &inodeKey{k.st.Dev_major, k.st.Dev_minor, k.st.Ino})
		}
		return
	}
	k.label(dir, name, ctx)
}

// lastSlash returns the index of the last '/' in b.
func lastSlash(b []byte) int {
	for i := len(b) - 1; i >= 0; i-- {
		if b[i] == '/' {
			return i
		}
	}
	return -1
}

// mountPoint reports whether k.st is on another mount than the start. setfiles compares
// st_dev; the mount id is exact where st_dev is not (a bind mount of the same filesystem,
// overlayfs reporting its layers' devices for files), so it is used when the kernel has it.
func (k *worker) mountPoint() bool {
	w := k.w
	if w.hasMnt && k.st.Mask&unix.STATX_MNT_ID != 0 {
		return k.st.Mnt_id != w.mnt
	}
	return k.st.Dev_major != w.devMaj || k.st.Dev_minor != w.devMin
}

// namePath returns the path through which the thread reaches name in dir without
// resolving anything but that last component (which l*xattr do not follow), where
// getxattrat is missing.
func (k *worker) namePath(dir *dirRef, name *byte) *byte {
	if k.procPath {
		k.pbuf = strconv.AppendInt(append(k.pbuf[:0], "/proc/self/fd/"...), int64(dir.fd), 10)
		k.pbuf = append(k.pbuf, '/')
		for p := name; *p != 0; p = (*byte)(unsafe.Add(unsafe.Pointer(p), 1)) {
			k.pbuf = append(k.pbuf, *p)
		}
		k.pbuf = append(k.pbuf, 0)
		return &k.pbuf[0]
	}
	if k.cwd != dir {
		if err := unix.Fchdir(dir.fd); err != nil {
			k.fail("fchdir", err)
			return nil
		}
		k.cwd = dir
	}
	return name
}

// label gives the object — the open directory dir itself (name nil), or name
// (NUL-terminated) in dir — the context want with setfiles' rules; its key is k.key.
func (k *worker) label(dir *dirRef, name *byte, want string) {
	o := k.w.o
	if name != nil && !k.w.xattrAt {
		if name = k.namePath(dir, name); name == nil {
			return // namePath failed and said why
		}
	}
	if k.create && !k.w.readOnly.Load() {
		// With --force an object without a label gets the full context, whatever else holds:
		// create the label, and read it only where one exists (EEXIST). Any other failure
		// takes the reading path below, which classifies it.
		k.val = append(append(k.val[:0], want...), 0)
		var err error
		if o.setxattrFault != nil {
			err = o.setxattrFault(string(k.key))
		}
		if err == nil {
			err = k.setLabel(dir, name, k.val, unix.XATTR_CREATE)
		}
		if err == nil {
			k.streak = 0
			k.relabeled("", false, want)
			return
		}
		if err == unix.EEXIST {
			k.mispredict()
		}
	}
	cur, has, err := k.current(dir, name)
	switch {
	case err == unix.ENOENT:
		k.stats.Skipped++ // vanished since it was listed (before its statx, if it has one)
		return
	case err == nil && !has:
		if o.Force && !o.DryRun && !k.create {
			k.mispredict()
		}
	case err == unix.ENOTSUP:
		k.stats.NotWritable++
		k.w.markNoLabels()
		return
	case err != nil:
		k.fail("getxattr", err)
		return
	}
	next, v, err := decide(cur, has, want, o.Force, o.Customizable)
	switch {
	case err != nil:
		k.fail("compare labels", err)
		return
	case v == keepCustomized:
		k.stats.Customized++
		return
	case v == keepUnchanged:
		k.stats.Unchanged++
		return
	}
	if !o.DryRun {
		if k.w.readOnly.Load() {
			k.stats.NotWritable++
			return
		}
		if k.unstated && !k.admit(dir, name) {
			return
		}
		k.val = append(append(k.val[:0], next...), 0)
		if o.setxattrFault != nil {
			err = o.setxattrFault(string(k.key))
		}
		if err == nil {
			err = k.setLabel(dir, name, k.val, 0)
		}
		switch {
		case err == unix.ENOENT:
			k.stats.Skipped++ // vanished since it was read
			return
		case err == unix.EROFS:
			k.stats.NotWritable++
			k.w.markReadOnly()
			return
		case err == unix.ENOTSUP:
			k.stats.NotWritable++
			k.w.markNoLabels()
			return
		case err != nil:
			k.fail("setxattr", err)
			return
		}
	}
	k.relabeled(cur, has, next)
}

// errEmptyLabel is an object whose security.selinux attribute is empty.
var errEmptyLabel = errors.New("empty security.selinux attribute")

// current reads the label of the object label names into k.xbuf and returns it (cur aliases
// k.xbuf); has is false when the object has none.
func (k *worker) current(dir *dirRef, name *byte) (cur string, has bool, err error) {
	var n int
	for {
		n, err = k.getLabel(dir, name)
		if err == unix.ERANGE && len(k.xbuf) < 1<<16 {
			k.xbuf = make([]byte, 2*len(k.xbuf))
			continue
		}
		break
	}
	switch {
	case err == unix.ENODATA:
		return "", false, nil
	case err != nil:
		return "", false, err
	case n == 0:
		return "", false, errEmptyLabel
	}
	b := k.xbuf[:n]
	for i, c := range b {
		if c == 0 {
			b = b[:i]
			break
		}
	}
	return unsafe.String(unsafe.SliceData(b), len(b)), true, nil
}

// foretell holds, at the current walk position, the change label will make to an object
// labelled after the walk (the start directory; link, when set, is the inode of a
// hard-linked name), for an ordered report: the change as the label is now. An error is
// left for label to count and log when it runs.
func (k *worker) foretell(dir *dirRef, name *byte, want string, link *inodeKey) {
	o := k.w.o
	if !o.DryRun && k.w.readOnly.Load() {
		return // nothing will be written
	}
	if name != nil && !k.w.xattrAt {
		if name = k.namePath(dir, name); name == nil {
			return
		}
	}
	cur, has, err := k.current(dir, name)
	if err != nil {
		return
	}
	next, v, err := decide(cur, has, want, o.Force, o.Customizable)
	if err != nil || v != relabel {
		return
	}
	k.w.seq.add(held{pos: k.position(), path: k.w.hostPath(string(k.key)), from: string([]byte(cur)), to: next, link: link})
}

// position returns the walk position of the object being labelled.
func (k *worker) position() []uint32 {
	if k.top {
		return nil
	}
	return position(k.order, k.idx)
}

// createRun is the number of objects in a row whose label existed (or was missing) after
// which a worker of a forced relabel stops (or starts) creating labels before reading them:
// an unlabelled tree costs one call per object, an already-labelled one still two.
const createRun = 8

// mispredict notes an object that was labelled (creating first) or unlabelled (reading
// first), and switches the worker's way when createRun of them come in a row.
func (k *worker) mispredict() {
	if k.streak++; k.streak >= createRun {
		k.create, k.streak = !k.create, 0
	}
}

// relabeled counts a label written (or, in a dry run, that would be) and reports it; cur
// (aliasing k.xbuf) is the former label if has.
func (k *worker) relabeled(cur string, has bool, next string) {
	k.stats.Relabeled++
	if k.w.report == nil || (k.w.seq != nil && k.late) {
		return // no report, or foretold
	}
	from := ""
	if has {
		from = string([]byte(cur))
	}
	if k.w.seq != nil {
		k.w.seq.add(held{pos: k.position(), path: k.w.hostPath(string(k.key)), from: from, to: next})
		return
	}
	k.w.report.add(k.w.hostPath(string(k.key)), from, next)
}

// getLabel reads the label of the object label names into k.xbuf.
func (k *worker) getLabel(dir *dirRef, name *byte) (int, error) {
	switch {
	case name == nil:
		return fgetxattr(dir.fd, k.xbuf)
	case k.w.xattrAt:
		return xattrAt(unix.SYS_GETXATTRAT, dir.fd, name, k.xbuf, 0)
	}
	return lgetxattr(name, k.xbuf)
}

// setLabel writes val as the label of the object label names, with XATTR_* flags.
func (k *worker) setLabel(dir *dirRef, name *byte, val []byte, flags uint32) error {
	switch {
	case name == nil:
		return fsetxattr(dir.fd, val, flags)
	case k.w.xattrAt:
		_, err := xattrAt(unix.SYS_SETXATTRAT, dir.fd, name, val, flags)
		return err
	}
	return lsetxattr(name, val, flags)
}

func (k *worker) fail(op string, err error) {
	k.stats.Errors++
	k.w.fail(string(k.key), op, err)
}

// openParent opens the directory holding key from the start directory, one component at a
// time: each step opens one name beneath the directory before it, refusing symlinks, magic
// links and mount crossings, so a path of any length (deeper than PATH_MAX) is reached and
// none can lead out of the start's mount.
func (w *walk) openParent(key string) (*dirRef, string, error) {
	dirKey, name := path.Split(key)
	rel := "."
	if base := len(w.baseKey); w.baseKey == "/" && len(dirKey) > 1 {
		rel = dirKey[1 : len(dirKey)-1]
	} else if len(dirKey) > base+1 {
		rel = dirKey[base+1 : len(dirKey)-1]
	}
	fd := w.startFd.fd
	for rel != "" {
		comp := rel
		if i := strings.IndexByte(rel, '/'); i >= 0 {
			comp, rel = rel[:i], rel[i+1:]
		} else {
			rel = ""
		}
		next, err := openBeneath(fd, comp, unix.O_PATH|unix.O_DIRECTORY, true)
		if fd != w.startFd.fd {
			unix.Close(fd)
		}
		if err != nil {
			return nil, "", err
		}
		fd = next
	}
	d := &dirRef{fd: fd}
	d.refs.Store(1)
	return d, name + "\x00", nil
}
