/**
 * The bare floor of Chromium's WebRTC path on this machine, for the latency bench to print beside
 * the product's figures: the same generated screen and frame track, one loopback peer connection
 * pair inside one page, no server, no signaling, no second browser (`run`); or, over the test
 * internet's links, a sender page and a receiver page in two machines' browsers, whose offer and
 * answer (with every candidate) the bench carries between them (`send`, `receive`, `accept`).
 */
import { preferCodec, type VideoCodecName } from '../../webview/engine/codecs';
import { decodeMarker, expandCaptureTime, markerGeometry } from '../../webview/engine/frames/frame-marker';
import { GeneratedScreenSource } from '../../webview/engine/frames/generated-screen';
import { FrameTrack } from '../../webview/engine/frames/track-from-frames';

interface FloorResult {
  latencies: number[];
  frames: number;
  seconds: number;
  width: number;
  height: number;
}

interface FloorOptions {
  width: number;
  height: number;
  fps: number;
  codec: VideoCodecName;
  ms: number;
}

async function run(opts: FloorOptions): Promise<FloorResult> {
  const source = new GeneratedScreenSource({ width: opts.width, height: opts.height, fps: opts.fps });
  const frames = new FrameTrack(source, { contentHint: 'detail' });
  const a = new RTCPeerConnection();
  const b = new RTCPeerConnection();
  a.onicecandidate = (e) => void b.addIceCandidate(e.candidate ?? undefined);
  b.onicecandidate = (e) => void a.addIceCandidate(e.candidate ?? undefined);
  const transceiver = a.addTransceiver(frames.track, { direction: 'sendonly' });
  preferCodec(transceiver, opts.codec);
  const video = videoFor(b);
  frames.start();
  await a.setLocalDescription();
  await b.setRemoteDescription(a.localDescription!);
  await b.setLocalDescription();
  await a.setRemoteDescription(b.localDescription!);
  await keepResolution(transceiver.sender);
  await new Promise((r) => setTimeout(r, 2000));
  const result = await measure(video, opts.ms);
  frames.stop();
  a.close();
  b.close();
  video.remove();
  return result;
}

/** A muted video element playing whatever track `pc` receives. */
function videoFor(pc: RTCPeerConnection): HTMLVideoElement {
  const video = document.createElement('video');
  video.muted = true;
  video.playsInline = true;
  document.body.append(video);
  pc.ontrack = (e) => {
    video.srcObject = new MediaStream([e.track]);
    void video.play();
  };
  return video;
}

async function keepResolution(sender: RTCRtpSender): Promise<void> {
  const params = sender.getParameters();
  params.degradationPreference = 'maintain-resolution';
  await sender.setParameters(params).catch(() => undefined);
}

/** Every new marker the video presents for `ms`: painted (captured) → presented. */
async function measure(video: HTMLVideoElement, ms: number): Promise<FloorResult> {
  const canvas = new OffscreenCanvas(1, 1);
  const ctx = canvas.getContext('2d', { willReadFrequently: true })!;
  const latencies: number[] = [];
  const seen = new Set<number>();
  const start = performance.now();
  await new Promise<void>((resolve) => {
    const onFrame = (_now: number, meta: VideoFrameCallbackMetadata) => {
      const w = meta.width;
      const g = markerGeometry(w);
      canvas.width = Math.ceil(g.width);
      canvas.height = Math.ceil(g.height);
      ctx.drawImage(video, 0, 0, canvas.width, canvas.height, 0, 0, canvas.width, canvas.height);
      const m = decodeMarker(ctx.getImageData(0, 0, canvas.width, canvas.height).data, w, canvas.height, canvas.width * 4);
      if (m && !seen.has(m.frame)) {
        seen.add(m.frame);
        const presented = performance.timeOrigin + meta.expectedDisplayTime;
        latencies.push(presented - expandCaptureTime(m.captureTimeLow32, presented));
      }
      if (performance.now() - start < ms) video.requestVideoFrameCallback(onFrame);
      else resolve();
    };
    video.requestVideoFrameCallback(onFrame);
  });
  return { latencies, frames: seen.size, seconds: (performance.now() - start) / 1000, width: video.videoWidth, height: video.videoHeight };
}

