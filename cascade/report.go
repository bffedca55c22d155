package main

import (
	"encoding/json"
	"io"
	"sync"
)

// Reporter writes the bridge's events to its supervisor, one JSON object per line on stdout
// (protocol/cascade-bridge.ts defines them): "ready", "stats", "log" and "fatal".
type Reporter struct {
	mu  sync.Mutex
	out io.Writer
}

func (r *Reporter) emit(event string, fields map[string]any) {
	if fields == nil {
		fields = map[string]any{}
	}
	fields["event"] = event
	line, err := json.Marshal(fields)
	if err != nil {
		return
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	_, _ = r.out.Write(append(line, '\n'))
}

func (r *Reporter) log(level, message string) {
	r.emit("log", map[string]any{"level": level, "message": message})
}

// fatal is the last line before the process exits non-zero: why the bridge stopped.
func (r *Reporter) fatal(message string) {
	r.emit("fatal", map[string]any{"message": message})
}
