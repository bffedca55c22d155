/**
 * The host's audit of control, kept by the runner for the session: one record per driving stint
 * (who, through which client and link, asked when, approved when and how, granted and ended when
 * and why, how many events were forwarded, injected and refused by reason), plus the drivers a
 * server named that the host never allowed, requests the host denied, and input from people who
 * were never driving. Kept where injection happens, so the counts are what reached the screen.
 *
 * Only counts and reasons: never key names, text or coordinates. Names are peer-supplied: each
 * is kept as one plain, capped line of text. No `vscode`, no helper: the runner feeds it.
 */
import type { ClientKind } from '../protocol/signaling';
import { ErrorCode } from '../protocol/errors';

/** How the host's own user approved a driver. */
export type ApprovalVia = 'prompt' | 'grant-control' | 'page';

/** Why a refused event was refused (what the host can act on, not what the event was). */
export type RefusalKind = 'not-granted' | 'not-allowed' | 'rate' | 'bad-event' | 'failed';

/** Why a stint ended: the server's reason, or the runner's own (helper-restart, session-ended). */
export type StintEnd = 'revoked' | 'released' | 'panic' | 'taken-over' | 'left' | 'denied' | 'timeout' | 'helper-restart' | 'session-ended';

export interface AuditPerson {
  id: string;
  name: string;
  client?: ClientKind;
  link?: string;
}

export type RefusalCounts = Partial<Record<RefusalKind, number>>;

export interface StintRecord {
  kind: 'stint';
  driver: AuditPerson;
  requestedAt?: number;
  approvedAt: number;
  approvedVia: ApprovalVia;
  grantedAt: number;
  endedAt?: number;
  endReason?: StintEnd;
  /** Events passed on to the helper. */
  forwarded: number;
  /** Events the helper injected: its own count when `injectedConfirmed`, else forwarded minus the helper's refusals. */
  injected: number;
  injectedConfirmed: boolean;
  refused: RefusalCounts;
}

/** The server named a driver the host never allowed: the runner ignored it. */
export interface IgnoredRecord {
  kind: 'ignored';
  driver: AuditPerson;
  namedAt: number;
  endedAt?: number;
  refused: RefusalCounts;
}

export interface DeniedRecord {
  kind: 'denied';
  requester: AuditPerson;
  requestedAt: number;
  answeredAt: number;
  answer: 'denied' | 'timeout' | 'disabled';
  /** Asked and answered the same way this many times in a row (within a minute of each other). */
  times: number;
}

/** Input from someone with no stint or ignored record (e.g. a page forwarding before any grant). */
export interface StrayRecord {
  kind: 'stray';
  from: AuditPerson;
  firstAt: number;
  refused: RefusalCounts;
}

export type AuditRecord = StintRecord | IgnoredRecord | DeniedRecord | StrayRecord;

/** Oldest records go first past this (a long session with many short stints stays bounded). */
export const MAX_AUDIT_RECORDS = 500;
export const MAX_AUDIT_NAME_CHARS = 64;
/** Requests and approvals not yet used are remembered for at most this many participants. */
const MAX_PENDING = 200;
/**
 * Senders with a record of their own for input while not driving, and drivers a server named on
 * its own; past this many of each, one shared record counts the rest, so a flood under made-up
 * ids (a rogue page, a hostile server) cannot push the real stints out of the bounded audit.
 */
export const MAX_STRAY_SENDERS = 20;
const OTHERS: AuditPerson = { id: 'others', name: 'other senders' };
const OTHER_DRIVERS: AuditPerson = { id: 'others', name: 'other drivers' };

const UNSAFE = /[\u0000-\u001f\u007f-\u009f\u200b-\u200f\u202a-\u202e\u2060-\u2064\u2066-\u206f\ufeff]/g;

/** A peer-supplied name or label as one plain, capped line (no controls, no bidi overrides). */
export function plainText(text: unknown, maxChars = MAX_AUDIT_NAME_CHARS): string {
  const s = String(text)
    .replace(/[\t\n\r\u2028\u2029]+/g, ' ')
    .replace(UNSAFE, '')
    .trim();
  const chars = [...s];
  return chars.length > maxChars ? `${chars.slice(0, maxChars - 1).join('')}…` : s;
}

/**
 * A refusal's kind from its code and reason as the helper's gate and the sanitizer word them
 * (`helper/inject/grant-gate.ts`, `protocol/input.ts`): FORBIDDEN is either "not the granted
 * controller" or a key/event type off the allowlist.
 */
