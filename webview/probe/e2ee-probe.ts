/**
 * Test probe for P2P end-to-end encryption (test pages only): a loopback pair of peer connections
 * in one page, a canvas as the screen, the page's E2EE transforms on the sender and the receiver,
 * and what the receiver decoded. The keys are the test's: a receiver with none or another one must
 * decode nothing.
 */
import { E2eeTransforms, type E2eeStats } from '../engine/e2ee/e2ee-transforms';

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

(window as unknown as { pairuxE2eeProbe: unknown }).pairuxE2eeProbe = { loopback };
