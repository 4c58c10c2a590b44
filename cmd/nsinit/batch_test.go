package main

import (
	"bytes"
	"io"
	"runtime"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/nsinit/nsinit/internal/exitcode"
)

// lineReader yields head, then n bytes of fill, then tail, without holding the fill: a
// multi-gigabyte input line that costs the test no memory.
type lineReader struct {
	head, tail string
	fill       byte
	n          int64
	read       int64 // bytes handed out so far
}

func (r *lineReader) Read(p []byte) (int, error) {
	total := 0
	for len(p) > 0 {
		var k int
		switch {
		case r.head != "":
			k = copy(p, r.head)
			r.head = r.head[k:]
		case r.n > 0:
			k = int(min(int64(len(p)), r.n))
			for i := range p[:k] {
				p[i] = r.fill
			}
			r.n -= int64(k)
		case r.tail != "":
			k = copy(p, r.tail)
			r.tail = r.tail[k:]
		default:
			r.read += int64(total)
			if total == 0 {
				return 0, io.EOF
			}
			return total, nil
		}
		p, total = p[k:], total+k
	}
	r.read += int64(total)
	return total, nil
}

// peakHeap runs f while sampling the live heap, and returns the largest sample above the
// heap before f ran and the bytes f allocated in all.
func peakHeap(f func()) (peak, allocated uint64) {
	var before runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&before)
	var max atomic.Uint64
	stop := make(chan struct{})
	done := make(chan struct{})
	go func() {
		defer close(done)
		var m runtime.MemStats
		for {
			runtime.ReadMemStats(&m)
			if m.HeapAlloc > before.HeapAlloc && m.HeapAlloc-before.HeapAlloc > max.Load() {
				max.Store(m.HeapAlloc - before.HeapAlloc)
			}
			select {
			case <-stop:
				return
			case <-time.After(time.Millisecond):
			}
		}
	}()
	f()
	close(stop)
	<-done
	var after runtime.MemStats
	runtime.ReadMemStats(&after)
	return max.Load(), after.TotalAlloc - before.TotalAlloc
}

// TestLookupBatchLongLine: `lookup --batch` keeps its constant-memory promise for a line of
// gigabytes: the line is refused as malformed once it passes maxBatchLine, with a short
// message naming its number, and the input is not read further.
func TestLookupBatchLongLine(t *testing.T) {
	_, fc := lookupPolicy(t)
	for _, tc := range []struct {
		name string
		head string
		fill byte
		tail string
	}{
		{"2 GiB path", "/usr/bin/ls\t100755\n/", 'a', "\t0\n/x\t0\n"},
		{"2 GiB mode", "/usr/bin/ls\t100755\n/a\t", '0', "\n/x\t0\n"},
		{"2 GiB of tabs", "/usr/bin/ls\t100755\n/a", '\t', "0\n/x\t0\n"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			in := &lineReader{head: tc.head, fill: tc.fill, n: 2 << 30, tail: tc.tail}
			var out, errb bytes.Buffer
			e := plainEnv(in, &out, &errb, func(string) string { return "" })
			var code int
			start := time.Now()
			peak, total := peakHeap(func() { code = dispatch(e, []string{"lookup", "--file-contexts", fc, "--batch"}) })
			t.Logf("%s: exit %d in %s, %d bytes of input read, peak heap +%d bytes, %d allocated; stderr %q",
				tc.name, code, time.Since(start).Round(time.Millisecond), in.read, peak, total, errb.String())
			if code != exitcode.Failure || !strings.Contains(errb.String(), "stdin line 2:") {
				t.Errorf("code %d, stderr %q: want a failure naming stdin line 2", code, errb.String())
			}
			if out.String() != "/usr/bin/ls\tsystem_u:object_r:bin_t:s0\n" {
				t.Errorf("stdout %.200q, want the first line's answer only", out.String())
			}
			if errb.Len() > 200 {
				t.Errorf("the error is %d bytes long, want a short one", errb.Len())
			}
			if total > 4<<20 {
				t.Errorf("allocated %d bytes, want constant memory", total)
			}
		})
	}
}

func TestParseBatchLine(t *testing.T) {
	long := "/" + strings.Repeat("a", maxBatchLine)
	for _, tc := range []struct {
		line string
		path string
		mode uint32
		err  string
	}{
		{"/usr/bin/ls\t100755", "/usr/bin/ls", 0o100755, ""},
		{"/a\tb\t0", "/a\tb", 0, ""},
		{"\t0", "", 0, ""},
		{"/a\t37777777777", "/a", 0o37777777777, ""},
		{"/a", "", 0, `want PATH<TAB>OCTAL_ST_MODE, got "/a"`},
		{"/a\t8", "", 0, `invalid octal st_mode "8"`},
		{"/a\t", "", 0, `invalid octal st_mode ""`},
		{"/a\t40000000000", "", 0, `invalid octal st_mode "40000000000"`},
		{long, "", 0, "line longer than 4160 bytes"},
		{long[:maxBatchLine] + "\t0"[:1], "", 0, "line longer than 4160 bytes"},
		{long[:maxBatchLine-2] + "\t0", long[:maxBatchLine-2], 0, ""},
		{long[:100], "", 0, `want PATH<TAB>OCTAL_ST_MODE, got "/aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"…`},
		{"/a\t" + strings.Repeat("7", 100), "", 0, `invalid octal st_mode "` + strings.Repeat("7", 64) + `"…`},
	} {
		path, mode, err := parseBatchLine([]byte(tc.line))
		switch {
		case tc.err == "" && (err != nil || path != tc.path || mode != tc.mode):
			t.Errorf("parseBatchLine(%.80q) = %q, %o, %v; want %q, %o", tc.line, path, mode, err, tc.path, tc.mode)
		case tc.err != "" && (err == nil || err.Error() != tc.err):
			t.Errorf("parseBatchLine(%.80q) error = %v, want %s", tc.line, err, tc.err)
		}
	}
}

// FuzzBatchLine: any line is answered or refused, never a panic; an accepted line says
// PATH<TAB>OCTAL with the path and mode it gave; a refusal is short whatever the line.
func FuzzBatchLine(f *testing.F) {
	for _, s := range []string{"/usr/bin/ls\t100755", "/a\tb\t0", "\t0", "/a", "/a\t8", "/a\t\t", "/\x00\t0", "/é\t0777"} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, line []byte) {
		path, mode, err := parseBatchLine(line)
		if err != nil {
			// A quoted byte takes at most 4 (\xff); the message adds its words.
			if len(err.Error()) > 4*maxQuoted+64 {
				t.Fatalf("error of %d bytes for a %d-byte line", len(err.Error()), len(line))
			}
			return
		}
		rest, ok := strings.CutPrefix(string(line), path+"\t")
		if !ok {
			t.Fatalf("path %q is not the line's %q start", path, line)
		}
		if got, perr := strconv.ParseUint(rest, 8, 32); perr != nil || uint32(got) != mode {
			t.Fatalf("mode %o from %q", mode, rest)
		}
	})
}
