/**
 * The editor's side of PairUX: every command, the URI handler, and the one current session
 * (hosted or joined) shown in the status bar, the Participants view and the context keys.
 * Session logic lives in ../core (no `vscode` there); this file asks, shows and routes.
 */
import { signalingUrlFor } from '../../common/signaling-url';
import { randomBytes } from 'node:crypto';
import { userInfo } from 'node:os';
import * as vscode from 'vscode';
import { ErrorCode, PairuxError } from '../../protocol/errors';
import type { SessionPreview } from '../../protocol/http-api';
import { formatShareLink, parseShareLink } from '../../protocol/share-link';
import type { ShellActionParams, ShellStatusParams } from '../../protocol/webview-shell';
import { checkLink, GuestSession } from '../core/guest-session';
import { HostSession, type HostStatus } from '../core/host-session';
import { HostSeatConsent, offerQuestion, type HostSeatOffer } from '../core/host-seat';
import { joinInputFromUri, parseJoinInput, type JoinTarget } from '../core/join-input';
import { editorJoinUri } from '../../protocol/share-link';
import { contextKeys, lockLine, lockOf, presenceChanges, type ContextKeys, type ParticipantRow, type SessionView } from '../core/session-view';
import { KEY_NOT_READY_MESSAGE, type PersonalLinkRequest } from '../core/link-book';
import { DEFAULT_SESSION_TIERS, tierArgument, tierChoices, tierDone, tierFailure } from '../core/quality-tiers';
import { createPersonalLink, manageLinks, rotateShareLinks } from './link-commands';
import { readHostSettings, type HostSettings, type SessionMode } from '../core/settings';
import { askControlInEditor } from './control-asker';
import { testGuestReach } from './connection-check';
import { pickMonitor } from './monitor-picker';
import { askAdmitInEditor } from './lobby-asker';
import { ControlAuditView } from './control-audit-view';
import { literal } from './literal-text';
import { openPanel, type OpenPanel } from './panels';
import type { ParticipantsView } from './participants-view';
import type { SessionStatusBar } from './status-bar';

const HOST_KEY_SECRET = 'pairux.server.hostKey';
/** The embedded server's host key when it serves the local network: made once, kept in secret storage. */
const EMBEDDED_HOST_KEY_SECRET = 'pairux.server.embeddedHostKey';
const LIVEKIT_SECRET = 'pairux.livekit.apiSecret';

interface Hosting {
  kind: 'host';
  session: HostSession;
  panel: OpenPanel | undefined;
}
interface Joined {
  kind: 'guest';
  session: GuestSession;
  panel: OpenPanel;
}

const MODE_ITEMS: Array<vscode.QuickPickItem & { mode: SessionMode }> = [
  {
    mode: 'auto',
    label: 'Auto',
    description: 'recommended',
    detail: 'Starts peer-to-peer; the server moves it to the SFU when it reaches 10 participants, with nobody noticing.',
  },
  {
    mode: 'p2p',
    label: 'P2P',
    description: 'peer-to-peer',
    detail: 'Lowest latency, no media server: your machine sends one stream per guest (up to 25 guests).',
  },
  {
    mode: 'sfu',
    label: 'SFU',
    description: 'LiveKit',
    detail: 'Your machine sends once and a LiveKit server fans out to 100+ guests (needs a LiveKit server).',
  },
];

const ENCRYPTION_ITEMS: Array<vscode.QuickPickItem & { e2ee: boolean }> = [
  {
    e2ee: true,
    label: 'End-to-end encrypted',
    detail:
      'Only people with the link see your screen: its key travels in the link, never to a server (nor to the SFU, which relays what it cannot read). Compare the safety code with your guests.',
  },
  {
    e2ee: false,
    label: 'Not encrypted',
    description: 'end to end',
    detail: 'Media is encrypted on each hop (WebRTC), so an SFU that relays it can read it.',
  },
];

/** Start's choices: a mode, and whether the session is end-to-end encrypted. */
export interface StartOptions {
  /** Absent: `pairux.e2ee`. */
  e2ee?: boolean;
}

export class SessionController implements vscode.Disposable {
  private current: Hosting | Joined | undefined;
  private view: SessionView = { kind: 'none' };
  private lastPage: ShellStatusParams | undefined;
  private lastNotice = '';
  /** Hosts that handed their seat over but still run the session's embedded server. */
  private readonly retained: HostSession[] = [];
  /** The session hosted now or last: its control audit stays readable after the end. */
  private lastHosted: HostSession | undefined;
  private readonly auditView = new ControlAuditView();
  private readonly disposables: vscode.Disposable[] = [];
  private lastKeys: Partial<ContextKeys> = {};

