/**
 * One end of a text (JSON) boundary: sends typed requests with a pending-request map and
 * timeouts, answers incoming requests from registered handlers, validates everything that
 * arrives against the boundary's schemas, and rejects every pending request on close.
 * Transport-agnostic: the owner feeds `receive()` and supplies `send()`, so the same class
 * serves a WebSocket in the browser, a socket on the server and, later, VS Code's postMessage.
 */
import type { z } from 'zod';
import { ErrorCode, PairuxError, type ErrorBody } from './errors';
import {
  describeIssues,
  FailureEnvelope,
  NotificationEnvelope,
  PROTOCOL_VERSION,
  RequestEnvelope,
  SuccessEnvelope,
  type Boundary,
  type Direction,
  type NotificationType,
  type RequestType,
} from './rpc';

export type Side = 'a' | 'b';

export interface RpcEndpointOptions {
  boundary: Boundary;
  /** Which side of the boundary this endpoint is. */
  side: Side;
  send(text: string): void;
  /** Default 10 s. */
  requestTimeoutMs?: number;
  /**
   * Called for incoming messages that cannot be answered with a response (a bad notification,
   * a response to nothing); the caller counts and logs them. The session goes on. `source` is
   * `peer` when the error is the peer's own word (an error response it sent with no request of
   * ours pending, or a response to an id we never used): a peer can send any number of those,
   * so they must not count as errors of this side.
   */
  onProtocolError?(error: PairuxError, source: 'local' | 'peer'): void;
}

type RequestHandler = (params: unknown) => unknown;
type NotificationHandler = (params: unknown) => void;

interface Pending {
  type: RequestType<unknown, unknown>;
  resolve(value: unknown): void;
  reject(error: PairuxError): void;
  timer: ReturnType<typeof setTimeout>;
}

const MAX_ID = 2 ** 31 - 1;

export class RpcEndpoint {
  private readonly outgoing: Direction;
  private readonly incomingRequests = new Map<string, RequestType<unknown, unknown>>();
  private readonly incomingNotifications = new Map<string, NotificationType<unknown>>();
  private readonly requestHandlers = new Map<string, RequestHandler>();
  private readonly notificationHandlers = new Map<string, NotificationHandler>();
  private readonly pending = new Map<number, Pending>();
  private nextId = 1;
  private closedWith: PairuxError | undefined;

  constructor(private readonly options: RpcEndpointOptions) {
    const { boundary, side } = options;
    this.outgoing = side === 'a' ? boundary.aToB : boundary.bToA;
    const incoming = side === 'a' ? boundary.bToA : boundary.aToB;
    for (const r of incoming.requests) this.incomingRequests.set(r.method, r);
    for (const n of incoming.notifications) this.incomingNotifications.set(n.method, n);
  }

  get closed(): boolean {
    return this.closedWith !== undefined;
  }

  get pendingCount(): number {
    return this.pending.size;
  }

  onRequest<P, R>(type: RequestType<P, R>, handler: (params: P) => R | Promise<R>): void {
    if (!this.incomingRequests.has(type.method)) {
      throw new Error(`${type.method} is not a request this side of ${this.options.boundary.name} receives`);
    }
    this.requestHandlers.set(type.method, handler as RequestHandler);
  }

  onNotification<P>(type: NotificationType<P>, handler: (params: P) => void): void {
    if (!this.incomingNotifications.has(type.method)) {
      throw new Error(`${type.method} is not a notification this side of ${this.options.boundary.name} receives`);
    }
    this.notificationHandlers.set(type.method, handler as NotificationHandler);
  }

