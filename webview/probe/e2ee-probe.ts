/**
 * Test probe for P2P end-to-end encryption (test pages only): a loopback pair of peer connections
 * in one page, a canvas as the screen, the page's E2EE transforms on the sender and the receiver,
 * and what the receiver decoded. The keys are the test's: a receiver with none or another one must
 * decode nothing.
 */
import { DataPacket } from '@livekit/protocol';
import { Room, RoomEvent, Track, type RemoteTrack, type RoomOptions } from 'livekit-client';
import { E2eeTransforms, type E2eeStats } from '../engine/e2ee/e2ee-transforms';
import { KeyChain } from '../engine/e2ee/key-chain';
import { decodeMediaKey } from '../engine/e2ee/media-keys';
import { SfuKeyRing } from '../engine/e2ee/sfu-key-ring';

export interface LoopbackResult {
  decoded: number;
  received: number;
  width: number;
  sender: E2eeStats;
  receiver: E2eeStats;
}

async function loopback(o: { codec: string; senderKey: number[]; receiverKey?: number[]; ms: number }): Promise<LoopbackResult> {
  const workerUrl = new URL('/dist/webview/e2ee-worker.js', location.href).href;
  const sending = new E2eeTransforms(workerUrl);
  const receiving = new E2eeTransforms(workerUrl);
  sending.setKey(1, new Uint8Array(o.senderKey));
  if (o.receiverKey) receiving.setKey(1, new Uint8Array(o.receiverKey));
  const canvas = document.createElement('canvas');
  canvas.width = 640;
  canvas.height = 360;
  const ctx = canvas.getContext('2d')!;
  let n = 0;
  const paint = setInterval(() => {
    ctx.fillStyle = `rgb(${(n * 5) % 255},80,160)`;
    ctx.fillRect(0, 0, 640, 360);
    ctx.fillStyle = '#fff';
    ctx.font = '40px monospace';
    ctx.fillText(`frame ${n++}`, 20, 100);
  }, 33);
  const track = canvas.captureStream(30).getVideoTracks()[0]!;
  const a = new RTCPeerConnection();
  const b = new RTCPeerConnection();
  a.onicecandidate = (e) => void (e.candidate && b.addIceCandidate(e.candidate));
  b.onicecandidate = (e) => void (e.candidate && a.addIceCandidate(e.candidate));
  const mimeType = `video/${o.codec}`;
  const transceiver = a.addTransceiver(track, { direction: 'sendonly' });
  transceiver.setCodecPreferences(RTCRtpSender.getCapabilities('video')!.codecs.filter((c) => c.mimeType.toLowerCase() === mimeType.toLowerCase()));
  sending.attachSender(transceiver.sender, mimeType);
  const video = document.createElement('video');
  video.muted = true;
  video.autoplay = true;
  document.body.append(video);
  b.ontrack = (e) => {
    receiving.attachReceiver(e.receiver, mimeType);
    video.srcObject = new MediaStream([e.track]);
  };
  await a.setLocalDescription();
  await b.setRemoteDescription(a.localDescription!);
  await b.setLocalDescription();
  await a.setRemoteDescription(b.localDescription!);
  await new Promise((r) => setTimeout(r, o.ms));
  const inbound = [...(await b.getStats()).values()].find((s: { type?: string; kind?: string }) => s.type === 'inbound-rtp' && s.kind === 'video') as
    { framesDecoded?: number; framesReceived?: number } | undefined;
  const result = {
    decoded: inbound?.framesDecoded ?? 0,
    received: inbound?.framesReceived ?? 0,
    width: video.videoWidth,
    sender: sending.stats(),
    receiver: receiving.stats(),
  };
  clearInterval(paint);
  a.close();
  b.close();
  sending.close();
  receiving.close();
  video.remove();
  return result;
}

export interface SubscriberResult {
  /** RTP packets and bytes of video that reached this subscriber. */
  packetsReceived: number;
  bytesReceived: number;
  framesDecoded: number;
  /** Data messages livekit-client handed over, as text. */
  data: string[];
  /** Every message its data channels carried, before livekit-client read it (latin1), and how many. */
  raw: string[];
  /** Who the SFU says sent each of those messages ('' where it names nobody or is not a packet). */
  rawSenders: string[];
  /** The identity whose video track it subscribed to (the host). */
  trackFrom: string | undefined;
  /** The marker in the last picture, when one was legible (probe.js must be loaded too). */
  marker: unknown;
}