  constructor(
    private readonly context: vscode.ExtensionContext,
    private readonly log: vscode.LogOutputChannel,
    private readonly statusBar: SessionStatusBar,
    private readonly participants: ParticipantsView,
  ) {
    const command = (id: string, run: (...args: never[]) => unknown) =>
      this.disposables.push(vscode.commands.registerCommand(id, (...args: never[]) => this.guard(id, () => run(...args))));
    // With arguments (scripts, tests): no prompts; `{ e2ee: true }` starts an encrypted session.
    command('pairux.startSession', (mode?: SessionMode, options?: StartOptions) => this.start(mode, options));
    command('pairux.joinSession', (link?: string) => this.join(link));
    command('pairux.copyShareLink', (role?: 'controller' | 'viewer') => this.copyLink(role));
    command('pairux.requestControl', () => this.guestAct({ action: 'requestControl' }, 'Asked the host for control; they will see a prompt.'));
    command('pairux.releaseControl', () => this.guestAct({ action: 'releaseControl' }));
    command('pairux.stopAllControl', () => this.stopAll());
    command('pairux.leaveSession', () => this.leave());
    // `false` as the argument ends without asking (scripts, tests).
    command('pairux.endSession', (ask?: boolean) => this.end(ask !== false));
    command('pairux.showMenu', () => this.menu());
    command('pairux.showLog', () => this.log.show());
    command('pairux.showControlAudit', () => this.auditView.show(this.current?.kind === 'host' ? this.current.session : this.lastHosted));
    this.disposables.push(this.auditView);
    command('pairux.setHostKey', () => this.setHostKey());
    command('pairux.testConnection', () => testGuestReach(() => this.context.secrets.get(HOST_KEY_SECRET), this.log));
    command('pairux.setLiveKitSecret', () =>
      this.setSecret(
        LIVEKIT_SECRET,
        'PairUX: Set LiveKit API Secret',
        'The API secret of the LiveKit server in “pairux.livekit.url” (kept in VS Code’s secret storage). Empty removes it.',
      ),
    );
    command('pairux.grantControl', (row?: ParticipantRow) => this.hostAct(row, (id) => ({ action: 'grant', participantId: id })));
    command('pairux.revokeControl', (row?: ParticipantRow) => this.hostAct(row, (id) => ({ action: 'revoke', participantId: id })));
    command('pairux.promote', (row?: ParticipantRow) => this.hostAct(row, (id) => ({ action: 'setRole', participantId: id, role: 'controller' })));
    command('pairux.demote', (row?: ParticipantRow) => this.hostAct(row, (id) => ({ action: 'setRole', participantId: id, role: 'viewer' })));
    command('pairux.removeParticipant', (row?: ParticipantRow) => this.hostAct(row, (id) => ({ action: 'remove', participantId: id }), true));
    command('pairux.makeHost', (row?: ParticipantRow) => this.makeHost(row));
    // With a tier as the second argument (scripts, tests): no prompt; null or 'default' is the role's.
    command('pairux.setTier', (row?: ParticipantRow, tier?: unknown) => this.setTier(row, tier));
    command('pairux.keptForHost', () => undefined);
    // With an argument (scripts, tests): no prompts; `false` rotates without the modal confirm.
    command('pairux.createPersonalLink', (request?: PersonalLinkRequest) => this.createPersonalLink(request));
    command('pairux.rotateShareLinks', (ask?: boolean) => this.rotateLinks(ask !== false));
    command('pairux.manageLinks', () => this.manageLinks());
    this.disposables.push(vscode.window.registerUriHandler({ handleUri: (uri) => this.guard('uri', () => this.join(joinInputFromUri(uri), true)) }));
    this.render();
  }

  /** For tests and the walkthrough: what the editor currently shows (an encrypted session's links once they carry its key). */
  get snapshot(): { view: SessionView; links?: { controller: string; viewer: string } } {
    const links = this.current?.kind === 'host' ? this.current.session.status?.links : undefined;
    return { view: this.view, ...(links ? { links: { controller: links.controller.url, viewer: links.viewer.url } } : {}) };
  }

  // ---- host ---------------------------------------------------------------------------------

  /** The embedded server's host key on the network, made on first use (nobody needs to type it: this editor creates the sessions). */
  private async embeddedHostKey(): Promise<string> {
    const kept = await this.context.secrets.get(EMBEDDED_HOST_KEY_SECRET);
    if (kept) return kept;
    const made = randomBytes(24).toString('base64url');
    await this.context.secrets.store(EMBEDDED_HOST_KEY_SECRET, made);
    return made;
  }

