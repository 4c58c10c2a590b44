// Package logging builds nsinit's zap logger: a console (or JSON) encoder on one file
// (stderr, the console of a booting machine or the runtime's log of a container), no
// timestamps on the console (the kernel log and the runtime add their own) and the usual
// keys in JSON (level, ts, logger, msg, then the fields, as log collectors expect), no sampling
// (an init must never drop a line) and a Sync that tolerates terminals.
package logging

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"

	"go.uber.org/zap"
	"go.uber.org/zap/zapcore"
	"golang.org/x/sys/unix"
)

// Format selects the encoder.
type Format string

// Formats accepted by --log-format.
const (
	Console Format = "console"
	JSON    Format = "json"
)

// The keys of a JSON record; every record has them, then its fields.
const (
	LevelKey   = "level"
	TimeKey    = "ts"
	NameKey    = "logger"
	MessageKey = "msg"
)

// ParseFormat accepts "console" or "json".
func ParseFormat(s string) (Format, error) {
	switch f := Format(strings.ToLower(s)); f {
	case Console, JSON:
		return f, nil
	}
	return "", fmt.Errorf("unknown log format %q (want console or json)", s)
}

// ParseLevel accepts zap's level names (debug, info, warn, error).
func ParseLevel(s string) (zapcore.Level, error) {
	var l zapcore.Level
	if err := l.UnmarshalText([]byte(strings.ToLower(s))); err != nil {
		return l, fmt.Errorf("unknown log level %q (want debug, info, warn or error)", s)
	}
	return l, nil
}

// syncer makes Sync succeed on terminals and consoles, where fsync fails with EINVAL or
// ENOTTY (uber-go/zap#370, #880); on a PID 1 a failing Sync before exec would be noise.
type syncer struct{ f *os.File }

func (s syncer) Write(p []byte) (int, error) { return s.f.Write(p) }

func (s syncer) Sync() error {
	err := s.f.Sync()
	if errors.Is(err, unix.EINVAL) || errors.Is(err, unix.ENOTTY) {
		return nil
	}
	return err
}

// New returns a logger named "nsinit" that writes to w at level lvl and above. A file
// (stderr, the console) is synced as syncer says; other writers need no sync.
func New(w io.Writer, format Format, lvl zapcore.Level) *zap.Logger {
	cfg := zap.NewDevelopmentEncoderConfig()
	cfg.TimeKey = ""
	cfg.CallerKey = ""
	cfg.StacktraceKey = ""
	var enc zapcore.Encoder
	if format == JSON {
		cfg.LevelKey, cfg.TimeKey, cfg.NameKey, cfg.MessageKey = LevelKey, TimeKey, NameKey, MessageKey
		cfg.EncodeLevel = zapcore.LowercaseLevelEncoder
		cfg.EncodeTime = zapcore.RFC3339NanoTimeEncoder
		enc = zapcore.NewJSONEncoder(cfg)
	} else {
		enc = zapcore.NewConsoleEncoder(cfg)
	}
	var ws zapcore.WriteSyncer = zapcore.AddSync(w)
	if f, ok := w.(*os.File); ok {
		ws = syncer{f}
	}
	ws = zapcore.Lock(ws)
	core := zapcore.NewCore(enc, ws, zap.NewAtomicLevelAt(lvl))
	return zap.New(core, zap.ErrorOutput(ws)).Named("nsinit")
}

// maxLine bounds what LineWriter holds of a line before it logs it anyway.
const maxLine = 64 << 10

// LineWriter returns a writer that logs each line written to it as one record at level
// error, without its "nsinit: " prefix (the record names its logger). It lets messages
// meant for a console — the bring-up's "nsinit: emergency: …" lines — go into a JSON log
// as JSON records instead of plain text in the middle of the stream. A line longer than
// 64 KiB is logged in pieces; nothing is held past a newline.
func LineWriter(log *zap.Logger) io.Writer { return &lineWriter{log: log} }

type lineWriter struct {
	log     *zap.Logger
	partial []byte
}

func (w *lineWriter) Write(p []byte) (int, error) {
	n := len(p)
	for len(p) > 0 {
		i := bytes.IndexByte(p, '\n')
		if i < 0 {
			w.partial = append(w.partial, p...)
			if len(w.partial) >= maxLine {
				w.emit()
			}
			break
		}
		w.partial = append(w.partial, p[:i]...)
		p = p[i+1:]
		w.emit()
	}
	return n, nil
}

func (w *lineWriter) emit() {
	w.log.Error(strings.TrimPrefix(string(w.partial), "nsinit: "))
	w.partial = w.partial[:0]
}
