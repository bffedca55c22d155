/**
 * An encrypted session on the SFU path (issue 15): the room options that turn on livekit-client's
 * own E2EE, for the screen track and for data packets (`encryption`, not the older `e2ee`, which
 * leaves data in clear), with PairUX's key ring as its key provider and LiveKit's worker loaded
 * from beside the page. One worker per engine, kept across the rooms it joins (reconnects, moves).
 */
import { RoomEvent, type Room, type RoomOptions } from 'livekit-client';
import type { SfuKeyRing } from '../e2ee/sfu-key-ring';

export interface SfuEncryption {
  keys: SfuKeyRing;
  /** The bundled livekit-e2ee-worker.js, served beside the page. */
  workerUrl: string;
  /** LiveKit could not decrypt a frame: its key index is missing here ('missing', with the index), or the key there does not open it ('invalid'). */
  onError?(reason: 'missing' | 'invalid', keyIndex: number | undefined): void;
}

/** Holds the engine's worker; `options()` for each new Room, `enable(room)` before it connects. */
export class SfuE2ee {
  private worker: Worker | undefined;

  constructor(private readonly encryption: SfuEncryption) {}

  options(): Partial<RoomOptions> {
    this.worker ??= new Worker(this.encryption.workerUrl, { type: 'module', name: 'pairux-livekit-e2ee' });
    return { encryption: { keyProvider: this.encryption.keys, worker: this.worker } };
  }

  /** Turns encryption on in `room` (before it connects, so nothing is ever sent in clear) and reports what cannot be decrypted. */
  async enable(room: Room): Promise<void> {
    await this.encryption.keys.settled();
    room.on(RoomEvent.EncryptionError, (error: Error) => {
      const missing = /missing key at index (\d+)/.exec(error.message);
      this.encryption.onError?.(missing ? 'missing' : 'invalid', missing ? Number(missing[1]) : undefined);
    });
    await room.setE2EEEnabled(true);
  }

  close(): void {
    this.worker?.terminate();
    this.worker = undefined;
  }
}

/** Leaves `room` (if any) and only then ends the engine's E2EE worker, which the room's last frames still pass through. */
export async function leaveRoom(room: Room | undefined, e2ee: SfuE2ee | undefined): Promise<void> {
  await room?.disconnect(true).catch(() => undefined);
  e2ee?.close();
}