  private async start(modeArg?: SessionMode, options: StartOptions = {}): Promise<void> {
    if (this.current?.kind === 'host') {
      const choice = await vscode.window.showWarningMessage('You are already sharing your screen.', 'Keep Sharing', 'End and Start New');
      if (choice !== 'End and Start New') return;
      await this.end(false);
    } else if (this.current?.kind === 'guest') {
      const choice = await vscode.window.showWarningMessage(
        `You are in ${literal(this.current.session.hostLabel, 64)}'s session. Leave it to start your own?`,
        'Leave and Start',
        'Stay',
      );
      if (choice !== 'Leave and Start') return;
      await this.leave();
    }
    const config = vscode.workspace.getConfiguration('pairux');
    let mode = modeArg;
    if (!mode) {
      const preferred = config.get<SessionMode>('session.defaultMode', 'auto');
      const items = [...MODE_ITEMS].sort((a, b) => Number(b.mode === preferred) - Number(a.mode === preferred));
      const picked = await vscode.window.showQuickPick(items, {
        title: 'PairUX: Start Pairing Session',
        placeHolder: 'How should guests receive your screen?',
      });
      if (!picked) return;
      mode = picked.mode;
    }
    let e2ee = options.e2ee ?? config.get<boolean>('e2ee', false) === true;
    if (!modeArg) {
      const items = [...ENCRYPTION_ITEMS].sort((a, b) => Number(b.e2ee === e2ee) - Number(a.e2ee === e2ee));
      const picked = await vscode.window.showQuickPick(items, {
        title: 'PairUX: Start Pairing Session',
        placeHolder: 'Encrypt the session end to end?',
      });
      if (!picked) return;
      e2ee = picked.e2ee;
    }
    const settings = readHostSettings((key) => config.get(key), {
      mode,
      e2ee,
      hostKey: await this.context.secrets.get(HOST_KEY_SECRET),
      env: process.env,
      userName: safeUserName(),
      livekitSecret: await this.context.secrets.get(LIVEKIT_SECRET),
      embeddedHostKey: config.get('server.network') === 'local-network' ? await this.embeddedHostKey() : undefined,
    });
    if (settings.mode === 'sfu' && !settings.serverUrl && !settings.livekit) {
      const choice = await vscode.window.showWarningMessage(
        'SFU mode needs a LiveKit server: set “pairux.livekit.url” and “pairux.livekit.apiKey” and run “PairUX: Set LiveKit API Secret”, or point “pairux.server.url” at a PairUX server that has one. Start peer-to-peer instead (up to 25 guests)?',
        'Start P2P',
        'Set Up LiveKit',
        'Cancel',
      );
      if (choice === 'Set Up LiveKit') void vscode.commands.executeCommand('workbench.action.openSettings', 'pairux.livekit');
      if (choice !== 'Start P2P') return;
      settings.mode = 'p2p';
    }
    const { session, reportTo } = this.newHostSession(settings);
    let status;
    try {
      status = await vscode.window.withProgress({ location: vscode.ProgressLocation.Notification, title: 'PairUX' }, (progress) => {
        reportTo((line) => progress.report({ message: line }));
        return session.start();
      });
    } catch (err) {
      this.view = { kind: 'none' };
      this.render();
      // The host dismissed the monitor question: nothing to report.
      if (err instanceof PairuxError && err.data?.cancelled === true) return;
      // LiveKit not answering: the server says P2P would work; offer it rather than just failing.
      if (err instanceof PairuxError && err.code === 'UNAVAILABLE' && err.data?.mode === 'p2p' && settings.mode === 'sfu') {
        const choice = await vscode.window.showWarningMessage(`PairUX: ${literal(err.message)}`, 'Start P2P', 'Cancel');
        if (choice === 'Start P2P') return this.start('p2p');
        return;
      }
      throw err;
    }
    const hosting = this.hostWith(session, status);
    // An encrypted session's links carry the key its host panel makes once it has joined: none is shown or copied before.
    if (session.e2ee) {
      await vscode.window.withProgress({ location: vscode.ProgressLocation.Notification, title: 'PairUX' }, (progress) => {
        progress.report({ message: 'making the end-to-end encryption key for your links…' });
        return session.whenKeyed();
      });
      if (this.current !== hosting) return;
    }
    const links = session.status?.links;
    if (!links) throw new PairuxError(ErrorCode.Unavailable, KEY_NOT_READY_MESSAGE);
    const role = vscode.workspace.getConfiguration('pairux').get<'controller' | 'viewer'>('links.copyRole', 'controller');
    await vscode.env.clipboard.writeText(links[role].url);
    this.log.info(`session ${status.sessionId} started${session.e2ee ? ' end-to-end encrypted' : ''}; ${role} link copied`);
    const lock = lockOf(this.view);
    void vscode.window
      .showInformationMessage(
        `You are sharing your screen (${status.screen.width}×${status.screen.height}). The ${role} link is on your clipboard: send it to your pair.${lock ? ` ${lockLine(lock)}: check that your guests see the same code.` : ''}`,
        role === 'controller' ? 'Copy Viewer Link' : 'Copy Controller Link',
        'Stop Sharing',
      )
      .then(async (choice) => {
        if (choice === 'Stop Sharing') await this.end(false);
        else if (choice) await this.copyLink(role === 'controller' ? 'viewer' : 'controller');
      });
  }

  /** A host session whose progress goes to the status bar (and to `reportTo`'s sink) and whose log lines to the output channel. */
  private newHostSession(settings: HostSettings): { session: HostSession; reportTo(sink: (line: string) => void): void } {
    const config = vscode.workspace.getConfiguration('pairux');
    const askTimeoutMs = Math.max(5, config.get<number>('control.askTimeoutSeconds', 20)) * 1000;
    let report: (line: string) => void = () => undefined;
    const session = new HostSession(settings, {
      askControl: (name, who) => askControlInEditor(name, askTimeoutMs, who),
      admit: (knock) => askAdmitInEditor(knock, askTimeoutMs),
      chooseMonitor: (monitors) => pickMonitor(monitors, (items, options) => vscode.window.showQuickPick(items, options)),
      // Wayland: the desktop's restore token, per workspace, in secret storage (it lets PairUX share without asking).
      screencastToken: {
        load: async () => this.context.secrets.get(screencastTokenKey()),
        save: async (token) => this.context.secrets.store(screencastTokenKey(), token),
      },
      progress: (line) => {
        this.view = { kind: 'starting', step: line };
        this.render();
        report(line);
      },
    });
    this.lastHosted = session;
    session.on('captureStopped', ({ message }) => {
      this.log.warn(message);
      void vscode.window.showWarningMessage(`PairUX: ${literal(message)}. Guests see the last picture.`, 'Share Again', 'End Session').then(async (choice) => {
        if (choice === 'Share Again')
          await session.resumeCapture().catch((err: Error) => vscode.window.showErrorMessage(`PairUX: could not share again: ${literal(err.message)}`));
        else if (choice === 'End Session') await this.end(false);
      });
    });
    session.on('log', ({ level, line, notify }) => {
      this.log[level](line);
      if (notify)
        void (level === 'error' ? vscode.window.showErrorMessage(`PairUX: ${literal(line)}`) : vscode.window.showWarningMessage(`PairUX: ${literal(line)}`));
    });
    return { session, reportTo: (sink) => (report = sink) };
  }

