/**
 * May this editor become the session's host now? Becoming host starts the helper: this user's
 * screen goes to everyone in the session and their input may reach this machine. So a guest's
 * editor takes the seat only when its user accepted an offer naming the participant its guest
 * page is, and the page then reports a connection that joined as host for that participant. A
 * host seat arriving any other way (a hostile server answering a join with `role: 'host'`) is
 * refused here as well as in the page. Free of `vscode`, so it is tested without an editor.
 */
import type { ShellStatusParams } from '../../protocol/webview-shell';
import { literal } from '../ui/literal-text';

/** An offer of the host's seat as the guest page reported it (`host.offered`). */
export interface HostSeatOffer {
  offerId: string;
  participantId: string;
  fromId: string;
  fromName: string;
  expiresAt: number;
}

export type TakeOverDecision = { ok: true } | { ok: false; unasked: boolean; message: string };

/** After Accept, how long the seat may take to arrive (the swap and the page's rejoin take about a second). */
export const CONSENT_WINDOW_MS = 30_000;

/** The modal prompt's question for an offer; the offerer's name (the server's word) is literal text. */
export function offerQuestion(offer: Pick<HostSeatOffer, 'fromName'>): string {
  return `${literal(offer.fromName, 64)} wants to hand you the host's seat: your screen will be shared with everyone in the session and you will answer their control requests.`;
}

const UNASKED =
  'The server made this editor the host of the session, though you never accepted an offer to take over. PairUX did not start sharing your screen. An honest PairUX server does not do this: leave the session, and only use links to this server again if you trust it.';

export class HostSeatConsent {
  private readonly asked = new Set<string>();
  private accepted: { participantId: string; at: number } | undefined;

  constructor(private readonly now: () => number = Date.now) {}

  /**
   * Whether an offer the page reported is a question for this user now: once per offer, while
   * it is open, naming the participant the page is, on a page whose connection joined as a guest.
   */
  shouldAsk(offer: HostSeatOffer, page: ShellStatusParams | undefined): boolean {
    if (this.asked.has(offer.offerId) || offer.expiresAt < this.now()) return false;
    if (!page?.selfId || page.selfId !== offer.participantId || !page.joinedAs || page.joinedAs === 'host') return false;
    this.asked.add(offer.offerId);
    return true;
  }

  /** The user clicked Accept on this offer (before the page is told to accept it). */
  accept(offer: HostSeatOffer): void {
    this.accepted = { participantId: offer.participantId, at: this.now() };
  }

  /** The acceptance did not go through (the server refused it, or the page could not send it). */
  withdraw(): void {
    this.accepted = undefined;
  }

  /**
   * The page reports `joinedAs: 'host'`: may this editor start sharing as that participant? Yes
   * once per acceptance, for the participant it named, with the ticket of that join.
   */
  mayTakeOver(page: ShellStatusParams): TakeOverDecision {
    if (page.joinedAs !== 'host' || !page.selfId || !page.resume) {
      return { ok: false, unasked: false, message: 'The session panel has not joined as the host.' };
    }
    const accepted = this.accepted;
    if (!accepted || accepted.participantId !== page.selfId || page.resume.participantId !== page.selfId || this.now() > accepted.at + CONSENT_WINDOW_MS) {
      this.accepted = undefined;
      return { ok: false, unasked: true, message: UNASKED };
    }
    this.accepted = undefined;
    return { ok: true };
  }
}
