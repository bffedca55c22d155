/**
 * One joined session as a guest inside VS Code, free of `vscode`: the link is checked (locally,
 * then by its server, which names the host for the confirmation), then the guest panel's webview
 * port is booted with it and its reports are mirrored for the status bar and views.
 */
import { signalingUrlFor } from '../../common/signaling-url';
import { ErrorCode, PairuxError } from '../../protocol/errors';
import type { SessionPreview } from '../../protocol/http-api';
import {
  ShellAction,
  ShellDriving,
  ShellHostOffered,
  ShellReady,
  ShellStatus,
  ShellTakeOverKey,
  type MediaKeyAt,
  type ShellActionParams,
  type ShellStatusParams,
} from '../../protocol/webview-shell';
import type { HostSeatOffer } from './host-seat';
import { TypedEmitter } from '../../common/typed-emitter';
import type { JoinTarget } from './join-input';
import { previewLink, type RetryPolicy } from './remote-server';
import { SignalRelay } from './signal-relay';
import type { WebviewPort } from './webview-port';

export interface GuestSessionEvents {
  status: { page: ShellStatusParams | undefined; target: JoinTarget; preview: SessionPreview };
  driving: { driving: boolean };
  /** The host offers this guest its seat: a question for the user (see host-seat.ts). */
  hostOffered: { offer: HostSeatOffer };
}

/** A link to an encrypted session without its key: nothing it leads to could be shown. */
export const KEY_MISSING_TEXT =
  'This session is end-to-end encrypted and your link carries no key (the part after &k= is missing): ask the host for the whole link.';

/**
 * Asks the link's server what it leads to; the server's own words when the link is no good. Only
 * the token goes to the server: an encrypted session's key (in the link's fragment) never does.
 */
export async function checkLink(target: JoinTarget, progress: (line: string) => void, policy?: RetryPolicy): Promise<SessionPreview> {
  const preview = await previewLink(target.origin, target.token, progress, policy);
  if (preview.sessionId !== target.sessionId) {
    throw new PairuxError(ErrorCode.TokenWrongSession, 'This link is damaged: its token is for another session. Ask the host to copy the link again.');
  }
  if (preview.e2ee && !target.key) throw new PairuxError(ErrorCode.TokenInvalid, KEY_MISSING_TEXT);
  return preview;
}

export class GuestSession extends TypedEmitter<GuestSessionEvents> {
  private port: WebviewPort | undefined;
  private relay: SignalRelay | undefined;
  page: ShellStatusParams | undefined;
  driving = false;
  /**
   * Host transfer in an encrypted session: the key schedule the page held when it joined as the
   * host, for the host page that continues it. Kept out of every event and log line.
   */
  private heldKey: MediaKeyAt | undefined;

  constructor(
    readonly target: JoinTarget,
    readonly preview: SessionPreview,
    private readonly name: string | undefined,
    /** Join as this participant (a host that handed its seat over watches as itself): its ticket when the page boots. */
    private readonly resume?: () => ShellStatusParams['resume'],
  ) {
    super();
  }

  /** Who this session is with, for titles and messages. */
  get hostLabel(): string {
    return this.preview.hostName ?? 'the host';
  }

  attachPage(port: WebviewPort): void {
    this.port = port;
    this.relay?.close();
    this.relay = new SignalRelay(port.shell, { url: () => signalingUrlFor(this.target.origin) });
    port.shell.onRequest(ShellReady, ({ page }) => {
      if (page !== 'guest') throw new PairuxError(ErrorCode.BadMessage, 'this panel is a guest panel');
      const resume = this.resume?.();
      return {
        page: 'guest' as const,
        link: this.target.link,
        ...(this.name ? { name: this.name } : {}),
        ...(resume ? { resume } : {}),
        signalingUrl: signalingUrlFor(this.target.origin),
      };
    });
    port.shell.onNotification(ShellStatus, (s) => {
      this.page = s;
      this.emit('status', { page: s, target: this.target, preview: this.preview });
    });
    port.shell.onNotification(ShellHostOffered, (offer) => this.emit('hostOffered', { offer }));
    port.shell.onNotification(ShellTakeOverKey, (key) => {
      // Only an encrypted session has a schedule to continue.
      if (this.preview.e2ee === true) this.heldKey = { key: key.key, gen: key.gen };
    });
    port.shell.onNotification(ShellDriving, ({ driving }) => {
      this.driving = driving;
      this.emit('driving', { driving });
    });
  }

  /** The key schedule the page handed over when it joined as the host (an encrypted session only). */
  get takeOverKey(): MediaKeyAt | undefined {
    return this.heldKey;
  }

  async act(action: ShellActionParams): Promise<void> {
    if (!this.port) throw new PairuxError(ErrorCode.Unavailable, 'the session panel is not open');
    await this.port.shell.request(ShellAction, action);
  }

  detach(): void {
    this.relay?.close();
    this.relay = undefined;
    this.port?.close();
    this.port = undefined;
    if (this.driving) {
      this.driving = false;
      this.emit('driving', { driving: false });
    }
  }
}