  /** Opens the host panel for a started host session and mirrors it in the editor. */
  private hostWith(session: HostSession, status: HostStatus): Hosting {
    const hosting: Hosting = { kind: 'host', session, panel: undefined };
    this.current = hosting;
    this.lastPage = undefined;
    const serverOrigin = status.origin;
    const media = status.sfuUrl ? [status.sfuUrl === 'remote' ? 'any-websocket' : status.sfuUrl] : [];
    hosting.panel = openPanel(
      this.context,
      'host',
      'PairUX: Sharing',
      serverOrigin,
      this.log,
      () => {
        hosting.panel = undefined;
        session.pageClosed();
        if (this.current === hosting) {
          void vscode.window.showWarningMessage('The PairUX host panel was closed, so guests no longer receive your screen.', 'End Session').then((c) => {
            if (c === 'End Session') void this.end(false);
          });
        }
      },
      media,
      session.e2ee,
    );
    session.attachPage(hosting.panel.port);
    session.on('status', (s) => {
      if (this.current !== hosting) return;
      this.announce(s.page);
      this.view =
        s.phase === 'ended'
          ? { kind: 'none' }
          : {
              kind: 'host',
              phase: s.phase === 'ending' ? 'ending' : 'live',
              mode: s.mode,
              page: s.page,
              screen: s.screen,
              reach: s.reach,
              e2ee: s.e2ee,
              tiers: s.tiers,
            };
      this.render();
    });
    session.on('ended', () => {
      if (this.current === hosting) this.current = undefined;
      hosting.panel?.panel.dispose();
      this.view = { kind: 'none' };
      this.render();
    });
    this.view = {
      kind: 'host',
      phase: 'live',
      mode: status.mode,
      page: undefined,
      screen: status.screen,
      reach: status.reach,
      e2ee: status.e2ee,
      tiers: status.tiers,
    };
    this.render();
    session.on('handedOver', ({ resume, newHostName }) => void this.guard('host transfer', () => this.handedOver(hosting, resume, newHostName)));
    session.on('linksChanged', ({ text, fresh }) => {
      if (this.current !== hosting) return;
      this.log.info(text);
      if (!fresh) return void vscode.window.showInformationMessage(`PairUX: ${text}`);
      const copy = `Copy New ${fresh.role === 'controller' ? 'Controller' : 'Viewer'} Link`;
      void vscode.window.showWarningMessage(`PairUX: ${text}`, copy).then(async (choice) => {
        if (choice !== copy) return;
        await vscode.env.clipboard.writeText(fresh.url);
        void vscode.window.setStatusBarMessage(`PairUX: new ${fresh.role} link copied`, 4000);
      });
    });
    // A re-key (a guest went) leaves the links handed out before unable to open the picture for anyone new.
    session.on('keyChanged', ({ why }) => {
      if (this.current !== hosting || why !== 'rekey') return;
      const copy = 'Copy Controller Link';
      void vscode.window
        .showInformationMessage(
          'PairUX: a guest left, so the session’s end-to-end encryption key changed. Links you sent before no longer show anything to someone new: send the new link (Copy Share Link gives it).',
          copy,
        )
        .then(async (choice) => {
          if (choice === copy) await this.copyLink('controller');
        });
    });
    session.on('copyLink', ({ role }) => void this.guard('copy a link', () => this.copyLink(role)));
    session.on('offerEnded', ({ text }) => {
      if (this.current !== hosting) return;
      this.log.info(text);
      void vscode.window.showInformationMessage(`PairUX: ${text}`);
    });
    return hosting;
  }

  /**
   * Host transfer, this editor handed the host's seat over: stop sharing (the embedded server, if
   * this editor runs it, stays for the session) and watch the new host as the same participant.
   * Make before break: the host panel's connection holds this participant until the guest
   * panel's join (with its ticket) replaces it, so nobody sees it leave and come back.
   */
  private async handedOver(hosting: Hosting, resume: ShellStatusParams['resume'], newHostName: string): Promise<void> {
    const status = hosting.session.status;
    const token = hosting.session.hostToken;
    if (!status || !token || this.current !== hosting) return;
    this.current = undefined;
    await hosting.session.stepDown();
    this.retained.push(hosting.session);
    const closeHostPanel = () => hosting.panel?.panel.dispose();
    try {
      const plain = formatShareLink(status.origin, status.sessionId, token);
      // An encrypted session's picture opens with the key this editor's page last had, which the new host continues.
      const link = hosting.session.e2ee ? hosting.session.linkBook!.keyed(plain) : plain;
      const target: JoinTarget = { ...parseShareLink(link), link, role: undefined, expiresAt: undefined };
      const preview = await checkLink(target, () => undefined);
      const joined = this.openGuest(target, preview, () => hosting.session.status?.page?.resume ?? resume);
      whenJoined(joined.session, HANDOVER_PANEL_MS, closeHostPanel);
    } catch (err) {
      closeHostPanel();
      throw err;
    }
    void vscode.window.showInformationMessage(
      `You handed the host's seat to ${literal(newHostName, 64)}: their screen is shared now, and you watch it here.${hosting.session.embeddedOrigin ? ' The session’s server still runs in this editor: leaving ends it for everyone.' : ''}`,
    );
  }

