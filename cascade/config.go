package main

import (
	"bufio"
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/url"
)

// maxConfigBytes caps the one line of configuration read from stdin.
const maxConfigBytes = 64 * 1024

// Endpoint is one LiveKit room to join: its server and an access token for it.
type Endpoint struct {
	URL   string `json:"url"`
	Token string `json:"token"`
}

// Layer is one simulcast layer the bridge carries: the origin subscription that receives it
// and the quality it asks the origin for.
type Layer struct {
	// RID names the layer in the far room: "q" (small) or "h" (full), as the host publishes.
	RID    string   `json:"rid"`
	Origin Endpoint `json:"origin"`
}

// Config is what the control plane hands the bridge, as one JSON line on stdin.
type Config struct {
	// Host is the host's identity in the origin room; the bridge is that identity in the far room.
	Host string `json:"host"`
	// Layers, best first: one origin subscription each (LiveKit sends a subscriber one layer).
	Layers []Layer `json:"layers"`
	// Far is the room the host's screen is published into.
	Far Endpoint `json:"far"`
	// StatsIntervalMs is how often a stats line is written (default 1000).
	StatsIntervalMs int `json:"statsIntervalMs"`
}

// readConfig reads and checks the first line of r; the rest of r stays unread.
func readConfig(r *bufio.Reader) (*Config, error) {
	line, err := r.ReadSlice('\n')
	if errors.Is(err, bufio.ErrBufferFull) {
		return nil, fmt.Errorf("the configuration line is over %d bytes", maxConfigBytes)
	}
	if err != nil && !(errors.Is(err, io.EOF) && len(line) > 0) {
		return nil, fmt.Errorf("no configuration line on stdin: %w", err)
	}
	var c Config
	dec := json.NewDecoder(bytes.NewReader(line))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&c); err != nil {
		return nil, fmt.Errorf("the configuration is not valid JSON of the expected shape: %w", err)
	}
	return &c, c.validate()
}

func (c *Config) validate() error {
	if c.Host == "" || len(c.Host) > 128 {
		return errors.New("host: the host's identity (1-128 characters) is required")
	}
	if len(c.Layers) < 1 || len(c.Layers) > 3 {
		return fmt.Errorf("layers: 1 to 3 are carried, not %d", len(c.Layers))
	}
	seen := map[string]bool{}
	for i, l := range c.Layers {
		if l.RID != "q" && l.RID != "h" && l.RID != "f" {
			return fmt.Errorf("layers[%d].rid: %q is not one of q, h, f", i, l.RID)
		}
		if seen[l.RID] {
			return fmt.Errorf("layers[%d].rid: %q twice", i, l.RID)
		}
		seen[l.RID] = true
		if err := l.Origin.validate(fmt.Sprintf("layers[%d].origin", i)); err != nil {
			return err
		}
	}
	if c.StatsIntervalMs == 0 {
		c.StatsIntervalMs = 1000
	}
	if c.StatsIntervalMs < 100 || c.StatsIntervalMs > 60_000 {
		return fmt.Errorf("statsIntervalMs: %d is outside 100-60000", c.StatsIntervalMs)
	}
	return c.Far.validate("far")
}

func (e Endpoint) validate(what string) error {
	u, err := url.Parse(e.URL)
	if err != nil || (u.Scheme != "ws" && u.Scheme != "wss") || u.Host == "" {
		return fmt.Errorf("%s.url: %q is not a ws:// or wss:// address", what, e.URL)
	}
	if e.Token == "" || len(e.Token) > 8192 {
		return fmt.Errorf("%s.token: an access token (up to 8192 characters) is required", what)
	}
	return nil
}
