/**
 * The RPC endpoint every boundary uses: typed requests get a result or a typed error, bad input
 * never throws into the caller, and closing rejects everything still pending.
 */
import assert from 'node:assert/strict';
import { z } from 'zod';
import { ErrorCode, PairuxError } from '../../protocol/errors';
import { defineNotification, defineRequest, type Boundary } from '../../protocol/rpc';
import { RpcEndpoint } from '../../protocol/rpc-endpoint';

const Add = defineRequest('math.add', z.object({ a: z.number(), b: z.number() }), z.object({ sum: z.number() }));
const Slow = defineRequest('math.slow', z.object({}), z.object({}));
const Tick = defineNotification('tick', z.object({ n: z.int() }));
const boundary: Boundary = {
  name: 'test',
  maxMessageBytes: 256,
  aToB: { requests: [Add, Slow], notifications: [Tick] },
  bToA: { requests: [], notifications: [] },
};

/** Two endpoints wired back to back, with every frame b sends recorded. */
function pair() {
  const fromB: string[] = [];
  const errorsAtB: PairuxError[] = [];

  let a: RpcEndpoint;
  const b = new RpcEndpoint({
    boundary,
    side: 'b',
    send: (t) => {
      fromB.push(t);
      queueMicrotask(() => a.receive(t));
    },
    onProtocolError: (e) => errorsAtB.push(e),
  });
  a = new RpcEndpoint({ boundary, side: 'a', send: (t) => queueMicrotask(() => b.receive(t)), requestTimeoutMs: 200 });
  return { a, b, fromB, errorsAtB };
}

async function codeOf(promise: Promise<unknown>): Promise<string> {
  try {
    await promise;
    return 'resolved';
  } catch (e) {
    return e instanceof PairuxError ? e.code : `not a PairuxError: ${String(e)}`;
  }
}