  /**
   * Host transfer, this editor's guest was made the host: share this screen as that participant.
   * The guest panel's connection holds the host's seat (no reconnect grace runs) until the host
   * panel has joined with its ticket; only then does the guest panel close.
   */
  private async takeOver(joined: Joined, resume: NonNullable<ShellStatusParams['resume']>): Promise<void> {
    if (this.current !== joined) return;
    const config = vscode.workspace.getConfiguration('pairux');
    const settings = readHostSettings((key) => config.get(key), {
      mode: 'auto',
      hostKey: undefined,
      env: process.env,
      userName: safeUserName(),
      // The session's own word: its links must carry a key exactly when it is encrypted.
      e2ee: joined.session.preview.e2ee === true,
    });
    const target = joined.session.target;
    this.current = undefined;
    const closeGuestPanel = () => {
      joined.session.detach();
      joined.panel.panel.dispose();
    };
    const { session, reportTo } = this.newHostSession(settings);
    let status: HostStatus;
    try {
      status = await vscode.window.withProgress({ location: vscode.ProgressLocation.Notification, title: 'PairUX: you are the host now' }, (progress) => {
        reportTo((line) => progress.report({ message: line }));
        return session.takeOver({
          sessionId: target.sessionId,
          token: target.token,
          signalingUrl: signalingUrlFor(target.origin),
          resume: () => joined.session.page?.resume ?? resume,
          link: target.link,
          // An encrypted session: the key schedule the guest page held, which every guest's link leads to.
          mediaKey: joined.session.takeOverKey,
        });
      });
    } catch (err) {
      // This editor cannot share (no display, no helper): it still holds the seat through the
      // guest panel, so say what is wrong and that leaving hands the session's end to the server.
      this.current = joined;
      throw new PairuxError(
        ErrorCode.Unavailable,
        `You were made the host, but this editor cannot share its screen: ${(err as Error).message} Leave the session, or ask to be made a guest again.`,
        undefined,
        { cause: err },
      );
    }
    this.hostWith(session, status);
    // Once its page is in as the host: the guest panel goes, and share links of its own come from the server.
    const once = session.on('status', (s) => {
      if (s.page?.state !== 'joined' || s.page.joinedAs !== 'host') return;
      once();
      closeGuestPanel();
      session.refreshLinks().catch((err: unknown) => this.log.warn(`could not get share links: ${String(err)}`));
    });
    void vscode.window.showInformationMessage('You are the host now: your screen is shared with everyone in the session.');
  }

  private async copyLink(roleArg?: 'controller' | 'viewer'): Promise<void> {
    const status = this.current?.kind === 'host' ? this.current.session.status : undefined;
    if (!status) {
      void vscode.window.showInformationMessage('You are not sharing a session. Start one first.', 'Start Pairing Session').then((c) => {
        if (c) void vscode.commands.executeCommand('pairux.startSession');
      });
      return;
    }
    const links = status.links;
    if (!links) {
      void vscode.window.showInformationMessage(`PairUX: ${KEY_NOT_READY_MESSAGE}`);
      return;
    }
    let role = roleArg;
    if (!role) {
      const picked = await vscode.window.showQuickPick(
        [
          { label: 'Controller link', role: 'controller' as const, detail: 'Can watch and ask to drive; you decide each time (up to 3).' },
          { label: 'Viewer link', role: 'viewer' as const, detail: 'Can only watch.' },
          { label: 'VS Code link (controller)', role: 'controller' as const, vscode: true, detail: 'Opens VS Code and joins there.' },
        ],
        { title: 'PairUX: Copy Share Link' },
      );
      if (!picked) return;
      role = picked.role;
      if ('vscode' in picked) {
        await vscode.env.clipboard.writeText(editorJoinUri(links.controller.url, vscode.env.uriScheme));
        void vscode.window.setStatusBarMessage('PairUX: VS Code link copied', 4000);
        return;
      }
    }
    await vscode.env.clipboard.writeText(links[role].url);
    void vscode.window.setStatusBarMessage(`PairUX: ${role} link copied (valid until ${new Date(links[role].expiresAt).toLocaleString()})`, 4000);
  }

  private async stopAll(): Promise<void> {
    if (this.current?.kind !== 'host') {
      void vscode.window.setStatusBarMessage('PairUX: nobody can control this machine', 3000);
      return;
    }
    await this.current.session.stopAllControl();
    void vscode.window.setStatusBarMessage('PairUX: all control stopped', 4000);
    this.log.info('stop all control');
  }

  private async end(confirm: boolean): Promise<void> {
    const hosting = this.current;
    if (hosting?.kind !== 'host') {
      void vscode.window.showInformationMessage('You are not hosting a session.');
      return;
    }
    if (confirm) {
      const guests = hosting.session.status?.page?.participants.filter((p) => p.role !== 'host').length ?? 0;
      if (guests > 0) {
        // A notification, not a modal: VS Code refuses modal dialogs in its extension test host.
        const choice = await vscode.window.showWarningMessage(
          `End the session for ${guests === 1 ? 'your guest' : `all ${guests} guests`}?`,
          'End Session',
          'Keep Sharing',
        );
        if (choice !== 'End Session') return;
      }
    }
    this.current = undefined;
    await hosting.session.end();
    hosting.panel?.panel.dispose();
    this.view = { kind: 'none' };
    this.render();
    void vscode.window.setStatusBarMessage('PairUX: session ended', 4000);
  }

  private async hostAct(row: ParticipantRow | undefined, make: (id: string) => ShellActionParams, confirm = false): Promise<void> {
    if (this.current?.kind !== 'host') throw new PairuxError(ErrorCode.Forbidden, 'Only the host can do that.');
    const id = row?.id ?? (await this.pickGuest());
    if (!id) return;
    if (confirm) {
      const name = this.current.session.status?.page?.participants.find((p) => p.id === id)?.name ?? 'this guest';
      const choice = await vscode.window.showWarningMessage(
        `Remove ${literal(name, 64)} from the session? The link they joined through stops working (a shared one is replaced for everyone else).`,
        'Remove',
        'Cancel',
      );
      if (choice !== 'Remove') return;
    }
    await this.current.session.act(make(id));
  }

