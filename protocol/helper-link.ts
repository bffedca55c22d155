/**
 * Boundary: host runner (side a: the demo now, the extension next) ⇄ helper child process
 * (side b), on the helper's stdin/stdout. Framing is in `helper-framing.ts`: JSON messages of this
 * boundary travel in `json` frames, screen pixels in binary `video` frames (never JSON/base64).
 * The helper trusts nothing: input is injected only while a controller is granted, and only
 * events that pass `sanitizeInputEvent`.
 */
import { z } from 'zod';
import { Id } from './common';
import { InputEvent } from './input';
import { defineNotification, defineRequest, type Boundary } from './rpc';

export const MAX_HELPER_JSON_BYTES = 64 * 1024;

const Region = z.object({
  x: z.int().min(0).max(16_384),
  y: z.int().min(0).max(16_384),
  width: z.int().min(16).max(7680),
  height: z.int().min(16).max(4320),
});
export type CaptureRegion = z.infer<typeof Region>;

const Availability = z.object({ available: z.boolean(), reason: z.string().max(500).optional() });

export const Hello = defineRequest(
  'helper.hello',
  z.object({}),
  z.object({
    version: z.string().max(32),
    pid: z.int(),
    platform: z.string().max(32),
    /** The X display or OS screen being captured, when there is one (on Wayland its size is known once a cast starts: 0 × 0). */
    screen: z.object({ name: z.string().max(64), width: z.int(), height: z.int() }).nullable(),
    /** The kind of desktop the helper found, so the runner can say which: X11, Wayland (capture through the portal), or neither (macOS, Windows). */
    desktop: z.enum(['x11', 'wayland', 'other']).optional(),
    capture: Availability,
    inject: Availability.extend({ xdotool: z.boolean() }),
    /** Keys or buttons found held by a previous helper and released at start. */
    releasedAtStart: z.array(z.string().max(32)).max(64),
  }),
);

export const StartCapture = defineRequest(
  'capture.start',
  z.object({
    fps: z.number().min(1).max(60).default(30),
    /** Part of the screen to share; the whole screen when absent. */
    region: Region.optional(),
    /** Draw the pointer into frames (the OS grab has none). */
    drawCursor: z.boolean().default(true),
    /**
     * While the screen does not change, still send this many frames per second. 0: a still screen
     * sends nothing (a new viewer's picture comes from `requestFrame`; the page keeps its encoder warm).
     */
    idleFps: z.number().min(0).max(30).default(0),
    /**
     * How frames are taken: `x11` waits for the X server's DAMAGE events and reads only the changed
     * rectangles through MIT-SHM; `robotjs` samples the whole screen; `auto` (default) takes `x11`
     * where the server offers it; `portal` (a Wayland session) asks the desktop portal's ScreenCast.
     * The environment's PAIRUX_CAPTURE overrides it.
     */
    backend: z.enum(['auto', 'x11', 'robotjs', 'portal']).default('auto'),
    /**
     * Wayland: the token the last cast's answer gave (`restoreToken`), so the desktop may share the
     * same monitor again without its dialog. Ignored elsewhere.
     */
    restoreToken: z.string().min(1).max(256).optional(),
    /** A RandR monitor to share, by name (see `capture.monitors`); `region` is then relative to it. */
    monitor: z.string().min(1).max(64).optional(),
    /**
     * `link`: frames come back on stdout (the runner relays them). `websocket`: the helper serves
     * them itself on a loopback WebSocket (URL with a one-off key) that the host page connects to.
     */
    deliver: z.enum(['link', 'websocket']).default('link'),
    /**
     * On the link only: after a full frame, send just the rows that changed since the last frame
     * sent (kind 2 patches), so an 8 MB screen with a blinking cursor costs kilobytes.
     */
    patches: z.boolean().default(false),
  }),
  z.object({
    width: z.int(),
    height: z.int(),
    fps: z.number(),
    websocketUrl: z.string().max(200).optional(),
    /** The backend that took the capture, and why it is not the one asked for (a fallback). */
    backend: z.enum(['x11', 'robotjs', 'portal']).optional(),
    fallback: z.string().max(300).optional(),
    /** Wayland: keep it (per workspace) and send it with the next capture.start to skip the desktop's dialog. */
    restoreToken: z.string().max(256).optional(),
    /** The monitor shared, when one was asked for: its name and place on the X screen. */
    monitor: z.object({ name: z.string().max(64), x: z.int(), y: z.int(), width: z.int(), height: z.int() }).optional(),
  }),
);

/** The monitors of the X screen (RandR 1.5), for the host to pick one. */
export const Monitor = z.object({
  name: z.string().max(64),
  x: z.int(),
  y: z.int(),
  width: z.int(),
  height: z.int(),
  primary: z.boolean(),
});
export type MonitorInfo = z.infer<typeof Monitor>;
export const ListMonitors = defineRequest('capture.monitors', z.object({}), z.object({ monitors: z.array(Monitor).max(32) }));

export const StopCapture = defineRequest('capture.stop', z.object({}), z.object({}));

/** Injection may begin for this controller (host page and server have checked too). */
export const GrantControl = defineRequest('control.grant', z.object({ controllerId: Id }), z.object({}));

/** Injection stops at once; every key and button the driver holds is released. */
export const RevokeControl = defineRequest(
  'control.revoke',
  z.object({ reason: z.enum(['revoked', 'panic', 'driver-left', 'taken-over', 'shutdown']) }),
  z.object({ released: z.array(z.string().max(32)) }),
);

export const InputStats = defineRequest(
  'input.stats',
  z.object({}),
  z.object({
    injected: z.int(),
    refused: z.record(z.string(), z.int()),
    rateLimited: z.int(),
    granted: Id.nullable(),
  }),
);

/** One driver event, high rate, no response; refusals come back as `input.refused`. */
export const Input = defineNotification('input', z.object({ controllerId: Id, event: z.unknown() }));

export const InputRefused = defineNotification(
  'input.refused',
  z.object({
    /** Whose events were refused (the runner passes the notice to that guest). */
    controllerId: Id,
    seq: z.int().optional(),
    code: z.string().max(32),
    reason: z.string().max(300),
    /** How many refusals this one stands for (they are coalesced, at most a few per second). */
    count: z.int().min(1),
  }),
);

export const CaptureError = defineNotification('capture.error', z.object({ message: z.string().max(1000), fatal: z.boolean() }));

export const helperBoundary: Boundary = {
  name: 'helper',
  maxMessageBytes: MAX_HELPER_JSON_BYTES,
  aToB: {
    requests: [Hello, StartCapture, StopCapture, ListMonitors, GrantControl, RevokeControl, InputStats],
    notifications: [Input],
  },
  bToA: { requests: [], notifications: [InputRefused, CaptureError] },
};

/** Re-exported so both ends validate events with the same schema. */
export { InputEvent };
