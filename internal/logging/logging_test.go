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
