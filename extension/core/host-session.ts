/**
 * One hosted session, free of `vscode` so it runs in tests and the demo alike: the control plane
 * (embedded in this process, or a deployed one over HTTP), the helper on the chosen X display,
 * the runner between them, and the host page's webview port once the UI has opened it. Slow
 * steps report progress; every failure becomes a `PairuxError` whose message says what to do.
 */
import { signalingUrlAt } from '../../common/signaling-url';
import { randomBytes } from 'node:crypto';
import { networkInterfaces, type NetworkInterfaceInfo } from 'node:os';
import { ErrorCode, PairuxError } from '../../protocol/errors';
import type { CreateSessionResponse } from '../../protocol/http-api';
import {
  ShellAction,
  ShellE2eeKey,
  ShellCopyLink,
  ShellHostOfferEnded,
  ShellLinksChanged,
  ShellReady,
  ShellStatus,
  type MediaKeyAt,
  type ShellActionParams,
  type ShellStatusParams,
} from '../../protocol/webview-shell';
import type { ControlAuditEntry, LinkSummary, ShareLinkInfo } from '../../protocol/signaling';
import type { ResultOf } from '../../protocol/rpc';
import type { SessionTiers } from '../../protocol/tiers';
import type { ControlPlane } from '../../server/control-plane';
import { startControlPlane } from '../../server/control-plane';
import { lanAddresses, type LanAddress } from '../../server/lan-addresses';
import { HelperProcess, type CaptureResult, type HelloResult } from '../../helper/client';
import type { MonitorInfo } from '../../protocol/helper-link';
import type { LobbyAsker, PromptAnswer, Requester } from '../../runner/host-runner';
import { HostRunner } from '../../runner/host-runner';
import { TypedEmitter } from '../../common/typed-emitter';
import { createRemoteSession } from './remote-server';
import type { HostSettings } from './settings';
import { WebviewBridge } from './webview-bridge';
import { LinkBook, offerEndedText, personalLinkAction, type LinksNotice, type PersonalLinkRequest } from './link-book';
import { SignalRelay } from './signal-relay';
import type { WebviewPort } from './webview-port';

export type HostPhase = 'starting' | 'live' | 'ending' | 'ended';

/** A guest made the host of an encrypted session whose page handed over no key: nothing is shared. */
export const TAKE_OVER_WITHOUT_KEY_MESSAGE =
  'This session is end-to-end encrypted and your session panel did not hand over its key, and a key of its own would show your guests nothing.';

/** How long Start waits for an encrypted session's key (the host panel boots, joins, then makes it). */
export const KEY_TIMEOUT_MS = 30_000;

export interface HostStatus {
  phase: HostPhase;
  /** The page's latest report (participants, driver, state), once it has joined. */
  page: ShellStatusParams | undefined;
  sessionId: string;
  /** Where the media flows now: the page's word once it has one (an auto session moves), else the mode's start. */
  mode: 'p2p' | 'sfu';
  /** The control plane's origin (where the links lead). */
  origin: string;
  /**
   * The shared links as they are handed out. An end-to-end encrypted session's carry its key, so
   * they are undefined until the host page has made it (`whenKeyed`).
   */
  links: CreateSessionResponse['links'] | undefined;
  /** An end-to-end encrypted session: the current key's safety code (undefined until the page made it) and generation. */
  e2ee?: { safetyCode: string | undefined; gen: number } | undefined;
  screen: { width: number; height: number; fps: number; display: string };
  /** Where SFU media goes (the LiveKit URL the webview must be allowed to reach), when known. */
  sfuUrl: string | undefined;
  /** The embedded server on the local network: where guests connect; absent on this computer only or a deployed server. */
  reach?: { address: string; network: string; interface: string } | undefined;
  /**
   * The session's quality tiers (its table and role tiers): as the server created it, or, in a
   * session taken over, as the host page heard at its join; absent only from a server older than
   * the tiers (the defaults then say what they mean).
   */
  tiers?: SessionTiers | undefined;
}

