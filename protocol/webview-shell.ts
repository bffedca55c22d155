/**
 * Boundary: a PairUX page inside a VS Code webview (side a: the host page or the guest panel) ⇄
 * the extension that opened it (side b). It carries what a plain browser page gets from its URL
 * (the session, the token, where the server is) without putting secrets in the HTML, and it lets
 * the editor's own UI (status bar, Participants view, palette commands) show and act on the
 * page's session. Over the same postMessage channel the host page also speaks the host bridge
 * (`host-bridge.ts`); `WebviewEnvelope` tells the two apart and carries binary frames.
 */
import { z } from 'zod';
import { DisplayName, Id, Media, Mode, Role } from './common';
import {
  ControlAuditEntry,
  HostOfferEnded,
  HostOffered,
  LinkSummary,
  LinksChanged,
  MAX_CONTROL_AUDIT_ENTRIES,
  Participant,
  ResumeTicket,
  RotateLinks,
  ShareLinkInfo,
} from './signaling';
import { MAX_SIGNALING_DOWN_BYTES, MAX_SIGNALING_MESSAGE_BYTES } from './limits';
import { MAX_KEY_GEN } from './share-link';
import { defineNotification, defineRequest, type Boundary } from './rpc';
import { SessionTiersSchema, TierNameSchema } from './tiers';

/** Holds the largest signaling message from the server (1 MiB) escaped inside the RPC message's JSON, with room to spare. */
export const MAX_SHELL_JSON_BYTES = 3 * 1024 * 1024;

/** One postMessage between the extension and a webview page. */
export const WebviewEnvelope = z.discriminatedUnion('ch', [
  /** JSON text of an RpcEndpoint message on the shell boundary (this file). */
  z.object({ ch: z.literal('shell'), text: z.string().max(MAX_SHELL_JSON_BYTES) }),
  /** JSON text on the host bridge (host page only). */
  z.object({ ch: z.literal('bridge'), text: z.string().max(MAX_SHELL_JSON_BYTES) }),
  /** A binary screen message (`helper-framing.ts` video/patch layout), extension → host page. */
  z.object({ ch: z.literal('frame'), data: z.instanceof(Uint8Array) }),
]);
export type WebviewEnvelope = z.infer<typeof WebviewEnvelope>;

/** A session key's generation (the ratchet's and re-keys' counter; protocol/share-link.ts MAX_KEY_GEN). */
const KeyGeneration = z.int().min(0).max(MAX_KEY_GEN);
/** A media key as a link carries it (`&k=`): 32 bytes, base64url without padding. */
const MediaKeyText = z.string().regex(/^[A-Za-z0-9_-]{43}$/);
/**
 * Where an encrypted session's key schedule is: its current key and generation. Crosses only
 * between a page and its own editor, never to a server; nobody logs it.
 */
export const MediaKeyAt = z.object({ key: MediaKeyText, gen: KeyGeneration });
export type MediaKeyAt = z.infer<typeof MediaKeyAt>;

const HostBoot = z.object({
  page: z.literal('host'),
  /** The host page's fragment parameters (`webview/pages/host-params.ts`); the bridge is this channel. */
  hostParams: z.string().max(8192),
  /** ws:// or wss:// URL of the control plane's `/ws`, as the webview can reach it. */
  signalingUrl: z.string().max(2048),
  /** Join as this participant (a guest taking over the host's seat brings its identity along). */
  resume: ResumeTicket.optional(),
  /**
   * Host transfer in an encrypted session: the key schedule the session is at, which the page
   * continues instead of making a key of its own (every guest's link holds this one).
   */
  mediaKey: MediaKeyAt.optional(),
});

const GuestBoot = z.object({
  page: z.literal('guest'),
  /** The share link the user pasted (http(s)://…/s/<id>#t=…). */
  link: z.string().max(8192),
  name: DisplayName.optional(),
  signalingUrl: z.string().max(2048),
  /** Join as this participant (a host that handed its seat over watches as itself). */
  resume: ResumeTicket.optional(),
});

/** Page → extension once its script runs: who it is; the answer says what to join. */
export const ShellReady = defineRequest(
  'shell.ready',
  z.object({ page: z.enum(['host', 'guest']), origin: z.string().max(512) }),
  z.discriminatedUnion('page', [HostBoot, GuestBoot]),
);

/** The nine digits host and guests compare (webview/engine/e2ee/media-keys.ts `safetyCode`). */
const SafetyCode = z.string().regex(/^\d{3} \d{3} \d{3}$/);

export const PageState = z.enum(['connecting', 'joined', 'live', 'reconnecting', 'ended', 'failed']);
export type PageState = z.infer<typeof PageState>;

