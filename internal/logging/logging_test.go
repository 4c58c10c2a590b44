package logging

import (
	"bytes"
	"encoding/json"
	"strings"
	"testing"
	"time"

	"go.uber.org/zap"
	"go.uber.org/zap/zapcore"
)

// TestJSONKeys: a JSON record has level, ts (RFC 3339), logger and msg, then the fields;
// the console has no timestamp.
func TestJSONKeys(t *testing.T) {
	var b bytes.Buffer
	New(&b, JSON, zapcore.InfoLevel).Warn("policy loaded", zap.Int("version", 33))
	var rec map[string]any
	if err := json.Unmarshal(b.Bytes(), &rec); err != nil {
		t.Fatalf("%q: %v", b.String(), err)
	}
	ts, _ := rec["ts"].(string)
	if _, err := time.Parse(time.RFC3339Nano, ts); err != nil || rec["level"] != "warn" || rec["msg"] != "policy loaded" ||
		rec["logger"] != "nsinit" || rec["version"] != float64(33) || len(rec) != 5 {
		t.Errorf("record %q", b.String())
	}
	b.Reset()
	New(&b, Console, zapcore.InfoLevel).Info("hello")
	if got := b.String(); got != "INFO\tnsinit\thello\n" || strings.Contains(got, "ts") {
		t.Errorf("console %q", got)
	}
}

// TestLineWriter: each line, however it is split across writes, becomes one JSON record at
// level error without the "nsinit: " prefix; a line longer than maxLine is cut, not held.
func TestLineWriter(t *testing.T) {
	var b bytes.Buffer
	w := LineWriter(New(&b, JSON, zapcore.InfoLevel))
	for _, p := range []string{"nsinit: emergency: enforcing mode requested but", " failed\nnsinit: emergency: the init was NOT ", "started.\n"} {
		if n, err := w.Write([]byte(p)); n != len(p) || err != nil {
			t.Fatalf("write: %d %v", n, err)
		}
	}
	w.Write([]byte(strings.Repeat("x", maxLine+10)))
	var msgs []string
	for _, l := range strings.Split(strings.TrimSpace(b.String()), "\n") {
		var rec map[string]any
		if err := json.Unmarshal([]byte(l), &rec); err != nil || rec["level"] != "error" {
			t.Fatalf("record %q: %v", l, err)
		}
		msgs = append(msgs, rec["msg"].(string))
	}
	if len(msgs) != 3 || msgs[0] != "emergency: enforcing mode requested but failed" || msgs[1] != "emergency: the init was NOT started." || len(msgs[2]) < maxLine {
		t.Errorf("records %q", msgs)
	}
}