export interface HostSessionEvents {
  status: HostStatus;
  /** The desktop ended the screen cast (Wayland: its sharing indicator, the portal gone): guests see the last picture until `resumeCapture`. */
  captureStopped: { message: string };
  /** The session is over (ended by the host, the page, or a fatal helper failure). */
  ended: { reason: string };
  /**
   * Host transfer: this host handed its seat to a controller; its page rejoined as a controller
   * (with this ticket) and shares nothing any more. The UI steps down and watches the new host.
   */
  handedOver: { resume: ShellStatusParams['resume']; newHostName: string };
  /** A line for the log and, when `notify`, for the user. */
  log: { level: 'info' | 'warn' | 'error'; line: string; notify?: boolean };
  /** A removal revoked the link a guest came through; a replaced shared link is in `links` already. */
  linksChanged: LinksNotice;
  /** The host's offer of its seat was declined or expired (`text` is literal). */
  offerEnded: { text: string; reason: 'declined' | 'expired' };
  /** The host clicked Copy beside a link in the host panel: the UI copies that link. */
  copyLink: { role: 'controller' | 'viewer' };
  /**
   * An encrypted session's key changed (the key itself stays in the link book: events may be
   * logged). After a `rekey` the links handed out before no longer open the picture for a newcomer.
   */
  keyChanged: { gen: number; safetyCode: string; why: 'start' | 'ratchet' | 'rekey' };
}

export interface HostUi {
  /** Allow / Deny for one guest; the UI's own timeout answers 'timeout'. */
  askControl(name: string, who?: Requester): Promise<PromptAnswer>;
  /** Admit / Deny for someone waiting in the lobby; the UI's own timeout answers 'timeout'. Without it nobody waiting is let in. */
  admit?: LobbyAsker['admit'];
  /** Progress on a slow step (one line). */
  progress(line: string): void;
  /** Which of several monitors to share (undefined: the host dismissed the question, and sharing is cancelled). */
  chooseMonitor?(monitors: MonitorInfo[]): Promise<{ monitor: string | undefined } | undefined>;
  /**
   * Wayland: where the desktop's restore token is kept (per workspace), so the next session shares
   * the same screen without the desktop's dialog.
   */
  screencastToken?: { load(): Promise<string | undefined>; save(token: string): Promise<void> };
}

export class HostSession extends TypedEmitter<HostSessionEvents> {
  private plane: ControlPlane | undefined;
  /** What the helper found: X11 or Wayland (the portal shares, the desktop picks the screen). */
  private desktop: HelloResult['desktop'];
  private reach: HostStatus['reach'];
  private helper: HelperProcess | undefined;
  private runner: HostRunner | undefined;
  private bridge: WebviewBridge | undefined;
  private port: WebviewPort | undefined;
  private created: CreateSessionResponse | undefined;
  private capture: CaptureResult | undefined;
  private phase: HostPhase = 'starting';
  private page: ShellStatusParams | undefined;
  private signalingUrl = '';
  private relay: SignalRelay | undefined;
  /**
   * Taking over another participant's identity (host transfer): the host page joins with the
   * ticket this returns when it boots (the guest page still holds that identity until then, and
   * its ticket changes with each of its joins).
   */
  private resume: (() => ShellStatusParams['resume']) | undefined;
  private handed = false;
  /** The shared links the host panel shows now (controller and viewer URLs). */
  private linksShown: string | undefined;
  private book: LinkBook | undefined;
  /** An encrypted session's current key as the page reported it, without the key itself. */
  private keyInfo: { gen: number; safetyCode: string } | undefined;
  /** Host transfer in an encrypted session: the key schedule the host page continues (from the guest page that took the seat). */
  private continuedKey: MediaKeyAt | undefined;

  constructor(
    private readonly settings: HostSettings,
    private readonly ui: HostUi,
    /** This machine's interfaces (os.networkInterfaces); tests give their own. */
    private readonly interfaces: () => NodeJS.Dict<NetworkInterfaceInfo[]> = networkInterfaces,
  ) {
    super();
  }

  get sessionId(): string | undefined {
    return this.created?.sessionId;
  }

  /** The token the host page joined with (after a takeover, the guest link's). */
  get hostToken(): string | undefined {
    return this.created?.hostToken;
  }

  /** Whether the session is end-to-end encrypted. */
  get e2ee(): boolean {
    return this.settings.e2ee === true;
  }

