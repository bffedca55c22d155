// Command lightsubs is the benches' light SFU subscriber (bench:cascade at 500+ viewers): many
// LiveKit participants in one process, each subscribed to what its room publishes and counting
// the RTP it receives, never decoding. A headless Chromium page carries at most ~100 such
// subscribers on two cores (its WebRTC stack costs far more than forwarding does); pion costs
// little per connection, so the machine's cores go to the SFUs and bridges under test.
//
// stdin, one JSON object a line:
//
//	{"op":"join","index":N,"url":"ws://…","token":"…"}  → {"joined":N,"ms":…} or {"joined":N,"error":"…"}
//	{"op":"counts"}                                      → {"counts":[{"index":N,"packets":…,"bytes":…,"frames":…,"state":"…"}]}
//
// EOF on stdin disconnects every room and exits.
package main

import (
	"bufio"
	"encoding/json"
	"os"
	"sort"
	"sync"
	"sync/atomic"
	"time"

	lksdk "github.com/livekit/server-sdk-go/v2"
	"github.com/pion/webrtc/v4"
)

type command struct {
	Op    string `json:"op"`
	Index int    `json:"index"`
	URL   string `json:"url"`
	Token string `json:"token"`
}

type subscriber struct {
	index   int
	room    *lksdk.Room
	packets atomic.Uint64
	bytes   atomic.Uint64
	frames  atomic.Uint64
	state   atomic.Value
}

type counts struct {
	Index   int    `json:"index"`
	Packets uint64 `json:"packets"`
	Bytes   uint64 `json:"bytes"`
	Frames  uint64 `json:"frames"`
	State   string `json:"state"`
}

var (
	outMu sync.Mutex
	out   = json.NewEncoder(os.Stdout)
)

func reply(v any) {
	outMu.Lock()
	defer outMu.Unlock()
	_ = out.Encode(v)
}

func (s *subscriber) count(track *webrtc.TrackRemote) {
	if track.Kind() != webrtc.RTPCodecTypeVideo {
		return
	}
	s.state.Store("receiving")
	for {
		pkt, _, err := track.ReadRTP()
		if err != nil {
			s.state.Store("ended")
			return
		}
		s.packets.Add(1)
		s.bytes.Add(uint64(len(pkt.Payload)))
		if pkt.Marker {
			s.frames.Add(1)
		}
	}
}

func join(c command, subs *sync.Map) {
	s := &subscriber{index: c.Index}
	s.state.Store("joining")
	subs.Store(c.Index, s)
	cb := lksdk.NewRoomCallback()
	cb.OnTrackSubscribed = func(track *webrtc.TrackRemote, _ *lksdk.RemoteTrackPublication, _ *lksdk.RemoteParticipant) {
		go s.count(track)
	}
	cb.OnDisconnected = func() { s.state.Store("disconnected") }
	started := time.Now()
	room, err := lksdk.ConnectToRoomWithToken(c.URL, c.Token, cb)
	if err != nil {
		s.state.Store("failed")
		reply(map[string]any{"joined": c.Index, "error": err.Error()})
		return
	}
	s.room = room
	if s.state.Load() == "joining" {
		s.state.Store("joined")
	}
	reply(map[string]any{"joined": c.Index, "ms": time.Since(started).Milliseconds()})
}

func main() {
	var subs sync.Map
	in := bufio.NewScanner(os.Stdin)
	in.Buffer(make([]byte, 64*1024), 1024*1024)
	for in.Scan() {
		var c command
		if err := json.Unmarshal(in.Bytes(), &c); err != nil {
			reply(map[string]any{"error": "bad command: " + err.Error()})
			continue
		}
		switch c.Op {
		case "join":
			go join(c, &subs)
		case "counts":
			var all []counts
			subs.Range(func(_, v any) bool {
				s := v.(*subscriber)
				all = append(all, counts{Index: s.index, Packets: s.packets.Load(), Bytes: s.bytes.Load(), Frames: s.frames.Load(), State: s.state.Load().(string)})
				return true
			})
			sort.Slice(all, func(i, j int) bool { return all[i].Index < all[j].Index })
			reply(map[string]any{"counts": all})
		default:
			reply(map[string]any{"error": "unknown op " + c.Op})
		}
	}
	subs.Range(func(_, v any) bool {
		if r := v.(*subscriber).room; r != nil {
			r.Disconnect()
		}
		return true
	})
}