export function refusalKind(code: string, reason: string): RefusalKind {
  if (code === ErrorCode.RateLimited) return 'rate';
  if (code === ErrorCode.Forbidden) return /granted|allowed|driv/i.test(reason) && !/allowlist/i.test(reason) ? 'not-granted' : 'not-allowed';
  if (code === ErrorCode.Internal) return 'failed';
  return 'bad-event';
}

interface Pending {
  person?: AuditPerson;
  requestedAt?: number;
  approval?: { at: number; via: ApprovalVia };
}

export class ControlAudit {
  private readonly records: AuditRecord[] = [];
  private dropped = 0;
  private readonly pending = new Map<string, Pending>();
  /** The open stint or ignored record (at most one driver at a time). */
  private current: StintRecord | IgnoredRecord | undefined;
  /** Per open stint: refusals the helper reported (for the unconfirmed injected count). */
  private readonly helperRefused = new WeakMap<StintRecord, number>();
  private strays = 0;
  private others: StrayRecord | undefined;
  private ignoredDrivers = 0;
  private otherDrivers: IgnoredRecord | undefined;
  /** Who the shared record stands for now (its own id is not theirs). */
  private otherNamed: string | undefined;

  constructor(private readonly now: () => number = Date.now) {}

  /** A participant asked for control (the runner's prompt is about to ask the host). */
  requested(person: AuditPerson): void {
    const p = this.pendingOf(person.id);
    p.person = clean(person);
    p.requestedAt = this.now();
  }

  /** The host's answer was no (or nobody answered, or requests are off). */
  denied(participantId: string, answer: DeniedRecord['answer']): void {
    const p = this.pending.get(participantId);
    this.pending.delete(participantId);
    const at = this.now();
    // Asking again and again is one record, so a guest's requests cannot push the stints out.
    const last = this.records.at(-1);
    if (last?.kind === 'denied' && last.requester.id === participantId && last.answer === answer && at - last.answeredAt < 60_000) {
      last.times++;
      last.answeredAt = at;
      return;
    }
    this.push({
      kind: 'denied',
      requester: p?.person ?? { id: participantId, name: plainText(participantId) },
      requestedAt: p?.requestedAt ?? at,
      answeredAt: at,
      answer,
      times: 1,
    });
  }

  /**
   * The host's own user approved this participant (with what the host's side knows of it, when
   * it did not ask); an earlier approval not yet used keeps its time and way.
   */
  approved(participantId: string, via: ApprovalVia, person?: Omit<AuditPerson, 'id'>): void {
    const p = this.pendingOf(participantId);
    p.approval ??= { at: this.now(), via };
    if (person && !p.person) p.person = clean({ id: participantId, ...person });
  }

  /** An approval lapsed unused (or ended with a stop-all): it says nothing about the next stint. */
  approvalLapsed(participantId: string): void {
    const p = this.pending.get(participantId);
    if (p) delete p.approval;
  }

  /** An approved driver now drives (the server's control.changed, relayed by the page). */
  started(driverId: string, driverName: string | null): StintRecord {
    const p = this.pending.get(driverId);
    this.pending.delete(driverId);
    const at = this.now();
    const stint: StintRecord = {
      kind: 'stint',
      driver: { ...(p?.person ?? { id: driverId }), name: plainText(driverName ?? p?.person?.name ?? driverId) },
      ...(p?.requestedAt !== undefined ? { requestedAt: p.requestedAt } : {}),
      approvedAt: p?.approval?.at ?? at,
      approvedVia: p?.approval?.via ?? 'page',
      grantedAt: at,
      forwarded: 0,
      injected: 0,
      injectedConfirmed: false,
      refused: {},
    };
    this.current = stint;
    this.helperRefused.set(stint, 0);
    this.push(stint);
    return stint;
  }

  /** The server named a driver the host never allowed. */
  ignored(driverId: string, driverName: string | null): IgnoredRecord {
    if (this.ignoredDrivers >= MAX_STRAY_SENDERS) {
      if (!this.otherDrivers || !this.records.includes(this.otherDrivers))
        this.push((this.otherDrivers = { kind: 'ignored', driver: OTHER_DRIVERS, namedAt: this.now(), refused: {} }));
      delete this.otherDrivers.endedAt;
      this.otherNamed = driverId;
      // Their input is refused at the runner as not from the driver: counted here as the open record.
      return (this.current = this.otherDrivers);
    }
    this.ignoredDrivers++;
    const record: IgnoredRecord = { kind: 'ignored', driver: { id: driverId, name: plainText(driverName ?? driverId) }, namedAt: this.now(), refused: {} };
    this.current = record;
    this.push(record);
    return record;
  }