  /**
   * Host transfer: the chosen controller shares their screen from now on; this editor then watches
   * it. In an encrypted session the new host continues the session's key schedule (its guest page
   * holds it), so every link keeps working and the safety code stays the same.
   */
  private async makeHost(row: ParticipantRow | undefined): Promise<void> {
    if (this.current?.kind !== 'host') throw new PairuxError(ErrorCode.Forbidden, 'Only the host can hand over the host seat.');
    const id = row?.id ?? (await this.pickGuest());
    if (!id) return;
    const name = this.current.session.status?.page?.participants.find((p) => p.id === id)?.name ?? 'this guest';
    const choice = await vscode.window.showWarningMessage(
      `Make ${literal(name, 64)} the host? Their screen will be shared instead of yours, and you will watch it.`,
      'Make Host',
      'Cancel',
    );
    if (choice !== 'Make Host') return;
    const hosting = this.current;
    // The page may be closed by the hand-over before its answer comes back: that is the success.
    await hosting.session.act({ action: 'makeHost', participantId: id }).catch((err: unknown) => {
      if (this.current === hosting) throw err;
    });
    // An offer: the seat moves only if they accept in their editor.
    if (this.current === hosting)
      void vscode.window.setStatusBarMessage(`PairUX: asked ${literal(name, 64)} to take over as host; you stay the host unless they accept`, 8000);
  }

  /**
   * One guest's quality tier: what their picture gets when your link or CPU cannot carry everyone
   * at full quality. Asks which (each choice in the session's numbers) unless `given` says.
   */
  private async setTier(row: ParticipantRow | undefined, given?: unknown): Promise<void> {
    const hosting = this.current;
    if (hosting?.kind !== 'host') throw new PairuxError(ErrorCode.Forbidden, "Only the host can set a guest's quality tier.");
    const id = row?.id ?? (await this.pickGuest());
    if (!id) return;
    const status = hosting.session.status;
    const guest = status?.page?.participants.find((p) => p.id === id && p.role !== 'host');
    if (!guest) throw new PairuxError(ErrorCode.PeerNotFound, 'Could not set the quality tier: that guest is no longer in the session.');
    const name = literal(guest.name, 64);
    const tiers = status?.tiers ?? DEFAULT_SESSION_TIERS;
    let tier = tierArgument(given);
    if (tier === undefined) {
      const picked = await vscode.window.showQuickPick(tierChoices(guest, tiers, status?.screen), {
        title: `PairUX: Set Quality Tier for ${name}`,
        placeHolder: `What ${name}'s picture gets when your link or CPU cannot carry everyone at full quality`,
        // The host panel coming up (or reloading) takes the focus; the question stays until answered.
        ignoreFocusOut: true,
      });
      if (!picked) return;
      tier = picked.tier;
    }
    await hosting.session.act({ action: 'setTier', participantId: id, tier }).catch((err: unknown) => {
      throw tierFailure(name, err);
    });
    const done = tierDone(name, guest.role, tier, tiers);
    this.log.info(done);
    void vscode.window.setStatusBarMessage(`PairUX: ${done}`, 5000);
  }

  private hosting(): Hosting | undefined {
    if (this.current?.kind === 'host') return this.current;
    void vscode.window.showInformationMessage('You are not sharing a session. Start one first.');
    return undefined;
  }

  private async createPersonalLink(given?: PersonalLinkRequest): Promise<void> {
    const hosting = this.hosting();
    if (hosting) await createPersonalLink(hosting.session, this.log, given);
  }

  private async rotateLinks(confirm: boolean): Promise<void> {
    const hosting = this.hosting();
    if (hosting) await rotateShareLinks(hosting.session, this.log, confirm, () => this.copyLink('viewer'));
  }

  private async manageLinks(): Promise<void> {
    const hosting = this.hosting();
    if (hosting) await manageLinks(hosting.session, this.log, () => this.current === hosting);
  }

  private async pickGuest(): Promise<string | undefined> {
    const page = this.current?.kind === 'host' ? this.current.session.status?.page : undefined;
    const guests = page?.participants.filter((p) => p.role !== 'host') ?? [];
    if (!guests.length) {
      void vscode.window.showInformationMessage('Nobody has joined yet.');
      return undefined;
    }
    const picked = await vscode.window.showQuickPick(
      guests.map((g) => ({ label: literal(g.name, 64), description: g.role, id: g.id })),
      { placeHolder: 'Which guest?' },
    );
    return picked?.id;
  }

  // ---- guest --------------------------------------------------------------------------------

  private async join(input?: string, fromUri = false): Promise<void> {
    let target: JoinTarget | undefined;
    let text = input;
    for (;;) {
      if (text === undefined) {
        text = await vscode.window.showInputBox({
          title: 'PairUX: Join Session',
          prompt: 'Paste the share link the host sent you',
          placeHolder: 'http://…/s/…#t=…',
          ignoreFocusOut: true,
          validateInput: (value) => {
            if (!value.trim()) return undefined;
            try {
              parseJoinInput(value);
              return undefined;
            } catch (err) {
              return (err as Error).message;
            }
          },
        });
        if (text === undefined) return;
      }
      try {
        target = parseJoinInput(text);
        break;
      } catch (err) {
        const again = await vscode.window.showErrorMessage(`PairUX: ${literal((err as Error).message)}`, 'Paste Another Link');
        if (again !== 'Paste Another Link') return;
        text = undefined;
      }
    }
    if (this.current) {
      const what =
        this.current.kind === 'host'
          ? 'You are sharing your screen. End that session and join?'
          : `You are in ${literal(this.current.session.hostLabel, 64)}'s session. Leave it and join this one?`;
      const choice = await vscode.window.showWarningMessage(what, { modal: true }, 'Switch');
      if (choice !== 'Switch') return;
      if (this.current.kind === 'host') await this.end(false);
      else await this.leave();
    }
    const found = target;
    const preview = await vscode.window.withProgress({ location: vscode.ProgressLocation.Notification, title: 'PairUX', cancellable: false }, (progress) =>
      checkLink(found, (line) => progress.report({ message: line })),
    );
    const host = preview.hostName ?? 'The host';
    if (fromUri || vscode.workspace.getConfiguration('pairux').get<boolean>('join.confirm', true)) {
      const what = preview.role === 'controller' ? 'watch and ask to drive' : 'watch';
      const choice = await vscode.window.showInformationMessage(
        `Join ${literal(host, 64)}'s session “${literal(preview.name ?? found.sessionId, 64)}”? You can ${what}.${preview.e2ee ? ' It is end-to-end encrypted: compare the safety code with the host’s.' : ''}${preview.hostConnected ? '' : ' (The host is not connected right now.)'}`,
        { modal: true },
        'Join',
      );
      if (choice !== 'Join') return;
    }
    this.openGuest(found, preview);
  }

