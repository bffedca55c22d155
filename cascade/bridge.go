package main

import (
	"encoding/json"
	"fmt"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/livekit/protocol/livekit"
	lksdk "github.com/livekit/server-sdk-go/v2"
	"github.com/pion/rtcp"
	"github.com/pion/webrtc/v4"
)

// topicToGuest is the host's data topic (webview/engine/sfu/sfu-data.ts TOPIC_TO_GUEST): its
// room-wide notices (the screen's size, the key generation) are relayed to the far room.
const topicToGuest = "pairux.host"

// keyRequestSpacing: key-frame requests from the far room reach the origin at most this often
// per layer (a burst of far viewers joining asks once).
const keyRequestSpacing = 300 * time.Millisecond

// Bridge carries the host's screen from the origin room into the far room: one origin
// subscription per layer, one simulcast publication in the far room under the host's identity.
type Bridge struct {
	cfg    *Config
	report *Reporter
	done   chan string

	far    *lksdk.Room
	layers []*layerRelay

	mu        sync.Mutex
	published bool
	// The far publication and the codec it carries: a host that republishes in another codec
	// gets a new one (its packets would not fit the old tracks).
	publication *lksdk.LocalTrackPublication
	codec       string
	// The host's last room-wide notice per method, replayed to a viewer joining the far room.
	notices map[string][]byte
	closed  atomic.Bool
}

type layerRelay struct {
	rid     string
	quality livekit.VideoQuality
	origin  *lksdk.Room

	mu          sync.Mutex
	local       *lksdk.LocalTrack
	remote      *webrtc.TrackRemote
	participant *lksdk.RemoteParticipant
	munger      Munger
	source      uint64
	lastKeyAsk  time.Time

	packets, bytes, frames, keyFrames, keyRequestsIn, keyRequestsOut, writeErrors, relayMicros atomic.Uint64
	width, height                                                                              atomic.Uint32
}

func newBridge(cfg *Config, report *Reporter) *Bridge {
	b := &Bridge{cfg: cfg, report: report, done: make(chan string, 1), notices: map[string][]byte{}}
	for _, l := range cfg.Layers {
		b.layers = append(b.layers, &layerRelay{rid: l.RID, quality: qualityOf(l.RID)})
	}
	return b
}

func qualityOf(rid string) livekit.VideoQuality {
	switch rid {
	case "q":
		return livekit.VideoQuality_LOW
	case "h":
		return livekit.VideoQuality_MEDIUM
	}
	return livekit.VideoQuality_HIGH
}

// stop ends the bridge for reason (the first reason wins); run returns it.
func (b *Bridge) stop(reason string) {
	select {
	case b.done <- reason:
	default:
	}
}

// start joins the far room, then the origin once per layer; the far publication follows the
// first origin track.
func (b *Bridge) start() error {
	farCB := lksdk.NewRoomCallback()
	farCB.OnDisconnected = func() { b.stop("the far room closed the connection") }
	farCB.OnParticipantConnected = func(p *lksdk.RemoteParticipant) { b.replayNotices(p.Identity()) }
	far, err := lksdk.ConnectToRoomWithToken(b.cfg.Far.URL, b.cfg.Far.Token, farCB, lksdk.WithAutoSubscribe(false))
	if err != nil {
		return fmt.Errorf("joining the far room at %s: %w", b.cfg.Far.URL, err)
	}
	b.far = far
	for i, l := range b.layers {
		if err := b.joinOrigin(l, b.cfg.Layers[i].Origin, i == 0); err != nil {
			return err
		}
	}
	return nil
}

func (b *Bridge) joinOrigin(l *layerRelay, at Endpoint, relayData bool) error {
	cb := lksdk.NewRoomCallback()
	cb.OnDisconnected = func() { b.stop(fmt.Sprintf("the origin room closed layer %s's connection", l.rid)) }
	cb.OnTrackPublished = func(pub *lksdk.RemoteTrackPublication, rp *lksdk.RemoteParticipant) { b.want(l, pub, rp) }
	cb.OnTrackSubscribed = func(track *webrtc.TrackRemote, pub *lksdk.RemoteTrackPublication, rp *lksdk.RemoteParticipant) {
		if rp.Identity() != b.cfg.Host || pub.Source() != livekit.TrackSource_SCREEN_SHARE {
			return
		}
		_ = pub.SetVideoQuality(l.quality)
		go b.relay(l, track, pub, rp)
	}
	if relayData {
		cb.OnDataPacket = func(data lksdk.DataPacket, params lksdk.DataReceiveParams) { b.relayNotice(data, params) }
	}
	room, err := lksdk.ConnectToRoomWithToken(at.URL, at.Token, cb, lksdk.WithAutoSubscribe(false))
	if err != nil {
		return fmt.Errorf("joining the origin room at %s for layer %s: %w", at.URL, l.rid, err)
	}
	l.origin = room
	for _, rp := range room.GetRemoteParticipants() {
		for _, pub := range rp.TrackPublications() {
			if rpub, ok := pub.(*lksdk.RemoteTrackPublication); ok {
				b.want(l, rpub, rp)
			}
		}
	}
	return nil
}

