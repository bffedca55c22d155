/**
 * End-to-end encryption's keys (issue 15; webview/engine/e2ee/): the media key's text form in a
 * link, the ratchet, the frame key, the safety code, and a new key wrapped for one guest alone.
 * WebCrypto is the same in Node as in the pages.
 */
import assert from 'node:assert/strict';
import { makeGuestKeyPair, unwrapKey, wrapKeyFor } from '../../webview/engine/e2ee/key-wrap';
import { frameKeyId, KeyChain, stepsTo } from '../../webview/engine/e2ee/key-chain';
import { decodeMediaKey, encodeMediaKey, frameKey, generateMediaKey, MEDIA_KEY_CHARS, ratchetMediaKey, safetyCode } from '../../webview/engine/e2ee/media-keys';

const context = { sessionId: 's-1', guestId: 'c-ada' };

describe('E2EE keys: the media key, its ratchet and safety code, and re-keying one guest at a time', () => {
  it('a media key is 32 random bytes, 43 link-safe characters, and comes back whole', () => {
    const a = generateMediaKey();
    const b = generateMediaKey();
    assert.equal(a.length, 32);
    assert.notDeepEqual(a, b);
    const text = encodeMediaKey(a);
    assert.equal(text.length, MEDIA_KEY_CHARS);
    assert.match(text, /^[A-Za-z0-9_-]{43}$/);
    assert.deepEqual(decodeMediaKey(text), a);
  });

  it('an edited, cut, padded or foreign key is refused in words the user can act on', () => {
    const text = encodeMediaKey(generateMediaKey());
    const body = text.slice(0, 42);
    // The last character carries two spare bits, always zero from the encoder: 'B' sets one.
    for (const bad of [body, `${text}=`, `${text}A`, `${body}+`, `${body}/`, `${body}B`, '', 'x'.repeat(200)])
      assert.throws(() => decodeMediaKey(bad), /end-to-end encrypted and your link’s key is damaged/, JSON.stringify(bad));
  });

  it('the ratchet: both sides derive the same next key, every step differs, and it cannot be run backwards', async () => {
    const k0 = generateMediaKey();
    const host = await ratchetMediaKey(k0);
    const guest = await ratchetMediaKey(decodeMediaKey(encodeMediaKey(k0)));
    assert.deepEqual(host, guest);
    const k2 = await ratchetMediaKey(host);
    assert.notDeepEqual(host, k0);
    assert.notDeepEqual(k2, host);
    // Knowing k1 gives k2, never k0: the only way back would be to invert HKDF.
    assert.deepEqual(await ratchetMediaKey(host), k2);
  });

  it('the key chain: generations by ratchet, frame ids wrap at 256, a receiver counts the steps to a later id, a re-key starts over', async () => {
    const first = generateMediaKey();
    const chain = new KeyChain(first);
    const peeked = await chain.peek();
    assert.equal(peeked.gen, 1);
    assert.deepEqual(peeked.key, await ratchetMediaKey(first));
    assert.equal((await chain.step()).gen, 1);
    assert.deepEqual(chain.key, peeked.key);
    // A link of generation 1 and frames naming generation 4: three steps, the same key the sender has.
    const sender = new KeyChain(first);
    await sender.advance(4);
    const receiver = new KeyChain(peeked.key, 1);
    await receiver.advance(stepsTo(receiver.gen, frameKeyId(sender.gen)));
    assert.deepEqual([receiver.gen, receiver.text], [4, sender.text]);
    assert.equal(await receiver.safetyCode(), await sender.safetyCode());
    assert.deepEqual([frameKeyId(255), frameKeyId(256), stepsTo(255, frameKeyId(257))], [255, 0, 2]);
    const fresh = generateMediaKey();
    receiver.replace(5, fresh);
    assert.deepEqual([receiver.gen, receiver.text], [5, encodeMediaKey(fresh)]);
    assert.notDeepEqual((await sender.peek()).key, fresh, "a re-key is not the ratchet's next key");
  });

  it('the frame key encrypts under the media key alone: another key cannot open a frame', async () => {
    const k = generateMediaKey();
    const iv = crypto.getRandomValues(new Uint8Array(12));
    const frame = crypto.getRandomValues(new Uint8Array(1000));
    const sealed = await crypto.subtle.encrypt({ name: 'AES-GCM', iv }, await frameKey(k), frame);
    assert.deepEqual(new Uint8Array(await crypto.subtle.decrypt({ name: 'AES-GCM', iv }, await frameKey(new Uint8Array(k)), sealed)), frame);
    await assert.rejects(crypto.subtle.decrypt({ name: 'AES-GCM', iv }, await frameKey(generateMediaKey()), sealed));
    // Not the media key itself: the same bytes as an AES key do not open it.
    const raw = await crypto.subtle.importKey('raw', k, 'AES-GCM', false, ['decrypt']);
    await assert.rejects(crypto.subtle.decrypt({ name: 'AES-GCM', iv }, raw, sealed));
  });

  it('safety codes: nine digits, equal for the same key, different for a tampered one', async () => {
    const k = generateMediaKey();
    const code = await safetyCode(k);
    assert.match(code, /^\d{3} \d{3} \d{3}$/);
    assert.equal(await safetyCode(decodeMediaKey(encodeMediaKey(k))), code);
    const tampered = new Uint8Array(k);
    tampered[5]! ^= 1;
    assert.notEqual(await safetyCode(tampered), code);
  });

  it('a new key wrapped for one guest opens only with that guest’s key pair, the current key, and for that session, guest and key id', async () => {
    const current = generateMediaKey();
    const next = generateMediaKey();
    const ada = await makeGuestKeyPair();
    const bo = await makeGuestKeyPair();
    const wrapped = await wrapKeyFor(ada.publicKey, next, 7, context, current);
    assert.deepEqual(await unwrapKey(wrapped, ada.privateKey, context, current), next);
    // Nothing of the key in what crosses the server.
    assert.ok(!JSON.stringify(wrapped).includes(encodeMediaKey(next)));

    const refusals: Array<[string, Promise<unknown>]> = [
      ['another guest', unwrapKey(wrapped, bo.privateKey, context, current)],
      ['a removed guest with the old key but not the wrapped-for key pair', unwrapKey(wrapped, bo.privateKey, { ...context, guestId: 'c-bo' }, current)],
      ['another guest id', unwrapKey(wrapped, ada.privateKey, { ...context, guestId: 'c-eve' }, current)],
      ['another session', unwrapKey(wrapped, ada.privateKey, { ...context, sessionId: 's-2' }, current)],
      ['another key id', unwrapKey({ ...wrapped, keyId: 8 }, ada.privateKey, context, current)],
      ['a server without the current key', unwrapKey(wrapped, ada.privateKey, context, generateMediaKey())],
      [
        'a flipped byte',
        unwrapKey(
          { ...wrapped, ciphertext: `${wrapped.ciphertext.slice(0, -2)}${wrapped.ciphertext.endsWith('AA') ? 'BA' : 'AA'}` },
          ada.privateKey,
          context,
          current,
        ),
      ],
    ];
    for (const [what, p] of refusals) await assert.rejects(p, /a key rotation was refused/, what);
  });

  it('a rotation forged by whoever relays it (its own key pair, no current key) is refused, as is a malformed one', async () => {
    const current = generateMediaKey();
    const ada = await makeGuestKeyPair();
    // The relay swaps in a wrapping of its own: it knows Ada's public key but not the current media key.
    const forged = await wrapKeyFor(ada.publicKey, generateMediaKey(), 3, context, generateMediaKey());
    await assert.rejects(unwrapKey(forged, ada.privateKey, context, current), /does not open/);
    const good = await wrapKeyFor(ada.publicKey, generateMediaKey(), 3, context, current);
    for (const bad of [
      { ...good, hostPublic: 'AAAA' },
      // An uncompressed point starts with byte 4 ('B' in base64); 'C' makes it 8, no point at all.
      { ...good, hostPublic: good.hostPublic.replace(/^./, 'C') },
      { ...good, iv: 'short' },
      { ...good, ciphertext: 'not base64 !' },
      { ...good, keyId: -1 },
      { ...good, keyId: 1.5 },
    ])
      await assert.rejects(unwrapKey(bad, ada.privateKey, context, current), /a key rotation was refused/);
  });
});
