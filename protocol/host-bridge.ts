/**
 * Boundary: the host page (side a: the media engine in headless Chromium for the demo, the host
 * webview in VS Code) ⇄ its host runner (side b: the demo process, the extension), which owns
 * the helper and the host's own UI (terminal prompt or VS Code notification). JSON messages as
 * WebSocket text (demo) or postMessage (extension); screen frames from the helper travel in
 * `helper-framing.ts`'s video layout (kind byte first) as binary postMessage data (extension) or
 * on the frame stream beside the WebSocket (demo, bridge-frame-stream.ts).
 */
import { z } from 'zod';
import { DisplayName, Id } from './common';
import { ClientKind, ControlReason } from './signaling';
import { GuestRole } from './common';
import { defineNotification, defineRequest, type Boundary } from './rpc';

export const MAX_BRIDGE_JSON_BYTES = 64 * 1024;

/** Page → runner once connected: who the page is, so the runner can label what it shows. */
export const BridgeHello = defineRequest(
  'bridge.hello',
  z.object({ sessionId: Id, hostId: Id }),
  z.object({
    /** Where frames come from: relayed on this channel, or a helper WebSocket the page opens itself. */
    frames: z.discriminatedUnion('via', [
      z.object({ via: z.literal('bridge') }),
      z.object({ via: z.literal('websocket'), url: z.string().max(200) }),
      z.object({ via: z.literal('generated') }),
    ]),
    screen: z.object({ width: z.int(), height: z.int(), fps: z.number(), source: z.string().max(64) }),
    /** Whether guests may ask for control at all (a host setting). */
    controlRequests: z.boolean(),
    /** The host wants viewers to wait in the lobby too (the page asks the server with `lobby.setMode`). */
    lobbyEveryone: z.boolean().optional(),
  }),
);

/**
 * Page → runner: a controller asks to drive. The runner asks the host; no answer in time is a deny.
 * Names are not unique, so the prompt also shows the requester's client, a short id and the link
 * they came through (when the server says).
 */
export const AskControl = defineRequest(
  'control.ask',
  z.object({
    participantId: Id,
    name: DisplayName,
    client: ClientKind.optional(),
    /** The label of the share link they joined through (a name-like text, checked like one). */
    link: DisplayName.optional(),
  }),
  z.object({ allow: z.boolean(), reason: z.enum(['allowed', 'denied', 'timeout', 'disabled']) }),
);

/**
 * Page → runner: someone waits in the session's lobby (the server's `lobby.knock`). The runner asks
 * the host, naming them with their client, a short id, the link they came through and where they
 * connected from; no answer in time is a no. A runner that does not know this request says no.
 */
export const AskAdmit = defineRequest(
  'lobby.ask',
  z.object({
    participantId: Id,
    name: DisplayName,
    role: GuestRole,
    client: ClientKind.optional(),
    shortId: z.string().max(16),
    link: DisplayName.optional(),
    from: z.string().max(64),
  }),
  z.object({ admit: z.boolean(), reason: z.enum(['allowed', 'denied', 'timeout']) }),
);

/** Page → runner: who drives now (from the server's `control.changed`); the runner tells the helper. */
export const ControlState = defineNotification(
  'control.state',
  z.object({ driverId: Id.nullable(), driverName: DisplayName.nullable(), reason: ControlReason }),
);

/**
 * Page → runner: the host granted this participant itself (the editor's Grant Control, the page's
 * own action), not in answer to a request the runner asked about. The runner lets the helper
 * take input only from drivers approved this way or by its own prompt, never on the server's word.
 */
export const ControlApprove = defineNotification('control.approve', z.object({ participantId: Id }));

/** Page → runner: a driver's event that passed the page's grant check and allowlist. */
export const BridgeInput = defineNotification('input', z.object({ controllerId: Id, event: z.unknown() }));

/**
 * Page → runner, on carriers without back-pressure (webview postMessage): one frame message was
 * taken; the runner's relay sends the next only then, so frames never pile up in the webview.
 */
export const BridgeFrameTaken = defineNotification('frame.taken', z.object({}));

/** Runner → page: the host pressed the panic action; revoke everyone at the server now. */
export const StopAllControl = defineNotification('control.stopAll', z.object({}));

/** Runner → page: input refused further down (by the helper), to be passed to the guest. */
export const BridgeInputRefused = defineNotification(
  'input.refused',
  z.object({ controllerId: Id, seq: z.int().optional(), code: z.string().max(32), reason: z.string().max(300), count: z.int().min(1) }),
);

export const hostBridgeBoundary: Boundary = {
  name: 'host-bridge',
  maxMessageBytes: MAX_BRIDGE_JSON_BYTES,
  aToB: { requests: [BridgeHello, AskControl, AskAdmit], notifications: [ControlState, ControlApprove, BridgeInput, BridgeFrameTaken] },
  bToA: { requests: [], notifications: [StopAllControl, BridgeInputRefused] },
};
