/**
 * The host page's half of the lobby: each `lobby.knock` from the server goes to the host's runner
 * (a terminal prompt in the demo, a VS Code notification in the extension), and its answer goes
 * back as `lobby.admit` / `lobby.deny`. Without a runner nobody here can ask the host, so a knock
 * is turned away at once, as control requests are. A knock is asked about once however often the
 * server repeats it (it does when the host reconnects).
 */
import type { ParamsOf } from '../../../protocol/rpc';
import type { LobbyKnock } from '../../../protocol/signaling';
import type { Logger } from '../logger';
import type { SignalingClient } from './signaling-client';

export type Knock = ParamsOf<typeof LobbyKnock>;

/** Whoever decides for the host (the runner, over the host bridge). */
export interface LobbyAsker {
  admit(knock: Omit<Knock, 'link' | 'expiresAt'> & { link?: string }): Promise<{ admit: boolean; reason: 'allowed' | 'denied' | 'timeout' }>;
}

export type HostLobbySignaling = Pick<SignalingClient, 'on' | 'admitGuest' | 'denyGuest'>;

export class HostLobby {
  private asker: LobbyAsker | undefined;
  /** Knocks that came before the runner's bridge opened (a page with a runner hears them at once on joining). */
  private held: Knock[] | undefined;
  private readonly asking = new Set<string>();
  admitted = 0;
  denied = 0;

  /** `runner`: this page will have a runner to ask; knocks wait for its bridge (or its failure). */
  constructor(private readonly o: { signaling: HostLobbySignaling; log: Logger; runner?: boolean }) {
    if (o.runner) this.held = [];
    o.signaling.on('lobbyKnock', (knock) => {
      if (this.held && this.held.length < 50) this.held.push(knock);
      else void this.consider(knock);
    });
  }

  /** The runner to ask; undefined (no runner, its bridge failed or closed) turns knocks away. */
  setAsker(asker: LobbyAsker | undefined): void {
    this.asker = asker;
    const held = this.held ?? [];
    this.held = undefined;
    for (const knock of held) void this.consider(knock);
  }

  private async consider(knock: Knock): Promise<void> {
    const { participantId, name } = knock;
    if (this.asking.has(participantId)) return;
    this.asking.add(participantId);
    try {
      let admit = false;
      const asker = this.asker;
      if (!asker) {
        this.o.log('info', `${name} waits in the lobby, but no host runner is connected to ask: turned away`);
      } else {
        const { expiresAt: _expiresAt, link, ...rest } = knock;
        const answer = await asker.admit({ ...rest, ...(link ? { link: link.label } : {}) }).catch((err: unknown) => {
          this.o.log('warn', `asking the host about ${name} in the lobby failed: ${String(err)}`);
          return { admit: false, reason: 'denied' as const };
        });
        admit = answer.admit;
      }
      if (admit) {
        await this.o.signaling.admitGuest(participantId);
        this.admitted++;
      } else {
        await this.o.signaling.denyGuest(participantId);
        this.denied++;
      }
    } catch (err) {
      // Gone meanwhile (left, timed out): nothing left to answer.
      this.o.log('info', `could not answer ${name}'s knock: ${String(err)}`);
    } finally {
      this.asking.delete(participantId);
    }
  }
}
