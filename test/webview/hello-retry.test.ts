/**
 * A guest whose hello the server refused as one too many (F3's per-guest hello limit) says it
 * again once the server's window has room, by itself: before, the refusal was only logged and the
 * guest sat without a picture until its watchdog happened to fire (or forever, with a long one).
 * The real server, the pages' real SignalingClient and GuestEngine; the host is a bare client that
 * records the hellos the server relays to it (no browser: no offer is ever made).
 */
import assert from 'node:assert/strict';
import { ErrorCode, PairuxError } from '../../protocol/errors';
import { Signal } from '../../protocol/signaling';
import { HELLO_LIMIT } from '../../server/signal-limits';
import type { ControlPlane } from '../../server/control-plane';
import { GuestEngine } from '../../webview/engine/p2p/guest-engine';
import { silentLogger } from '../../webview/engine/logger';
import { memoryResumeStore } from '../../webview/engine/signaling/resume-store';
import { SignalingClient } from '../../webview/engine/signaling/signaling-client';
import { createSession, startTestServer, tokenOf } from '../support/control-plane';
import { nodeWsTransport, TestClient } from '../support/signaling-client';

/** What GuestEngine touches of its <video> before a track arrives. */
function fakeVideo(): HTMLVideoElement {
  return {
    muted: false,
    playsInline: false,
    autoplay: false,
    addEventListener: () => undefined,
    removeEventListener: () => undefined,
  } as unknown as HTMLVideoElement;
}

describe('webview: a refused hello is said again after retryAfterMs', function () {
  this.timeout(40_000);
  let plane: ControlPlane;
  let host: TestClient;
  let guest: SignalingClient;
  let engine: GuestEngine | undefined;

  beforeEach(async () => {
    plane = await startTestServer();
  });
  afterEach(async () => {
    engine?.stop();
    engine = undefined;
    guest?.dispose();
    host?.close();
    await plane.close();
  });

  it('a guest over the hello limit gets its next hello to the host without anyone acting', async () => {
    const session = await createSession(plane, { mode: 'p2p' });
    host = await TestClient.connect(plane.url);
    const joined = await host.join(session.sessionId, session.hostToken, 'Hana');
    guest = new SignalingClient({
      transport: nodeWsTransport(plane.url),
      sessionId: session.sessionId,
      token: tokenOf(session.links.viewer.url),
      name: 'Flo',
      client: { kind: 'browser' },
      resumeStore: memoryResumeStore(),
      log: silentLogger,
    });
    guest.start();
    await host.until(() => (guest.state === 'joined' ? true : undefined), 'the guest to join');
    const hellos = () => host.received(Signal).filter((s) => s.payload.kind === 'hello' && s.from === guest.self?.id);

    // The flood: the guest spends its whole window, and one more is refused (the limit is live).
    for (let i = 0; i < HELLO_LIMIT.count; i++) await guest.sendSignal(joined.self.id, { kind: 'hello', reason: 'join' });
    await assert.rejects(
      guest.sendSignal(joined.self.id, { kind: 'hello', reason: 'join' }),
      (err: unknown) => err instanceof PairuxError && err.code === ErrorCode.RateLimited,
    );
    await host.until(() => (hellos().length === HELLO_LIMIT.count ? true : undefined), 'the allowed hellos');
    const windowOpensAt = Date.now() + HELLO_LIMIT.windowMs;

    // The engine's own hello on start is refused too; its watchdog is set far beyond the window,
    // so only the retry can bring a hello to the host in time.
    engine = new GuestEngine({ signaling: guest, video: fakeVideo(), connectTimeoutMs: 120_000, log: silentLogger });
    engine.start();
    await new Promise((r) => setTimeout(r, 1000));
    assert.equal(hellos().length, HELLO_LIMIT.count, 'the engine hello inside the window was refused');

    await host.until(() => (hellos().length > HELLO_LIMIT.count ? true : undefined), 'the retried hello', windowOpensAt - Date.now() + 3000);
    assert.ok(Date.now() >= windowOpensAt - 1000, 'the retry waited for the window');
    await new Promise((r) => setTimeout(r, 1500));
    assert.equal(hellos().length, HELLO_LIMIT.count + 1, 'one retry, not a new flood');
  });
});