/** Page → extension whenever something the editor shows changes. */
export const ShellStatus = defineNotification(
  'shell.status',
  z.object({
    state: PageState,
    /** One line for the status bar's tooltip / error messages. */
    message: z.string().max(1000),
    mode: Mode.optional(),
    /** Where the media flows now; an auto session moves from p2p to sfu as it grows. */
    media: Media.optional(),
    /** What the session focus last said about the media (a move under way, or why there was none). */
    notice: z.string().max(300).optional(),
    selfId: Id.optional(),
    role: Role.optional(),
    /** The page's current resume ticket: lets the extension carry this identity into another page (host transfer). */
    resume: ResumeTicket.optional(),
    /**
     * The role the page's current connection joined with (`role` follows updates at once): after a
     * host transfer the extension acts when this changes, i.e. once the page has rejoined and
     * `resume` is the ticket of that join.
     */
    joinedAs: Role.optional(),
    participants: z.array(Participant).max(200),
    driverId: Id.nullable(),
    /** The session's quality tiers as its server told this page at join (a host that took the seat over has no other copy). */
    tiers: SessionTiersSchema.optional(),
    /** Guest: the control request / driving state. */
    control: z.enum(['none', 'requested', 'granted', 'unavailable']).optional(),
    /** Set when the session is over: why, in words. */
    ended: z.object({ reason: z.string().max(64), message: z.string().max(1000) }).optional(),
    /** Set when joining failed: the server's error code. */
    errorCode: z.string().max(64).optional(),
    /** Guest, an end-to-end encrypted session: whether its frames open with the link's key, and the safety code to compare. */
    e2ee: z
      .object({
        state: z.enum(['waiting', 'decrypting', 'key-rejected']),
        safetyCode: SafetyCode.optional(),
        gen: KeyGeneration,
      })
      .optional(),
  }),
);
export type ShellStatusParams = z.infer<typeof ShellStatus.params>;

/** Extension → page: a palette / status-bar / view action for the page's session. */
export const ShellAction = defineRequest(
  'shell.action',
  z.discriminatedUnion('action', [
    z.object({ action: z.literal('requestControl') }),
    z.object({ action: z.literal('releaseControl') }),
    z.object({ action: z.literal('leave') }),
    z.object({ action: z.literal('end'), reason: z.string().max(300).optional() }),
    z.object({ action: z.literal('grant'), participantId: Id }),
    z.object({ action: z.literal('revoke'), participantId: Id }),
    z.object({ action: z.literal('stopAll') }),
    z.object({ action: z.literal('setRole'), participantId: Id, role: z.enum(['controller', 'viewer']) }),
    z.object({ action: z.literal('remove'), participantId: Id }),
    z.object({ action: z.literal('makeHost'), participantId: Id }),
    /** One guest's quality tier (protocol/tiers.ts), or null to put it back on its role's (`participant.setTier`). */
    z.object({ action: z.literal('setTier'), participantId: Id, tier: TierNameSchema.nullable() }),
    /** Guest: its user's answer to an offer of the host's seat (`shell.hostOffered`); only the user's Accept says yes. */
    z.object({ action: z.literal('answerHostOffer'), offerId: Id, accept: z.boolean() }),
    /**
     * A fresh share link (the host's page creates it; a host that took over has none of its own).
     * With a `label` or `singleUse`, a personal link for one person (the label shows beside them).
     */
    z.object({
      action: z.literal('createLink'),
      role: z.enum(['controller', 'viewer']),
      label: DisplayName.optional(),
      singleUse: z.boolean().optional(),
      ttlSeconds: z.int().min(60).optional(),
    }),
    /** Every guest link stops working; new shared links for both roles come back in `rotated`. */
    z.object({ action: z.literal('rotateLinks') }),
    /** The server's record of control in this session (`control.audit`), in `controlAudit`. */
    z.object({ action: z.literal('controlAudit') }),
    /** The guest links that still work, in `links`. */
    z.object({ action: z.literal('listLinks') }),
    /** One link stops working; `revoked` says whether it still worked. */
    z.object({ action: z.literal('revokeLink'), id: Id }),
    /** The shared links as the editor hands them out (an encrypted session's carry the key): shown in the host panel with copy buttons. */
    z.object({ action: z.literal('showLinks'), viewer: z.url().max(8192), controller: z.url().max(8192) }),
  ]),
  z.object({
    /** `url` and `expiresAt` (epoch ms): the link `createLink` made (also whole in `link`). */
    url: z.string().max(8192).optional(),
    expiresAt: z.number().optional(),
    link: ShareLinkInfo.optional(),
    rotated: RotateLinks.result.optional(),
    links: z.array(LinkSummary).max(1000).optional(),
    revoked: z.boolean().optional(),
    controlAudit: z.array(ControlAuditEntry).max(MAX_CONTROL_AUDIT_ENTRIES).optional(),
  }),
);
export type ShellActionParams = z.infer<typeof ShellAction.params>;

/** Page → extension (guest): the guest started or stopped driving (the `pairux.driving` context key). */
export const ShellDriving = defineNotification('shell.driving', z.object({ driving: z.boolean() }));