  get status(): HostStatus | undefined {
    const c = this.created;
    // The capture running now: the helper moves it to another monitor when the shared one is unplugged.
    const cap = this.capture && (this.helper?.currentCapture ?? this.capture);
    if (!c || !cap) return undefined;
    return {
      phase: this.phase,
      page: this.page,
      sessionId: c.sessionId,
      mode: this.page?.media ?? (this.settings.mode === 'sfu' ? 'sfu' : 'p2p'),
      origin: new URL(c.links.viewer.url).origin,
      links: this.book?.ready ? this.book.links : undefined,
      ...(this.e2ee ? { e2ee: { safetyCode: this.keyInfo?.safetyCode, gen: this.keyInfo?.gen ?? 0 } } : {}),
      screen: { width: cap.width, height: cap.height, fps: cap.fps, display: this.settings.display },
      // An auto session may move to the SFU later, so its webview may reach LiveKit from the start.
      // A taken-over session's LiveKit is the server's, unknown here.
      sfuUrl: this.resume
        ? 'remote'
        : this.settings.mode === 'p2p'
          ? undefined
          : (this.settings.livekit?.url ?? (this.settings.serverUrl ? 'remote' : undefined)),
      ...(this.reach ? { reach: this.reach } : {}),
      ...(c.tiers ? { tiers: { table: c.tiers.table, roles: c.tiers.roles } } : this.page?.tiers ? { tiers: this.page.tiers } : {}),
    };
  }

  /** Starts everything but the page; the UI then opens the host panel and calls `attachPage`. */
  async start(): Promise<HostStatus> {
    return this.startWith(() => this.createSession());
  }

  /**
   * Host transfer, the new host's side: the session exists and this editor's guest was made its
   * host. Starts the helper and capture like `start`; the host page joins as that participant
   * (its guest link and resume ticket), and the share links are asked of the server once it has.
   * An encrypted session's host page continues `mediaKey`, the schedule the guest page held: a
   * key of its own would open nothing for the guests, so without one nothing starts.
   */
  async takeOver(joined: {
    sessionId: string;
    token: string;
    signalingUrl: string;
    resume: () => ShellStatusParams['resume'];
    link: string;
    mediaKey?: MediaKeyAt | undefined;
  }): Promise<HostStatus> {
    if (this.e2ee && !joined.mediaKey) throw new PairuxError(ErrorCode.Unavailable, TAKE_OVER_WITHOUT_KEY_MESSAGE);
    this.resume = joined.resume;
    this.continuedKey = this.e2ee ? joined.mediaKey : undefined;
    return this.startWith(async () => {
      this.signalingUrl = joined.signalingUrl;
      const link = { url: joined.link, expiresAt: 0 };
      return { sessionId: joined.sessionId, hostToken: joined.token, wsUrl: joined.signalingUrl, links: { controller: link, viewer: link } };
    });
  }

  /** Once the page has joined as the host it took over: share links of its own, from the server. */
  async refreshLinks(): Promise<void> {
    const c = this.created;
    if (!c) return;
    const [controller, viewer] = await Promise.all([
      this.act({ action: 'createLink', role: 'controller' }),
      this.act({ action: 'createLink', role: 'viewer' }),
    ]);
    if (controller.url && viewer.url) {
      c.links = { controller: { url: controller.url, expiresAt: controller.expiresAt ?? 0 }, viewer: { url: viewer.url, expiresAt: viewer.expiresAt ?? 0 } };
      this.book?.reset(c.links);
      this.emitStatus();
    }
  }

  /**
   * Host transfer, the old host's side: stop sharing (helper and capture) but keep the embedded
   * server, which still serves the session (`end()` later stops that too), and the page, whose
   * connection holds this participant until the guest page that takes it over has joined.
   */
  async stepDown(): Promise<void> {
    this.bridge?.close();
    this.bridge = undefined;
    await this.helper?.stop().catch(() => undefined);
    this.helper = undefined;
  }

  /** Shares again after the desktop ended the screen cast (`captureStopped`). */
  async resumeCapture(): Promise<void> {
    if (!this.runner) throw new PairuxError(ErrorCode.Unavailable, 'there is no session sharing a screen');
    this.capture = await this.runner.resumeCapture();
    this.emit('log', { level: 'info', line: `Sharing again: ${this.capture.width}×${this.capture.height}.` });
  }

