package relabel

import (
	"bufio"
	"encoding/json"
	"io"
	"sync"
)

// reporter writes the --report file: one JSON object per change, {"path","from","to"};
// "from" is "" when the object had no label. Names that are not UTF-8 are written with
// U+FFFD in place of the invalid bytes (JSON strings are UTF-8).
type reporter struct {
	mu  sync.Mutex
	bw  *bufio.Writer
	err error
}

type reportLine struct {
	Path string `json:"path"`
	From string `json:"from"`
	To   string `json:"to"`
}

func newReporter(w io.Writer) *reporter { return &reporter{bw: bufio.NewWriter(w)} }

func (r *reporter) add(path, from, to string) {
	b, err := json.Marshal(reportLine{path, from, to})
	r.mu.Lock()
	defer r.mu.Unlock()
	if err == nil {
		_, err = r.bw.Write(append(b, '\n'))
	}
	if r.err == nil {
		r.err = err
	}
}

func (r *reporter) close() error {
	r.mu.Lock()
	defer r.mu.Unlock()
	if err := r.bw.Flush(); r.err == nil {
		r.err = err
	}
	return r.err
}