// want subscribes to the host's screen share, and to nothing else.
func (b *Bridge) want(l *layerRelay, pub *lksdk.RemoteTrackPublication, rp *lksdk.RemoteParticipant) {
	if rp.Identity() != b.cfg.Host || pub.Source() != livekit.TrackSource_SCREEN_SHARE || pub.Kind() != lksdk.TrackKindVideo {
		return
	}
	if err := pub.SetSubscribed(true); err != nil {
		b.report.log("warn", fmt.Sprintf("layer %s: subscribing to the host's screen: %v", l.rid, err))
	}
}

// relay forwards one origin track's packets to the layer's far track until the track ends.
func (b *Bridge) relay(l *layerRelay, track *webrtc.TrackRemote, pub *lksdk.RemoteTrackPublication, rp *lksdk.RemoteParticipant) {
	if err := b.publish(track.Codec().RTPCodecCapability, pub.TrackInfo()); err != nil {
		b.stop(err.Error())
		return
	}
	l.mu.Lock()
	l.source++
	source := l.source
	l.remote, l.participant = track, rp
	// The far track made for this track's codec: an older origin track of another codec, still
	// draining, keeps writing to the far track it had (unpublished by now), never into this one.
	local := l.local
	l.mu.Unlock()
	b.report.log("info", fmt.Sprintf("layer %s: relaying the host's %s screen (ssrc %d)", l.rid, track.Codec().MimeType, track.SSRC()))
	mime := track.Codec().MimeType
	for {
		pkt, _, err := track.ReadRTP()
		readAt := time.Now()
		if err != nil {
			b.report.log("info", fmt.Sprintf("layer %s: the origin track ended (%v)", l.rid, err))
			return
		}
		l.mu.Lock()
		if l.source != source {
			l.mu.Unlock()
			return
		}
		l.munger.apply(source, &pkt.Header)
		l.mu.Unlock()
		l.packets.Add(1)
		l.bytes.Add(uint64(len(pkt.Payload)))
		if pkt.Marker {
			l.frames.Add(1)
		}
		if isKeyFrameStart(mime, pkt.Payload) {
			l.keyFrames.Add(1)
		}
		// The origin connection's header extensions have that connection's ids; the far
		// connection adds its own.
		pkt.Extension, pkt.Extensions, pkt.ExtensionProfile = false, nil, 0
		if err := local.WriteRTP(pkt, nil); err != nil {
			l.writeErrors.Add(1)
		}
		// The bridge's own part of the added delay: received → handed to the far connection.
		l.relayMicros.Add(uint64(time.Since(readAt).Microseconds()))
	}
}

// publish makes the far room's simulcast publication from the first origin track's codec and
// the host's layer sizes, and again when the host republishes in another codec.
func (b *Bridge) publish(codec webrtc.RTPCodecCapability, info *livekit.TrackInfo) error {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.published {
		if strings.EqualFold(b.codec, codec.MimeType) {
			return nil
		}
		b.report.log("info", fmt.Sprintf("the host republished its screen in %s (was %s): publishing it again in the far room", codec.MimeType, b.codec))
		if err := b.far.LocalParticipant.UnpublishTrack(b.publication.SID()); err != nil {
			b.report.log("warn", fmt.Sprintf("unpublishing the far room's %s screen: %v", b.codec, err))
		}
		b.published = false
	}
	var tracks []*lksdk.LocalTrack
	var width, height uint32
	for _, l := range b.layers {
		layer := &livekit.VideoLayer{Quality: l.quality}
		for _, hl := range info.GetLayers() {
			if hl.GetQuality() == l.quality {
				layer.Width, layer.Height = hl.GetWidth(), hl.GetHeight()
			}
		}
		if layer.Width > width {
			width, height = layer.Width, layer.Height
		}
		l.width.Store(layer.Width)
		l.height.Store(layer.Height)
		relay := l
		local, err := lksdk.NewLocalTrack(codec, lksdk.WithSimulcast("pairux-screen", layer), lksdk.WithRTCPHandler(func(p rtcp.Packet) { relay.onFarRTCP(p, b) }))
		if err != nil {
			return fmt.Errorf("making the far track for layer %s: %w", l.rid, err)
		}
		l.mu.Lock()
		l.local = local
		l.mu.Unlock()
		tracks = append(tracks, local)
	}
	pub, err := b.far.LocalParticipant.PublishSimulcastTrack(tracks, &lksdk.TrackPublicationOptions{
		Name:        info.GetName(),
		Source:      livekit.TrackSource_SCREEN_SHARE,
		VideoWidth:  int(width),
		VideoHeight: int(height),
		Encryption:  info.GetEncryption(),
	})
	if err != nil {
		return fmt.Errorf("publishing the host's screen in the far room: %w", err)
	}
	b.published, b.publication, b.codec = true, pub, codec.MimeType
	b.report.emit("ready", map[string]any{"codec": codec.MimeType, "width": width, "height": height, "layers": len(tracks), "encryption": info.GetEncryption().String()})
	return nil
}

