/**
 * Grammar-aware message generation for the fuzz harnesses, seeded so a failure replays. Values are
 * drawn from the boundaries' own zod schemas (protocol/), then some are bent out of shape the way
 * an attacker would: wrong types, huge strings, deep nesting, unknown methods, `__proto__` keys,
 * truncated JSON, binary, boundary numbers. A dictionary of real values (the session's ids, live
 * tokens) lets generated messages get past the first checks and into the code behind them.
 */
import type { z } from 'zod';
import { PROTOCOL_VERSION, type Direction } from '../../../protocol/rpc';
import { rng } from '../../helper/support/frames';

/** What a harness knows that makes a message worth more than noise: real ids, tokens, keys. */
export interface Dictionary {
  /** Values tried for id-like strings (participant ids, the session id). */
  ids?: () => readonly string[];
  /** Values tried for `token`-named strings (real join tokens of the session). */
  tokens?: () => readonly string[];
  /** Extra strings for any string leaf (keys of the input allowlist, method names). */
  words?: readonly string[];
  /** Schemas for fields a boundary leaves loose (`event: z.unknown()` is an InputEvent one hop on). */
  fields?: Readonly<Record<string, unknown>>;
}

export type Flavour = 'valid' | 'mutated' | 'raw';

export interface Generated {
  /** Text for text channels; binary messages come as bytes. */
  data: string | Uint8Array;
  flavour: Flavour;
  /** The method it was built from, when it was built from one. */
  method?: string;
}

const WEIRD_STRINGS = [
  '',
  ' ',
  '\u0000',
  '\u009b31m',
  '\u009d0;evil\u0007',
  '\u202eevil',
  '\ud800',
  '[x](command:workbench.action.terminal.new)',
  '<img src=x onerror=alert(1)>',
  '__proto__',
  'constructor',
  'prototype',
  '../../etc/passwd',
  '%00',
  '%E0%A4%A',
  '${7*7}',
  'null',
  'true',
  '0',
  '-1',
  'NaN',
  '\r\n',
  'é',
  '😀',
  'a'.repeat(65),
  'x'.repeat(257),
];
const BOUNDARY_NUMBERS = [
  0,
  -0,
  1,
  -1,
  0.5,
  1.0000001,
  -0.0000001,
  2 ** 31 - 1,
  2 ** 31,
  2 ** 32,
  2 ** 53,
  -(2 ** 53),
  1e308,
  -1e308,
  5e-324,
  65535,
  65536,
  16384,
  16385,
  7680,
  4320,
];

export class Gen {
  readonly random: () => number;
  constructor(readonly seed: number) {
    this.random = rng(seed);
  }
  int(lo: number, hi: number): number {
    return lo + Math.floor(this.random() * (hi - lo + 1));
  }
  chance(p: number): boolean {
    return this.random() < p;
  }
  pick<T>(items: readonly T[]): T {
    return items[Math.floor(this.random() * items.length)]!;
  }
  bytes(n: number): Uint8Array {
    const b = new Uint8Array(n);
    for (let i = 0; i < n; i++) b[i] = Math.floor(this.random() * 256);
    return b;
  }
}

type Def = { type: string; [k: string]: unknown };
const defOf = (s: unknown): Def => (s as { _zod: { def: Def } })._zod.def;
interface CheckDef {
  check: string;
  minimum?: number;
  maximum?: number;
  value?: number;
  inclusive?: boolean;
  format?: string;
  pattern?: RegExp;
}
const checksOf = (d: Def): CheckDef[] => ((d.checks as Array<{ _zod: { def: CheckDef } }> | undefined) ?? []).map((c) => c._zod.def);

const POOL = [...'abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_- .!:/#=?&éß'];

/** A string the schema's length and regex checks should accept (custom refinements may still refuse). */
function validString(d: Def, g: Gen, key: string, dict: Dictionary): string {
  const checks = checksOf(d);
  const min = Math.max(0, ...checks.filter((c) => c.check === 'min_length').map((c) => c.minimum ?? 0));
  const max = Math.min(4096, ...checks.filter((c) => c.check === 'max_length').map((c) => c.maximum ?? 4096));
  const pattern = checks.find((c) => c.check === 'string_format' && c.pattern)?.pattern;
  const fits = (s: string) => s.length >= min && s.length <= max && (!pattern || pattern.test(s));
  const candidates: string[] = [];
  if (/token/i.test(key) && dict.tokens) candidates.push(...dict.tokens());
  if (/id$|Id$|^to$|^from$|^pc$/.test(key) && dict.ids) candidates.push(...dict.ids());
  if (dict.words && g.chance(0.5)) candidates.push(...dict.words);
  const fitting = candidates.filter(fits);
  if (fitting.length && g.chance(0.8)) return g.pick(fitting);
  const chars = pattern ? POOL.filter((c) => pattern.test(c)) : POOL;
  const len = Math.min(max, min + g.int(0, Math.min(24, max - min)));
  let s = '';
  for (let i = 0; i < len; i++) s += g.pick(chars.length ? chars : POOL);
  return s;
}

