/**
 * Boundary: browser / webview / host page (side a) ⇄ control-plane server (side b), JSON over
 * WebSocket at `/ws`. Sessions, presence and the P2P signaling relay.
 */
import { z } from 'zod';
import { DisplayName, GuestRole, IceServer, Id, Media, Mode, Region, Role } from './common';
import { MAX_ICE_CANDIDATE_CHARS, MAX_SDP_CHARS, MAX_SIGNALING_DOWN_BYTES, MAX_SIGNALING_MESSAGE_BYTES, MAX_TOKEN_CHARS } from './limits';
import { defineNotification, defineRequest, type Boundary } from './rpc';
import { SessionTiersSchema, TierNameSchema } from './tiers';

export const ControlState = z.enum(['none', 'requested', 'granted']);

/** What a participant joined from; a browser guest cannot share a screen (so cannot be made host). */
export const ClientKind = z.enum(['browser', 'vscode', 'host-page', 'bench']);
export type ClientKind = z.infer<typeof ClientKind>;

/**
 * Which share link a participant came through, for the host to tell people apart: the link's id
 * (its token's `jti`, not the token) and its label ('controller link', or the host's own).
 */
export const ParticipantLink = z.object({ id: Id, label: DisplayName });

export const Participant = z.object({
  id: Id,
  name: DisplayName,
  role: Role,
  /** False while a dropped participant is inside its reconnect grace period. */
  connected: z.boolean(),
  controlState: ControlState,
  joinedAt: z.number(),
  /** Guests: where the picture they see comes from, once they have reported it (`media.report`). */
  media: Media.optional(),
  /** What it joined from, as its client said. */
  client: ClientKind.optional(),
  /** Guests: the link it first joined through. */
  link: ParticipantLink.optional(),
  /**
   * The quality tier it gets now (protocol/tiers.ts `tierFor`): the host's choice for it, else its
   * role's in this session. Always sent by this server; absent from older ones, where a page
   * reads its role's tier from the join result's `tiers` (or the defaults).
   */
  tier: TierNameSchema.optional(),
  /** True when that tier is the host's choice (`participant.setTier`), not its role's. */
  tierChosen: z.boolean().optional(),
  /**
   * True when the session focus put this viewer on `low` because the host could not keep up and no
   * SFU could take the session (`media.hostLoad`); the host's own choice of tier still wins.
   */
  tierLowered: z.boolean().optional(),
  /**
   * Viewers: the region it said it watches from (its link's `region=`), and whether it watches
   * there, on that region's SFU fed by a cascade bridge (`cascaded`), rather than on the host's.
   */
  region: Region.optional(),
  cascaded: z.boolean().optional(),
});
export type Participant = z.infer<typeof Participant>;

export const SessionInfo = z.object({
  id: Id,
  mode: Mode,
  /** Where the media flows now; `session.topology` says when it changes. */
  media: Media,
  hostId: Id,
  name: DisplayName.optional(),
  createdAt: z.number(),
  /** End-to-end encrypted: present and true only then (the server never holds the key). */
  e2ee: z.boolean().optional(),
});
export type SessionInfo = z.infer<typeof SessionInfo>;

/** Secret that lets a dropped participant come back as itself within the grace period. */
export const ResumeTicket = z.object({ participantId: Id, secret: z.string().min(16).max(128) });
export type ResumeTicket = z.infer<typeof ResumeTicket>;

const Sdp = z.string().min(1).max(MAX_SDP_CHARS);
const PcId = Id;