  request<P, R>(type: RequestType<P, R>, params: P, timeoutMs = this.options.requestTimeoutMs ?? 10_000): Promise<R> {
    if (this.closedWith) return Promise.reject(this.closedWith);
    this.assertOutgoing(type.method, this.outgoing.requests);
    const id = this.nextId;
    this.nextId = this.nextId >= MAX_ID ? 1 : this.nextId + 1;
    return new Promise<R>((resolve, reject) => {
      const timer = setTimeout(() => {
        this.pending.delete(id);
        reject(new PairuxError(ErrorCode.Timeout, `${type.method} got no answer within ${timeoutMs} ms`));
      }, timeoutMs);
      this.pending.set(id, {
        type: type as RequestType<unknown, unknown>,
        resolve: resolve as (v: unknown) => void,
        reject,
        timer,
      });
      try {
        this.options.send(JSON.stringify({ v: PROTOCOL_VERSION, id, method: type.method, params }));
      } catch (err) {
        clearTimeout(timer);
        this.pending.delete(id);
        reject(new PairuxError(ErrorCode.Closed, `could not send ${type.method}`, undefined, { cause: err }));
      }
    });
  }

  notify<P>(type: NotificationType<P>, params: P): void {
    if (this.closedWith) return;
    this.assertOutgoing(type.method, this.outgoing.notifications);
    this.options.send(JSON.stringify({ v: PROTOCOL_VERSION, method: type.method, params }));
  }

  /** Feed one incoming message. Never throws: bad input is answered or reported. */
  receive(text: string): void {
    if (this.closedWith) return;
    const { boundary, side } = this.options;
    const max = side === 'a' ? (boundary.maxMessageBytesBToA ?? boundary.maxMessageBytes) : boundary.maxMessageBytes;
    // String length is a lower bound on UTF-8 bytes; transports cap bytes before this.
    if (text.length > max) {
      this.replyError(null, new PairuxError(ErrorCode.TooLarge, `message over ${max} bytes`, { limit: max }));
      return;
    }
    let raw: unknown;
    try {
      raw = JSON.parse(text);
    } catch {
      this.replyError(null, new PairuxError(ErrorCode.BadMessage, 'message is not valid JSON'));
      return;
    }
    if (typeof raw !== 'object' || raw === null || Array.isArray(raw)) {
      this.replyError(null, new PairuxError(ErrorCode.BadMessage, 'message must be a JSON object'));
      return;
    }
    const msg = raw as Record<string, unknown>;
    const rawId = typeof msg.id === 'number' && Number.isInteger(msg.id) && msg.id >= 0 && msg.id <= MAX_ID ? msg.id : null;
    if (msg.v !== PROTOCOL_VERSION) {
      const err = new PairuxError(ErrorCode.UnsupportedVersion, `protocol version ${String(msg.v)} is not supported (this peer speaks ${PROTOCOL_VERSION})`, {
        supported: [PROTOCOL_VERSION],
      });
      if ('method' in msg && rawId !== null) this.replyError(rawId, err);
      else this.report(err);
      return;
    }
    if ('method' in msg) {
      if ('id' in msg) this.handleRequest(msg, rawId);
      else this.handleNotification(msg);
    } else if ('result' in msg || 'error' in msg) {
      this.handleResponse(msg);
    } else {
      this.replyError(rawId, new PairuxError(ErrorCode.BadMessage, 'message is neither a request, a response nor a notification'));
    }
  }

  /** Reject every pending request and refuse further traffic. Idempotent. */
  close(reason = 'connection closed'): void {
    if (this.closedWith) return;
    this.closedWith = new PairuxError(ErrorCode.Closed, reason);
    for (const [id, p] of this.pending) {
      clearTimeout(p.timer);
      p.reject(this.closedWith);
      this.pending.delete(id);
    }
  }