function validNumber(d: Def, g: Gen): number {
  const checks = checksOf(d);
  const lo = Math.max(-1e6, ...checks.filter((c) => c.check === 'greater_than').map((c) => (c.value ?? 0) + (c.inclusive ? 0 : 1e-9)));
  const hi = Math.min(1e6, ...checks.filter((c) => c.check === 'less_than').map((c) => (c.value ?? 0) - (c.inclusive ? 0 : 1e-9)));
  const integer = d.format === 'safeint' || d.format === 'int32';
  if (g.chance(0.2)) return g.pick([lo, hi].map((v) => (integer ? Math.round(v) : v)));
  const v = lo + g.random() * (hi - lo);
  return integer ? Math.min(Math.floor(hi), Math.max(Math.ceil(lo), Math.round(v))) : v;
}

/** A value drawn from `schema` (aims for valid; refinements it cannot see may still refuse it). */
export function arbitrary(schema: unknown, g: Gen, dict: Dictionary = {}, key = '', depth = 0): unknown {
  const override = dict.fields?.[key];
  if (override && override !== schema) return arbitrary(override, g, dict, '', depth);
  const d = defOf(schema);
  switch (d.type) {
    case 'string':
      return validString(d, g, key, dict);
    case 'number':
      return validNumber(d, g);
    case 'boolean':
      return g.chance(0.5);
    case 'null':
      return null;
    case 'literal':
      return g.pick(d.values as unknown[]);
    case 'enum':
      return g.pick(Object.values(d.entries as Record<string, unknown>));
    case 'optional':
      return g.chance(0.4) ? undefined : arbitrary(d.innerType, g, dict, key, depth);
    case 'nullable':
      return g.chance(0.2) ? null : arbitrary(d.innerType, g, dict, key, depth);
    case 'default':
    case 'prefault':
      return g.chance(0.3) ? undefined : arbitrary(d.innerType, g, dict, key, depth);
    case 'pipe':
      return arbitrary(d.in, g, dict, key, depth);
    case 'object': {
      const out: Record<string, unknown> = {};
      for (const [k, v] of Object.entries(d.shape as Record<string, unknown>)) {
        const value = arbitrary(v, g, dict, k, depth + 1);
        if (value !== undefined) out[k] = value;
      }
      return out;
    }
    case 'array': {
      const checks = checksOf(d);
      const min = Math.max(0, ...checks.filter((c) => c.check === 'min_length').map((c) => c.minimum ?? 0));
      const max = Math.min(depth > 2 ? min + 1 : min + 4, ...checks.filter((c) => c.check === 'max_length').map((c) => c.maximum ?? 64));
      return Array.from({ length: g.int(min, Math.max(min, max)) }, () => arbitrary(d.element, g, dict, key, depth + 1));
    }
    case 'union':
      return arbitrary(g.pick(d.options as unknown[]), g, dict, key, depth);
    case 'record':
      return g.chance(0.5) ? {} : { [validString(defOf(d.keyType ?? { _zod: { def: { type: 'string' } } }), g, '', dict) || 'k']: g.int(0, 9) };
    case 'unknown':
    case 'any':
      return depth > 3 ? null : g.pick([null, 1, 'x', {}, [], true]);
    case 'custom':
      return g.bytes(g.int(0, 16));
    default:
      return null;
  }
}

function deepNest(g: Gen): string {
  const n = g.pick([64, 1000, 10_000, 30_000]);
  const open = g.chance(0.5) ? '[' : '{"a":';
  const close = open === '[' ? ']' : '}';
  return open.repeat(n) + '1' + close.repeat(n);
}

/** A value of another JSON type than `v`, or a boundary value of the same one. */
function wrongValue(v: unknown, g: Gen, hugeChars: number): unknown {
  switch (g.int(0, 9)) {
    case 0:
      return g.pick(BOUNDARY_NUMBERS);
    case 1:
      return typeof v === 'string' ? Number(v.length) : String(v);
    case 2:
      return g.pick([null, true, false, [], {}, [v], { v }]);
    case 3:
      return 'A'.repeat(g.int(1, hugeChars));
    case 4:
      return g.pick(WEIRD_STRINGS);
    case 5:
      return typeof v === 'number' ? g.pick([v + 1, v - 1, -v, v * 1e6, v + 0.5]) : g.pick(BOUNDARY_NUMBERS);
    case 6:
      return typeof v === 'string' && v.length ? v.slice(0, g.int(0, v.length - 1)) + g.pick(WEIRD_STRINGS) : g.pick(WEIRD_STRINGS);
    case 7:
      // JSON.parse makes `__proto__` an own key, as a peer's message would.
      return JSON.parse('{"__proto__":{"polluted":"yes"},"constructor":{"prototype":{"polluted":"yes"}}}') as unknown;
    default:
      return undefined;
  }
}