/** What the relay carries between host and guest; opaque to the server beyond its shape. */
export const SignalPayload = z.discriminatedUnion('kind', [
  /** Guest → host: please (re)connect me; sent after join and whenever the guest's connection fails. */
  z.object({ kind: z.literal('hello'), reason: z.enum(['join', 'reconnect', 'failed']) }),
  z.object({ kind: z.literal('offer'), pc: PcId, sdp: Sdp }),
  z.object({ kind: z.literal('answer'), pc: PcId, sdp: Sdp }),
  z.object({
    kind: z.literal('ice'),
    pc: PcId,
    candidate: z
      .object({
        candidate: z.string().max(MAX_ICE_CANDIDATE_CHARS),
        sdpMid: z.string().max(64).nullable().optional(),
        sdpMLineIndex: z.int().min(0).max(64).nullable().optional(),
        usernameFragment: z.string().max(256).nullable().optional(),
      })
      .nullable(),
  }),
  z.object({ kind: z.literal('bye'), pc: PcId }),
  /**
   * End-to-end encrypted sessions (issue 15). Guest → host: this page's ECDH P-256 public key
   * (raw, base64url), for the host to wrap new media keys to it alone.
   */
  z.object({ kind: z.literal('e2ee-public'), key: z.string().min(1).max(100) }),
  /**
   * Host → one guest: a fresh media key (after a removal), wrapped for that guest alone
   * (webview/engine/e2ee/key-wrap.ts); the server sees only ciphertext. `keyId` is its generation.
   */
  z.object({
    kind: z.literal('e2ee-rekey'),
    keyId: z.int().min(0).max(0xffff),
    hostPublic: z.string().max(100),
    iv: z.string().max(32),
    ciphertext: z.string().max(100),
  }),
  /** Guest → host: this page holds key generation `keyId` now (the host switches once everyone has it). */
  z.object({ kind: z.literal('e2ee-ack'), keyId: z.int().min(0).max(0xffff) }),
]);
export type SignalPayload = z.infer<typeof SignalPayload>;

export const ClientInfo = z.object({
  kind: ClientKind,
  version: z.string().max(32).optional(),
  /** This client encrypts and decrypts media end to end (an encrypted session refuses one that does not). */
  e2ee: z.boolean().optional(),
});

/**
 * Where an SFU session's media goes: the LiveKit server (as this client can reach it) and a
 * LiveKit access token for this participant, whose grants follow its role (host: publish screen
 * share and data; controller: subscribe and publish data; viewer: subscribe only). The LiveKit
 * identity is the PairUX participant id, so the host can tell who sent a data message.
 */
export const SfuAccess = z.object({
  url: z.string().max(2048),
  token: z.string().max(8192),
  room: z.string().max(128),
  /** Epoch ms; ask `sfu.access` for a fresh one before then. */
  expiresAt: z.number(),
});
export type SfuAccess = z.infer<typeof SfuAccess>;

// ---- requests, client → server -------------------------------------------------------------

export const Join = defineRequest(
  'session.join',
  z.object({
    sessionId: Id,
    token: z.string().min(1).max(MAX_TOKEN_CHARS),
    name: DisplayName,
    resume: ResumeTicket.optional(),
    client: ClientInfo.optional(),
    /** Which SFU pool this participant is nearest to; the host's picks the session's SFU. */
    region: Region.optional(),
  }),
  z.object({
    session: SessionInfo,
    self: Participant,
    participants: z.array(Participant),
    iceServers: z.array(IceServer),
    resume: ResumeTicket,
    /** True when this join took back an identity that was in its grace period. */
    resumed: z.boolean(),
    reconnectGraceMs: z.number(),
    heartbeatIntervalMs: z.number(),
    /** Set while the media flows through an SFU: how to reach it. */
    sfu: SfuAccess.optional(),
    /** The topology's version (bumped by each move to or between SFUs), as in `session.topology`. */
    epoch: z.int().min(0),
    /** The session's tier table and role tiers: what each participant's `tier` means in numbers. */
    tiers: SessionTiersSchema.optional(),
  }),
);

/**
 * A fresh LiveKit token (before the last one expires, to reconnect to the SFU, or after
 * `session.topology` moved the session to an SFU). Only while the media flows through one.
 */
export const RefreshSfuAccess = defineRequest('sfu.access', z.object({}), SfuAccess);

/**
 * Guest → server: this guest now shows the SFU's picture (after `session.topology`), so its
 * peer-to-peer link may go. The server tells the host, which closes it; nobody loses the
 * picture in between (make before break).
 */
export const ReportMedia = defineRequest('media.report', z.object({ media: Media, epoch: z.int().min(0) }), z.object({}));

/**
 * Host → server: the host's page cannot keep up with its peer-to-peer guests for a sustained few
 * seconds (`overloaded`, with the first `reason` that holds: its encoder CPU-limited, its sent
 * frame rate under 2/3 of what it should send, or its uplink saturated), or can again. An `auto`
 * session on P2P then moves to an SFU early, whatever its size (make before break, as at the
 * participant threshold); where no SFU can take it, its viewers go to the `low` tier instead.
 * The answer says which, in words for the host.
 */