  /** Opens the guest panel on a checked link and mirrors it in the editor; `resume` gives the ticket to join as that participant. */
  private openGuest(found: JoinTarget, preview: SessionPreview, resume?: () => ShellStatusParams['resume']): Joined {
    const host = preview.hostName ?? 'The host';
    const name = vscode.workspace.getConfiguration('pairux').get<string>('displayName', '').trim() || safeUserName();
    const session = new GuestSession(found, preview, name.slice(0, 64) || undefined, resume);
    const panel = openPanel(
      this.context,
      'guest',
      `PairUX: ${host}'s screen`,
      found.origin,
      this.log,
      () => {
        if (this.current?.session === session) {
          this.current = undefined;
          this.view = { kind: 'none' };
          this.render();
        }
        session.detach();
      },
      preview.mode !== 'p2p' ? ['any-websocket'] : [],
      preview.e2ee === true,
    );
    const joined: Joined = { kind: 'guest', session, panel };
    this.current = joined;
    this.lastPage = undefined;
    session.attachPage(panel.port);
    // Only a host seat that follows this user's Accept starts sharing this screen (F2).
    const consent = new HostSeatConsent();
    session.on('hostOffered', ({ offer }) => {
      if (this.current !== joined || !consent.shouldAsk(offer, session.page)) return;
      void this.guard('host transfer', () => this.answerHostOffer(joined, consent, offer));
    });
    let promoted = false;
    session.on('status', ({ page }) => {
      if (this.current !== joined) return;
      if (page?.joinedAs === 'host' && page.resume && !promoted) {
        promoted = true;
        const decision = consent.mayTakeOver(page);
        if (!decision.ok) {
          // The page joined as host though nobody here said yes: share nothing, leave, say why.
          void this.guard('host transfer', async () => {
            await this.leave();
            throw new PairuxError(ErrorCode.Forbidden, decision.message);
          });
          return;
        }
        void this.guard('host transfer', () => this.takeOver(joined, page.resume!));
        return;
      }
      this.announce(page);
      this.view = { kind: 'guest', hostName: host, mode: page?.media ?? preview.media, page, e2ee: preview.e2ee };
      this.render();
      if (page?.state === 'failed') void vscode.window.showErrorMessage(`PairUX: ${literal(page.message)}`);
      if (page?.state === 'ended' && page.ended)
        void vscode.window.showInformationMessage(`PairUX: ${literal(page.ended.message || 'The session has ended.')}`);
    });
    session.on('driving', () => this.render());
    this.view = { kind: 'guest', hostName: host, mode: preview.media, page: undefined, e2ee: preview.e2ee };
    this.render();
    return joined;
  }

  /**
   * The host offers this guest its seat: a modal prompt naming who offers (as plain text) and what
   * it means. Only Accept answers yes; closing the prompt declines.
   */
  private async answerHostOffer(joined: Joined, consent: HostSeatConsent, offer: HostSeatOffer): Promise<void> {
    const accept: vscode.MessageItem = { title: 'Accept' };
    const decline: vscode.MessageItem = { title: 'Decline', isCloseAffordance: true };
    const left = Math.max(0, Math.round((offer.expiresAt - Date.now()) / 1000));
    const choice = await vscode.window.showWarningMessage(
      offerQuestion(offer),
      { modal: true, detail: `The offer stands for ${left} seconds. Decline keeps you watching as you are now.` },
      accept,
      decline,
    );
    if (this.current !== joined) return;
    if (choice !== accept) {
      await joined.session.act({ action: 'answerHostOffer', offerId: offer.offerId, accept: false });
      return;
    }
    consent.accept(offer);
    try {
      await joined.session.act({ action: 'answerHostOffer', offerId: offer.offerId, accept: true });
    } catch (err) {
      consent.withdraw();
      throw err;
    }
    this.log.info(`accepted ${literal(offer.fromName, 64)}'s offer of the host's seat`);
  }

  private async guestAct(action: ShellActionParams, done?: string): Promise<void> {
    if (this.current?.kind !== 'guest') {
      void vscode.window.showInformationMessage('Join a session first (PairUX: Join Session).');
      return;
    }
    await this.current.session.act(action);
    if (done) void vscode.window.setStatusBarMessage(`PairUX: ${done}`, 4000);
  }

  private async leave(): Promise<void> {
    const joined = this.current;
    if (joined?.kind !== 'guest') {
      void vscode.window.showInformationMessage('You are not in a session.');
      return;
    }
    this.current = undefined;
    await joined.session.act({ action: 'leave' }).catch(() => undefined);
    joined.panel.panel.dispose();
    // A host that handed its seat over and still ran the session's server: it goes now.
    for (const r of this.retained.splice(0)) await r.end('The session’s server was in the editor of someone who left.');
    this.view = { kind: 'none' };
    this.render();
  }

  // ---- shared -------------------------------------------------------------------------------

