/**
 * The lobby: a guest who opens a controller link (or any guest link while the lobby is on for
 * everyone) waits, without a seat, until the host lets it in. Its `session.join` stays unanswered
 * meanwhile, so a client that knows nothing of the lobby is never treated as admitted; the host is
 * told who knocks, and its `lobby.admit` / `lobby.deny` (or no answer in time: a no) decides.
 *
 * Several instances: the waiting connection is attached to the transport under the id it will
 * have, through a sink that lets nothing of the session through to it. The host's decision may be
 * taken on another instance; it travels to this one as `lobby.decided`, routed like any
 * notification, and is consumed here. Waiting guests live only on the instance holding their
 * socket: if that instance dies, so does the socket, and the guest knocks again.
 */
import { ErrorCode, PairuxError } from '../protocol/errors';
import type { NotificationType, ParamsOf } from '../protocol/rpc';
import {
  CloseCode,
  HostChanged,
  LobbyClosed,
  LobbyDecided,
  LobbyKnock,
  LobbyWaiting,
  ParticipantJoined,
  ParticipantUpdated,
  SessionEnded,
  type ClientKind,
  type ParticipantLink,
} from '../protocol/signaling';
import type { ParticipantRole } from '../protocol/limits';
import type { ServerConfig } from './config';
import { requireCurrentHost } from './host-rights';
import type { ServerMetrics } from './metrics';
import type { RoomStateStore, SessionRecord } from './room-state-store';
import type { ParticipantSink, SignalingTransport } from './signaling-transport';
import type { z } from 'zod';

export interface LobbyDeps {
  store: RoomStateStore;
  transport: SignalingTransport;
  metrics: ServerMetrics;
  config(): ServerConfig;
}

/** Who knocks, as the host is told. */
export interface Knock {
  sessionId: string;
  participantId: string;
  name: string;
  role: 'controller' | 'viewer';
  client?: z.infer<typeof ClientKind>;
  link?: z.infer<typeof ParticipantLink>;
  /** The client address as the server saw it. */
  address: string;
}

type Outcome = { admit: true } | { admit: false; why: 'denied' | 'timeout' | 'left' | 'ended'; reason?: string; message?: string };

interface Waiter {
  knock: Knock;
  sink: ParticipantSink;
  relay: ParticipantSink;
  hostId: string;
  hostName: string | undefined;
  expiresAt: number;
  timer: ReturnType<typeof setTimeout>;
  settle(outcome: Outcome): void;
}

/** The few characters of an id a person can compare aloud: the same as the Allow prompt shows (runner/host-runner.ts). */
export function shortId(participantId: string): string {
  return participantId.slice(0, 6);
}

export class Lobby {
  private readonly waiters = new Map<ParticipantSink, Waiter>();
  private readonly perSession = new Map<string, number>();
  private readonly perAddress = new Map<string, number>();

  constructor(private readonly deps: LobbyDeps) {}

  /** Whether a fresh join in `role` waits for the host. */
  applies(session: SessionRecord, role: ParticipantRole): boolean {
    if (role === 'host') return false;
    if (session.lobbyEveryone) return true;
    const policy = this.deps.config().lobby;
    return policy === 'everyone' || (policy === 'controllers' && role === 'controller');
  }

  /** Resolves once the host lets the guest in; otherwise refuses with what the guest is told. */
  async wait(sink: ParticipantSink, knock: Knock, session: SessionRecord): Promise<void> {
    const { config, metrics, transport, store } = this.deps;
    const { lobbyMaxWaiting, lobbyMaxPerAddress, lobbyTimeoutMs } = config();
    if ((this.perSession.get(knock.sessionId) ?? 0) >= lobbyMaxWaiting) {
      metrics.lobby.inc({ event: 'full' });
      throw new PairuxError(ErrorCode.LimitReached, `${lobbyMaxWaiting} people are already waiting for the host to let them in. Try again in a few minutes.`, {
        reason: 'lobby-full',
        limit: lobbyMaxWaiting,
      });
    }
    if ((this.perAddress.get(knock.address) ?? 0) >= lobbyMaxPerAddress) {
      metrics.lobby.inc({ event: 'full' });
      throw new PairuxError(ErrorCode.RateLimited, 'Too many people from your network are waiting to be let in right now. Try again in a few minutes.', {
        reason: 'lobby-address',
        limit: lobbyMaxPerAddress,
      });
    }
    const host = await store.getParticipant(session.id, session.hostId);
    let hostNow = session.hostId;
    const outcome = await new Promise<Outcome>((resolve) => {
      const waiter: Waiter = {
        knock,
        sink,
        relay: { notify: (type, params) => this.heard(waiter, type, params), close: (code, reason) => sink.close(code, reason) },
        hostId: session.hostId,
        hostName: host?.name,
        expiresAt: Date.now() + lobbyTimeoutMs,
        timer: setTimeout(() => waiter.settle({ admit: false, why: 'timeout' }), lobbyTimeoutMs),
        settle: (result) => {
          if (this.waiters.get(sink) !== waiter) return;
          hostNow = waiter.hostId;
          this.forget(waiter);
          resolve(result);
        },
      };
      this.waiters.set(sink, waiter);
      bump(this.perSession, knock.sessionId, 1);
      bump(this.perAddress, knock.address, 1);
      transport.attach(knock.sessionId, knock.participantId, waiter.relay);
      metrics.lobby.inc({ event: 'knock' });
      sink.notify(LobbyWaiting, {
        ...(waiter.hostName ? { hostName: waiter.hostName } : {}),
        expiresAt: waiter.expiresAt,
        message: `Waiting for ${waiter.hostName ?? 'the host'} to let you in…`,
      });
      this.knockAt(waiter);
    });
    const reason = outcome.admit ? 'admitted' : outcome.why === 'ended' ? 'left' : outcome.why;
    metrics.lobby.inc({ event: reason });
    void transport.send(knock.sessionId, hostNow, LobbyClosed, { participantId: knock.participantId, reason }).catch(() => undefined);
    if (outcome.admit) return;
    // After the join's error answer is written: the guest reads why, then the door closes.
    if (outcome.why !== 'left') setImmediate(() => sink.close(CloseCode.NotAdmitted, 'not let in'));
    throw refusal(outcome, lobbyTimeoutMs);
  }