export const HostLoadReport = z.object({
  overloaded: z.boolean(),
  reason: z.enum(['encoder-cpu', 'low-fps', 'uplink']).optional(),
  /** Frames per second the host sends (its busiest guest's) and should send (its screen's, capped at the target). */
  sentFps: z.number().min(0).max(1000),
  expectedFps: z.number().min(0).max(1000),
});
export type HostLoadReport = z.infer<typeof HostLoadReport>;
export const ReportHostLoad = defineRequest(
  'media.hostLoad',
  HostLoadReport,
  z.object({ action: z.enum(['none', 'moving', 'viewers-lowered', 'viewers-restored']), message: z.string().max(300) }),
);

export const Leave = defineRequest('session.leave', z.object({}), z.object({}));

export const End = defineRequest('session.end', z.object({ reason: z.string().max(200).optional() }), z.object({}));

export const SendSignal = defineRequest('signal.send', z.object({ to: Id, payload: SignalPayload }), z.object({}));

/** A guest share link as the host gets it (the URL carries the token; nobody else is sent it). */
export const ShareLinkInfo = z.object({
  url: z.string().max(4096),
  role: GuestRole,
  expiresAt: z.number(),
  /** The token's `jti`: what `Participant.link.id` names. */
  id: Id,
  label: DisplayName,
  /** Revoked by the first join through it. */
  singleUse: z.boolean(),
});
export type ShareLinkInfo = z.infer<typeof ShareLinkInfo>;

/**
 * Host → server: a new guest link. With a `label` or `singleUse` it is a personal link, made for
 * one person: the label shows beside whoever joins through it, and a single-use link stops working
 * once someone has joined through it.
 */
export const CreateLink = defineRequest(
  'links.create',
  z.object({ role: GuestRole, ttlSeconds: z.int().min(60).optional(), label: DisplayName.optional(), singleUse: z.boolean().optional() }),
  ShareLinkInfo,
);

/** Fresh ICE servers (TURN credentials are short-lived; a long session refreshes them). */
export const GetIceServers = defineRequest('ice.servers', z.object({}), z.object({ iceServers: z.array(IceServer) }));

// ---- remote control: one driver at a time, decided by the host, known to everyone ----------

/** Controller → server: ask the host for control. Viewers may not. */
export const RequestControl = defineRequest('control.request', z.object({}), z.object({}));
/** Guest → server: give control back (or withdraw a request). */
export const ReleaseControl = defineRequest('control.release', z.object({}), z.object({}));
/** Host → server: this controller drives now; whoever drove before is told it was taken over. */
export const GrantControl = defineRequest('control.grant', z.object({ participantId: Id }), z.object({}));
/** Host → server: refuse a pending request. */
export const DenyControl = defineRequest(
  'control.deny',
  z.object({ participantId: Id, reason: z.enum(['denied', 'timeout']).default('denied') }),
  z.object({}),
);
/** Host → server: stop control for one participant, or for everyone (panic) when absent. */
export const RevokeControl = defineRequest('control.revoke', z.object({ participantId: Id.optional(), panic: z.boolean().default(false) }), z.object({}));

/**
 * How many control events the server keeps per session; older ones are dropped first. A full list
 * of entries with the longest ids and names still fits one signaling message.
 */
export const MAX_CONTROL_AUDIT_ENTRIES = 100;

/** A person in the control audit, as named when it happened (they may have left since). */
export const ControlAuditPerson = z.object({ id: Id, name: DisplayName });

/**
 * One control change as the server saw it: what happened, to whom, by whom (absent when the
 * server did it: a driver dropped) and when (epoch ms). The server never sees input, so no input
 * here either.
 */
export const ControlAuditEntry = z.object({
  at: z.number(),
  action: z.enum(['requested', 'granted', 'denied', 'timeout', 'revoked', 'panic', 'released', 'taken-over', 'left']),
  target: ControlAuditPerson,
  actor: ControlAuditPerson.optional(),
});
export type ControlAuditEntry = z.infer<typeof ControlAuditEntry>;

