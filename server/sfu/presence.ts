/**
 * Who is connected to the SFU, per session, as LiveKit's webhooks report it. The control plane
 * knows who joined the session; this knows who actually reached the media, which is what tells a
 * guest stuck outside the SFU (firewall, dead LiveKit) from one watching.
 */
export interface SfuPresent {
  identity: string;
  /** LiveKit's participant sid: a rejoin gets a new one, so a late "left" of the old one is ignored. */
  sid: string;
  since: number;
}

export class SfuPresence {
  private readonly bySession = new Map<string, Map<string, SfuPresent>>();

  joined(sessionId: string, identity: string, sid: string, now = Date.now()): void {
    let m = this.bySession.get(sessionId);
    if (!m) this.bySession.set(sessionId, (m = new Map()));
    m.set(identity, { identity, sid, since: now });
  }

  left(sessionId: string, identity: string, sid: string): void {
    const m = this.bySession.get(sessionId);
    const p = m?.get(identity);
    if (!m || !p || (sid && p.sid && p.sid !== sid)) return;
    m.delete(identity);
    if (m.size === 0) this.bySession.delete(sessionId);
  }

  roomGone(sessionId: string): void {
    this.bySession.delete(sessionId);
  }

  /** Participant ids connected to the session's SFU room. */
  list(sessionId: string): SfuPresent[] {
    return [...(this.bySession.get(sessionId)?.values() ?? [])];
  }

  has(sessionId: string, identity: string): boolean {
    return this.bySession.get(sessionId)?.has(identity) ?? false;
  }

  get total(): number {
    let n = 0;
    for (const m of this.bySession.values()) n += m.size;
    return n;
  }
}