  private handleRequest(msg: Record<string, unknown>, rawId: number | null): void {
    const env = RequestEnvelope.safeParse(msg);
    if (!env.success) {
      this.replyError(rawId, new PairuxError(ErrorCode.BadMessage, `bad request envelope: ${describeIssues(env.error)}`));
      return;
    }
    const { id, method } = env.data;
    const type = this.incomingRequests.get(method);
    const handler = this.requestHandlers.get(method);
    if (!type || !handler) {
      this.replyError(id, new PairuxError(ErrorCode.UnknownMethod, `unknown request '${method}' on ${this.options.boundary.name}`));
      return;
    }
    const params = type.params.safeParse(env.data.params);
    if (!params.success) {
      this.replyError(id, new PairuxError(ErrorCode.BadMessage, `bad params for ${method}: ${describeIssues(params.error)}`));
      return;
    }
    let result: unknown;
    try {
      result = handler(params.data);
    } catch (err) {
      this.replyError(id, PairuxError.from(err));
      return;
    }
    Promise.resolve(result).then(
      (value) => {
        if (this.closedWith) return;
        this.options.send(JSON.stringify({ v: PROTOCOL_VERSION, id, result: value ?? null }));
      },
      (err: unknown) => this.replyError(id, PairuxError.from(err)),
    );
  }

  private handleNotification(msg: Record<string, unknown>): void {
    const env = NotificationEnvelope.safeParse(msg);
    if (!env.success) {
      this.replyError(null, new PairuxError(ErrorCode.BadMessage, `bad notification envelope: ${describeIssues(env.error)}`));
      return;
    }
    const type = this.incomingNotifications.get(env.data.method);
    const handler = this.notificationHandlers.get(env.data.method);
    if (!type || !handler) {
      this.replyError(null, new PairuxError(ErrorCode.UnknownMethod, `unknown notification '${env.data.method}' on ${this.options.boundary.name}`));
      return;
    }
    const params = type.params.safeParse(env.data.params);
    if (!params.success) {
      this.replyError(null, new PairuxError(ErrorCode.BadMessage, `bad params for ${env.data.method}: ${describeIssues(params.error)}`));
      return;
    }
    try {
      handler(params.data);
    } catch (err) {
      this.report(PairuxError.from(err));
    }
  }

  private handleResponse(msg: Record<string, unknown>): void {
    if ('error' in msg) {
      const env = FailureEnvelope.safeParse(msg);
      if (!env.success) return this.report(new PairuxError(ErrorCode.BadMessage, `bad error response: ${describeIssues(env.error)}`));
      if (env.data.id === null) return this.report(PairuxError.fromBody(env.data.error as ErrorBody), 'peer');
      const p = this.take(env.data.id);
      if (p) p.reject(PairuxError.fromBody(env.data.error as ErrorBody));
      return;
    }
    const env = SuccessEnvelope.safeParse(msg);
    if (!env.success) return this.report(new PairuxError(ErrorCode.BadMessage, `bad response: ${describeIssues(env.error)}`));
    const p = this.take(env.data.id);
    if (!p) return;
    const result = (p.type.result as z.ZodType<unknown>).safeParse(env.data.result);
    if (result.success) p.resolve(result.data);
    else p.reject(new PairuxError(ErrorCode.BadMessage, `bad result for ${p.type.method}: ${describeIssues(result.error)}`));
  }

  private take(id: number): Pending | undefined {
    const p = this.pending.get(id);
    if (!p) {
      this.report(new PairuxError(ErrorCode.BadMessage, `response to unknown request id ${id}`), 'peer');
      return undefined;
    }
    clearTimeout(p.timer);
    this.pending.delete(id);
    return p;
  }

  private replyError(id: number | null, error: PairuxError): void {
    this.report(error);
    if (this.closedWith) return;
    try {
      this.options.send(JSON.stringify({ v: PROTOCOL_VERSION, id, error: error.toBody() }));
    } catch {
      // The transport is going away; close() will follow.
    }
  }

  private report(error: PairuxError, source: 'local' | 'peer' = 'local'): void {
    this.options.onProtocolError?.(error, source);
  }

  private assertOutgoing(method: string, list: readonly { method: string }[]): void {
    if (!list.some((t) => t.method === method)) {
      throw new Error(`${method} is not something side ${this.options.side} of ${this.options.boundary.name} sends`);
    }
  }
}