/** Host → server: the session's control events, oldest first (the current host only). */
export const ControlAudit = defineRequest('control.audit', z.object({}), z.object({ entries: z.array(ControlAuditEntry).max(MAX_CONTROL_AUDIT_ENTRIES) }));

// ---- the host's participant actions (the Participants view) -------------------------------

/**
 * Host → server: make a viewer a controller or a controller a viewer. The token decides only
 * the first join's role; from then on the server's record is the role every rule reads.
 * Everyone gets `participant.updated`; demoting someone who drives or asks revokes that first.
 */
export const SetRole = defineRequest('participant.setRole', z.object({ participantId: Id, role: GuestRole }), z.object({ participant: Participant }));

/**
 * Host → server: take a guest out of the session. The guest gets `session.ended` with reason
 * 'removed' and is closed with 4004; everyone else gets `participant.left` with reason 'removed'.
 * Its seat and resume ticket are gone; the share link itself still works until it expires.
 */
export const RemoveParticipant = defineRequest(
  'participant.remove',
  z.object({ participantId: Id, reason: z.string().trim().max(200).optional() }),
  z.object({}),
);

/**
 * Host → server: offer the host's seat to a controller (host transfer). The controller is asked
 * (`host.offered`) and the answer is the participant as it is now; only its `host.accept` makes
 * it the host and the host a controller, in one step; all control stops first. Everyone gets
 * `session.hostChanged`; the two whose roles swapped are then closed with `CloseCode.HostChanged`
 * and come back with their resume tickets in their new roles (the new host starts sharing).
 * Refused for a guest that is not a connected controller, or one in a browser (it cannot share a
 * screen).
 */
export const MakeHost = defineRequest('participant.makeHost', z.object({ participantId: Id }), z.object({ participant: Participant }));

/**
 * Host → server: the quality tier one guest gets (`high`, `standard`, `low`), or `null` to put it
 * back on its role's. Everyone gets `participant.updated` with its `tier`; a later role change
 * starts it from the new role's tier.
 */
export const SetTier = defineRequest(
  'participant.setTier',
  z.object({ participantId: Id, tier: TierNameSchema.nullable() }),
  z.object({ participant: Participant }),
);

// ---- notifications -------------------------------------------------------------------------

/** Client → server, every `heartbeatIntervalMs`: keeps presence fresh. */
export const Heartbeat = defineNotification('heartbeat', z.object({}));

export const ParticipantJoined = defineNotification('participant.joined', z.object({ participant: Participant, resumed: z.boolean() }));
export const ParticipantUpdated = defineNotification('participant.updated', z.object({ participant: Participant }));
export const ParticipantLeft = defineNotification(
  'participant.left',
  z.object({ participantId: Id, reason: z.enum(['left', 'timeout', 'removed', 'replaced']) }),
);
export const Signal = defineNotification('signal', z.object({ from: Id, payload: SignalPayload }));
export const SessionEnded = defineNotification(
  'session.ended',
  /** 'removed' goes only to the guest the host removed: its session is over, not everyone's. */
  z.object({ reason: z.enum(['host-ended', 'host-left', 'server-shutdown', 'removed']), message: z.string().max(300) }),
);

/** Why the focus moves a session's media: its size, its SFU dying, a rebalance, or its host unable to keep up. */
export const MoveReason = z.enum(['participants', 'failover', 'rebalance', 'host-overloaded']);
export type MoveReason = z.infer<typeof MoveReason>;

/**
 * Server → everyone: the session focus moved the media. `media: 'sfu'` with a new epoch: get an
 * `sfu.access` and connect (the host publishes there; guests keep their P2P picture until the
 * SFU's shows, then report it). `phase` says what users should be told: `moving` (an upgrade or a
 * failover started), `done`, or `failed` (the media stays where it was, with `message` saying why).
 */
export const TopologyNotice = z.object({
  media: Media,
  epoch: z.int().min(0),
  phase: z.enum(['moving', 'done', 'failed']),
  reason: MoveReason,
  message: z.string().max(300),
  /** The SFU's region, when the media flows through one. */
  region: Region.optional(),
});
export const SessionTopology = defineNotification('session.topology', TopologyNotice);
export type SessionTopology = z.infer<typeof TopologyNotice>;