/**
 * Page → extension (guest): the host offers this participant its seat (the server's `host.offered`,
 * which the page checked names it). The extension asks its user in a modal prompt and answers
 * with the `answerHostOffer` action.
 */
export const ShellHostOffered = defineNotification('shell.hostOffered', HostOffered.params);

/**
 * Page → extension (host): a removal revoked the link the guest came through (the server's
 * `session.linksChanged`); a new shared link for that role is in it when it was a shared one.
 */
export const ShellLinksChanged = defineNotification('shell.linksChanged', LinksChanged.params);

/**
 * Page → extension (host), an end-to-end encrypted session: the media key changed (the session
 * started, the ratchet moved on, or a re-key after a guest went). Every link the extension shows
 * or copies carries this key from now on (`withMediaKey`); it stays on this machine: the
 * extension never logs it and never sends it to a server.
 */
export const ShellE2eeKey = defineNotification(
  'shell.e2eeKey',
  z.object({
    gen: KeyGeneration,
    /** The key as a link carries it (`&k=`). */
    key: MediaKeyText,
    safetyCode: SafetyCode,
    why: z.enum(['start', 'ratchet', 'rekey']),
  }),
);
export type ShellE2eeKeyParams = z.infer<typeof ShellE2eeKey.params>;

/**
 * Page → extension (guest), host transfer in an encrypted session: this page's participant has
 * become the host, and this is the key schedule it held (its current key and generation). The
 * extension hands it to the host page that takes over (`mediaKey` in its boot), so the guests'
 * links keep opening the picture; it never logs it and never sends it to a server.
 */
export const ShellTakeOverKey = defineNotification('shell.takeOverKey', MediaKeyAt);

/** Page → extension (host): its offer of the host's seat was declined or not answered in time (`host.offerEnded`). */
export const ShellHostOfferEnded = defineNotification('shell.hostOfferEnded', HostOfferEnded.params);

/**
 * Page → extension (host): the host clicked Copy beside a link in the control room. Only the role
 * crosses: the editor copies its own link for it (a webview cannot always reach the clipboard,
 * and a page never makes the editor copy text of its choosing).
 */
export const ShellCopyLink = defineNotification('shell.copyLink', z.object({ role: z.enum(['controller', 'viewer']) }));

/*
 * The page's signaling socket, opened by the extension. A webview's origin is its editor's
 * (vscode-webview:// on the desktop; on the web the code-server or vscode.dev page's own), which a
 * deployed server cannot know and so refuses; the extension host's socket carries no origin, as
 * any native client's. The page names a connection; the extension opens it to the session's own
 * signaling URL (the page never names a URL) and carries text both ways until either side closes.
 */
const SignalConnection = z.string().regex(/^[A-Za-z0-9_-]{1,32}$/);
/** Page → server: what the server takes; server → page: what it may send (a join's result lists everyone). */
const SignalText = z.string().max(MAX_SIGNALING_MESSAGE_BYTES);
const SignalTextDown = z.string().max(MAX_SIGNALING_DOWN_BYTES);

/** Page → extension: open connection `id` to the session's signaling socket. */
export const ShellSignalOpen = defineNotification('shell.signalOpen', z.object({ id: SignalConnection }));
/** Page → extension: one text message on connection `id`. */
export const ShellSignalSend = defineNotification('shell.signalSend', z.object({ id: SignalConnection, text: SignalText }));
/** Page → extension: close connection `id` (a WebSocket close code the page may send, and its reason). */
export const ShellSignalClose = defineNotification(
  'shell.signalClose',
  z.object({ id: SignalConnection, code: z.union([z.literal(1000), z.int().min(3000).max(4999)]), reason: z.string().max(123) }),
);
/** Extension → page: connection `id` is open. */
export const ShellSignalOpened = defineNotification('shell.signalOpened', z.object({ id: SignalConnection }));
/** Extension → page: a text message the server sent on connection `id`. */
export const ShellSignalMessage = defineNotification('shell.signalMessage', z.object({ id: SignalConnection, text: SignalTextDown }));
/** Extension → page: connection `id` failed to open or closed, with the close code and reason. */
export const ShellSignalClosed = defineNotification(
  'shell.signalClosed',
  z.object({ id: SignalConnection, code: z.int().min(1000).max(4999), reason: z.string().max(1000) }),
);

export const webviewShellBoundary: Boundary = {
  name: 'webview-shell',
  maxMessageBytes: MAX_SHELL_JSON_BYTES,
  aToB: {
    requests: [ShellReady],
    notifications: [
      ShellStatus,
      ShellDriving,
      ShellHostOffered,
      ShellLinksChanged,
      ShellHostOfferEnded,
      ShellCopyLink,
      ShellE2eeKey,
      ShellTakeOverKey,
      ShellSignalOpen,
      ShellSignalSend,
      ShellSignalClose,
    ],
  },
  bToA: { requests: [ShellAction], notifications: [ShellSignalOpened, ShellSignalMessage, ShellSignalClosed] },
};
