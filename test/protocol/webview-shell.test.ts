/**
 * The shell boundary's end-to-end encryption messages (and, at the end, the host's choice of a
 * guest's quality tier, which reaches the host page only as a tier the protocol knows): the host page tells the extension its
 * media key (`shell.e2eeKey`) only in the exact form links carry it, and a guest page reports its
 * lock (`shell.status` `e2ee`); in a host transfer the guest page hands its editor the key
 * schedule it held (`shell.takeOverKey`) and the editor boots the new host page with it
 * (`shell.ready`'s `mediaKey`). A malformed one is refused at the boundary, and the refusal's
 * words never repeat the key.
 */
import assert from 'node:assert/strict';
import { RpcEndpoint } from '../../protocol/rpc-endpoint';
import { PROTOCOL_VERSION } from '../../protocol/rpc';
import type { PairuxError } from '../../protocol/errors';
import {
  ShellAction,
  ShellE2eeKey,
  ShellReady,
  ShellStatus,
  ShellTakeOverKey,
  webviewShellBoundary,
  type ShellActionParams,
  type ShellE2eeKeyParams,
} from '../../protocol/webview-shell';

const KEY = 'q0dJ3kTzWw5x_Yv-8bN2mL4pR6sU9cE1fH7jK0aZ3oQ';
const good: ShellE2eeKeyParams = { gen: 0, key: KEY, safetyCode: '123 456 789', why: 'start' };

/** The page's endpoint (side a) wired to the extension's (side b), as postMessage joins them. */
function pair() {
  const errors: PairuxError[] = [];
  const received: ShellE2eeKeyParams[] = [];
  let page!: RpcEndpoint;
  const editor: RpcEndpoint = new RpcEndpoint({
    boundary: webviewShellBoundary,
    side: 'b',
    send: (text) => page.receive(text),
    onProtocolError: (e) => void errors.push(e),
  });
  page = new RpcEndpoint({ boundary: webviewShellBoundary, side: 'a', send: (text) => editor.receive(text) });
  editor.onNotification(ShellE2eeKey, (k) => void received.push(k));
  return { editor, page, errors, received };
}

describe('protocol: webview shell, end-to-end encryption', () => {
  it('a host page may tell its editor the key, its generation, its safety code and why it changed', () => {
    assert.deepEqual(ShellE2eeKey.params.parse(good), good);
    for (const why of ['start', 'ratchet', 'rekey'] as const) assert.ok(ShellE2eeKey.params.safeParse({ ...good, why, gen: 0xffff }).success);
    const { page, received } = pair();
    page.notify(ShellE2eeKey, good);
    assert.deepEqual(received, [good]);
  });

  it('a key that is not exactly 43 base64url characters, a generation out of range or a bad safety code is refused', () => {
    const bad: Array<Partial<ShellE2eeKeyParams> | Record<string, unknown>> = [
      { key: KEY.slice(1) },
      { key: `${KEY}A` },
      { key: `${KEY.slice(0, 42)}=` },
      { key: `${KEY.slice(0, 42)}+` },
      { key: `${KEY.slice(0, 42)}/` },
      { key: '' },
      { gen: -1 },
      { gen: 0x10000 },
      { gen: 1.5 },
      { safetyCode: '123456789' },
      { safetyCode: '123 456 78a' },
      { why: 'guess' },
    ];
    for (const change of bad) assert.equal(ShellE2eeKey.params.safeParse({ ...good, ...change }).success, false, JSON.stringify(change));
    assert.equal(ShellE2eeKey.params.safeParse({ gen: 0, safetyCode: '123 456 789', why: 'start' }).success, false, 'no key');
  });

  it("a malformed key message never reaches the extension's handler, and the refusal does not repeat the key", () => {
    const { editor, errors, received } = pair();
    // Straight into the extension's side, past the page's own checks, as a compromised page could.
    editor.receive(JSON.stringify({ v: PROTOCOL_VERSION, method: ShellE2eeKey.method, params: { ...good, key: `${KEY}xyz` } }));
    assert.deepEqual(received, []);
    assert.equal(errors.length, 1);
    assert.match(errors[0]!.message, /bad params for shell\.e2eeKey/);
    assert.ok(!errors[0]!.message.includes(KEY), errors[0]!.message);
  });

  it("a guest page's status carries its lock: waiting, decrypting or key-rejected, with the safety code", () => {
    const base = { state: 'live', message: 'Watching', participants: [], driverId: null } as const;
    for (const state of ['waiting', 'decrypting', 'key-rejected'] as const) {
      assert.ok(ShellStatus.params.safeParse({ ...base, e2ee: { state, safetyCode: '000 111 222', gen: 3 } }).success, state);
    }
    assert.ok(ShellStatus.params.safeParse({ ...base, e2ee: { state: 'waiting', gen: 0 } }).success, 'before the code is known');
    assert.equal(ShellStatus.params.safeParse({ ...base, e2ee: { state: 'open', gen: 0 } }).success, false);
    assert.equal(ShellStatus.params.safeParse({ ...base, e2ee: { state: 'decrypting', safetyCode: '<b>1</b>', gen: 0 } }).success, false);
  });

  describe('host transfer', () => {
    const boot = { page: 'host', hostParams: 'sid=s', signalingUrl: 'ws://127.0.0.1:1/ws' } as const;

    it('a guest page hands its editor the key and generation it held, and nothing else crosses with them', () => {
      assert.deepEqual(ShellTakeOverKey.params.parse({ key: KEY, gen: 9 }), { key: KEY, gen: 9 });
      assert.deepEqual(ShellTakeOverKey.params.parse({ key: KEY, gen: 9, extra: 'x' }), { key: KEY, gen: 9 }, 'unknown fields are dropped');
      const errors: PairuxError[] = [];
      let page!: RpcEndpoint;
      const editor = new RpcEndpoint({ boundary: webviewShellBoundary, side: 'b', send: (t) => page.receive(t), onProtocolError: (e) => void errors.push(e) });
      page = new RpcEndpoint({ boundary: webviewShellBoundary, side: 'a', send: (t) => editor.receive(t) });
      const held: unknown[] = [];
      editor.onNotification(ShellTakeOverKey, (k) => void held.push(k));
      page.notify(ShellTakeOverKey, { key: KEY, gen: 9 });
      editor.receive(JSON.stringify({ v: PROTOCOL_VERSION, method: ShellTakeOverKey.method, params: { key: `${KEY}=`, gen: 10 } }));
      assert.deepEqual(held, [{ key: KEY, gen: 9 }]);
      assert.equal(errors.length, 1);
      assert.match(errors[0]!.message, /bad params for shell\.takeOverKey/);
      assert.ok(!errors[0]!.message.includes(KEY), errors[0]!.message);
    });

    it('the host page boots with the schedule to continue only in the exact form a link carries it', () => {
      assert.ok(ShellReady.result.safeParse({ ...boot, mediaKey: { key: KEY, gen: 0xffff } }).success);
      assert.ok(ShellReady.result.safeParse(boot).success, 'a host that starts the session has none');
      for (const mediaKey of [
        { key: KEY.slice(1), gen: 0 },
        { key: `${KEY.slice(0, 42)}+`, gen: 0 },
        { key: KEY, gen: -1 },
        { key: KEY, gen: 0x10000 },
        { key: KEY },
        { gen: 1 },
      ]) {
        assert.equal(ShellReady.result.safeParse({ ...boot, mediaKey }).success, false, JSON.stringify(mediaKey));
      }
    });
  });
});

