package main

import "github.com/pion/rtp"

// Munger keeps one layer's outgoing sequence numbers and timestamps continuous when its
// origin source changes (the host republished, or the origin subscription was renewed): the far
// SFU and its viewers see one stream with a gap, not a stream that jumps back.
type Munger struct {
	started   bool
	source    uint64
	seqOffset uint16
	tsOffset  uint32
	haveLast  bool
	lastSeq   uint16
	lastTS    uint32
}

// frameTicks is one frame at 30 fps on the 90 kHz video clock: the step put between two sources.
const frameTicks = 3000

func (m *Munger) apply(source uint64, p *rtp.Header) {
	switch {
	case !m.started:
		m.started = true
		m.source = source
	case source != m.source:
		m.source = source
		m.seqOffset = m.lastSeq + 1 - p.SequenceNumber
		m.tsOffset = m.lastTS + frameTicks - p.Timestamp
	}
	p.SequenceNumber += m.seqOffset
	p.Timestamp += m.tsOffset
	// Only a newer packet moves the mark: one retransmitted late must not pull it back.
	if !m.haveLast || int16(p.SequenceNumber-m.lastSeq) > 0 {
		m.haveLast = true
		m.lastSeq = p.SequenceNumber
		m.lastTS = p.Timestamp
	}
}

// isKeyFrameStart reports whether an RTP payload begins a key frame (H.264: an IDR slice, alone,
// aggregated or as the first fragment; VP8: the first partition of a key frame).
func isKeyFrameStart(mime string, payload []byte) bool {
	if len(payload) < 2 {
		return false
	}
	switch mime {
	case "video/H264":
		return h264Key(payload)
	case "video/VP8":
		return vp8Key(payload)
	}
	return false
}

func h264Key(p []byte) bool {
	switch nal := p[0] & 0x1f; nal {
	case 5, 7: // IDR slice, or the SPS that precedes one
		return true
	case 24: // STAP-A: length-prefixed NAL units
		for i := 1; i+2 < len(p); {
			size := int(p[i])<<8 | int(p[i+1])
			if i+2 >= len(p) || size == 0 {
				return false
			}
			if t := p[i+2] & 0x1f; t == 5 || t == 7 {
				return true
			}
			i += 2 + size
		}
	case 28: // FU-A: the start fragment of an IDR
		return p[1]&0x80 != 0 && p[1]&0x1f == 5
	}
	return false
}

func vp8Key(p []byte) bool {
	// RFC 7741 payload descriptor: X, S and PID in the first byte, extensions after.
	x, s, pid := p[0]&0x80 != 0, p[0]&0x10 != 0, p[0]&0x07
	if !s || pid != 0 {
		return false
	}
	i := 1
	if x {
		if len(p) < 2 {
			return false
		}
		ext := p[1]
		i++
		if ext&0x80 != 0 { // I: picture ID, one or two bytes
			if i >= len(p) {
				return false
			}
			if p[i]&0x80 != 0 {
				i += 2
			} else {
				i++
			}
		}
		if ext&0x40 != 0 { // L: TL0PICIDX
			i++
		}
		if ext&0x30 != 0 { // T or K: TID/Y/KEYIDX
			i++
		}
	}
	// The VP8 payload header's P bit is 0 on a key frame.
	return i < len(p) && p[i]&0x01 == 0
}
