/**
 * A hello flood (review F3): every hello makes the host build a new peer connection, so one
 * viewer sending them as fast as the general message rate allows kept new viewers from ever
 * getting a picture. The relay now passes a few hellos per sender per 10 s and refuses the rest
 * with RATE_LIMITED; other viewers' hellos still reach the host.
 */
import assert from 'node:assert/strict';
import { ErrorCode, PairuxError } from '../../protocol/errors';
import { GetIceServers, SendSignal, Signal } from '../../protocol/signaling';
import type { ControlPlane } from '../../server/control-plane';
import { HELLO_LIMIT } from '../../server/signal-limits';
import { createSession, startTestServer, tokenOf } from '../support/control-plane';
import { connectingTo } from '../support/signaling-client';

describe('trust: a hello flood is cut per sender', function () {
  this.timeout(20_000);
  let plane: ControlPlane;
  const connect = connectingTo(() => plane);
  afterEach(async () => {
    await plane?.close();
  });

  it('a flooding viewer is refused with RATE_LIMITED while a second viewer still reaches the host', async () => {
    plane = await startTestServer();
    const s = await createSession(plane, { mode: 'p2p' });
    const host = await connect();
    const h = await host.join(s.sessionId, s.hostToken, 'Hana');
    const flooder = await connect();
    const f = await flooder.join(s.sessionId, tokenOf(s.links.viewer.url), 'Flo');
    const other = await connect();
    const o = await other.join(s.sessionId, tokenOf(s.links.viewer.url), 'Olga');

    // 40 hellos at once: under the socket's general rate (burst of twice 200/s), so only the per-kind rule can refuse them.
    const flood = Array.from({ length: 40 }, () =>
      flooder.request(SendSignal, { to: h.self.id, payload: { kind: 'hello', reason: 'failed' } }).then(
        () => 'sent' as const,
        (err: unknown) => err,
      ),
    );
    // Meanwhile the other viewer joins the picture.
    await other.request(SendSignal, { to: h.self.id, payload: { kind: 'hello', reason: 'join' } });
    const outcomes = await Promise.all(flood);
    const refused = outcomes.filter((x): x is PairuxError => x instanceof PairuxError);
    assert.equal(outcomes.filter((x) => x === 'sent').length, HELLO_LIMIT.count, 'the first few hellos pass');
    assert.equal(refused.length, 40 - HELLO_LIMIT.count);
    for (const err of refused) assert.equal(err.code, ErrorCode.RateLimited, err.message);
    assert.match(refused[0]!.message, /at most 5 .*every 10 s/);

    await host.waitFor(Signal, (sig) => sig.from === o.self.id && sig.payload.kind === 'hello');
    // A round trip on the host's socket: every relayed hello has arrived before its answer.
    await host.request(GetIceServers, {});
    const fromFlooder = host.received(Signal).filter((sig) => sig.from === f.self.id);
    assert.equal(fromFlooder.length, HELLO_LIMIT.count, 'the host got only the hellos that passed');

    // Other kinds stay under the general rate only: the flooder's offer still goes through.
    await flooder.request(SendSignal, { to: h.self.id, payload: { kind: 'offer', pc: 'pc1', sdp: 'v=0' } });
    await host.waitFor(Signal, (sig) => sig.from === f.self.id && sig.payload.kind === 'offer');
  });
});
