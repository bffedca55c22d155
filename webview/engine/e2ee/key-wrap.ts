/**
 * A new media key for one guest alone (issue 15: after a removal the host re-keys, and a removed
 * guest who kept the link must not read what follows). Each guest page makes an ECDH P-256 key
 * pair and publishes the public half through signaling; the host wraps the new key with AES-GCM
 * under a key derived from an ephemeral ECDH exchange with that guest *and* from the current
 * media key. So the server, which relays the message and the public keys, can neither read the
 * new key nor forge a rotation (it has no media key, so a public key it swapped in gets it
 * nothing), and the wrapping names the session, the guest and the key id it is for.
 */
import { ErrorCode, PairuxError } from '../../../protocol/errors';
import { fromBase64Url, toBase64Url } from './base64url';
import { MEDIA_KEY_BYTES } from './media-keys';

/** What crosses signaling: base64url fields, no secret in clear. */
export interface WrappedKey {
  keyId: number;
  /** The host's ephemeral ECDH public key, raw (65 bytes uncompressed). */
  hostPublic: string;
  iv: string;
  ciphertext: string;
}

/** Who a wrapping is for: a rotation meant for another guest, session or key id does not open. */
export interface WrapContext {
  sessionId: string;
  guestId: string;
}

const ECDH = { name: 'ECDH', namedCurve: 'P-256' } as const;
const te = new TextEncoder();
const subtle = (): SubtleCrypto => globalThis.crypto.subtle;

function unb64u(text: string, what: string, length?: number): Uint8Array<ArrayBuffer> {
  const out = typeof text === 'string' && text.length <= 4096 ? fromBase64Url(text) : undefined;
  if (!out) throw refused(`${what} is not base64url`);
  if (length !== undefined && out.length !== length) throw refused(`${what} is ${out.length} bytes, not ${length}`);
  return out;
}

function refused(why: string): PairuxError {
  return new PairuxError(ErrorCode.BadMessage, `a key rotation was refused: ${why}`);
}

/** A guest page's key pair for receiving rotations; `publicKey` goes out through signaling. */
export async function makeGuestKeyPair(): Promise<{ publicKey: string; privateKey: CryptoKey }> {
  const pair = await subtle().generateKey(ECDH, false, ['deriveBits']);
  return { publicKey: toBase64Url(new Uint8Array(await subtle().exportKey('raw', pair.publicKey))), privateKey: pair.privateKey };
}

function aad(context: WrapContext, keyId: number): Uint8Array<ArrayBuffer> {
  return te.encode(`pairux rekey v1|${context.sessionId}|${context.guestId}|${keyId}`);
}

/** The AES-GCM wrapping key: HKDF over the ECDH secret, salted with the current media key. */
async function wrappingKey(ownPrivate: CryptoKey, peerPublic: CryptoKey, currentKey: Uint8Array<ArrayBuffer>): Promise<CryptoKey> {
  const shared = await subtle().deriveBits({ name: 'ECDH', public: peerPublic }, ownPrivate, 256);
  const base = await subtle().importKey('raw', shared, 'HKDF', false, ['deriveKey']);
  return subtle().deriveKey(
    { name: 'HKDF', hash: 'SHA-256', salt: currentKey, info: te.encode('pairux rekey wrap') },
    base,
    { name: 'AES-GCM', length: 256 },
    false,
    ['encrypt', 'decrypt'],
  );
}

async function importPublic(text: string, what: string): Promise<CryptoKey> {
  const raw = unb64u(text, what, 65);
  try {
    return await subtle().importKey('raw', raw, ECDH, false, []);
  } catch {
    throw refused(`${what} is not a P-256 point`);
  }
}

/** Host: `newKey` wrapped for the guest whose published key is `guestPublic`. */
export async function wrapKeyFor(
  guestPublic: string,
  newKey: Uint8Array<ArrayBuffer>,
  keyId: number,
  context: WrapContext,
  currentKey: Uint8Array<ArrayBuffer>,
): Promise<WrappedKey> {
  if (newKey.length !== MEDIA_KEY_BYTES) throw new RangeError('a media key is 32 bytes');
  const guest = await importPublic(guestPublic, "the guest's public key");
  const ephemeral = await subtle().generateKey(ECDH, true, ['deriveBits']);
  const key = await wrappingKey(ephemeral.privateKey, guest, currentKey);
  const iv = globalThis.crypto.getRandomValues(new Uint8Array(12));
  const ciphertext = await subtle().encrypt({ name: 'AES-GCM', iv, additionalData: aad(context, keyId) }, key, newKey);
  return {
    keyId,
    hostPublic: toBase64Url(new Uint8Array(await subtle().exportKey('raw', ephemeral.publicKey))),
    iv: toBase64Url(iv),
    ciphertext: toBase64Url(new Uint8Array(ciphertext)),
  };
}

/** Guest: the new key, or a PairuxError saying why the rotation was refused (forged, for someone else, damaged). */
export async function unwrapKey(
  wrapped: WrappedKey,
  ownPrivate: CryptoKey,
  context: WrapContext,
  currentKey: Uint8Array<ArrayBuffer>,
): Promise<Uint8Array<ArrayBuffer>> {
  if (!Number.isInteger(wrapped.keyId) || wrapped.keyId < 0 || wrapped.keyId > 0xffff) throw refused('its key id is not a small integer');
  const host = await importPublic(wrapped.hostPublic, "the host's public key");
  const iv = unb64u(wrapped.iv, 'the IV', 12);
  const ciphertext = unb64u(wrapped.ciphertext, 'the wrapped key', MEDIA_KEY_BYTES + 16);
  const key = await wrappingKey(ownPrivate, host, currentKey);
  try {
    return new Uint8Array(await subtle().decrypt({ name: 'AES-GCM', iv, additionalData: aad(context, wrapped.keyId) }, key, ciphertext));
  } catch {
    throw refused('it does not open with this page’s key (forged, damaged, or meant for someone else)');
  }
}
