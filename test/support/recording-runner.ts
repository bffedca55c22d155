/**
 * A stand-in for the host's runner behind the host page's bridge, ONLY for end-to-end tests about
 * topology (pixels, frames through the bridge, media moves, failover) that assert nothing about
 * grants or injection. It grants nothing: every control request is refused ('disabled') and
 * input that still reaches it is counted and dropped. A test that asserts what was or was not
 * injected, or who was granted, drives the real runner, helper and X server instead:
 * test/support/real-host-rig.ts.
 *
 * The screen is the page's own generated marker screen, or synthetic BGRX frames (the frame
 * marker painted) pumped through the bridge, or through a helper-like frame socket (`sink`).
 */
import type { BridgeBackend } from '../../runner/bridge-backend';
import { HostBridgeServer } from '../../runner/websocket-bridge';
import { FrameKind, VIDEO_HEADER_BYTES, writeVideoHeader } from '../../protocol/helper-framing';
import { captureTimeLow32, paintMarker } from '../../webview/engine/frames/frame-marker';

export type FramesVia = 'bridge' | 'generated' | { url: string };

export class RecordingRunner {
  readonly bridge: HostBridgeServer;
  /** Every hello the page sent, in order. */
  readonly hellos: unknown[] = [];
  /** Input events that reached this stand-in (and were dropped): none should, it grants nobody. */
  inputsDropped = 0;
  /** Where the page is told to take frames from at its next hello. */
  via: FramesVia;
  screen: { width: number; height: number; fps: number };
  /** Where pumped frames go when not through the bridge (a helper-like frame socket). */
  sink: ((frame: Uint8Array) => void) | undefined;
  /** Every n-th pumped message is garbage instead of a frame (0: never). */
  garbageEvery = 0;
  /** Says hello with the lobby on for viewers too. */
  lobbyEveryone = false;
  /** Names the page asked this runner to let in from the lobby. */
  readonly knocks: string[] = [];
  private seq = 0;
  private timer: ReturnType<typeof setInterval> | undefined;

  constructor(screen: { width: number; height: number; fps: number }, via: FramesVia = 'generated') {
    this.screen = { ...screen };
    this.via = via;
    const backend: BridgeBackend = {
      hello: (p) => {
        this.hellos.push(p);
        const frames =
          this.via === 'bridge'
            ? { via: 'bridge' as const }
            : this.via === 'generated'
              ? { via: 'generated' as const }
              : { via: 'websocket' as const, url: this.via.url };
        return {
          frames,
          screen: { ...this.screen, source: this.via === 'generated' ? 'generated' : 'test-runner' },
          controlRequests: false,
          ...(this.lobbyEveryone ? { lobbyEveryone: true } : {}),
        };
      },
      askControl: async () => ({ allow: false, reason: 'disabled' }),
      // The host lets everyone in the lobby in (these tests are about topology, not who may join).
      askAdmit: async (p) => (this.knocks.push(p.name), { admit: true, reason: 'allowed' }),
      controlState: () => undefined,
      input: () => {
        this.inputsDropped++;
      },
    };
    this.bridge = new HostBridgeServer(backend);
  }

  /** ws:// URL for the host page's `bridge` option. */
  get url(): string {
    return this.bridge.url;
  }

  /** Synthetic frames (BGRX, frame marker painted) at `fps`, through the bridge or the sink. */
  pump(fps = 10): void {
    this.stopPump();
    this.timer = setInterval(() => {
      const n = this.seq++;
      const send = this.sink ?? ((f: Uint8Array) => this.bridge.sendFrame(f));
      if (this.garbageEvery > 0 && n % this.garbageEvery === 0) {
        send(Uint8Array.from({ length: 1000 + (n % 7) }, (_, i) => (i * 31 + n) & 0xff));
        return;
      }
      send(syntheticFrame(this.screen.width, this.screen.height, n));
    }, 1000 / fps);
  }

  stopPump(): void {
    if (this.timer !== undefined) clearInterval(this.timer);
    this.timer = undefined;
  }

  async close(): Promise<void> {
    this.stopPump();
    await this.bridge.close();
  }
}

export async function startRecordingRunner(screen: { width: number; height: number; fps: number }, via: FramesVia = 'generated'): Promise<RecordingRunner> {
  const runner = new RecordingRunner(screen, via);
  await runner.bridge.listen();
  return runner;
}

function syntheticFrame(width: number, height: number, seq: number): Uint8Array {
  const bytes = new Uint8Array(1 + VIDEO_HEADER_BYTES + width * height * 4);
  bytes[0] = FrameKind.Video;
  const captureTime = Date.now();
  writeVideoHeader(new DataView(bytes.buffer), 1, { seq, width, height, format: 'BGRX', captureTime });
  const pixels = bytes.subarray(1 + VIDEO_HEADER_BYTES);
  // A dark blue-grey desktop (B, G, R, X), then the marker the viewer's probe reads back.
  for (let i = 0; i < pixels.length; i += 4) {
    pixels[i] = 70;
    pixels[i + 1] = 45;
    pixels[i + 2] = 30;
  }
  paintMarker(pixels, width, height, { frame: seq & 0xffff, captureTimeLow32: captureTimeLow32(captureTime) });
  return bytes;
}