  /** The embedded server's origin when this editor runs it (a stepped-down host keeps it for the session). */
  get embeddedOrigin(): string | undefined {
    return this.plane?.url;
  }

  private async startWith(session: () => Promise<CreateSessionResponse>): Promise<HostStatus> {
    try {
      const hello = await this.startHelper();
      this.desktop = hello.desktop;
      this.created = await session();
      this.book = new LinkBook(this.created.links, this.e2ee);
      this.capture = await this.startCapture();
      this.runner = new HostRunner({
        helper: this.helper!,
        capture: this.capture,
        prompt: { ask: (name, who) => this.ui.askControl(name, who) },
        ...(this.ui.admit ? { lobby: { admit: this.ui.admit } } : {}),
        lobbyEveryone: this.settings.lobbyEveryone === true,
        say: (line) => this.emit('log', { level: 'info', line }),
        frames: 'bridge',
        controlRequests: this.settings.allowControlRequests,
      });
      this.helper!.on('exit', (e) => {
        if (e.reason !== 'stopped' && this.phase === 'live') {
          this.emit('log', {
            level: 'error',
            line: `The screen-capture helper stopped for good (${e.reason}); guests see a frozen picture. End the session and start again.`,
            notify: true,
          });
        }
      });
      this.phase = 'live';
      return this.status!;
    } catch (err) {
      await this.dispose();
      throw err;
    }
  }

  /** The host page's webview: boots it, bridges it to the runner, mirrors its reports. */
  attachPage(port: WebviewPort): void {
    const c = this.created;
    const cap = this.capture;
    if (!c || !cap || !this.runner) throw new PairuxError(ErrorCode.Unavailable, 'the session has not started');
    this.bridge?.close();
    this.port = port;
    this.linksShown = undefined;
    this.relay?.close();
    // Read at each (re)connection: a host that took over switches to the new server's socket.
    this.relay = new SignalRelay(port.shell, { url: () => this.signalingUrl, log: (line) => this.emit('log', { level: 'warn', line }) });
    this.bridge = new WebviewBridge(port, this.runner, (line) => this.emit('log', { level: 'warn', line }));
    this.runner.attach(this.bridge);
    port.shell.onRequest(ShellReady, ({ page }) => {
      if (page !== 'host') throw new PairuxError(ErrorCode.BadMessage, 'this panel is the host panel');
      const params = new URLSearchParams({
        sid: c.sessionId,
        token: c.hostToken,
        name: this.settings.hostName,
        w: String(cap.width - (cap.width % 2)),
        h: String(cap.height - (cap.height % 2)),
        fps: String(cap.fps),
        codec: this.settings.codec,
        hint: this.settings.contentHint,
        degradation: this.settings.degradation,
      });
      if (this.settings.maxKbps) params.set('maxKbps', String(this.settings.maxKbps));
      params.set('direct', this.settings.directVideo === false ? '0' : '1');
      const resume = this.resume?.();
      const mediaKey = this.continuedKey;
      return {
        page: 'host' as const,
        hostParams: params.toString(),
        signalingUrl: this.signalingUrl,
        ...(resume ? { resume } : {}),
        ...(mediaKey ? { mediaKey } : {}),
      };
    });
    port.shell.onNotification(ShellE2eeKey, ({ gen, key, safetyCode, why }) => {
      if (!this.e2ee || !this.book) return;
      this.book.setKey({ text: key, gen });
      this.keyInfo = { gen, safetyCode };
      // Never the key itself: these lines go to the log.
      this.emit('log', { level: 'info', line: `end-to-end encryption: key ${gen} (${why}), safety code ${safetyCode}` });
      this.emitStatus();
      this.emit('keyChanged', { gen, safetyCode, why });
    });
    port.shell.onNotification(ShellLinksChanged, (change) => {
      const notice = this.book?.linksChanged(change);
      if (!notice || !this.book) return;
      this.emitStatus();
      this.emit('linksChanged', notice);
    });
    port.shell.onNotification(ShellCopyLink, ({ role }) => this.emit('copyLink', { role }));
    port.shell.onNotification(ShellHostOfferEnded, (ended) => {
      this.emit('offerEnded', { text: offerEndedText(ended, this.page?.participants ?? []), reason: ended.reason });
    });
    port.shell.onNotification(ShellStatus, (s) => {
      this.book?.see(s.participants);
      this.page = s;
      this.emitStatus();
      if (s.joinedAs === 'controller' && !this.handed) {
        this.handed = true;
        const newHost = s.participants.find((p) => p.role === 'host');
        this.emit('handedOver', { resume: s.resume, newHostName: newHost?.name ?? 'the new host' });
      }
      if (s.state === 'failed') this.emit('log', { level: 'error', line: `The host page could not join: ${s.message}`, notify: true });
    });
  }

