/**
 * The host's share links as the editor knows them, free of `vscode`: the shared controller and
 * viewer links (what Copy Share Link gives), who came through which link (so a notice about a
 * revoked link can name them), and the words for what changed. Every name and label is a peer's
 * or the host's text: it goes through `literal`, never into a link.
 *
 * An end-to-end encrypted session's links carry its media key in their fragment (`&k=`, the host
 * page's latest: `withMediaKey`). The server issues them without it, so until the page has made
 * the key there is no link to give out at all: `links` and `keyed` refuse rather than hand out
 * one that would show guests nothing.
 */
import type { z } from 'zod';
import { ErrorCode, PairuxError } from '../../protocol/errors';
import type { CreateSessionResponse } from '../../protocol/http-api';
import { DisplayName } from '../../protocol/common';
import type { HostOfferEnded, LinkSummary, LinksChanged, Participant, RotateLinks, ShareLinkInfo } from '../../protocol/signaling';
import type { ParamsOf, ResultOf } from '../../protocol/rpc';
import { parseShareLink, peekClaims, withMediaKey } from '../../protocol/share-link';
import { literal } from '../ui/literal-text';

export type SharedLinks = CreateSessionResponse['links'];
export type GuestRole = 'controller' | 'viewer';
type Summary = z.infer<typeof LinkSummary>;

/** Link ids remembered with who came through them; a long session's oldest are forgotten first. */
const MAX_REMEMBERED = 500;

/** What to tell the host when a removal revoked a link; `fresh`: the new shared link, to copy. */
export interface LinksNotice {
  text: string;
  fresh?: { role: GuestRole; url: string };
}

/** An encrypted session's media key as links carry it (`&k=`, `&kg=`). */
export interface LinkKey {
  text: string;
  gen: number;
}

/** What an encrypted session says while its host page has not made the key yet. */
export const KEY_NOT_READY_MESSAGE =
  'This session is end-to-end encrypted and its key is not made yet (the host panel makes it once it has joined), so there is no link to give out: a link without the key shows guests nothing. Try again in a moment.';

export class LinkBook {
  /** Link id → the name of whoever came through it last. */
  private readonly names = new Map<string, string>();
  private key: LinkKey | undefined;

  constructor(
    private shared: SharedLinks,
    /** An end-to-end encrypted session: every link given out carries the key. */
    readonly e2ee = false,
  ) {}

  /** Whether links can be given out: always in a plain session, once the key is known in an encrypted one. */
  get ready(): boolean {
    return !this.e2ee || this.key !== undefined;
  }

  /** The key links carry from now on (the host page's latest: after a ratchet or a re-key). */
  setKey(key: LinkKey): void {
    this.key = { text: key.text, gen: key.gen };
  }

  /** Throws UNAVAILABLE (in words for the host) while an encrypted session has no key to put in its links. */
  assertReady(): void {
    if (!this.ready) throw new PairuxError(ErrorCode.Unavailable, KEY_NOT_READY_MESSAGE);
  }

  /** `url` as this session hands it out: an encrypted session's with the current key; throws UNAVAILABLE before there is one. */
  keyed(url: string): string {
    if (!this.e2ee) return url;
    const key = this.key;
    if (!key) throw new PairuxError(ErrorCode.Unavailable, KEY_NOT_READY_MESSAGE);
    return withMediaKey(url, key.text, key.gen);
  }

  /** The shared links as they are now (Copy Share Link), keyed; throws UNAVAILABLE while an encrypted session has no key. */
  get links(): SharedLinks {
    return {
      controller: { url: this.keyed(this.shared.controller.url), expiresAt: this.shared.controller.expiresAt },
      viewer: { url: this.keyed(this.shared.viewer.url), expiresAt: this.shared.viewer.expiresAt },
    };
  }

  /** Replaces the shared links (a host that took over gets its own). */
  reset(links: SharedLinks): void {
    this.shared = links;
  }

  /** Remembers who came through which link, from a status report. */
  see(participants: readonly Participant[]): void {
    for (const p of participants) {
      if (!p.link) continue;
      this.names.delete(p.link.id);
      this.names.set(p.link.id, p.name);
    }
    for (const id of [...this.names.keys()].slice(0, Math.max(0, this.names.size - MAX_REMEMBERED))) this.names.delete(id);
  }

