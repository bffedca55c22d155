/**
 * The bare floor of Chromium's WebRTC path on this machine, for the latency bench to print beside
 * the product's figures: the same generated screen and frame track, one loopback peer connection
 * pair inside one page, no server, no signaling, no second browser.
 */
import { preferCodec, type VideoCodecName } from '../../webview/engine/codecs';
import { decodeMarker, expandCaptureTime, markerGeometry } from '../../webview/engine/frame-marker';
import { GeneratedScreenSource } from '../../webview/engine/generated-screen';
import { FrameTrack } from '../../webview/engine/track-from-frames';

interface FloorResult {
  latencies: number[];
  frames: number;
  seconds: number;
  width: number;
  height: number;
}

async function run(opts: { width: number; height: number; fps: number; codec: VideoCodecName; ms: number }): Promise<FloorResult> {
  const source = new GeneratedScreenSource({ width: opts.width, height: opts.height, fps: opts.fps });
  const frames = new FrameTrack(source, { contentHint: 'detail' });
  const a = new RTCPeerConnection();
  const b = new RTCPeerConnection();
  a.onicecandidate = (e) => void b.addIceCandidate(e.candidate ?? undefined);
  b.onicecandidate = (e) => void a.addIceCandidate(e.candidate ?? undefined);
  const transceiver = a.addTransceiver(frames.track, { direction: 'sendonly' });
  preferCodec(transceiver, opts.codec);
  const video = document.createElement('video');
  video.muted = true;
  video.playsInline = true;
  document.body.append(video);
  b.ontrack = (e) => {
    video.srcObject = new MediaStream([e.track]);
    void video.play();
  };
  frames.start();
  await a.setLocalDescription();
  await b.setRemoteDescription(a.localDescription!);
  await b.setLocalDescription();
  await a.setRemoteDescription(b.localDescription!);
  const params = transceiver.sender.getParameters();
  params.degradationPreference = 'maintain-resolution';
  await transceiver.sender.setParameters(params).catch(() => undefined);
  await new Promise((r) => setTimeout(r, 2000));

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
      if (performance.now() - start < opts.ms) video.requestVideoFrameCallback(onFrame);
      else resolve();
    };
    video.requestVideoFrameCallback(onFrame);
  });
  const result = { latencies, frames: seen.size, seconds: (performance.now() - start) / 1000, width: video.videoWidth, height: video.videoHeight };
  frames.stop();
  a.close();
  b.close();
  video.remove();
  return result;
}

(window as unknown as { pairuxFloor: { run: typeof run } }).pairuxFloor = { run };