  /** A host action carried out by the page (it holds the host's server connection). */
  async act(action: ShellActionParams): Promise<ResultOf<typeof ShellAction>> {
    if (!this.port) throw new PairuxError(ErrorCode.Unavailable, 'the host panel is not open');
    // The host's own decision, recorded where the helper is granted: the server's word alone never is.
    if (action.action === 'grant') {
      const p = this.page?.participants.find((x) => x.id === action.participantId);
      this.runner?.approve(
        action.participantId,
        'grant-control',
        p && { name: p.name, ...(p.client ? { client: p.client } : {}), ...(p.link ? { link: p.link.label } : {}) },
      );
    }
    return this.port.shell.request(ShellAction, action);
  }

  /**
   * Resolves once the links can be given out: at once in a plain session; in an encrypted one when
   * the host page has made the key. Rejects after `timeoutMs`, or when the page fails or the session ends first.
   */
  whenKeyed(timeoutMs = KEY_TIMEOUT_MS): Promise<void> {
    if (!this.book || this.book.ready) return Promise.resolve();
    return new Promise<void>((resolve, reject) => {
      const finish = (err?: PairuxError) => {
        clearTimeout(timer);
        offs.forEach((off) => off());
        if (err) reject(err);
        else resolve();
      };
      const timer = setTimeout(
        () =>
          finish(
            new PairuxError(
              ErrorCode.Unavailable,
              `The host panel did not make the session's end-to-end encryption key within ${Math.round(timeoutMs / 1000)} s, so there is no link to give out yet (a link without the key shows guests nothing). See “PairUX: Show Log”; Copy Share Link gives the link once the key is there, or end the session and start again.`,
            ),
          ),
        timeoutMs,
      );
      const offs = [
        this.on('keyChanged', () => finish()),
        this.on('ended', () => finish(new PairuxError(ErrorCode.Unavailable, 'The session ended before its encryption key was made.'))),
        this.on('status', (s) => {
          if (s.page?.state === 'failed')
            finish(new PairuxError(ErrorCode.Unavailable, `The host panel could not start the encrypted session: ${s.page.message}`));
        }),
      ];
    });
  }

  /** A link for one person (labelled; single use or until revoked), made by the host's page. */
  async createPersonalLink(request: PersonalLinkRequest): Promise<ShareLinkInfo> {
    // An encrypted session's link is no use before the key: refused before the server makes one.
    this.book?.assertReady();
    const { link } = await this.act(personalLinkAction(request));
    if (!link) throw new PairuxError(ErrorCode.Unavailable, 'The host panel did not make the link; try again.');
    return this.book ? { ...link, url: this.book.keyed(link.url) } : link;
  }

  /** Every guest link stops working (those in stay); Copy Share Link gives the new shared ones. */
  async rotateLinks(): Promise<{ links: CreateSessionResponse['links']; revoked: number }> {
    this.book?.assertReady();
    const { rotated } = await this.act({ action: 'rotateLinks' });
    const c = this.created;
    if (!rotated || !c || !this.book) throw new PairuxError(ErrorCode.Unavailable, 'The host panel did not rotate the links; try again.');
    const links = this.book.rotated(rotated);
    this.emitStatus();
    return { links, revoked: rotated.revoked };
  }

  /** The guest links that still let someone in. */
  async listLinks(): Promise<Array<ReturnType<typeof LinkSummary.parse>>> {
    return (await this.act({ action: 'listLinks' })).links ?? [];
  }

  /** The server's record of control in this session (grants, denies, revokes… with who did them), through the host's page. */
  async serverControlAudit(): Promise<ControlAuditEntry[]> {
    return (await this.act({ action: 'controlAudit' })).controlAudit ?? [];
  }