describe('protocol: RpcEndpoint', () => {
  it('answers a typed request', async () => {
    const { a, b } = pair();
    b.onRequest(Add, ({ a: x, b: y }) => ({ sum: x + y }));
    assert.deepEqual(await a.request(Add, { a: 2, b: 3 }), { sum: 5 });
  });

  it("turns a handler's PairuxError into the same typed error at the caller", async () => {
    const { a, b } = pair();
    b.onRequest(Add, () => {
      throw new PairuxError(ErrorCode.Forbidden, 'no sums for you', { why: 'test' });
    });
    const err = await a.request(Add, { a: 1, b: 1 }).catch((e: unknown) => e);
    assert.ok(err instanceof PairuxError);
    assert.equal(err.code, ErrorCode.Forbidden);
    assert.deepEqual(err.data, { why: 'test' });
  });

  it('hides unexpected exceptions behind INTERNAL', async () => {
    const { a, b } = pair();
    b.onRequest(Add, () => {
      throw new Error('secret stack detail');
    });
    const err = (await a.request(Add, { a: 1, b: 1 }).catch((e: unknown) => e)) as PairuxError;
    assert.equal(err.code, ErrorCode.Internal);
    assert.doesNotMatch(err.message, /secret/);
  });

  it('rejects params that fail the schema before the handler runs', async () => {
    const { b, fromB } = pair();
    let called = false;
    b.onRequest(Add, () => {
      called = true;
      return { sum: 0 };
    });
    b.receive(JSON.stringify({ v: 1, id: 4, method: 'math.add', params: { a: 'two', b: 3 } }));
    await new Promise((r) => setTimeout(r, 10));
    assert.equal(called, false);
    const reply = JSON.parse(fromB[0]!);
    assert.equal(reply.id, 4);
    assert.equal(reply.error.code, ErrorCode.BadMessage);
    assert.match(reply.error.message, /a:/);
  });

  it('answers unreadable input with id null and survives it', async () => {
    const { b, fromB, errorsAtB } = pair();
    b.onRequest(Add, ({ a: x, b: y }) => ({ sum: x + y }));
    for (const junk of ['', 'null', '42', '"str"', '{"v":1}', '{"v":1,"id":-1,"method":"math.add"}', 'x'.repeat(300)]) b.receive(junk);
    const codes = fromB.map((t) => JSON.parse(t) as { id: unknown; error: { code: string } });
    assert.equal(codes.length, 7);
    assert.ok(
      codes.every((c) => c.error && c.id === null),
      JSON.stringify(codes),
    );
    assert.equal(codes[6]!.error.code, ErrorCode.TooLarge);
    assert.equal(errorsAtB.length, 7);
    b.receive(JSON.stringify({ v: 1, id: 9, method: 'math.add', params: { a: 1, b: 1 } }));
    await new Promise((r) => setTimeout(r, 10));
    assert.equal(JSON.parse(fromB.at(-1)!).result.sum, 2);
  });

  it('takes larger messages from side b than side b takes, where the boundary says so (a server answering with many participants)', async () => {
    const Echo = defineRequest('echo', z.object({ text: z.string() }), z.object({ text: z.string() }));
    const asymmetric: Boundary = {
      name: 'down',
      maxMessageBytes: 256,
      maxMessageBytesBToA: 2048,
      aToB: { requests: [Echo], notifications: [] },
      bToA: { requests: [], notifications: [] },
    };
    const fromB: string[] = [];
    const fromA: string[] = [];
    let a: RpcEndpoint;
    const b = new RpcEndpoint({
      boundary: asymmetric,
      side: 'b',
      send: (t) => {
        fromB.push(t);
        queueMicrotask(() => a.receive(t));
      },
    });
    a = new RpcEndpoint({
      boundary: asymmetric,
      side: 'a',
      send: (t) => {
        fromA.push(t);
        queueMicrotask(() => b.receive(t));
      },
      requestTimeoutMs: 200,
    });
    b.onRequest(Echo, ({ text }) => ({ text: text.repeat(20) }));
    const tooLarge = (frames: string[]) => frames.filter((t) => (JSON.parse(t) as { error?: { code?: string } }).error?.code === ErrorCode.TooLarge).length;
    // A 1,000-character answer reaches a.
    assert.equal((await a.request(Echo, { text: 'x'.repeat(50) })).text.length, 1000);
    // A 300-character request is refused at b, unread (its id with it: a's request times out).
    assert.equal(await codeOf(a.request(Echo, { text: 'x'.repeat(300) })), ErrorCode.Timeout);
    assert.equal(tooLarge(fromB), 1);
    // And a takes no more than its own cap from b: a 3,000-character answer is refused at a.
    assert.equal(await codeOf(a.request(Echo, { text: 'x'.repeat(150) })), ErrorCode.Timeout);
    assert.equal(tooLarge(fromA), 1);
  });

  it('validates notifications and refuses to send what its side may not', async () => {
    const { a, b, errorsAtB } = pair();
    const ticks: number[] = [];
    b.onNotification(Tick, ({ n }) => ticks.push(n));
    a.notify(Tick, { n: 1 });
    b.receive(JSON.stringify({ v: 1, method: 'tick', params: { n: 1.5 } }));
    await new Promise((r) => setTimeout(r, 10));
    assert.deepEqual(ticks, [1]);
    assert.equal(errorsAtB[0]?.code, ErrorCode.BadMessage);
    assert.throws(() => b.notify(Tick, { n: 2 }), /not something side b/);
  });

  it('rejects a request that gets no answer with TIMEOUT', async () => {
    const { a, b } = pair();
    b.onRequest(Slow, () => new Promise(() => undefined));
    assert.equal(await codeOf(a.request(Slow, {})), ErrorCode.Timeout);
    assert.equal(a.pendingCount, 0);
  });

  it('rejects every pending request on close and refuses new ones', async () => {
    const { a, b } = pair();
    b.onRequest(Slow, () => new Promise(() => undefined));
    const pending = [a.request(Slow, {}, 5000), a.request(Slow, {}, 5000)];
    a.close('link lost');
    assert.deepEqual(await Promise.all(pending.map(codeOf)), [ErrorCode.Closed, ErrorCode.Closed]);
    assert.equal(await codeOf(a.request(Add, { a: 1, b: 2 })), ErrorCode.Closed);
  });

  it("reports a peer's unsolicited error responses as the peer's word, not as errors of its own", () => {
    const reports: Array<{ code: string; source: string }> = [];
    const b = new RpcEndpoint({ boundary, side: 'b', send: () => undefined, onProtocolError: (e, source) => reports.push({ code: e.code, source }) });
    b.receive(JSON.stringify({ v: 1, id: null, error: { code: 'INTERNAL', message: 'fake' } }));
    b.receive(JSON.stringify({ v: 1, id: 77, error: { code: 'INTERNAL', message: 'fake' } }));
    b.receive(JSON.stringify({ v: 1, id: 78, result: {} }));
    b.receive('{broken');
    assert.deepEqual(reports, [
      { code: ErrorCode.Internal, source: 'peer' },
      { code: ErrorCode.BadMessage, source: 'peer' },
      { code: ErrorCode.BadMessage, source: 'peer' },
      { code: ErrorCode.BadMessage, source: 'local' },
    ]);
  });

  it('drops a response whose result breaks the schema, with BAD_MESSAGE at the caller', async () => {
    const { a, b } = pair();
    b.onRequest(Add, () => ({ sum: 'many' }) as unknown as { sum: number });
    assert.equal(await codeOf(a.request(Add, { a: 1, b: 1 })), ErrorCode.BadMessage);
  });
});
