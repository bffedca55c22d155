/**
 * The host's key schedule (webview/engine/e2ee/host-keys.ts) when a host takes the seat over in
 * an encrypted session: it continues the key and generation it was handed (what every guest's
 * link holds), so the safety code stays the same and the ratchet goes on from there, instead of
 * making a key nobody has; a damaged schedule is refused rather than replaced by a fresh key.
 * WebCrypto is the same in Node as in the pages.
 */
import assert from 'node:assert/strict';
import { ErrorCode, PairuxError } from '../../protocol/errors';
import { BAD_INITIAL_KEY_MESSAGE, HostKeys, type KeyView } from '../../webview/engine/e2ee/host-keys';
import { KeyChain, type ChainKey } from '../../webview/engine/e2ee/key-chain';
import { encodeMediaKey, generateMediaKey } from '../../webview/engine/e2ee/media-keys';
import type { SignalingClient } from '../../webview/engine/signaling/signaling-client';

/** What HostKeys reads of the signaling client, with nobody else in the session. */
function quietSignaling(): SignalingClient {
  return {
    on: () => () => undefined,
    lastJoin: undefined,
    participants: new Map(),
    sendSignal: () => Promise.resolve(),
  } as unknown as SignalingClient;
}

function nextKey(keys: HostKeys): Promise<KeyView> {
  return new Promise((resolve) => {
    const off = keys.on('key', (view) => {
      off();
      resolve(view);
    });
  });
}

const log = () => undefined;

describe('E2EE keys: a host that took the seat over continues the session’s key schedule', () => {
  it('starts at the key and generation it was handed: same key in its links, same safety code, and the engines get that key', async () => {
    const handed = generateMediaKey();
    const text = encodeMediaKey(handed);
    const keys = new HostKeys({ signaling: quietSignaling(), log, initial: { key: text, gen: 7 } });
    try {
      const held: ChainKey[] = [];
      keys.attach({ setKeys: (sending) => void held.push(sending), forget: () => undefined });
      const view = keys.view ?? (await nextKey(keys));
      const guest = new KeyChain(handed, 7);
      assert.deepEqual([view.gen, view.text, view.why], [7, text, 'start']);
      assert.equal(view.safetyCode, await guest.safetyCode(), 'the guests compare the same code');
      assert.equal(keys.gen, 7);
      assert.deepEqual(
        held.map((k) => [k.gen, encodeMediaKey(k.key)]),
        [[7, text]],
      );
    } finally {
      keys.close();
    }
  });

  it('the ratchet goes on from the handed key: the next generation is the one every guest derives from its link', async () => {
    const handed = generateMediaKey();
    const keys = new HostKeys({ signaling: quietSignaling(), log, ratchetMs: 50, initial: { key: encodeMediaKey(handed), gen: 3 } });
    try {
      await (keys.view ? Promise.resolve(keys.view) : nextKey(keys));
      const stepped = await nextKey(keys);
      const guest = new KeyChain(handed, 3);
      const next = await guest.step();
      assert.deepEqual([stepped.why, stepped.gen, stepped.text], ['ratchet', 4, encodeMediaKey(next.key)]);
      assert.equal(stepped.safetyCode, await guest.safetyCode());
    } finally {
      keys.close();
    }
  });

  it('without a schedule it makes a fresh key at generation 0, as a host that started the session does', async () => {
    const keys = new HostKeys({ signaling: quietSignaling(), log });
    try {
      const view = keys.view ?? (await nextKey(keys));
      assert.equal(view.gen, 0);
      assert.match(view.text, /^[A-Za-z0-9_-]{43}$/);
    } finally {
      keys.close();
    }
  });

  it('a damaged key or a generation out of range is refused in words for the host, never replaced by a key of its own', () => {
    const good = encodeMediaKey(generateMediaKey());
    const bad = [
      { key: good.slice(1), gen: 0 },
      { key: `${good.slice(0, 42)}B`, gen: 0 },
      { key: '', gen: 0 },
      { key: good, gen: -1 },
      { key: good, gen: 0x10000 },
      { key: good, gen: 1.5 },
    ];
    for (const initial of bad) {
      assert.throws(
        () => new HostKeys({ signaling: quietSignaling(), log, initial }),
        (err: unknown) => err instanceof PairuxError && err.code === ErrorCode.BadMessage && err.message === BAD_INITIAL_KEY_MESSAGE,
        JSON.stringify({ ...initial, key: initial.key.length }),
      );
    }
  });
});