  /** Whatever is open ends (stint or ignored); the stint, when it was one, for its summary. */
  ended(reason: StintEnd): StintRecord | undefined {
    const open = this.current;
    this.current = undefined;
    if (!open) return undefined;
    open.endedAt = this.now();
    if (open.kind === 'ignored') return undefined;
    open.endReason = reason;
    if (!open.injectedConfirmed) open.injected = Math.max(0, open.forwarded - (this.helperRefused.get(open) ?? 0));
    return open;
  }

  /** The driver being counted now, if any. */
  get open(): StintRecord | IgnoredRecord | undefined {
    return this.current;
  }

  forwarded(driverId: string): void {
    const c = this.current;
    if (c?.kind === 'stint' && c.driver.id === driverId) c.forwarded++;
  }

  /** Refusals (by the runner, or reported by the helper with `atHelper`), to the record they belong to. */
  refused(participantId: string, kind: RefusalKind, count = 1, atHelper = false): void {
    const record = this.recordFor(participantId);
    record.refused[kind] = (record.refused[kind] ?? 0) + count;
    if (atHelper && record.kind === 'stint') {
      this.helperRefused.set(record, (this.helperRefused.get(record) ?? 0) + count);
      if (record.endedAt !== undefined && !record.injectedConfirmed) record.injected = Math.max(0, record.forwarded - this.helperRefused.get(record)!);
    }
  }

  /** The helper's own count of what it injected during the stint. */
  confirmInjected(stint: StintRecord, injected: number): void {
    stint.injected = injected;
    stint.injectedConfirmed = true;
  }

  /** Every record, oldest first (copies). */
  entries(): AuditRecord[] {
    return this.records.map((r) => structuredClone(r));
  }

  /** Records dropped to keep the audit bounded. */
  get droppedRecords(): number {
    return this.dropped;
  }

  /** The whole audit as lines for the host's log. */
  report(): string[] {
    const lines = this.records.map((r) => describe(r, this.now()));
    if (this.dropped) lines.unshift(`(${this.dropped} older records were dropped to keep the audit bounded)`);
    return lines.length ? lines : ['nobody asked for or had control in this session'];
  }

  private recordFor(participantId: string): StintRecord | IgnoredRecord | StrayRecord {
    if (this.current?.driver.id === participantId) return this.current;
    if (this.current && this.current === this.otherDrivers && participantId === this.otherNamed) return this.current;
    for (let i = this.records.length - 1; i >= 0; i--) {
      const r = this.records[i]!;
      if (r.kind === 'stint' || r.kind === 'ignored') {
        if (r.driver.id === participantId) return r;
      } else if (r.kind === 'stray' && r.from.id === participantId) return r;
    }
    if (this.strays >= MAX_STRAY_SENDERS) {
      if (!this.others || !this.records.includes(this.others)) this.push((this.others = { kind: 'stray', from: OTHERS, firstAt: this.now(), refused: {} }));
      return this.others;
    }
    this.strays++;
    const stray: StrayRecord = {
      kind: 'stray',
      from: this.pending.get(participantId)?.person ?? { id: participantId, name: plainText(participantId) },
      firstAt: this.now(),
      refused: {},
    };
    this.push(stray);
    return stray;
  }

  private pendingOf(id: string): Pending {
    let p = this.pending.get(id);
    if (!p) {
      if (this.pending.size >= MAX_PENDING) this.pending.delete(this.pending.keys().next().value!);
      this.pending.set(id, (p = {}));
    }
    return p;
  }

  private push(record: AuditRecord): void {
    this.records.push(record);
    if (this.records.length > MAX_AUDIT_RECORDS) {
      this.records.shift();
      this.dropped++;
    }
  }
}

function clean(person: AuditPerson): AuditPerson {
  return {
    id: person.id,
    name: plainText(person.name),
    ...(person.client ? { client: person.client } : {}),
    ...(person.link ? { link: plainText(person.link) } : {}),
  };
}

