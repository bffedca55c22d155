/**
 * One encoded video frame in, one sealed frame out (issue 15): AES-GCM under the frame key of a
 * media key (media-keys.ts), for the P2P paths (an encoded transform's RTP frames, direct video's
 * chunks). Codec-agnostic: the caller says how many leading bytes a packetizer must still read
 * (VP8's payload header, for instance); those stay in clear and are authenticated with the rest.
 *
 *   sealed = clear prefix | ciphertext + 16-byte tag | IV (12) | clear length (1) | key id (1) | 0xE2
 *
 * - The IV is a random 4-byte salt per key and sender, then a 64-bit counter: never reused under
 *   one key (a new key gets a new salt and counts from zero).
 * - The key id rides in every frame, so a rotation needs no pause: the receiver keeps the last few
 *   keys and opens each frame with the one it names.
 * - A frame the receiver cannot open is dropped with a reason (no key, tampered, replayed,
 *   truncated, not encrypted), never passed on: a decoder never sees ciphertext, and a key-less
 *   viewer sees nothing rather than garbage.
 *
 * Which codecs survive it in an RTCRtpScriptTransform, measured in this machine's Chromium (a
 * loopback pair, 5 s of a painted canvas, AES-GCM over the frame): VP8 with its payload header in
 * clear (10 bytes on a key frame, 3 otherwise) decoded every frame; VP9 with nothing in clear
 * decoded every frame; AV1 and H.264 with nothing in clear decoded none (their packetizers parse
 * OBUs and NAL units out of the frame bytes). So an encrypted session's RTP video is VP9 or VP8;
 * direct video (a data channel, no packetizer) seals whole chunks of any codec.
 */
import { frameKey } from './media-keys';

export const SEALED_MARK = 0xe2;
const IV_BYTES = 12;
const TAG_BYTES = 16;
const TRAILER_BYTES = IV_BYTES + 3;
/** Keys a receiver keeps: the current one, the few after it (the ratchet ahead) and those just before (frames in flight across a rotation). */
export const KEPT_KEYS = 8;
/** How far back a late frame may come and still be opened (once). */
const REPLAY_WINDOW = 128;

export type DropReason = 'no key' | 'tampered' | 'replayed' | 'truncated' | 'not encrypted';

const subtle = (): SubtleCrypto => globalThis.crypto.subtle;

function aad(prefix: Uint8Array, clear: number, keyId: number): Uint8Array<ArrayBuffer> {
  const out = new Uint8Array(prefix.length + 3);
  out.set(prefix, 0);
  out[prefix.length] = clear;
  out[prefix.length + 1] = keyId;
  out[prefix.length + 2] = SEALED_MARK;
  return out;
}

/** The sender's side: seals each frame under the current key, with a fresh IV. */
export class FrameSealer {
  private key: { id: number; crypto: CryptoKey; salt: Uint8Array; counter: bigint } | undefined;

  /** From now on frames are sealed under `mediaKey`, named `keyId` (0-255) in every frame. */
  async setKey(keyId: number, mediaKey: Uint8Array<ArrayBuffer>): Promise<void> {
    if (!Number.isInteger(keyId) || keyId < 0 || keyId > 255) throw new RangeError(`a key id is 0-255, not ${keyId}`);
    const crypto = await frameKey(mediaKey);
    this.key = { id: keyId, crypto, salt: globalThis.crypto.getRandomValues(new Uint8Array(4)), counter: 0n };
  }

  get keyId(): number | undefined {
    return this.key?.id;
  }

  /** `clearBytes` leading bytes stay readable (at most 255, at most the frame). */
  async seal(frame: Uint8Array<ArrayBuffer>, clearBytes = 0): Promise<Uint8Array<ArrayBuffer>> {
    const key = this.key;
    if (!key) throw new Error('no media key set: a frame is never sent in clear in an encrypted session');
    const clear = Math.min(Math.max(0, clearBytes | 0), 255, frame.length);
    const iv = new Uint8Array(IV_BYTES);
    iv.set(key.salt, 0);
    new DataView(iv.buffer).setBigUint64(4, key.counter++);
    const prefix = frame.subarray(0, clear);
    const sealed = new Uint8Array(
      await subtle().encrypt({ name: 'AES-GCM', iv, additionalData: aad(prefix, clear, key.id) }, key.crypto, frame.subarray(clear)),
    );
    const out = new Uint8Array(clear + sealed.length + TRAILER_BYTES);
    out.set(prefix, 0);
    out.set(sealed, clear);
    out.set(iv, clear + sealed.length);
    out[out.length - 3] = clear;
    out[out.length - 2] = key.id;
    out[out.length - 1] = SEALED_MARK;
    return out;
  }
}