/**
 * A plain livekit-client subscriber with a valid LiveKit token: what someone at the SFU, or with
 * the SFU's help, gets of the session for `ms`. Without `key` it has no E2EE at all; with one (a
 * link's key and generation) it decrypts as a guest's page would, holding that generation and the
 * next three: what a guest who kept its LiveKit token and its key can still see.
 */
async function sfuSubscriber(o: { url: string; token: string; ms: number; key?: { text: string; gen: number } }): Promise<SubscriberResult> {
  let worker: Worker | undefined;
  let encryption: RoomOptions['encryption'];
  if (o.key) {
    const ring = new SfuKeyRing();
    const chain = new KeyChain(decodeMediaKey(o.key.text), o.key.gen);
    const held = [{ gen: chain.gen, key: chain.key }];
    for (let i = 0; i < 3; i++) held.push(await chain.step());
    ring.setKeys(held[0]!, held);
    await ring.settled();
    worker = new Worker(new URL('/dist/webview/livekit-e2ee-worker.js', location.href).href, { type: 'module' });
    encryption = { keyProvider: ring, worker };
  }
  const room = new Room({ adaptiveStream: false, ...(encryption ? { encryption } : {}) });
  if (encryption) await room.setE2EEEnabled(true);
  const data: string[] = [];
  // What the SFU sends down, as it arrives: every data channel's messages, ahead of livekit-client.
  const raw: string[] = [];
  const rawSenders: string[] = [];
  const handler = Object.getOwnPropertyDescriptor(RTCDataChannel.prototype, 'onmessage')!;
  Object.defineProperty(RTCDataChannel.prototype, 'onmessage', {
    configurable: true,
    get: handler.get,
    set(fn: ((e: MessageEvent) => unknown) | null) {
      handler.set!.call(this, (e: MessageEvent) => {
        const d = e.data as ArrayBuffer | string;
        raw.push(typeof d === 'string' ? d : String.fromCharCode(...new Uint8Array(d)));
        rawSenders.push(senderOf(d));
        return fn?.(e);
      });
    },
  });
  const video = document.createElement('video');
  video.muted = true;
  video.autoplay = true;
  document.body.append(video);
  let track: RemoteTrack | undefined;
  let trackFrom: string | undefined;
  room.on(RoomEvent.DataReceived, (payload) => data.push(new TextDecoder().decode(payload)));
  room.on(RoomEvent.TrackSubscribed, (t, _pub, participant) => {
    if (t.kind !== Track.Kind.Video) return;
    track = t;
    trackFrom = participant.identity;
    t.attach(video);
  });
  await room.connect(o.url, o.token, { autoSubscribe: true });
  await new Promise((r) => setTimeout(r, o.ms));
  const reports = track?.receiver ? [...(await track.receiver.getStats()).values()] : [];
  const inbound = reports.find((s: { type?: string }) => s.type === 'inbound-rtp') as
    { packetsReceived?: number; bytesReceived?: number; framesDecoded?: number } | undefined;
  const probe = (window as unknown as { pairuxProbe?: { read(): unknown } }).pairuxProbe;
  const marker = probe ? probe.read() : null;
  await room.disconnect();
  worker?.terminate();
  video.remove();
  Object.defineProperty(RTCDataChannel.prototype, 'onmessage', handler);
  return {
    raw,
    rawSenders,
    trackFrom,
    packetsReceived: inbound?.packetsReceived ?? 0,
    bytesReceived: inbound?.bytesReceived ?? 0,
    framesDecoded: inbound?.framesDecoded ?? 0,
    data,
    marker,
  };
}

/** The sender the SFU stamped on a data-channel message (outside any encryption). */
function senderOf(d: ArrayBuffer | string): string {
  if (typeof d === 'string') return '';
  try {
    return DataPacket.fromBinary(new Uint8Array(d)).participantIdentity;
  } catch {
    return '';
  }
}

(window as unknown as { pairuxE2eeProbe: unknown }).pairuxE2eeProbe = { loopback, sfuSubscriber };