/** The description once every candidate is in it (the bench carries one message each way, no trickle). */
async function gathered(pc: RTCPeerConnection): Promise<string> {
  if (pc.iceGatheringState !== 'complete')
    await new Promise<void>((resolve) => {
      const t = setTimeout(resolve, 5000);
      pc.addEventListener('icegatheringstatechange', () => {
        if (pc.iceGatheringState === 'complete') {
          clearTimeout(t);
          resolve();
        }
      });
    });
  return pc.localDescription!.sdp;
}

/** The selected candidate pair's types, as "local/remote". */
async function pairOf(pc: RTCPeerConnection): Promise<string> {
  const stats = [...(await pc.getStats()).values()] as Array<Record<string, unknown>>;
  const transport = stats.find((s) => s.type === 'transport');
  const pair = stats.find((s) => s.id === transport?.selectedCandidatePairId);
  const type = (id: unknown) => stats.find((s) => s.id === id)?.candidateType ?? '?';
  return pair ? `${String(type(pair.localCandidateId))}/${String(type(pair.remoteCandidateId))}` : '?';
}

interface Across {
  pc: RTCPeerConnection;
  stop(): void;
}
let across: Across | undefined;

/** Sender page: the generated screen on a peer connection with `iceServers`; returns the offer. */
async function send(opts: Omit<FloorOptions, 'ms'> & { iceServers: RTCIceServer[] }): Promise<string> {
  const source = new GeneratedScreenSource({ width: opts.width, height: opts.height, fps: opts.fps });
  const frames = new FrameTrack(source, { contentHint: 'detail' });
  const pc = new RTCPeerConnection({ iceServers: opts.iceServers });
  const transceiver = pc.addTransceiver(frames.track, { direction: 'sendonly' });
  preferCodec(transceiver, opts.codec);
  frames.start();
  await pc.setLocalDescription();
  across = {
    pc,
    stop: () => {
      frames.stop();
      pc.close();
    },
  };
  void keepResolution(transceiver.sender);
  return gathered(pc);
}

async function accept(answer: string): Promise<void> {
  await across!.pc.setRemoteDescription({ type: 'answer', sdp: answer });
  await keepResolution(across!.pc.getSenders()[0]!);
}

/** Receiver page: answers `offer` (through the relay only, with `relay`), then measures for `ms` once playing. */
async function receive(opts: { offer: string; iceServers: RTCIceServer[]; relay: boolean }): Promise<string> {
  const pc = new RTCPeerConnection({ iceServers: opts.iceServers, iceTransportPolicy: opts.relay ? 'relay' : 'all' });
  const video = videoFor(pc);
  await pc.setRemoteDescription({ type: 'offer', sdp: opts.offer });
  await pc.setLocalDescription();
  across = {
    pc,
    stop: () => {
      pc.close();
      video.remove();
    },
  };
  return gathered(pc);
}

async function measureReceived(ms: number): Promise<FloorResult & { pair: string }> {
  const video = document.querySelector('video')!;
  const deadline = performance.now() + 20_000;
  while (!(video.videoWidth > 0) && performance.now() < deadline) await new Promise((r) => setTimeout(r, 100));
  if (!(video.videoWidth > 0)) throw new Error(`no picture arrived in 20 s (ICE ${across?.pc.iceConnectionState})`);
  await new Promise((r) => setTimeout(r, 2000));
  return { ...(await measure(video, ms)), pair: await pairOf(across!.pc) };
}

(window as unknown as { pairuxFloor: unknown }).pairuxFloor = { run, send, accept, receive, measure: measureReceived, stop: () => across?.stop() };