describe('protocol: webview shell, a guest quality tier', () => {
  /** The extension's endpoint (side b) asking the host page's (side a), which records what it was asked to do. */
  function hostPagePair() {
    const done: ShellActionParams[] = [];
    let editor!: RpcEndpoint;
    const page: RpcEndpoint = new RpcEndpoint({ boundary: webviewShellBoundary, side: 'a', send: (text) => editor.receive(text) });
    editor = new RpcEndpoint({ boundary: webviewShellBoundary, side: 'b', send: (text) => page.receive(text) });
    page.onRequest(ShellAction, (a) => (done.push(a), {}));
    return { editor, done };
  }

  it('the editor asks the host page for a tier by name, or null to put the guest back on its role’s', async () => {
    const { editor, done } = hostPagePair();
    for (const tier of ['high', 'standard', 'low', null] as const) await editor.request(ShellAction, { action: 'setTier', participantId: 'bob', tier });
    assert.deepEqual(
      done.map((a) => (a.action === 'setTier' ? a.tier : a.action)),
      ['high', 'standard', 'low', null],
    );
  });

  it('a tier the protocol does not know, a missing tier or a bad id never reaches the host page', async () => {
    const { editor, done } = hostPagePair();
    const bad: Array<Record<string, unknown>> = [
      { participantId: 'bob', tier: 'ultra' },
      { participantId: 'bob', tier: 'HIGH' },
      { participantId: 'bob', tier: 3 },
      { participantId: 'bob' },
      { participantId: '', tier: 'low' },
      { participantId: 'x'.repeat(1000), tier: 'low' },
      { tier: 'low' },
    ];
    for (const fields of bad) {
      const params = { action: 'setTier', ...fields } as unknown as ShellActionParams;
      assert.equal(ShellAction.params.safeParse(params).success, false, JSON.stringify(fields));
      await assert.rejects(
        editor.request(ShellAction, params),
        (err: PairuxError) => err.code === 'BAD_MESSAGE' && /bad params for shell\.action/.test(err.message),
      );
    }
    assert.deepEqual(done, []);
  });

  it('the editor hands the host page its shared links to show; anything but two URLs never reaches it', async () => {
    const { editor, done } = hostPagePair();
    const viewer = 'http://127.0.0.1:7420/join/s1#t=abc';
    const controller = 'http://127.0.0.1:7420/join/s1#t=def';
    await editor.request(ShellAction, { action: 'showLinks', viewer, controller });
    assert.deepEqual(done, [{ action: 'showLinks', viewer, controller }]);
    for (const fields of [{ viewer: 'not a link', controller }, { viewer }, { viewer, controller: `http://x/${'a'.repeat(9000)}` }]) {
      const params = { action: 'showLinks', ...fields } as unknown as ShellActionParams;
      await assert.rejects(editor.request(ShellAction, params), (err: PairuxError) => err.code === 'BAD_MESSAGE');
    }
    assert.equal(done.length, 1);
  });
});