  /**
   * The server revoked links after a removal (`session.linksChanged`): a replaced shared link
   * becomes the one Copy Share Link gives, and the text names who was removed.
   */
  linksChanged(change: ParamsOf<typeof LinksChanged>): LinksNotice {
    const fresh = change.controller ?? change.viewer;
    if (change.controller) this.shared = { ...this.shared, controller: { url: change.controller.url, expiresAt: change.controller.expiresAt } };
    if (change.viewer) this.shared = { ...this.shared, viewer: { url: change.viewer.url, expiresAt: change.viewer.expiresAt } };
    const who = change.revoked.map((id) => this.names.get(id)).find((n) => n !== undefined);
    // Offered for copying only as it would be handed out (an encrypted session's, with the key).
    const copy = fresh && this.ready ? { fresh: { role: fresh.role, url: this.keyed(fresh.url) } } : {};
    if (!who) {
      // Nobody known came through it: the server's own words, as text.
      return { text: literal(change.message), ...copy };
    }
    const name = literal(who, 64);
    if (!fresh) return { text: `${name} was removed, so the personal link they joined through no longer works.` };
    return {
      text: `${name}'s ${fresh.role} link no longer works (they were removed). Everyone else needs the new ${fresh.role} link: Copy Share Link gives it from now on.`,
      ...copy,
    };
  }

  /** `links.rotate` answered: the new shared links replace the old ones, which no longer work. */
  rotated(result: ResultOf<typeof RotateLinks>): SharedLinks {
    this.shared = {
      controller: { url: result.controller.url, expiresAt: result.controller.expiresAt },
      viewer: { url: result.viewer.url, expiresAt: result.viewer.expiresAt },
    };
    return this.links;
  }

  /** Which shared link `linkId` is (its token's `jti`), if it is one of them. */
  sharedRoleOf(linkId: string): GuestRole | undefined {
    for (const role of ['controller', 'viewer'] as const) {
      try {
        if (peekClaims(parseShareLink(this.shared[role].url).token)?.jti === linkId) return role;
      } catch {
        // A link this editor cannot read (a taken-over session's placeholder) is nobody's.
      }
    }
    return undefined;
  }

  /** A new shared link for `role` (the old one was revoked). */
  replace(role: GuestRole, link: { url: string; expiresAt: number }): void {
    this.shared = { ...this.shared, [role]: { url: link.url, expiresAt: link.expiresAt } };
  }

  /** Who came through a link, as far as this editor saw. */
  nameOf(linkId: string): string | undefined {
    return this.names.get(linkId);
  }
}

/** The host's offer of its seat ended without a transfer: the words, naming the guest as text. */
export function offerEndedText(ended: ParamsOf<typeof HostOfferEnded>, participants: readonly Participant[]): string {
  const name = participants.find((p) => p.id === ended.participantId)?.name;
  if (!name) return literal(ended.message);
  const who = literal(name, 64);
  return ended.reason === 'declined'
    ? `${who} declined to take over as host; you are still the host.`
    : `${who} did not answer your offer of the host's seat in time; you are still the host.`;
}

/** What the host asks for in Create Personal Link, checked before it goes to the server. */
export interface PersonalLinkRequest {
  role: GuestRole;
  label: string;
  singleUse: boolean;
}

/** A label the server will take (a display name's rules), or why not, in words for the input box. */
export function labelProblem(label: string): string | undefined {
  const parsed = DisplayName.safeParse(label);
  return parsed.success ? undefined : `A link's label is shown like a name: ${parsed.error.issues[0]?.message ?? 'it is not valid'}.`;
}

/** The `createLink` shell action for a personal link; throws BAD_MESSAGE for a label the server would refuse. */
export function personalLinkAction(request: PersonalLinkRequest): { action: 'createLink'; role: GuestRole; label: string; singleUse: boolean } {
  const problem = labelProblem(request.label);
  if (problem) throw new PairuxError(ErrorCode.BadMessage, problem);
  return { action: 'createLink', role: request.role, label: request.label.trim(), singleUse: request.singleUse };
}

/** The words after a personal link was made and copied. */
export function personalLinkText(link: ShareLinkInfo): string {
  const use = link.singleUse
    ? 'It works once: after the first join through it, nobody else gets in with it.'
    : 'It works until you revoke it (PairUX: Manage Links) or it expires.';
  return `A ${link.role} link for “${literal(link.label, 64)}” is on your clipboard. ${use} Whoever joins through it shows as “${literal(link.label, 64)}” in the Participants view.`;
}

export interface LinkPickItem {
  id: string;
  label: string;
  description: string;
  detail: string;
}

/** Manage Links' rows: each link that still works, who came through it, and when it stops. */
export function linkPickItems(links: readonly Summary[], participants: readonly Participant[], book: LinkBook | undefined, now = Date.now()): LinkPickItem[] {
  return links.map((l) => {
    const inNow = participants.filter((p) => p.link?.id === l.id).map((p) => literal(p.name, 64));
    const seen = inNow.length ? `in now: ${inNow.join(', ')}` : book?.nameOf(l.id) ? `used by ${literal(book.nameOf(l.id), 64)}` : 'nobody in through it now';
    const minutes = Math.max(0, Math.round((l.expiresAt - now) / 60_000));
    return {
      id: l.id,
      label: literal(l.label, 64),
      description: [l.role, l.singleUse ? 'single use' : ''].filter(Boolean).join(' · '),
      detail: `${seen}; expires in ${minutes < 120 ? `${minutes} min` : `${Math.round(minutes / 60)} h`}`,
    };
  });
}