  /**
   * One link stops working. A shared one is replaced at once, so Copy Share Link never hands out
   * a link that no longer works; returns the role replaced, if any.
   */
  async revokeLink(id: string): Promise<{ revoked: boolean; replaced?: 'controller' | 'viewer' }> {
    const revoked = (await this.act({ action: 'revokeLink', id })).revoked ?? false;
    const role = this.book?.sharedRoleOf(id);
    const c = this.created;
    if (!role || !c || !this.book) return { revoked };
    const fresh = await this.act({ action: 'createLink', role });
    if (!fresh.url) return { revoked };
    this.book.replace(role, { url: fresh.url, expiresAt: fresh.expiresAt ?? 0 });
    this.emitStatus();
    return { revoked, replaced: role };
  }

  /** Who came through a link, as far as this editor saw (for Manage Links). */
  get linkBook(): LinkBook | undefined {
    return this.book;
  }

  /** The control audit as lines (who drove, how it was allowed, what was injected and refused); kept after the end. */
  controlAudit(): string[] | undefined {
    return this.runner?.controlAudit.report();
  }

  /** The panic action: the helper stops injecting at once, then the server revokes everyone. */
  async stopAllControl(): Promise<void> {
    await this.runner?.stopAllControl();
  }

  /** Ends the session for everyone and stops the helper (and the embedded server). */
  async end(reason = 'The host ended the session.'): Promise<void> {
    if (this.phase === 'ending' || this.phase === 'ended') return;
    this.phase = 'ending';
    this.emitStatus();
    if (this.plane && this.created) {
      await this.plane.service.endSession(this.created.sessionId, 'host-ended', reason).catch(() => undefined);
    } else {
      await this.act({ action: 'end', reason }).catch(() => undefined);
    }
    await this.dispose();
    this.emit('ended', { reason });
  }

  /** The host panel was closed (or the page died): without it nobody receives video. */
  pageClosed(): void {
    this.port = undefined;
    this.relay?.close();
    this.relay = undefined;
    this.bridge?.close();
    this.bridge = undefined;
  }

  private async startHelper(): Promise<HelloResult> {
    const { display, wayland } = this.settings;
    if (process.platform === 'linux' && !display && !wayland) {
      throw new PairuxError(
        ErrorCode.Unavailable,
        'There is no X display to share: VS Code was started without DISPLAY. Set “pairux.capture.display” (for example :0), or start VS Code from your desktop session.',
      );
    }
    this.ui.progress('starting screen capture…');
    // Wayland: the helper shares through the desktop portal. An X display set explicitly is shared as X11.
    const env: NodeJS.ProcessEnv = wayland ? { ...process.env } : { ...process.env, ...(display ? { DISPLAY: display } : {}) };
    if (!wayland) {
      delete env.WAYLAND_DISPLAY;
      delete env.XDG_SESSION_TYPE;
    }
    const helper = new HelperProcess({ env });
    helper.on('log', (line) => this.emit('log', { level: 'info', line: `helper: ${line}` }));
    helper.on('restarted', (r) =>
      this.emit('log', { level: 'warn', line: `The capture helper stopped (${r.reason}) and was restarted in ${r.downtimeMs} ms.`, notify: true }),
    );
    // The host must know when guests see another monitor than the one picked (its shared one was
    // unplugged), or nothing new at all.
    helper.on('captureError', (e) => {
      // "Sharing stopped on the host" is the host's own doing (or its desktop's): the UI offers to share again.
      if (e.fatal && /sharing stopped on the host/.test(e.message)) this.emit('captureStopped', { message: e.message });
      else this.emit('log', { level: e.fatal ? 'error' : 'warn', line: `Screen capture${e.fatal ? ' stopped' : ''}: ${e.message}`, notify: true });
    });
    this.helper = helper;
    let hello: HelloResult;
    try {
      hello = await helper.start();
    } catch (err) {
      throw new PairuxError(
        ErrorCode.Unavailable,
        `The screen-capture helper did not start: ${(err as Error).message}. See “PairUX: Show Log” for its output.`,
        undefined,
        { cause: err },
      );
    }
    if (!hello.capture.available) {
      throw new PairuxError(
        ErrorCode.Unavailable,
        `Screen capture is not possible here: ${hello.capture.reason ?? 'unknown reason'}. ${captureFix(display, !!wayland)}`,
      );
    }
    if (hello.desktop === 'wayland') {
      this.emit('log', { level: 'info', line: 'Sharing a Wayland desktop through its screen-sharing portal: the desktop may ask which screen to share.' });
    }
    if (!hello.inject.available) {
      this.emit('log', {
        level: 'warn',
        line: `Guests will be able to watch but not drive: ${hello.inject.reason ?? 'input injection is unavailable'}.`,
        notify: true,
      });
    }
    return hello;
  }