/**
 * Server → the viewers of one far region of a cascaded session (issue 17): the SFU they watch on
 * changed while the session's media did not move (their region's deployment died: another of
 * that region, or the host's, takes them). Each asks `sfu.access` again and moves there at once.
 */
export const SfuPlacementChanged = defineNotification('media.placementChanged', z.object({ region: Region, message: z.string().max(300) }));

/** Server → everyone: the host's seat moved (`participant.makeHost`). */
export const HostChanged = defineNotification('session.hostChanged', z.object({ hostId: Id, previousHostId: Id, message: z.string().max(300) }));

export const ControlReason = z.enum(['requested', 'granted', 'denied', 'timeout', 'revoked', 'panic', 'released', 'taken-over', 'left']);
export type ControlReason = z.infer<typeof ControlReason>;

/** Server → everyone in the session: a participant's control state changed, and who drives now. */
export const ControlChanged = defineNotification(
  'control.changed',
  z.object({ participantId: Id, state: ControlState, reason: ControlReason, driverId: Id.nullable() }),
);

// ---- host transfer: offered by the host, accepted by the one it names -----------------------

/**
 * Server → the controller the host chose with `participant.makeHost`, and nobody else: the host
 * offers it the host's seat. Nothing changes until that participant answers `host.accept` with
 * this `offerId` before `expiresAt` (epoch ms), on its own connection; its user decides (a guest's
 * editor asks in a modal prompt). A client that joined as a guest treats a host seat it did not
 * accept this way as the server's lie.
 */
export const HostOffered = defineNotification(
  'host.offered',
  z.object({ offerId: Id, participantId: Id, fromId: Id, fromName: DisplayName, expiresAt: z.number() }),
);
/** The controller named by a `host.offered` → server: yes, take the host's seat (its screen will be shared). */
export const AcceptHost = defineRequest('host.accept', z.object({ offerId: Id }), z.object({}));
/** The controller named by a `host.offered` → server: no; the host is told and nothing changes. */
export const DeclineHost = defineRequest('host.decline', z.object({ offerId: Id }), z.object({}));
/** Server → the host that offered: its offer ended without a transfer (declined, or not answered in time). */
export const HostOfferEnded = defineNotification(
  'host.offerEnded',
  z.object({ offerId: Id, participantId: Id, reason: z.enum(['declined', 'expired']), message: z.string().max(300) }),
);

// ---- share links: revocation and rotation -------------------------------------------------

/**
 * Host → server: every guest link of the session stops working (shared and personal; those
 * already in stay), and the answer holds new shared links for both roles.
 */
export const RotateLinks = defineRequest(
  'links.rotate',
  z.object({ ttlSeconds: z.int().min(60).optional() }),
  z.object({ controller: ShareLinkInfo, viewer: ShareLinkInfo, revoked: z.int().min(0) }),
);

/**
 * Server → the host only: links changed without its asking. Removing a guest revokes the link it
 * came through (so it cannot come back with it); when that was a shared link, a new one for that
 * role is here to hand to everyone else.
 */
export const LinksChanged = defineNotification(
  'session.linksChanged',
  z.object({
    reason: z.enum(['removed']),
    message: z.string().max(300),
    revoked: z.array(Id).max(16),
    controller: ShareLinkInfo.optional(),
    viewer: ShareLinkInfo.optional(),
  }),
);

/** A guest link as `links.list` shows it: no URL (the server keeps no tokens). */
export const LinkSummary = ShareLinkInfo.omit({ url: true });
/** Host → server: the session's guest links that still work, oldest first. */
export const ListLinks = defineRequest('links.list', z.object({}), z.object({ links: z.array(LinkSummary).max(1000) }));
/** Host → server: this link stops working (those already in through it stay); `revoked: false` when it already had. */
export const RevokeLink = defineRequest('links.revoke', z.object({ id: Id }), z.object({ revoked: z.boolean() }));

// ---- the lobby: guests the host lets in ------------------------------------------------------

/**
 * Server → a guest whose join waits in the lobby (a controller link, or any guest link while the
 * lobby is on for everyone): its `session.join` is answered only once the host decides, with the
 * normal result (admitted) or an error (denied, or no answer by `expiresAt`, epoch ms). A client
 * that does not know this message just sees a join that has not been answered: never a seat.
 */
