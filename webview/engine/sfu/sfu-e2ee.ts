/**
 * An encrypted session on the SFU path (issue 15): the room options that turn on livekit-client's
 * own E2EE, for the screen track and for data packets (`encryption`, not the older `e2ee`, which
 * leaves data in clear), with PairUX's key ring as its key provider and LiveKit's worker loaded
 * from beside the page. One worker per engine, kept across the rooms it joins (reconnects, moves).
 *
 * A worker that cannot start (its script does not load, or the page may not start workers)
 * encrypts nothing, and livekit-client then sends data packets in clear (it seals them only once
 * the worker has confirmed encryption) while saying nothing. So a room connects only once the
 * worker has answered, and `onWorkerFailed` tells the page, which tells its user.
 */
import { RoomEvent, type Participant, type Room, type RoomOptions } from 'livekit-client';
import type { SfuKeyRing } from '../e2ee/sfu-key-ring';

export interface SfuEncryption {
  keys: SfuKeyRing;
  /** The bundled livekit-e2ee-worker.js, served beside the page. */
  workerUrl: string;
  /** LiveKit could not decrypt a frame: its key index is missing here ('missing', with the index), or the key there does not open it ('invalid'). */
  onError?(reason: 'missing' | 'invalid', keyIndex: number | undefined): void;
  /** LiveKit's worker could not start (`reason`, for the message): nothing is sent or shown on this path. Called once. */
  onWorkerFailed?(reason: string): void;
}

/** Holds the engine's worker; `options()` for each new Room, `enable(room)` before it connects. */
export class SfuE2ee {
  private worker: Worker | undefined;
  /** Why the worker could not start, once it could not. */
  private failure: string | undefined;
  /** Settles when the worker first answers (it runs) or fails to start. */
  private started: Promise<void> | undefined;

  constructor(private readonly encryption: SfuEncryption) {}

  /** Throws (after `onWorkerFailed`) when the page may not start the worker: a room without it would send in clear. */
  options(): Partial<RoomOptions> {
    this.worker ??= this.startWorker();
    return { encryption: { keyProvider: this.encryption.keys, worker: this.worker } };
  }

  /** Why LiveKit's worker could not start, if it could not. */
  get workerFailure(): string | undefined {
    return this.failure;
  }

  private startWorker(): Worker {
    let worker: Worker;
    try {
      worker = new Worker(this.encryption.workerUrl, { type: 'module', name: 'pairux-livekit-e2ee' });
    } catch (err) {
      this.failed(String(err));
      throw err;
    }
    // The worker answers LiveKit's first message ('init', posted as each Room is made): an error
    // before any answer means it never ran. Errors of a running worker are LiveKit's to report.
    let running = false;
    this.started = new Promise<void>((resolve, reject) => {
      worker.addEventListener(
        'message',
        () => {
          running = true;
          resolve();
        },
        { once: true },
      );
      worker.addEventListener('error', (event: Event) => {
        if (running) return;
        const detail = typeof ErrorEvent !== 'undefined' && event instanceof ErrorEvent && event.message ? event.message : '';
        this.failed(detail || 'its script did not load');
        reject(new Error(`LiveKit's end-to-end encryption worker could not start (${this.failure}), so nothing is sent or received`));
      });
    });
    // Nobody may be waiting yet when it fails; whoever enables a room later gets the rejection.
    this.started.catch(() => undefined);
    return worker;
  }

  private failed(reason: string): void {
    if (this.failure !== undefined) return;
    this.failure = reason;
    this.encryption.onWorkerFailed?.(reason);
  }

  /**
   * Turns encryption on in `room` (before it connects, so nothing is ever sent in clear) and
   * reports what cannot be decrypted. Resolves once the worker runs; rejects, and the room must not
   * connect, when it cannot start.
   */
  async enable(room: Room): Promise<void> {
    await this.encryption.keys.settled();
    room.on(RoomEvent.EncryptionError, (error: Error | undefined) => {
      // A worker that never started is not a wrong key (LiveKit reports its error here too, without one).
      if (this.failure !== undefined) return;
      const missing = /missing key at index (\d+)/.exec(error?.message ?? '');
      this.encryption.onError?.(missing ? 'missing' : 'invalid', missing ? Number(missing[1]) : undefined);
    });
    await room.setE2EEEnabled(true);
    await this.started;
  }

  /**
   * Resolves once the worker has confirmed that this participant encrypts, which livekit-client
   * asks for only once the room has connected (the participant has no identity before): until
   * then it would send data packets in clear, so nothing is sent before this (routed-data.ts
   * refuses it too).
   */
  confirmed(room: Room): Promise<void> {
    return encryptionOn(room);
  }

  /**
   * Decrypts whatever `identity` (the host) sends, whatever the SFU says of its track: in an
   * encrypted session a guest never shows media from the host in clear. livekit-client decides
   * per participant from the track's description (`TrackInfo.encryption`), which a server writes;
   * a cascade bridge's far publication cannot set it (LiveKit's Go SDK drops it from simulcast
   * publications), and a hostile SFU could clear it to slip plaintext frames in. So the worker is
   * told to decrypt for the host, and told again whenever livekit-client tells it otherwise: a
   * frame that does not open is dropped, never shown. (The message is livekit-client's own to its
   * worker, `{kind: 'enable'}`: livekit-client is pinned, and the cascade's encrypted test fails
   * if it changes.)
   */
  requireEncrypted(identity: string): void {
    const worker = this.worker;
    if (!worker) return;
    this.required.add(identity);
    if (!this.watching) {
      this.watching = true;
      worker.addEventListener('message', (event: MessageEvent) => {
        const m = event.data as { kind?: string; data?: { enabled?: boolean; participantIdentity?: string } } | undefined;
        const who = m?.data?.participantIdentity;
        if (m?.kind === 'enable' && m.data?.enabled === false && who && this.required.has(who)) this.postEnable(who);
      });
    }
    this.postEnable(identity);
  }

  private readonly required = new Set<string>();
  private watching = false;

  private postEnable(identity: string): void {
    this.worker?.postMessage({ kind: 'enable', data: { enabled: true, participantIdentity: identity } });
  }

  close(): void {
    this.worker?.terminate();
    this.worker = undefined;
    this.watching = false;
  }
}

/** How long a running worker may take to confirm encryption before the room gives up on it. */
const ENCRYPTION_ON_MS = 5000;

/** Resolves once livekit-client has the worker's word that this participant encrypts. */
function encryptionOn(room: Room): Promise<void> {
  if (room.isE2EEEnabled) return Promise.resolve();
  return new Promise<void>((resolve, reject) => {
    const done = (): void => {
      clearTimeout(timer);
      room.off(RoomEvent.ParticipantEncryptionStatusChanged, changed);
    };
    const changed = (enabled: boolean, participant?: Participant): void => {
      if (!enabled || participant !== room.localParticipant) return;
      done();
      resolve();
    };
    const timer = setTimeout(() => {
      done();
      reject(new Error(`LiveKit's end-to-end encryption did not turn on within ${ENCRYPTION_ON_MS / 1000} s, so nothing is sent or received`));
    }, ENCRYPTION_ON_MS);
    room.on(RoomEvent.ParticipantEncryptionStatusChanged, changed);
  });
}

/** Leaves `room` (if any) and only then ends the engine's E2EE worker, which the room's last frames still pass through. */
export async function leaveRoom(room: Room | undefined, e2ee: SfuE2ee | undefined): Promise<void> {
  await room?.disconnect(true).catch(() => undefined);
  e2ee?.close();
}
