/**
 * Boundary: control plane (its cascade supervisor) → cascade bridge worker (cascade/, Go), one
 * JSON line of configuration on the worker's stdin, then one JSON event per line on its stdout.
 * The Go side checks the configuration again (cascade/config.go) and refuses what this schema
 * refuses; the supervisor validates every event line, caps its length, and ignores none silently.
 */
import { z } from 'zod';

/** A longer stdout line is the worker misbehaving: it ends the worker. */
export const MAX_BRIDGE_LINE_BYTES = 16 * 1024;

const Endpoint = z.object({
  url: z
    .string()
    .regex(/^wss?:\/\/[^\s]+$/, 'a ws:// or wss:// address')
    .max(2048),
  token: z.string().min(1).max(8192),
});

export const BridgeConfig = z.object({
  /** The host's identity in the origin room; the bridge is that identity in the far room. */
  host: z.string().min(1).max(128),
  /** Best first; one origin subscription each, since LiveKit sends a subscriber one layer. */
  layers: z
    .array(z.object({ rid: z.enum(['q', 'h', 'f']), origin: Endpoint }))
    .min(1)
    .max(3)
    .refine((ls) => new Set(ls.map((l) => l.rid)).size === ls.length, 'a layer twice'),
  far: Endpoint,
  statsIntervalMs: z.int().min(100).max(60_000).optional(),
});
export type BridgeConfig = z.infer<typeof BridgeConfig>;

const count = z.int().min(0);
export const BridgeLayerStats = z.object({
  rid: z.string().max(4),
  packets: count,
  bytes: count,
  frames: count,
  keyFrames: count,
  /** Key-frame requests from the far room, and those passed to the origin (spaced). */
  keyRequestsIn: count,
  keyRequestsOut: count,
  writeErrors: count,
  /** Microseconds from each packet read on the origin side to handed to the far side, summed. */
  relayMicros: count,
  width: count,
  height: count,
});
export type BridgeLayerStats = z.infer<typeof BridgeLayerStats>;

export const BridgeEvent = z.discriminatedUnion('event', [
  /** The far room has the host's screen published. */
  z.object({
    event: z.literal('ready'),
    codec: z.string().max(64),
    width: count,
    height: count,
    layers: z.int().min(1).max(3),
    encryption: z.string().max(32),
  }),
  /** Totals since the worker started, every `statsIntervalMs`. */
  z.object({ event: z.literal('stats'), layers: z.array(BridgeLayerStats).max(3), farParticipants: count }),
  z.object({ event: z.literal('log'), level: z.enum(['debug', 'info', 'warn', 'error']), message: z.string().max(4096) }),
  /** Why the worker stops; its exit follows. */
  z.object({ event: z.literal('fatal'), message: z.string().max(4096) }),
]);
export type BridgeEvent = z.infer<typeof BridgeEvent>;
