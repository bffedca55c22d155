package main

import (
	"testing"

	"github.com/pion/rtp"
)

func TestMungerKeepsOneStreamAcrossASourceChange(t *testing.T) {
	var m Munger
	h := func(seq uint16, ts uint32) *rtp.Header { return &rtp.Header{SequenceNumber: seq, Timestamp: ts} }
	// The first source passes through untouched.
	for i, p := range []*rtp.Header{h(100, 9000), h(101, 9000), h(102, 12000)} {
		m.apply(1, p)
		if p.SequenceNumber != uint16(100+i) {
			t.Fatalf("first source rewritten: %d", p.SequenceNumber)
		}
	}
	// A new source starting anywhere continues right after the last packet, one frame later.
	p := h(40000, 5)
	m.apply(2, p)
	if p.SequenceNumber != 103 || p.Timestamp != 12000+frameTicks {
		t.Fatalf("new source at %d/%d, want 103/%d", p.SequenceNumber, p.Timestamp, 12000+frameTicks)
	}
	q := h(40001, 3005)
	m.apply(2, q)
	if q.SequenceNumber != 104 || q.Timestamp != 12000+frameTicks+3000 {
		t.Fatalf("new source's next at %d/%d", q.SequenceNumber, q.Timestamp)
	}
	// A late retransmission of an older packet is offset alike but does not move the mark back:
	// the next source still follows the newest packet (104), not the late one (103).
	late := h(40000, 5)
	m.apply(2, late)
	if late.SequenceNumber != 103 {
		t.Fatalf("late packet at %d, want 103", late.SequenceNumber)
	}
	r := h(9, 77)
	m.apply(3, r)
	if r.SequenceNumber != 105 || r.Timestamp != 12000+2*frameTicks+3000 {
		t.Fatalf("the source after a late packet starts at %d/%d, want 105/%d", r.SequenceNumber, r.Timestamp, 12000+2*frameTicks+3000)
	}
	// Sequence numbers wrap as RTP's do.
	var w Munger
	a, b := h(65535, 0), h(0, 3000)
	w.apply(1, a)
	w.apply(1, b)
	c := h(7, 0)
	w.apply(2, c)
	if c.SequenceNumber != 1 {
		t.Fatalf("after a wrap the new source starts at %d, want 1", c.SequenceNumber)
	}
}

func TestKeyFrameStarts(t *testing.T) {
	cases := []struct {
		name    string
		mime    string
		payload []byte
		key     bool
	}{
		{"H.264 IDR slice", "video/H264", []byte{0x65, 0x88}, true},
		{"H.264 SPS", "video/H264", []byte{0x67, 0x42}, true},
		{"H.264 non-IDR slice", "video/H264", []byte{0x41, 0x9a}, false},
		{"H.264 STAP-A with SPS", "video/H264", []byte{0x78, 0x00, 0x02, 0x67, 0x42, 0x00, 0x02, 0x68, 0xce}, true},
		{"H.264 STAP-A without IDR", "video/H264", []byte{0x78, 0x00, 0x02, 0x41, 0x9a}, false},
		{"H.264 FU-A start of IDR", "video/H264", []byte{0x7c, 0x85}, true},
		{"H.264 FU-A middle of IDR", "video/H264", []byte{0x7c, 0x05}, false},
		{"VP8 key frame, no extensions", "video/VP8", []byte{0x10, 0x00}, true},
		{"VP8 delta frame", "video/VP8", []byte{0x10, 0x01}, false},
		{"VP8 key frame, 15-bit picture id and TL0PICIDX", "video/VP8", []byte{0x90, 0xc0, 0x80, 0x01, 0x05, 0x00}, true},
		{"VP8 continuation of a key frame", "video/VP8", []byte{0x00, 0x00}, false},
		{"too short", "video/VP8", []byte{0x10}, false},
		{"another codec", "video/AV1", []byte{0x10, 0x00}, false},
	}
	for _, c := range cases {
		if got := isKeyFrameStart(c.mime, c.payload); got != c.key {
			t.Errorf("%s: %v, want %v", c.name, got, c.key)
		}
	}
}