interface ReceiverKey {
  crypto: CryptoKey;
  /** Per sender salt: the highest counter seen and which of the REPLAY_WINDOW before it were. */
  seen: Map<string, { top: bigint; window: bigint }>;
}

/** The receiver's side: opens frames under the key they name, once each. */
export class FrameOpener {
  private readonly keys = new Map<number, ReceiverKey>();
  private readonly order: number[] = [];
  readonly dropped: Record<DropReason, number> = { 'no key': 0, tampered: 0, replayed: 0, truncated: 0, 'not encrypted': 0 };
  /** The key id of the last frame that opened, and of the last one whose key this receiver lacked (its page derives it if it can). */
  lastOpenedKeyId: number | undefined;
  lastMissingKeyId: number | undefined;

  /** Adds (or replaces) key `keyId`; the oldest beyond KEPT_KEYS is forgotten. */
  async addKey(keyId: number, mediaKey: Uint8Array<ArrayBuffer>): Promise<void> {
    const crypto = await frameKey(mediaKey);
    if (!this.keys.has(keyId)) this.order.push(keyId);
    this.keys.set(keyId, { crypto, seen: new Map() });
    while (this.order.length > KEPT_KEYS) this.keys.delete(this.order.shift()!);
  }

  /** Forgets every key (the page left, or was removed): nothing opens after this. */
  clear(): void {
    this.keys.clear();
    this.order.length = 0;
  }

  /** The frame as it was before sealing, or why it was dropped. */
  async open(sealed: Uint8Array<ArrayBuffer>): Promise<{ frame: Uint8Array<ArrayBuffer> } | { dropped: DropReason }> {
    const drop = (reason: DropReason) => {
      this.dropped[reason]++;
      return { dropped: reason };
    };
    if (sealed.length < TRAILER_BYTES + TAG_BYTES) return drop(sealed.length && sealed[sealed.length - 1] === SEALED_MARK ? 'truncated' : 'not encrypted');
    if (sealed[sealed.length - 1] !== SEALED_MARK) return drop('not encrypted');
    const clear = sealed[sealed.length - 3]!;
    const keyId = sealed[sealed.length - 2]!;
    const ivAt = sealed.length - TRAILER_BYTES;
    if (clear + TAG_BYTES > ivAt) return drop('truncated');
    const key = this.keys.get(keyId);
    if (!key) {
      this.lastMissingKeyId = keyId;
      return drop('no key');
    }
    const iv = sealed.slice(ivAt, ivAt + IV_BYTES);
    const salt = Array.from(iv.subarray(0, 4)).join('.');
    const counter = new DataView(iv.buffer).getBigUint64(4);
    const seen = key.seen.get(salt);
    if (seen && (counter + BigInt(REPLAY_WINDOW) <= seen.top || (counter <= seen.top && (seen.window >> (seen.top - counter)) & 1n))) return drop('replayed');
    const prefix = sealed.subarray(0, clear);
    let plain: ArrayBuffer;
    try {
      plain = await subtle().decrypt({ name: 'AES-GCM', iv, additionalData: aad(prefix, clear, keyId) }, key.crypto, sealed.subarray(clear, ivAt));
    } catch {
      return drop('tampered');
    }
    // Marked seen only once it opened: a forged frame cannot burn a counter.
    const now = key.seen.get(salt);
    if (!now) key.seen.set(salt, { top: counter, window: 1n });
    else if (counter > now.top) {
      const shift = counter - now.top;
      now.window = shift >= BigInt(REPLAY_WINDOW) ? 1n : ((now.window << shift) | 1n) & ((1n << BigInt(REPLAY_WINDOW)) - 1n);
      now.top = counter;
    } else now.window |= 1n << (now.top - counter);
    this.lastOpenedKeyId = keyId;
    const frame = new Uint8Array(clear + plain.byteLength);
    frame.set(prefix, 0);
    frame.set(new Uint8Array(plain), clear);
    return { frame };
  }
}