  private async createSession(): Promise<CreateSessionResponse> {
    const s = this.settings;
    const request = {
      mode: s.mode,
      name: s.sessionName,
      hostName: s.hostName,
      linkTtlSeconds: s.linkTtlMinutes * 60,
      ...(s.sfuRegion ? { region: s.sfuRegion } : {}),
      ...(s.e2ee ? { e2ee: true } : {}),
    };
    if (s.serverUrl) {
      const created = await createRemoteSession(s.serverUrl, s.hostKey, request, (line) => this.ui.progress(line));
      this.signalingUrl = created.wsUrl;
      return created;
    }
    const lan = s.network === 'local-network' ? networkAddress(s.networkAddress, this.interfaces()) : undefined;
    this.reach = lan && { address: lan.address, network: lan.network, interface: lan.interface };
    this.ui.progress(lan ? `starting the embedded server for your network (${lan.address}, ${lan.interface})…` : 'starting the embedded server…');
    try {
      // PAIRUX_PAGES_DIR: the server's testing option (server/README.md), for benches whose browser viewer reads the test pages' hooks.
      const pages = process.env.PAIRUX_PAGES_DIR ? { webviewDist: process.env.PAIRUX_PAGES_DIR } : {};
      this.plane = await startControlPlane({
        host: lan?.address ?? '127.0.0.1',
        port: s.embeddedPort,
        // On the network anyone could create sessions on a server without a host key; this editor creates its own in-process.
        ...(lan ? { hostKey: s.embeddedHostKey ?? randomBytes(24).toString('base64url') } : {}),
        ...(s.livekit ? { livekit: s.livekit } : {}),
        ...pages,
      });
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'EADDRINUSE') {
        throw new PairuxError(
          ErrorCode.Unavailable,
          `Port ${s.embeddedPort} is in use, so the embedded server cannot start. Set “pairux.server.port” to 0 (any free port) or another port.`,
        );
      }
      throw err;
    }
    this.signalingUrl = signalingUrlAt(this.plane.url);
    if (lan) this.emit('log', { level: 'info', line: `Guests on your network ${lan.network} (${lan.interface}) connect at ${this.plane.url}.` });
    return this.plane.service.createSession(request);
  }

  private async startCapture(): Promise<CaptureResult> {
    const wayland = this.desktop === 'wayland';
    if (wayland && (this.settings.monitor || this.settings.region)) {
      this.emit('log', {
        level: 'warn',
        line: "“pairux.capture.monitor” and “pairux.capture.region” are for X11: on Wayland the desktop's dialog picks the screen.",
      });
    }
    const monitor = wayland ? undefined : await this.chooseMonitor();
    const restoreToken = wayland ? await this.ui.screencastToken?.load().catch(() => undefined) : undefined;
    this.ui.progress(wayland ? "waiting for the desktop's screen-sharing dialog…" : 'capturing the screen…');
    try {
      const capture = await this.helper!.startCapture({
        fps: this.settings.fps,
        patches: true,
        ...(this.settings.region && !wayland ? { region: this.settings.region } : {}),
        ...(monitor ? { monitor } : {}),
        ...(restoreToken ? { restoreToken } : {}),
      });
      if (capture.restoreToken && capture.restoreToken !== restoreToken) {
        this.ui.screencastToken
          ?.save(capture.restoreToken)
          .catch((err: Error) =>
            this.emit('log', { level: 'warn', line: `the desktop's restore token was not kept (${err.message}): it will ask again next time` }),
          );
      }
      return capture;
    } catch (err) {
      // The host closed the desktop's dialog: nothing to report.
      if (err instanceof PairuxError && err.code === ErrorCode.Cancelled) {
        throw new PairuxError(ErrorCode.Unavailable, 'Sharing was cancelled in the desktop’s dialog: nothing is shared.', { cancelled: true }, { cause: err });
      }
      throw new PairuxError(ErrorCode.Unavailable, `Screen capture did not start: ${(err as Error).message}`, undefined, { cause: err });
    }
  }

  /** The monitor to share: the one “pairux.capture.monitor” names, else the host's pick when the display has several. */
  private async chooseMonitor(): Promise<string | undefined> {
    if (this.settings.monitor) return this.settings.monitor;
    if (!this.ui.chooseMonitor) return undefined;
    const monitors = await this.helper!.listMonitors().catch((err: Error) => {
      this.emit('log', { level: 'warn', line: `could not list the monitors (${err.message}); sharing the whole screen` });
      return [];
    });
    if (monitors.length < 2) return undefined;
    const choice = await this.ui.chooseMonitor(monitors);
    if (!choice) throw new PairuxError(ErrorCode.Unavailable, 'Sharing was cancelled: no monitor was chosen.', { cancelled: true });
    return choice.monitor;
  }

  private emitStatus(): void {
    const s = this.status;
    if (!s) return;
    this.emit('status', s);
    this.showLinks(s.links);
  }

  /**
   * The host panel shows the shared links the editor hands out, with copy buttons: sent whenever
   * they change (a rotation, a removal, an encrypted session's new key), and again on the next
   * status if the page was not running yet.
   */
  private showLinks(links: HostStatus['links']): void {
    if (!links || !this.port || this.page?.state === undefined) return;
    const key = `${links.controller.url} ${links.viewer.url}`;
    if (key === this.linksShown) return;
    this.linksShown = key;
    this.port.shell.request(ShellAction, { action: 'showLinks', viewer: links.viewer.url, controller: links.controller.url }).catch(() => {
      if (this.linksShown === key) this.linksShown = undefined;
    });
  }

  private async dispose(): Promise<void> {
    // The whole audit goes to the host's log with the session's end (an open stint ends here).
    const audit = this.phase === 'ended' ? undefined : this.runner?.closeControlAudit();
    if (audit) for (const line of ['control audit of this session:', ...audit]) this.emit('log', { level: 'info', line });
    this.bridge?.close();
    this.relay?.close();
    this.port?.close('the session ended');
    await this.helper?.stop().catch(() => undefined);
    // The session was ended first (end()), so the server's own close only ends what is left.
    await this.plane?.close().catch(() => undefined);
    this.plane = undefined;
    this.helper = undefined;
    this.phase = 'ended';
  }
}