const CLIENT: Record<ClientKind, string> = { vscode: 'VS Code', browser: 'browser', 'host-page': 'host page', bench: 'bench' };
const VIA: Record<ApprovalVia, string> = { prompt: 'the prompt', 'grant-control': 'Grant Control', page: "the host page's grant" };
const KIND: Record<RefusalKind, string> = {
  'not-granted': 'not granted',
  'not-allowed': 'not in allowlist',
  rate: 'rate',
  'bad-event': 'bad event',
  failed: 'could not inject',
};

/** "Ada (VS Code, id 3fa9c2, link for Eve)" */
export function personLabel(p: AuditPerson): string {
  const bits = [...(p.client ? [CLIENT[p.client]] : []), `id ${p.id.slice(0, 6)}`, ...(p.link ? [`link ${p.link}`] : [])];
  return `${p.name} (${bits.join(', ')})`;
}

/** "1,204 events injected, 3 refused (not granted)" */
function counts(injected: number | undefined, refused: RefusalCounts): string {
  const total = Object.values(refused).reduce((n, c) => n + (c ?? 0), 0);
  const kinds = (Object.keys(refused) as RefusalKind[]).filter((k) => refused[k]);
  const why = kinds.length === 1 ? KIND[kinds[0]!] : kinds.map((k) => `${num(refused[k]!)} ${KIND[k]}`).join(', ');
  const refusedText = total ? `${num(total)} refused (${why})` : 'none refused';
  return injected === undefined ? refusedText : `${num(injected)} ${injected === 1 ? 'event' : 'events'} injected, ${refusedText}`;
}

/** One stint's line for the host's log when it ends. */
export function stintSummary(s: StintRecord, now = Date.now()): string {
  const end = s.endedAt ?? now;
  const asked = s.requestedAt !== undefined ? `asked at ${clock(s.requestedAt)}, ` : '';
  const ended = s.endReason ? `; ended at ${clock(end)} (${s.endReason})` : '; still driving';
  return `${personLabel(s.driver)} drove ${duration(end - s.grantedAt)}: ${counts(s.injected, s.refused)}; ${asked}granted by you at ${clock(s.approvedAt)} via ${VIA[s.approvedVia]}${ended}`;
}

function describe(r: AuditRecord, now: number): string {
  switch (r.kind) {
    case 'stint':
      return stintSummary(r, now);
    case 'ignored':
      return `the server named ${personLabel(r.driver)} as driver at ${clock(r.namedAt)} without your approval: ignored, ${counts(undefined, r.refused)}`;
    case 'denied':
      return `${personLabel(r.requester)} asked for control at ${clock(r.requestedAt)}: ${r.answer === 'denied' ? 'you denied it' : r.answer === 'timeout' ? 'no answer in time (denied)' : 'requests are off (denied)'}${r.times > 1 ? `, ${r.times} times until ${clock(r.answeredAt)}` : ''}`;
    case 'stray':
      return `input from ${personLabel(r.from)}, who was not driving (first at ${clock(r.firstAt)}): ${counts(undefined, r.refused)}`;
  }
}

function num(n: number): string {
  return n.toLocaleString('en-US');
}

/** Local wall-clock time, HH:MM:SS. */
function clock(ms: number): string {
  const d = new Date(ms);
  return [d.getHours(), d.getMinutes(), d.getSeconds()].map((n) => String(n).padStart(2, '0')).join(':');
}

/** "4 min 12 s", "12 s", "1 h 3 min" */
export function duration(ms: number): string {
  const s = Math.max(0, Math.round(ms / 1000));
  if (s < 60) return `${s} s`;
  if (s < 3600) return `${Math.floor(s / 60)} min ${s % 60} s`;
  return `${Math.floor(s / 3600)} h ${Math.floor((s % 3600) / 60)} min`;
}

/** One entry of the server's record (`control.audit`) as a line: "10:42:05 granted Ada (id 3fa9c2) by Hana". */
export function serverAuditLine(e: { at: number; action: string; target: { id: string; name: string }; actor?: { id: string; name: string } }): string {
  const who = (p: { id: string; name: string }) => `${plainText(p.name)} (id ${p.id.slice(0, 6)})`;
  return `${clock(e.at)} ${e.action} ${who(e.target)}${e.actor ? ` by ${e.actor.id === e.target.id ? 'themselves' : who(e.actor)}` : ' (by the server)'}`;
}
