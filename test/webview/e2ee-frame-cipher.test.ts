/**
 * The P2P frame cipher (issue 15; webview/engine/e2ee/frame-cipher.ts): frames sealed under the
 * media key open only with it, once, intact; everything else is dropped with its reason.
 */
import assert from 'node:assert/strict';
import { FrameOpener, FrameSealer, KEPT_KEYS, SEALED_MARK } from '../../webview/engine/e2ee/frame-cipher';
import { generateMediaKey, ratchetMediaKey } from '../../webview/engine/e2ee/media-keys';

const frame = (n: number, size = 500): Uint8Array<ArrayBuffer> => {
  const f = new Uint8Array(size);
  for (let i = 0; i < size; i++) f[i] = (i * 7 + n) & 0xff;
  return f;
};

async function pair(key = generateMediaKey(), keyId = 1) {
  const sealer = new FrameSealer();
  const opener = new FrameOpener();
  await sealer.setKey(keyId, key);
  await opener.addKey(keyId, key);
  return { sealer, opener, key };
}

describe('E2EE frame cipher: sealed frames open only with the key, once, and intact', () => {
  it('a sealed frame opens to the same bytes; its body is not in it, the clear prefix is', async () => {
    const { sealer, opener } = await pair();
    const f = frame(1);
    const sealed = await sealer.seal(f, 10);
    assert.deepEqual(sealed.subarray(0, 10), f.subarray(0, 10), 'the packetizer still reads the first bytes');
    assert.equal(sealed.at(-1), SEALED_MARK);
    // No 16-byte run of the frame's body survives in the sealed bytes.
    const hex = Buffer.from(sealed).toString('hex');
    for (let at = 10; at + 16 <= f.length; at += 16)
      assert.ok(!hex.includes(Buffer.from(f.subarray(at, at + 16)).toString('hex')), `body bytes ${at}… in clear`);
    const opened = await opener.open(sealed);
    assert.ok('frame' in opened);
    assert.deepEqual(opened.frame, f);
  });

  it('a viewer without the key, or with another key, opens nothing: every frame is dropped, none passed on', async () => {
    const { sealer } = await pair();
    const keyless = new FrameOpener();
    const wrong = new FrameOpener();
    await wrong.addKey(1, generateMediaKey());
    for (let i = 0; i < 20; i++) {
      const sealed = await sealer.seal(frame(i), 3);
      assert.deepEqual(await keyless.open(sealed), { dropped: 'no key' });
      assert.deepEqual(await wrong.open(sealed), { dropped: 'tampered' });
    }
    assert.equal(keyless.dropped['no key'], 20);
    assert.equal(wrong.dropped.tampered, 20);
  });

  it('a changed byte anywhere (clear prefix, body, IV, clear length, key id) or a cut frame is dropped', async () => {
    const { sealer, opener } = await pair();
    const sealed = await sealer.seal(frame(2), 10);
    const flip = (at: number) => {
      const copy = new Uint8Array(sealed);
      copy[at < 0 ? copy.length + at : at]! ^= 0x01;
      return copy;
    };
    for (const at of [0, 9, 10, 200, -15, -4]) assert.deepEqual(await opener.open(flip(at)), { dropped: 'tampered' }, `byte ${at}`);
    assert.deepEqual(await opener.open(flip(-2)), { dropped: 'no key' }, 'another key id');
    assert.deepEqual(await opener.open(flip(-3)), { dropped: 'tampered' }, 'another clear length');
    assert.deepEqual(await opener.open(sealed.slice(5)), { dropped: 'tampered' });
    assert.deepEqual(await opener.open(sealed.slice(sealed.length - 20)), { dropped: 'truncated' });
    assert.deepEqual(await opener.open(new Uint8Array(0)), { dropped: 'not encrypted' });
    assert.deepEqual(await opener.open(frame(3)), { dropped: 'not encrypted' }, 'a clear frame is never passed on');
    // The untouched frame still opens: the forgeries burned nothing.
    assert.ok('frame' in (await opener.open(sealed)));
  });

  it('each frame opens once: a replay is dropped, a late frame within the window still opens', async () => {
    const { sealer, opener } = await pair();
    const sealed = [];
    for (let i = 0; i < 10; i++) sealed.push(await sealer.seal(frame(i)));
    for (const i of [0, 1, 2, 5, 6, 9]) assert.ok('frame' in (await opener.open(sealed[i]!)), `frame ${i}`);
    assert.deepEqual(await opener.open(sealed[5]!), { dropped: 'replayed' });
    assert.ok('frame' in (await opener.open(sealed[3]!)), 'late but new');
    assert.deepEqual(await opener.open(sealed[3]!), { dropped: 'replayed' });
    assert.equal(opener.dropped.replayed, 2);
  });

  it('an IV is never used twice under one key: 5,000 frames, 5,000 IVs; a new key draws a new salt', async () => {
    const { sealer } = await pair();
    const ivs = new Set<string>();
    for (let i = 0; i < 5000; i++) {
      const s = await sealer.seal(frame(i, 20));
      ivs.add(Buffer.from(s.subarray(s.length - 15, s.length - 3)).toString('hex'));
    }
    assert.equal(ivs.size, 5000);
    const before = [...ivs][0]!.slice(0, 8);
    await sealer.setKey(2, generateMediaKey());
    const s = await sealer.seal(frame(0, 20));
    assert.notEqual(Buffer.from(s.subarray(s.length - 15, s.length - 11)).toString('hex'), before);
  });

  it('a rotation needs no pause: frames under the old and the new key both open while both are kept; the oldest beyond those kept is forgotten', async () => {
    const k1 = generateMediaKey();
    const { sealer, opener } = await pair(k1, 1);
    const old = await sealer.seal(frame(1));
    const k2 = await ratchetMediaKey(k1);
    await sealer.setKey(2, k2);
    await opener.addKey(2, k2);
    const fresh = await sealer.seal(frame(2));
    assert.ok('frame' in (await opener.open(fresh)));
    assert.ok('frame' in (await opener.open(old)), 'a frame in flight under the previous key');
    let k = k2;
    for (let id = 3; id <= 2 + KEPT_KEYS; id++) {
      k = await ratchetMediaKey(k);
      await opener.addKey(id, k);
    }
    await sealer.setKey(1, k1);
    assert.deepEqual(await opener.open(await sealer.seal(frame(9))), { dropped: 'no key' }, 'key 1 was forgotten');
    opener.clear();
    await sealer.setKey(6, k);
    assert.deepEqual(await opener.open(await sealer.seal(frame(9))), { dropped: 'no key' }, 'a cleared opener opens nothing');
  });

  it('a sender without a key refuses to send rather than send in clear', async () => {
    await assert.rejects(new FrameSealer().seal(frame(1)), /never sent in clear/);
    await assert.rejects(new FrameSealer().setKey(256, generateMediaKey()), RangeError);
  });
});