function captureFix(display: string, wayland: boolean): string {
  if (process.platform === 'linux' && wayland) {
    return 'On Wayland PairUX shares through the desktop’s screen-sharing portal and PipeWire: install your desktop’s portal (xdg-desktop-portal-gnome, -kde or -wlr) and GStreamer’s PipeWire source (gstreamer1.0-pipewire and gstreamer1.0-tools), or set “pairux.capture.display” to an X display.';
  }
  if (process.platform === 'linux') {
    return `PairUX captures the X display ${display || '(none: DISPLAY is not set)'}; set “pairux.capture.display” to another X display, or start VS Code from your desktop session.`;
  }
  if (process.platform === 'darwin') return 'On macOS, allow VS Code under System Settings → Privacy & Security → Screen Recording, then restart VS Code.';
  return 'Check that this machine allows screen capture for VS Code.';
}

/** The address the embedded server serves the network on: the one set, else the one PairUX proposes. */
function networkAddress(wanted: string | undefined, interfaces: NodeJS.Dict<NetworkInterfaceInfo[]>): LanAddress {
  const all = lanAddresses(interfaces);
  const picked = wanted ? all.find((a) => a.address === wanted) : all[0];
  if (picked) return picked;
  const known = all.map((a) => `${a.address} (${a.interface})`).join(', ');
  throw new PairuxError(
    ErrorCode.Unavailable,
    wanted
      ? `“pairux.server.address” is ${wanted}, which is not an address of this computer (it has ${known || 'none but loopback'}). Pick one of those, or leave it empty for PairUX to choose.`
      : 'This computer is on no network (it has only loopback), so nobody else can reach it. Connect it to a network, or set “pairux.server.network” to this-computer.',
  );
}