  private async menu(): Promise<void> {
    const keys = contextKeys(this.view);
    const items: Array<vscode.QuickPickItem & { command: string }> = [];
    if (keys['pairux.hosting']) {
      items.push(
        { label: '$(link) Copy Share Link', command: 'pairux.copyShareLink' },
        { label: '$(person-add) Create Personal Link', command: 'pairux.createPersonalLink' },
        { label: '$(key) Manage Links', command: 'pairux.manageLinks' },
        { label: '$(refresh) Rotate Share Links', command: 'pairux.rotateShareLinks' },
        { label: '$(stop-circle) Stop All Control', command: 'pairux.stopAllControl', description: keys['pairux.someoneDriving'] ? 'someone is driving' : '' },
        { label: '$(checklist) Show Control Audit', command: 'pairux.showControlAudit' },
        { label: '$(organization) Show Participants', command: 'pairux.participants.focus' },
        { label: '$(close-all) End Session', command: 'pairux.endSession' },
      );
    } else if (keys['pairux.joined']) {
      if (keys['pairux.driving']) items.push({ label: '$(debug-stop) Stop Driving', command: 'pairux.releaseControl' });
      else if (keys['pairux.canRequestControl']) items.push({ label: '$(hand) Request Control', command: 'pairux.requestControl' });
      items.push(
        { label: '$(organization) Show Participants', command: 'pairux.participants.focus' },
        { label: '$(sign-out) Leave Session', command: 'pairux.leaveSession' },
      );
    } else {
      items.push(
        { label: '$(broadcast) Start Pairing Session', command: 'pairux.startSession' },
        { label: '$(plug) Join Session', command: 'pairux.joinSession' },
      );
    }
    items.push({ label: '$(output) Show Log', command: 'pairux.showLog' });
    const picked = await vscode.window.showQuickPick(items, { title: 'PairUX' });
    if (picked) await vscode.commands.executeCommand(picked.command);
  }

  private setHostKey(): Promise<void> {
    return this.setSecret(
      HOST_KEY_SECRET,
      'PairUX: Set Server Host Key',
      'The host key of the PairUX server in “pairux.server.url” (kept in VS Code’s secret storage). Empty removes it.',
    );
  }

  private async setSecret(name: string, title: string, prompt: string): Promise<void> {
    const value = await vscode.window.showInputBox({ title, prompt, password: true, ignoreFocusOut: true });
    if (value === undefined) return;
    if (value.trim()) await this.context.secrets.store(name, value.trim());
    else await this.context.secrets.delete(name);
    void vscode.window.setStatusBarMessage(value.trim() ? 'PairUX: secret saved' : 'PairUX: secret removed', 3000);
  }

  /** Joins and leaves go to the log and a passing status-bar line, never a popup. */
  private announce(page: ShellStatusParams | undefined): void {
    if (!page) return;
    const lines = presenceChanges(this.lastPage, page);
    this.lastPage = page;
    // The session focus moving the media (or saying why it could not) is news for everyone.
    if (page.notice && page.notice !== this.lastNotice) lines.push(page.notice);
    this.lastNotice = page.notice ?? '';
    for (const line of lines) this.log.info(line);
    // The message hides itself after its timeout: nothing to keep (a long session would pile them up).
    if (lines.length) vscode.window.setStatusBarMessage(`PairUX: ${literal(lines.join('; '), 500)}`, 5000);
  }

  private render(): void {
    this.statusBar.update(this.view);
    this.participants.update(this.view);
    const keys = contextKeys(this.view);
    for (const [key, value] of Object.entries(keys) as Array<[keyof ContextKeys, boolean]>) {
      if (this.lastKeys[key] === value) continue;
      this.lastKeys[key] = value;
      void vscode.commands.executeCommand('setContext', key, value);
    }
  }

  /** Every command's errors end up as one clear message (and in the log), never unhandled. */
  private async guard(name: string, run: () => unknown): Promise<void> {
    try {
      await run();
    } catch (err) {
      const message = err instanceof Error ? err.message : String(err);
      this.log.error(`${name}: ${message}`);
      // Errors carry a server's or a peer's words: shown as literal text, never as links.
      const choice = await vscode.window.showErrorMessage(`PairUX: ${literal(message)}`, 'Show Log');
      if (choice === 'Show Log') this.log.show();
    }
  }

  async dispose(): Promise<void> {
    for (const d of this.disposables) d.dispose();
    const current = this.current;
    this.current = undefined;
    if (current?.kind === 'host') await current.session.end('The host closed VS Code.');
    if (current?.kind === 'guest') await current.session.act({ action: 'leave' }).catch(() => undefined);
    for (const r of this.retained.splice(0)) await r.end('The session’s server was in the editor of someone who closed VS Code.');
  }
}

/** How long a handed-over host panel may hold its participant while the guest panel that takes it over joins. */
const HANDOVER_PANEL_MS = 30_000;

/** Runs `then` once the guest page has joined (its connection has replaced the one it takes over), or after `timeoutMs`. */
function whenJoined(session: GuestSession, timeoutMs: number, then: () => void): void {
  let done = false;
  const finish = () => {
    if (done) return;
    done = true;
    clearTimeout(timer);
    off();
    then();
  };
  const timer = setTimeout(finish, timeoutMs);
  const off = session.on('status', ({ page }) => {
    if (page?.selfId && page.joinedAs) finish();
  });
}

function safeUserName(): string {
  try {
    return userInfo().username;
  } catch {
    return '';
  }
}

/** Where a workspace's Wayland restore token is kept in secret storage (one per workspace). */
function screencastTokenKey(): string {
  const where = vscode.workspace.workspaceFile ?? vscode.workspace.workspaceFolders?.[0]?.uri;
  return `pairux.waylandScreencastToken:${where?.toString() ?? 'no-workspace'}`;
}
