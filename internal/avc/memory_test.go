package avc

import (
	"fmt"
	"runtime"
	"strings"
	"testing"
)

// TestMemoryBounded: what Reader keeps of a large log (distinct pids, names and inodes, as
// a real one has; contexts and commands repeat) stays below the log's own size, for the
// leanest forms: audit.log events of an AVC and a short SYSCALL record, and a serial
// console's bare AVC lines.
func TestMemoryBounded(t *testing.T) {
	for _, form := range []string{"audit.log", "console"} {
		var b strings.Builder
		for i := range 20000 {
			if form == "console" {
				fmt.Fprintf(&b, "[%6d.%06d] audit: type=1400 audit(1764633600.%03d:%d): avc:  denied  { read } for  pid=%d comm=\"app%d\" name=\"f%d\" dev=\"vda\" ino=%d scontext=system_u:system_r:app%d_t:s0 tcontext=system_u:object_r:etc%d_t:s0 tclass=file permissive=1\n",
					i/100, i%1000000, i%1000, i, i, i%50, i, i, i%40, i%30)
				continue
			}
			fmt.Fprintf(&b, "type=AVC msg=audit(1764633600.%03d:%d): avc:  denied  { read open } for  pid=%d comm=\"app%d\" name=\"f%d\" dev=\"vda\" ino=%d scontext=system_u:system_r:app%d_t:s0 tcontext=system_u:object_r:etc%d_t:s0 tclass=file permissive=1\n",
				i%1000, i, i, i%50, i, i, i%40, i%30)
			fmt.Fprintf(&b, "type=SYSCALL msg=audit(1764633600.%03d:%d): arch=c000003e syscall=257 success=yes exit=3 items=1 ppid=1 pid=%d auid=4294967295 uid=0 comm=\"app%d\" exe=\"/usr/bin/app%d\" subj=system_u:system_r:app%d_t:s0 key=(null)\n",
				i%1000, i, i, i%50, i%50, i%40)
		}
		in := b.String()
		var before, after runtime.MemStats
		runtime.GC()
		runtime.ReadMemStats(&before)
		rd := NewReader()
		if err := rd.Read("big", strings.NewReader(in)); err != nil {
			t.Fatal(err)
		}
		res := rd.Result()
		runtime.GC()
		runtime.ReadMemStats(&after)
		kept := int64(after.HeapAlloc) - int64(before.HeapAlloc)
		t.Logf("%s: %d events from %d bytes: %d bytes kept (%.2f× the input)", form, len(res.Events), len(in), kept, float64(kept)/float64(len(in)))
		if len(res.Events) != 20000 || kept > int64(len(in)) {
			t.Errorf("%s: kept %d bytes for %d of input", form, kept, len(in))
		}
		runtime.KeepAlive(res)
		runtime.KeepAlive(rd)
		runtime.KeepAlive(in) // else the input itself may be freed before the second count
	}
}
