/**
 * The session's record of control, kept with the session in the room state store: every request,
 * grant, deny, revoke, release, take-over and drop, with who did it to whom and when, as names
 * were at that moment (people leave; the record stays until the session is purged). The server
 * never sees input, so there is none here; the host's runner counts injected and refused events.
 * Only the current host reads it.
 */
import { MAX_CONTROL_AUDIT_ENTRIES, type ControlAuditEntry, type ControlReason } from '../protocol/signaling';
import { requireCurrentHost } from './host-rights';
import type { RoomStateStore } from './room-state-store';

export type AuditPerson = NonNullable<ControlAuditEntry['actor']>;

/**
 * A guest's own requests and releases kept per minute: beyond this, a guest looping request and
 * release would push the host's decisions out of the bounded list; the rest of that minute's are
 * not kept.
 */
export const MAX_SELF_ACTIONS_PER_MINUTE = 10;
const WINDOW_MS = 60_000;
/** Guests tracked for that limit on this instance before old windows are forgotten. */
const MAX_TRACKED = 10_000;

export class ControlAuditLog {
  private readonly selfActions = new Map<string, { since: number; n: number }>();

  constructor(
    private readonly store: RoomStateStore,
    private readonly max = MAX_CONTROL_AUDIT_ENTRIES,
    private readonly now: () => number = Date.now,
  ) {}

  /**
   * Appends one event. A store that fails here does not undo or block the control change it
   * records (a revoke must never fail for want of its audit line); the failure is returned to log.
   */
  async record(sessionId: string, action: ControlReason, target: AuditPerson, actor?: AuditPerson): Promise<Error | undefined> {
    if (actor?.id === target.id && !this.takeSelfAction(sessionId, target.id)) return undefined;
    const entry: ControlAuditEntry = { at: this.now(), action, target: person(target), ...(actor ? { actor: person(actor) } : {}) };
    try {
      await this.store.appendControlAudit(sessionId, entry, this.max);
      return undefined;
    } catch (err) {
      return err as Error;
    }
  }

  /** `control.audit`: the session's control events, oldest first, for the current host only. */
  async read(member: { sessionId: string; participantId: string }): Promise<{ entries: ControlAuditEntry[] }> {
    await requireCurrentHost(this.store, member, 'see the control audit');
    return { entries: (await this.store.listControlAudit(member.sessionId)).slice(-this.max) };
  }

  /** Whether a guest's own action (a request, a release) may still be kept this minute. */
  private takeSelfAction(sessionId: string, participantId: string): boolean {
    const now = this.now();
    const key = `${sessionId}\u0000${participantId}`;
    let w = this.selfActions.get(key);
    if (!w || now - w.since >= WINDOW_MS) {
      if (this.selfActions.size >= MAX_TRACKED) {
        for (const [k, old] of this.selfActions) if (now - old.since >= WINDOW_MS) this.selfActions.delete(k);
        if (this.selfActions.size >= MAX_TRACKED) this.selfActions.delete(this.selfActions.keys().next().value!);
      }
      this.selfActions.set(key, (w = { since: now, n: 0 }));
    }
    return ++w.n <= MAX_SELF_ACTIONS_PER_MINUTE;
  }
}

function person(p: AuditPerson): AuditPerson {
  return { id: p.id, name: p.name };
}
