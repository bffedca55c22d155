/**
 * Remote-control input events: what a driving guest may send, checked against an allowlist
 * before anything reaches the OS (the model is Jitsi's remote-control `sanitizeEvent`). The guest
 * page builds them, the host page checks them (and the sender's grant), and the helper checks
 * them again before injecting: the same `sanitizeInputEvent` at every hop.
 *
 * Conventions: a printable key is the character the guest's layout produced ('H', '!'), so
 * Shift is implied by the character; modifiers list what else is held (Ctrl+P is key 'p' with
 * ['control']). A keyup names the same key as its keydown. Text outside the allowlist (é, IME
 * results) travels as `text`. Wheel: one notch ≈ 100 px or 3 lines; positive dx/dy = right/down.
 */
import { z } from 'zod';
import { ErrorCode } from './errors';

/** Longest text one `text` event may carry (a paste is split into several). */
export const MAX_TEXT_CHARS = 256;
/** Largest wheel step in one event, in notches. */
export const MAX_WHEEL_STEP = 20;
/** Events per second a driver may send; above it events are dropped and counted. */
export const MAX_INPUT_EVENTS_PER_SECOND = 400;

export const MouseButton = z.enum(['left', 'middle', 'right']);
export type MouseButton = z.infer<typeof MouseButton>;
export const Modifier = z.enum(['shift', 'control', 'alt', 'meta']);
export type Modifier = z.infer<typeof Modifier>;

const NAMED_KEYS = [
  'enter',
  'escape',
  'backspace',
  'tab',
  'space',
  'delete',
  'insert',
  'home',
  'end',
  'pageup',
  'pagedown',
  'up',
  'down',
  'left',
  'right',
  'f1',
  'f2',
  'f3',
  'f4',
  'f5',
  'f6',
  'f7',
  'f8',
  'f9',
  'f10',
  'f11',
  'f12',
  'shift',
  'control',
  'alt',
  'meta',
  'capslock',
  'menu',
] as const;

/** Every key a driver may press: the named keys above and each printable ASCII character. */
export const KEY_ALLOWLIST: ReadonlySet<string> = new Set<string>([
  ...NAMED_KEYS,
  ...Array.from({ length: 0x7e - 0x21 + 1 }, (_, i) => String.fromCharCode(0x21 + i)),
]);

/** Normalised coordinate on the shared screen: 0 is the left/top edge, 1 the right/bottom. */
const Coord = z.number().min(0).max(1);
const Seq = z
  .int()
  .min(0)
  .max(2 ** 31 - 1);
const Key = z
  .string()
  .min(1)
  .max(16)
  .refine((k) => KEY_ALLOWLIST.has(k), { message: 'key is not on the allowlist' });
const Mods = z.array(Modifier).max(4).default([]);
/** Printable text: no control characters except newline and tab. */
const Text = z
  .string()
  .min(1)
  .max(MAX_TEXT_CHARS)
  .regex(/^[^\u0000-\u0008\u000b-\u001f\u007f]*$/, 'text must not contain control characters');

export const InputEvent = z.discriminatedUnion('t', [
  z.object({ t: z.literal('move'), seq: Seq, x: Coord, y: Coord }),
  z.object({ t: z.literal('down'), seq: Seq, x: Coord, y: Coord, button: MouseButton }),
  z.object({ t: z.literal('up'), seq: Seq, x: Coord, y: Coord, button: MouseButton }),
  z.object({
    t: z.literal('wheel'),
    seq: Seq,
    x: Coord,
    y: Coord,
    dx: z.int().min(-MAX_WHEEL_STEP).max(MAX_WHEEL_STEP),
    dy: z.int().min(-MAX_WHEEL_STEP).max(MAX_WHEEL_STEP),
  }),
  z.object({ t: z.literal('keydown'), seq: Seq, key: Key, mods: Mods }),
  z.object({ t: z.literal('keyup'), seq: Seq, key: Key, mods: Mods }),
  z.object({ t: z.literal('text'), seq: Seq, text: Text }),
]);
export type InputEvent = z.infer<typeof InputEvent>;
export type InputEventKind = InputEvent['t'];

export type SanitizeResult =
  { ok: true; event: InputEvent } | { ok: false; code: typeof ErrorCode.BadMessage | typeof ErrorCode.Forbidden; reason: string; seq?: number };

/**
 * The one gate in front of every input sink. Anything not exactly one of the allowed shapes is
 * refused with a reason; unknown fields are stripped, never passed on.
 */
export function sanitizeInputEvent(raw: unknown): SanitizeResult {
  const seq = typeof raw === 'object' && raw !== null && typeof (raw as { seq?: unknown }).seq === 'number' ? (raw as { seq: number }).seq : undefined;
  const parsed = InputEvent.safeParse(raw);
  if (parsed.success) return { ok: true, event: parsed.data };
  const issue = parsed.error.issues[0];
  const where = issue?.path.join('.') || 'event';
  const forbidden = issue?.message === 'key is not on the allowlist' || (issue?.code === 'invalid_union' && where === 't');
  return {
    ok: false,
    code: forbidden ? ErrorCode.Forbidden : ErrorCode.BadMessage,
    reason: `${where}: ${issue?.message ?? 'invalid'}`,
    ...(seq === undefined ? {} : { seq }),
  };
}

/**
 * Token bucket for input events (per driver): `MAX_INPUT_EVENTS_PER_SECOND`, burst of half a
 * second. `take()` is false when the event must be dropped.
 */
export class InputRateLimiter {
  private tokens: number;
  private at: number;
  dropped = 0;
  constructor(
    private readonly perSecond = MAX_INPUT_EVENTS_PER_SECOND,
    private readonly now: () => number = () => performance.now(),
  ) {
    this.tokens = perSecond / 2;
    this.at = now();
  }
  take(): boolean {
    const t = this.now();
    this.tokens = Math.min(this.perSecond / 2, this.tokens + ((t - this.at) / 1000) * this.perSecond);
    this.at = t;
    if (this.tokens < 1) {
      this.dropped++;
      return false;
    }
    this.tokens -= 1;
    return true;
  }
}