export const LobbyWaiting = defineNotification(
  'lobby.waiting',
  z.object({ hostName: DisplayName.optional(), expiresAt: z.number(), message: z.string().max(300) }),
);

/**
 * Server → the host: someone waits to be let in. Names are not proof of anything, so the host is
 * also told the client, a short id, the link they came through and where they connected from (the
 * address as the server saw it). Answer `lobby.admit` or `lobby.deny` before `expiresAt`.
 */
export const LobbyKnock = defineNotification(
  'lobby.knock',
  z.object({
    participantId: Id,
    name: DisplayName,
    role: GuestRole,
    client: ClientKind.optional(),
    shortId: z.string().max(16),
    link: ParticipantLink.optional(),
    from: z.string().max(64),
    expiresAt: z.number(),
  }),
);

/** Server → the host: a knock is over (admitted, denied, not answered in time, or the guest went away). */
export const LobbyClosed = defineNotification('lobby.closed', z.object({ participantId: Id, reason: z.enum(['admitted', 'denied', 'timeout', 'left']) }));

/**
 * Between server instances only: the host's decision on a knock, routed to the instance holding the
 * waiting guest's connection, which takes the seat or refuses the join. Never reaches a client.
 */
export const LobbyDecided = defineNotification(
  'lobby.decided',
  z.object({ participantId: Id, admit: z.boolean(), reason: z.string().trim().max(200).optional() }),
);

/** Host → server: let a waiting guest in (it takes its seat then, within the role limits). */
export const AdmitGuest = defineRequest('lobby.admit', z.object({ participantId: Id }), z.object({}));
/** Host → server: turn a waiting guest away; `reason` is shown to it as plain text. */
export const DenyGuest = defineRequest('lobby.deny', z.object({ participantId: Id, reason: z.string().trim().max(200).optional() }), z.object({}));
/** Host → server: the lobby for viewers too (`everyone`), or for controller links only; kept with the session. */
export const SetLobbyMode = defineRequest('lobby.setMode', z.object({ everyone: z.boolean() }), z.object({ everyone: z.boolean() }));

export const signalingBoundary: Boundary = {
  name: 'signaling',
  maxMessageBytes: MAX_SIGNALING_MESSAGE_BYTES,
  maxMessageBytesBToA: MAX_SIGNALING_DOWN_BYTES,
  aToB: {
    requests: [
      Join,
      Leave,
      End,
      SendSignal,
      CreateLink,
      GetIceServers,
      RequestControl,
      ReleaseControl,
      GrantControl,
      DenyControl,
      RevokeControl,
      SetRole,
      SetTier,
      RemoveParticipant,
      RefreshSfuAccess,
      ReportMedia,
      ReportHostLoad,
      MakeHost,
      AcceptHost,
      DeclineHost,
      RotateLinks,
      ListLinks,
      RevokeLink,
      ControlAudit,
      AdmitGuest,
      DenyGuest,
      SetLobbyMode,
    ],
    notifications: [Heartbeat],
  },
  bToA: {
    requests: [],
    notifications: [
      ParticipantJoined,
      ParticipantUpdated,
      ParticipantLeft,
      Signal,
      SessionEnded,
      ControlChanged,
      SessionTopology,
      SfuPlacementChanged,
      HostChanged,
      HostOffered,
      HostOfferEnded,
      LinksChanged,
      LobbyWaiting,
      LobbyKnock,
      LobbyClosed,
      LobbyDecided,
    ],
  },
};

/** WebSocket close codes the server uses beyond the standard ones. */
export const CloseCode = {
  /** Standard: message too big. */
  TooLarge: 1009,
  SessionEnded: 4000,
  Replaced: 4001,
  HeartbeatTimeout: 4002,
  Left: 4003,
  /** The host removed this participant; a `session.ended` with reason 'removed' came first. */
  Removed: 4004,
  /**
   * This server instance is going away (a graceful shutdown of one of several): reconnect at
   * once, with the resume ticket; another instance serves the session.
   */
  Moving: 4005,
  /** This participant's role changed with a host transfer: rejoin at once with the resume ticket, in the new role. */
  HostChanged: 4006,
  /** Refused in the lobby (the host said no, or nobody answered in time); the join's error said why. */
  NotAdmitted: 4007,
} as const;
