/**
 * The LiveKit side of a session's life on one deployment: one room per SFU session (see
 * `roomName`), the strategy's `canAcceptSession` before one is created, the room deleted when the
 * session ends.
 * Every failure to reach LiveKit becomes one clear UNAVAILABLE error, so the host can be offered
 * P2P instead of a stack trace.
 */
import { RoomServiceClient, ServerError, type Room } from 'livekit-server-sdk';
import { ErrorCode, PairuxError } from '../../protocol/errors';
import type { LiveKitConfig } from '../config';
import { permissionFor } from './grants';
import type { ParticipantRole } from '../../protocol/limits';

/** LiveKit's API is HTTP on the same port as its WebSocket signaling. */
export function httpUrlOf(url: string): string {
  return url.replace(/^ws(s?):\/\//, 'http$1://');
}

export class SfuRooms {
  private readonly api: RoomServiceClient;

  constructor(
    private readonly config: LiveKitConfig,
    /** How long LiveKit keeps a room nobody is in: covers the host's join deadline and reconnect grace. */
    private readonly idleSeconds: { beforeFirstJoin: number; afterLastLeave: number },
    /** Where the key and secret are set, for the error when LiveKit refuses them. */
    private readonly keySettings = 'PAIRUX_LIVEKIT_API_KEY and PAIRUX_LIVEKIT_API_SECRET',
  ) {
    this.api = new RoomServiceClient(httpUrlOf(config.url), config.apiKey, config.apiSecret, {
      requestTimeout: config.requestTimeoutMs / 1000,
      failover: false,
    });
  }

  /** The scaling strategy's `canAcceptSession`: this node holds fewer rooms than `maxConcurrentRooms`. */
  async canAcceptSession(): Promise<{ ok: boolean; rooms: number; limit: number }> {
    const rooms = await this.call('count its rooms', () => this.api.listRooms());
    return { ok: rooms.length < this.config.maxConcurrentRooms, rooms: rooms.length, limit: this.config.maxConcurrentRooms };
  }

  /** Creates the session's room, or finds it again (LiveKit answers an existing room's name with that room). */
  async open(sessionId: string): Promise<Room> {
    return this.call("create the session's room", () =>
      this.api.createRoom({
        name: sessionId,
        emptyTimeout: this.idleSeconds.beforeFirstJoin,
        departureTimeout: this.idleSeconds.afterLastLeave,
        maxParticipants: 0,
      }),
    );
  }

  /** False when the room was already gone (LiveKit closed it when empty, or restarted). */
  async close(sessionId: string): Promise<boolean> {
    try {
      await this.call("delete the session's room", () => this.api.deleteRoom(sessionId));
      return true;
    } catch (err) {
      if (err instanceof PairuxError && err.data?.status === 404) return false;
      throw err;
    }
  }

  async kick(sessionId: string, participantId: string): Promise<void> {
    try {
      await this.call('remove a participant', () => this.api.removeParticipant(sessionId, participantId));
    } catch (err) {
      // Not (or no longer) connected to the SFU: the goal is met.
      if (err instanceof PairuxError && err.data?.status === 404) return;
      throw err;
    }
  }

  /** A promoted or demoted guest's SFU permissions follow at once, not at its next token. */
  async updateRole(sessionId: string, participantId: string, role: ParticipantRole): Promise<void> {
    try {
      await this.call("update a participant's permissions", () =>
        this.api.updateParticipant(sessionId, participantId, { permission: permissionFor(role), metadata: JSON.stringify({ role }) }),
      );
    } catch (err) {
      if (err instanceof PairuxError && err.data?.status === 404) return;
      throw err;
    }
  }

  private async call<T>(what: string, run: () => Promise<T>): Promise<T> {
    try {
      return await run();
    } catch (err) {
      throw this.explain(what, err);
    }
  }

  /** `data.reason` is the bare what-happened, for a pool's error that names several deployments. */
  private explain(what: string, err: unknown): PairuxError {
    const where = this.config.url;
    if (err instanceof ServerError) {
      if (err.status === 401 || err.status === 403) {
        const reason = `LiveKit at ${where} refused the control plane's API key (${err.message})`;
        return new PairuxError(
          ErrorCode.Unavailable,
          `${reason}; check ${this.keySettings}, or start the session in P2P mode.`,
          { sfu: where, status: err.status, reason },
          { cause: err },
        );
      }
      const reason = `LiveKit at ${where} could not ${what}: ${err.message}`;
      return new PairuxError(ErrorCode.Unavailable, reason, { sfu: where, status: err.status, reason }, { cause: err });
    }
    const reason = `LiveKit at ${where} did not answer (${err instanceof Error ? describeCause(err) : String(err)})`;
    return new PairuxError(ErrorCode.Unavailable, `${reason}; start the session in P2P mode.`, { sfu: where, mode: 'p2p', reason }, { cause: err });
  }
}

/** The short why of a failed call: a code (ECONNREFUSED), "no answer in time", or the message. */
export function describeCause(err: Error): string {
  if (err.name === 'TimeoutError' || err.name === 'AbortError') return 'no answer in time';
  const code = (err.cause as { code?: string } | undefined)?.code;
  return code ?? err.message;
}
