/**
 * The media key of an end-to-end encrypted session (issue 15), with WebCrypto only, so the same
 * code runs in a page, a worker and Node's tests. The host's page makes a random 256-bit key; it
 * travels in the share link's fragment, which no HTTP request carries, and never to a server.
 *
 * - Text form: base64url without padding, exactly 43 characters (32 bytes); anything else is
 *   refused, so an edited or cut link says so instead of decrypting garbage.
 * - Ratchet: every epoch both sides derive the next key from the current one with HKDF-SHA256
 *   (no message needed); a key cannot be run backwards, so a key learnt later opens nothing
 *   before it.
 * - Frame keys: the AES-GCM key that encrypts frames is derived from the media key (HKDF, its own
 *   label), never the media key itself, so the same secret never serves two purposes.
 * - Safety code: nine digits derived from the key (HKDF, its own label) that host and guests
 *   compare aloud, as Signal's safety numbers: equal codes mean the same key.
 */
import { ErrorCode, PairuxError } from '../../../protocol/errors';
import { fromBase64Url, toBase64Url } from './base64url';

export const MEDIA_KEY_BYTES = 32;
/** base64url of 32 bytes, unpadded. */
export const MEDIA_KEY_CHARS = 43;

const te = new TextEncoder();
const subtle = (): SubtleCrypto => globalThis.crypto.subtle;

/** A fresh random media key. */
export function generateMediaKey(): Uint8Array<ArrayBuffer> {
  return globalThis.crypto.getRandomValues(new Uint8Array(MEDIA_KEY_BYTES));
}

export function encodeMediaKey(key: Uint8Array): string {
  if (key.length !== MEDIA_KEY_BYTES) throw new RangeError(`a media key is ${MEDIA_KEY_BYTES} bytes, not ${key.length}`);
  return toBase64Url(key);
}

/** The key from its text form; an edited, cut or padded one is refused with words for the user. */
export function decodeMediaKey(text: string): Uint8Array<ArrayBuffer> {
  if (typeof text !== 'string' || text.length !== MEDIA_KEY_CHARS || !/^[A-Za-z0-9_-]+$/.test(text)) {
    throw new PairuxError(
      ErrorCode.BadMessage,
      'This session is end-to-end encrypted and your link’s key is damaged (it was cut off or edited): ask the host for the link again.',
    );
  }
  const key = fromBase64Url(text);
  // 43 characters carry 258 bits: the last two must be zero in a key this code wrote.
  if (!key || key.length !== MEDIA_KEY_BYTES || encodeMediaKey(key) !== text) {
    throw new PairuxError(
      ErrorCode.BadMessage,
      'This session is end-to-end encrypted and your link’s key is damaged (it was edited): ask the host for the link again.',
    );
  }
  return key;
}

/** `length` bytes from HKDF-SHA256 over `key` with this label (the salt is fixed: the key is already uniform). */
async function hkdf(key: Uint8Array<ArrayBuffer>, label: string, length: number): Promise<Uint8Array<ArrayBuffer>> {
  const base = await subtle().importKey('raw', key, 'HKDF', false, ['deriveBits']);
  const bits = await subtle().deriveBits({ name: 'HKDF', hash: 'SHA-256', salt: te.encode('pairux-e2ee-v1'), info: te.encode(label) }, base, length * 8);
  return new Uint8Array(bits);
}

/** The key after this one: what both sides move to at each epoch. */
export function ratchetMediaKey(key: Uint8Array<ArrayBuffer>): Promise<Uint8Array<ArrayBuffer>> {
  return hkdf(key, 'pairux ratchet', MEDIA_KEY_BYTES);
}

/** The AES-GCM key that encrypts frames under `key` (not extractable). */
export async function frameKey(key: Uint8Array<ArrayBuffer>): Promise<CryptoKey> {
  const raw = await hkdf(key, 'pairux frames', 32);
  return subtle().importKey('raw', raw, { name: 'AES-GCM', length: 256 }, false, ['encrypt', 'decrypt']);
}

/** Nine digits in three groups ("482 913 077") that are equal on every page holding the same key. */
export async function safetyCode(key: Uint8Array<ArrayBuffer>): Promise<string> {
  const bytes = await hkdf(key, 'pairux safety code', 8);
  // 64 bits mod 10^9: the bias (2^64 is not a multiple of 10^9) is below 1e-10.
  let n = 0n;
  for (const b of bytes) n = (n << 8n) | BigInt(b);
  const digits = (n % 1_000_000_000n).toString().padStart(9, '0');
  return `${digits.slice(0, 3)} ${digits.slice(3, 6)} ${digits.slice(6)}`;
}

/** The key material LiveKit's E2EE gets for `key` (its own label: the media key itself never leaves PairUX's code). */
export function sfuKeyBytes(key: Uint8Array<ArrayBuffer>): Promise<Uint8Array<ArrayBuffer>> {
  return hkdf(key, 'pairux sfu', 32);
}
