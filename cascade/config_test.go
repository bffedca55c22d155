package main

import (
	"bufio"
	"strings"
	"testing"
)

// readConfigString is readConfig on one line of text.
func readConfigString(s string) (*Config, error) {
	return readConfig(bufio.NewReader(strings.NewReader(s + "\n")))
}

func TestConfigIsRefusedWithTheFieldNamed(t *testing.T) {
	good := `{"host":"h","layers":[{"rid":"h","origin":{"url":"ws://127.0.0.1:1","token":"t"}}],"far":{"url":"ws://127.0.0.1:2","token":"t"}}`
	if _, err := readConfigString(good); err != nil {
		t.Fatalf("a good configuration refused: %v", err)
	}
	bad := map[string]string{
		"layers":          `{"host":"h","layers":[],"far":{"url":"ws://x:1","token":"t"}}`,
		"layers[0].rid":   `{"host":"h","layers":[{"rid":"x","origin":{"url":"ws://x:1","token":"t"}}],"far":{"url":"ws://x:1","token":"t"}}`,
		"far.url":         `{"host":"h","layers":[{"rid":"h","origin":{"url":"ws://x:1","token":"t"}}],"far":{"url":"http://x","token":"t"}}`,
		"statsIntervalMs": `{"host":"h","layers":[{"rid":"h","origin":{"url":"ws://x:1","token":"t"}}],"far":{"url":"ws://x:1","token":"t"},"statsIntervalMs":5}`,
		"unknown field":   `{"host":"h","nope":1}`,
	}
	for field, text := range bad {
		_, err := readConfigString(text)
		if err == nil {
			t.Errorf("%s: accepted", field)
		} else if !strings.Contains(err.Error(), field) {
			t.Errorf("%s: the error does not name it: %v", field, err)
		}
	}
}