/** Bends one place in a JSON value: replaces, removes, or adds a key (including `__proto__`). */
export function mutate(value: unknown, g: Gen, hugeChars = 70_000): unknown {
  if (value === null || typeof value !== 'object' || g.chance(0.15)) return wrongValue(value, g, hugeChars);
  const copy: Record<string, unknown> | unknown[] = Array.isArray(value) ? [...(value as unknown[])] : { ...(value as Record<string, unknown>) };
  const keys = Object.keys(copy);
  const action = g.int(0, 9);
  if (action === 0 || keys.length === 0) {
    const k = g.pick(['__proto__', 'constructor', 'prototype', 'extra', 'role', 'granted', 'driverId', 'hostId', 'admin']);
    Object.defineProperty(copy, k, { value: wrongValue(undefined, g, hugeChars) ?? { polluted: 'yes' }, enumerable: true, configurable: true, writable: true });
    return copy;
  }
  const k = g.pick(keys);
  if (action === 1) {
    delete (copy as Record<string, unknown>)[k];
    return copy;
  }
  (copy as Record<string, unknown>)[k] =
    action < 5 ? mutate((copy as Record<string, unknown>)[k], g, hugeChars) : wrongValue((copy as Record<string, unknown>)[k], g, hugeChars);
  return copy;
}

/** Bytes and text that are not a message at all: broken JSON, binary, deep nesting, oversize. */
export function raw(g: Gen, sample: string, hugeChars: number): string | Uint8Array {
  switch (g.int(0, 8)) {
    case 0:
      return sample.slice(0, g.int(0, Math.max(0, sample.length - 1)));
    case 1:
      return g.bytes(g.int(1, 512));
    case 2:
      return deepNest(g);
    case 3:
      return `{"v":${PROTOCOL_VERSION},"id":1,"method":"${'m'.repeat(g.int(1, 200))}","params":${'{"a":'.repeat(50)}1${'}'.repeat(50)}}`;
    case 4:
      return g.pick(['null', '[]', '1', '"x"', 'true', '{}', '{"__proto__":{"polluted":"yes"}}', '{"v":1}', '{"v":1,"id":-1,"method":"x"}', '\u0000', '']);
    case 5:
      return JSON.stringify({ v: PROTOCOL_VERSION, id: 1, method: 'x', params: 'B'.repeat(hugeChars) });
    case 6:
      return Buffer.from(sample).toString('base64');
    case 7:
      return sample.replace(/"/g, g.pick(["'", '', '\\"', '""']));
    default:
      return `${sample}${sample}`;
  }
}

export interface MessageOptions {
  dict?: Dictionary;
  /** Share of messages built valid from a schema; the rest split between mutated and raw. */
  valid?: number;
  raw?: number;
  /** The largest string a mutation inserts (around the boundary's cap makes it interesting). */
  hugeChars?: number;
  /** Methods never generated valid (the harness's privileged ones, e.g. the helper's grant). */
  withhold?: readonly string[];
}

/** One message a peer on `direction`'s sending side could write: a request or notification envelope. */
export function message(direction: Direction, g: Gen, o: MessageOptions = {}): Generated {
  const dict = o.dict ?? {};
  const types = [...direction.requests, ...direction.notifications];
  const type = g.pick(types);
  const isRequest = direction.requests.includes(type as (typeof direction.requests)[number]);
  const params = arbitrary(type.params as z.ZodType, g, dict);
  const envelope: Record<string, unknown> = isRequest
    ? { v: PROTOCOL_VERSION, id: g.int(1, 2 ** 31 - 1), method: type.method, params }
    : { v: PROTOCOL_VERSION, method: type.method, params };
  const text = JSON.stringify(envelope);
  const roll = g.random();
  const validShare = o.valid ?? 0.3;
  if (roll < validShare && !o.withhold?.includes(type.method)) return { data: text, flavour: 'valid', method: type.method };
  if (roll < 1 - (o.raw ?? 0.2)) {
    const bent = g.chance(0.15)
      ? {
          ...envelope,
          method: g.pick([`${type.method}x`, 'system.exec', '__proto__', 'constructor', 'toString', 'hasOwnProperty', type.method.toUpperCase(), ''] as const),
        }
      : g.chance(0.1)
        ? mutate(envelope, g, o.hugeChars)
        : { ...envelope, params: mutate(params, g, o.hugeChars) };
    return { data: JSON.stringify(bent) ?? 'undefined', flavour: 'mutated', method: type.method };
  }
  return { data: raw(g, text, o.hugeChars ?? 70_000), flavour: 'raw' };
}