  /** The waiting connection went away: its knock is withdrawn. */
  left(sink: ParticipantSink): void {
    this.waiters.get(sink)?.settle({ admit: false, why: 'left' });
  }

  /** The host's `lobby.admit` / `lobby.deny`; the waiting guest may be on any instance. */
  async decide(from: { sessionId: string; participantId: string }, participantId: string, admit: boolean, reason?: string): Promise<void> {
    const { store, transport } = this.deps;
    await requireCurrentHost(store, from, admit ? 'let people in' : 'turn people away');
    if (await store.getParticipant(from.sessionId, participantId)) {
      throw new PairuxError(ErrorCode.BadMessage, 'This person is already in the session, not waiting in the lobby.');
    }
    const sent = await transport.send(from.sessionId, participantId, LobbyDecided, { participantId, admit, ...(reason ? { reason } : {}) });
    if (!sent) throw new PairuxError(ErrorCode.PeerNotFound, 'Nobody with that id is waiting in the lobby now (they may have left, or their wait ran out).');
  }

  /** `lobby.setMode`: the host turns the lobby on for viewers too, or back to controller links only. */
  async setMode(from: { sessionId: string; participantId: string }, everyone: boolean): Promise<{ everyone: boolean }> {
    const { store } = this.deps;
    for (let attempt = 0; attempt < 8; attempt++) {
      const session = await requireCurrentHost(store, from, 'change who waits in the lobby');
      if (await store.updateSession(session.id, session.version, { lobbyEveryone: everyone ? true : undefined })) return { everyone };
    }
    throw new PairuxError(ErrorCode.Unavailable, 'The session is changing too fast right now. Try again in a moment.', { retry: true });
  }

  /** Waiting guests on this instance (for tests and metrics). */
  waitingCount(sessionId: string): number {
    return this.perSession.get(sessionId) ?? 0;
  }

  /** What the session says to the waiting guest's attachment: only what concerns its knock. */
  private heard<P>(waiter: Waiter, type: NotificationType<P>, params: P): void {
    if (type.method === LobbyDecided.method) {
      const d = params as ParamsOf<typeof LobbyDecided>;
      if (d.participantId !== waiter.knock.participantId) return;
      waiter.settle(d.admit ? { admit: true } : { admit: false, why: 'denied', ...(d.reason ? { reason: d.reason } : {}) });
    } else if (type.method === SessionEnded.method) {
      waiter.settle({ admit: false, why: 'ended', message: (params as ParamsOf<typeof SessionEnded>).message });
    } else if (type.method === HostChanged.method) {
      waiter.hostId = (params as ParamsOf<typeof HostChanged>).hostId;
      this.knockAt(waiter);
    } else if (type.method === ParticipantJoined.method || type.method === ParticipantUpdated.method) {
      // The host (re)connected: a knock it could not get before, or one its dropped page lost.
      const p = (params as ParamsOf<typeof ParticipantUpdated>).participant;
      if (p.id === waiter.hostId && p.connected) this.knockAt(waiter);
    }
  }

  private knockAt(waiter: Waiter): void {
    const { knock } = waiter;
    this.deps.transport
      .send(knock.sessionId, waiter.hostId, LobbyKnock, {
        participantId: knock.participantId,
        name: knock.name,
        role: knock.role,
        ...(knock.client ? { client: knock.client } : {}),
        shortId: shortId(knock.participantId),
        ...(knock.link ? { link: knock.link } : {}),
        from: knock.address.slice(0, 64),
        expiresAt: waiter.expiresAt,
      })
      .catch(() => undefined);
  }

  private forget(waiter: Waiter): void {
    clearTimeout(waiter.timer);
    this.waiters.delete(waiter.sink);
    bump(this.perSession, waiter.knock.sessionId, -1);
    bump(this.perAddress, waiter.knock.address, -1);
    this.deps.transport.detach(waiter.knock.sessionId, waiter.knock.participantId, waiter.relay);
  }
}

function bump(counts: Map<string, number>, key: string, by: number): void {
  const n = (counts.get(key) ?? 0) + by;
  if (n > 0) counts.set(key, n);
  else counts.delete(key);
}

function refusal(outcome: Exclude<Outcome, { admit: true }>, timeoutMs: number): PairuxError {
  switch (outcome.why) {
    case 'denied':
      return new PairuxError(ErrorCode.Forbidden, `The host did not let you in.${outcome.reason ? ` They said: ${outcome.reason}` : ''}`, {
        reason: 'lobby-denied',
      });
    case 'timeout':
      return new PairuxError(
        ErrorCode.Forbidden,
        `Nobody let you in within ${Math.round(timeoutMs / 60_000) || 1} minute(s). Ask the host to watch for you, then open the link again.`,
        {
          reason: 'lobby-timeout',
        },
      );
    case 'ended':
      return new PairuxError(ErrorCode.SessionEnded, `This session has ended: ${outcome.message ?? 'the host ended it.'}`);
    case 'left':
      return new PairuxError(ErrorCode.Closed, 'You left the lobby.', { reason: 'lobby-left' });
  }
}
