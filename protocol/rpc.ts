/**
 * Typed requests and notifications shared by both ends of a boundary (the model is
 * vscode-jsonrpc's `RequestType`/`NotificationType`), plus the envelope every message travels in.
 * Each type carries its zod schema, so the same definition both types the code and validates
 * what arrives.
 */
import { z } from 'zod';
import { ERROR_CODES } from './errors';

export const PROTOCOL_VERSION = 1;

export interface RequestType<P, R> {
  readonly kind: 'request';
  readonly method: string;
  readonly params: z.ZodType<P>;
  readonly result: z.ZodType<R>;
}

export interface NotificationType<P> {
  readonly kind: 'notification';
  readonly method: string;
  readonly params: z.ZodType<P>;
}

export function defineRequest<P, R>(method: string, params: z.ZodType<P>, result: z.ZodType<R>): RequestType<P, R> {
  return { kind: 'request', method, params, result };
}

export function defineNotification<P>(method: string, params: z.ZodType<P>): NotificationType<P> {
  return { kind: 'notification', method, params };
}

export type ParamsOf<T> = T extends RequestType<infer P, unknown> ? P : T extends NotificationType<infer P> ? P : never;
export type ResultOf<T> = T extends RequestType<unknown, infer R> ? R : never;

// eslint-disable-next-line @typescript-eslint/no-explicit-any
type AnyRequest = RequestType<any, any>;
// eslint-disable-next-line @typescript-eslint/no-explicit-any
type AnyNotification = NotificationType<any>;

/** What one side of a boundary may send. */
export interface Direction {
  readonly requests: readonly AnyRequest[];
  readonly notifications: readonly AnyNotification[];
}

/**
 * One boundary between two processes: its name (for errors), its message cap, and what each
 * side may send. `a` is the side that opens the connection (client, parent process).
 */
export interface Boundary {
  readonly name: string;
  readonly maxMessageBytes: number;
  /** What side b sends, when it may be larger than what it takes (a server's answers listing many participants). */
  readonly maxMessageBytesBToA?: number;
  readonly aToB: Direction;
  readonly bToA: Direction;
}

const id = z
  .int()
  .min(0)
  .max(2 ** 31 - 1);
const method = z.string().min(1).max(64);

export const RequestEnvelope = z.object({ v: z.number(), id, method, params: z.unknown() });
export const NotificationEnvelope = z.object({ v: z.number(), method, params: z.unknown() });
export const ErrorBodySchema = z.object({
  code: z.enum(ERROR_CODES),
  message: z.string().max(2000),
  data: z.record(z.string(), z.unknown()).optional(),
});
export const SuccessEnvelope = z.object({ v: z.number(), id, result: z.unknown() });
/** `id: null` answers a message too broken to have a usable id (as JSON-RPC does). */
export const FailureEnvelope = z.object({ v: z.number(), id: id.nullable(), error: ErrorBodySchema });

export type RequestEnvelope = z.infer<typeof RequestEnvelope>;
export type NotificationEnvelope = z.infer<typeof NotificationEnvelope>;
export type SuccessEnvelope = z.infer<typeof SuccessEnvelope>;
export type FailureEnvelope = z.infer<typeof FailureEnvelope>;

/** A schema failure as one short line a person can act on. */
export function describeIssues(error: z.ZodError, max = 3): string {
  const parts = error.issues.slice(0, max).map((issue) => {
    const where = issue.path.length ? issue.path.join('.') : '(root)';
    return `${where}: ${issue.message}`;
  });
  if (error.issues.length > max) parts.push(`…and ${error.issues.length - max} more`);
  return parts.join('; ');
}