// onFarRTCP passes a far viewer's key-frame request on to the origin, spaced.
func (l *layerRelay) onFarRTCP(p rtcp.Packet, b *Bridge) {
	switch p.(type) {
	case *rtcp.PictureLossIndication, *rtcp.FullIntraRequest:
	default:
		return
	}
	l.keyRequestsIn.Add(1)
	l.mu.Lock()
	remote, rp := l.remote, l.participant
	due := time.Since(l.lastKeyAsk) >= keyRequestSpacing
	if due && remote != nil {
		l.lastKeyAsk = time.Now()
	}
	l.mu.Unlock()
	if due && remote != nil && rp != nil {
		rp.WritePLI(remote.SSRC())
		l.keyRequestsOut.Add(1)
	}
}

// relayNotice passes the host's room-wide notices into the far room, as the host there.
func (b *Bridge) relayNotice(data lksdk.DataPacket, params lksdk.DataReceiveParams) {
	user, ok := data.(*lksdk.UserDataPacket)
	if !ok || params.SenderIdentity != b.cfg.Host || user.Topic != topicToGuest {
		return
	}
	var head struct {
		Method string `json:"method"`
	}
	if json.Unmarshal(user.Payload, &head) != nil || head.Method == "" {
		return
	}
	b.mu.Lock()
	b.notices[head.Method] = append([]byte(nil), user.Payload...)
	b.mu.Unlock()
	if err := b.far.LocalParticipant.PublishDataPacket(&lksdk.UserDataPacket{Payload: user.Payload, Topic: topicToGuest}, lksdk.WithDataPublishReliable(true)); err != nil {
		b.report.log("warn", fmt.Sprintf("relaying %s into the far room: %v", head.Method, err))
	}
}

// replayNotices gives a viewer that joined the far room the host's latest notices.
func (b *Bridge) replayNotices(identity string) {
	b.mu.Lock()
	payloads := make([][]byte, 0, len(b.notices))
	for _, p := range b.notices {
		payloads = append(payloads, p)
	}
	b.mu.Unlock()
	for _, p := range payloads {
		_ = b.far.LocalParticipant.PublishDataPacket(&lksdk.UserDataPacket{Payload: p, Topic: topicToGuest}, lksdk.WithDataPublishReliable(true), lksdk.WithDataPublishDestination([]string{identity}))
	}
}

func (b *Bridge) stats() map[string]any {
	layers := make([]map[string]any, 0, len(b.layers))
	for _, l := range b.layers {
		layers = append(layers, map[string]any{
			"rid": l.rid, "packets": l.packets.Load(), "bytes": l.bytes.Load(), "frames": l.frames.Load(), "keyFrames": l.keyFrames.Load(),
			"keyRequestsIn": l.keyRequestsIn.Load(), "keyRequestsOut": l.keyRequestsOut.Load(), "writeErrors": l.writeErrors.Load(),
			"width": l.width.Load(), "height": l.height.Load(), "relayMicros": l.relayMicros.Load(),
		})
	}
	viewers := 0
	if b.far != nil {
		viewers = len(b.far.GetRemoteParticipants())
	}
	return map[string]any{"layers": layers, "farParticipants": viewers}
}

// close leaves every room; idempotent.
func (b *Bridge) close() {
	if !b.closed.CompareAndSwap(false, true) {
		return
	}
	for _, l := range b.layers {
		if l.origin != nil {
			l.origin.Disconnect()
		}
	}
	if b.far != nil {
		b.far.Disconnect()
	}
}
