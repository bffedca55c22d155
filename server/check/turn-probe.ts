/**
 * Asks a TURN server for a relay the way a browser would (RFC 8656 Allocate with the long-term
 * credential mechanism), with credentials made from the configured secret exactly as guests get
 * them (turn-credentials.ts), then releases it. It tells an operator the three things that go
 * wrong: nothing answers, the secret differs from coturn's `static-auth-secret`, or coturn
 * answers but will not relay.
 *
 * Only what the probe needs of STUN: the header, a handful of attributes, MESSAGE-INTEGRITY.
 * Every answer is checked (magic cookie, transaction id, sizes) before it is believed.
 */
import { createHash, createHmac, randomBytes } from 'node:crypto';
import { createSocket } from 'node:dgram';
import { connect as connectTcp, isIP, type Socket } from 'node:net';
import { connect as connectTls } from 'node:tls';
import { turnCredentials } from '../turn-credentials';

const COOKIE = 0x2112a442;
const ALLOCATE = 0x0003;
const REFRESH = 0x0004;
const SUCCESS = 0x0100;
const ERROR = 0x0110;
const ATTR = {
  username: 0x0006,
  integrity: 0x0008,
  errorCode: 0x0009,
  lifetime: 0x000d,
  realm: 0x0014,
  nonce: 0x0015,
  relayed: 0x0016,
  transport: 0x0019,
  mapped: 0x0020,
} as const;
/** Larger answers are not STUN from a TURN server. */
const MAX_MESSAGE = 1500;

export interface TurnTarget {
  host: string;
  port: number;
  transport: 'udp' | 'tcp' | 'tls';
  url: string;
}

/** `turn:host:port?transport=udp`, `turns:host:5349`; a bad URL is an Error naming it. */
export function parseTurnUrl(url: string): TurnTarget {
  const m = /^(turns?):(\[[^\]]+\]|[^:?]+)(?::(\d{1,5}))?(?:\?transport=(udp|tcp))?$/i.exec(url.trim());
  if (!m) throw new Error(`${url} is not a TURN URL (turn:host:port?transport=udp or turns:host:port)`);
  const secure = m[1]!.toLowerCase() === 'turns';
  const host = m[2]!.replace(/^\[(.*)\]$/, '$1');
  const port = m[3] ? Number(m[3]) : secure ? 5349 : 3478;
  if (port < 1 || port > 65535) throw new Error(`${url} has no valid port`);
  const transport = secure ? 'tls' : ((m[4]?.toLowerCase() as 'udp' | 'tcp' | undefined) ?? 'udp');
  return { host, port, transport, url };
}

type Attrs = Map<number, Buffer>;

function attribute(type: number, value: Buffer): Buffer {
  const pad = (4 - (value.length % 4)) % 4;
  const out = Buffer.alloc(4 + value.length + pad);
  out.writeUInt16BE(type, 0);
  out.writeUInt16BE(value.length, 2);
  value.copy(out, 4);
  return out;
}

/** A request; with `key`, MESSAGE-INTEGRITY last (its length counted in the header, as the RFC says). */
export function encodeRequest(method: number, id: Buffer, attrs: Array<[number, Buffer]>, key?: Buffer): Buffer {
  const body = Buffer.concat(attrs.map(([t, v]) => attribute(t, v)));
  const header = Buffer.alloc(20);
  header.writeUInt16BE(method, 0);
  header.writeUInt16BE(body.length + (key ? 24 : 0), 2);
  header.writeUInt32BE(COOKIE, 4);
  id.copy(header, 8);
  const message = Buffer.concat([header, body]);
  if (!key) return message;
  const mac = createHmac('sha1', key).update(message).digest();
  return Buffer.concat([message, attribute(ATTR.integrity, mac)]);
}

export interface StunAnswer {
  type: number;
  attrs: Attrs;
}

/** Parses one answer to the request `id`; anything else is an Error saying what it was. */
export function decodeAnswer(buf: Buffer, id: Buffer): StunAnswer {
  if (buf.length < 20 || buf.length > MAX_MESSAGE) throw new Error(`not a STUN message (${buf.length} bytes)`);
  if (buf.readUInt32BE(4) !== COOKIE) throw new Error('not a STUN message (no magic cookie)');
  if (!buf.subarray(8, 20).equals(id)) throw new Error('a STUN answer to another request');
  const length = buf.readUInt16BE(2);
  if (20 + length > buf.length || length % 4 !== 0) throw new Error('a truncated STUN message');
  const attrs: Attrs = new Map();
  for (let at = 20; at + 4 <= 20 + length;) {
    const type = buf.readUInt16BE(at);
    const len = buf.readUInt16BE(at + 2);
    if (at + 4 + len > 20 + length) throw new Error('a STUN attribute runs past the message');
    if (!attrs.has(type)) attrs.set(type, buf.subarray(at + 4, at + 4 + len));
    at += 4 + len + ((4 - (len % 4)) % 4);
  }
  return { type: buf.readUInt16BE(0), attrs };
}

function errorOf(answer: StunAnswer): { code: number; reason: string } {
  const v = answer.attrs.get(ATTR.errorCode);
  if (!v || v.length < 4) return { code: 0, reason: 'no error code' };
  return { code: (v[2]! & 0x7) * 100 + v[3]!, reason: v.subarray(4).toString('utf8') };
}

function xorAddress(v: Buffer | undefined, id: Buffer): string | undefined {
  if (!v || v.length < 8) return undefined;
  const port = v.readUInt16BE(2) ^ (COOKIE >>> 16);
  if (v[1] === 0x01) {
    const a = v.readUInt32BE(4) ^ COOKIE;
    return `${a >>> 24}.${(a >>> 16) & 255}.${(a >>> 8) & 255}.${a & 255}:${port}`;
  }
  if (v[1] === 0x02 && v.length >= 20) {
    const mask = Buffer.concat([Buffer.from([0x21, 0x12, 0xa4, 0x42]), id]);
    const bytes = Buffer.from(v.subarray(4, 20).map((b, i) => b ^ mask[i]!));
    const groups = [];
    for (let i = 0; i < 16; i += 2) groups.push(bytes.readUInt16BE(i).toString(16));
    return `[${groups.join(':')}]:${port}`;
  }
  return undefined;
}

/** One request/answer exchange over the target's transport. */
interface Exchange {
  ask(message: Buffer, id: Buffer, timeoutMs: number): Promise<StunAnswer>;
  close(): void;
}

async function openExchange(target: TurnTarget, timeoutMs: number): Promise<Exchange> {
  if (target.transport === 'udp') {
    const socket = createSocket(isIP(target.host) === 6 ? 'udp6' : 'udp4');
    return {
      ask: (message, id, ms) =>
        new Promise((resolve, reject) => {
          let tries = 0;
          // UDP: resend as a browser does (RFC 8489's 500 ms start), give up after `ms`.
          const send = () => socket.send(message, target.port, target.host, (err) => err && finish(err));
          const resend = setInterval(() => (++tries < 4 ? send() : undefined), 500);
          const timer = setTimeout(() => finish(new Error(`no answer within ${ms} ms`)), ms);
          const onMessage = (buf: Buffer) => {
            try {
              finish(undefined, decodeAnswer(buf, id));
            } catch {
              // Not ours (a late answer to an earlier try): keep waiting.
            }
          };
          const finish = (err?: Error, answer?: StunAnswer) => {
            clearInterval(resend);
            clearTimeout(timer);
            socket.off('message', onMessage);
            if (err) reject(err);
            else resolve(answer!);
          };
          socket.on('message', onMessage);
          send();
        }),
      close: () => socket.close(),
    };
  }
  const socket: Socket = await new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`no connection within ${timeoutMs} ms`)), timeoutMs);
    const s =
      target.transport === 'tls'
        ? connectTls({ host: target.host, port: target.port, servername: isIP(target.host) ? undefined : target.host }, () => done())
        : connectTcp({ host: target.host, port: target.port }, () => done());
    const done = () => {
      clearTimeout(timer);
      resolve(s);
    };
    s.once('error', (err) => {
      clearTimeout(timer);
      reject(err);
    });
  });
  let pending = Buffer.alloc(0);
  return {
    ask: (message, id, ms) =>
      new Promise((resolve, reject) => {
        const timer = setTimeout(() => finish(new Error(`no answer within ${ms} ms`)), ms);
        const onData = (chunk: Buffer) => {
          pending = Buffer.concat([pending, chunk]);
          if (pending.length > 4 * MAX_MESSAGE) return finish(new Error('too much data for a STUN answer'));
          if (pending.length < 20) return;
          const size = 20 + pending.readUInt16BE(2);
          if (pending.length < size) return;
          const one = pending.subarray(0, size);
          pending = pending.subarray(size);
          try {
            finish(undefined, decodeAnswer(one, id));
          } catch (err) {
            finish(err as Error);
          }
        };
        const onClose = () => finish(new Error('the connection closed'));
        const finish = (err?: Error, answer?: StunAnswer) => {
          clearTimeout(timer);
          socket.off('data', onData);
          socket.off('close', onClose);
          if (err) reject(err);
          else resolve(answer!);
        };
        socket.on('data', onData);
        socket.once('close', onClose);
        socket.write(message);
      }),
    close: () => socket.destroy(),
  };
}

export type TurnProbeResult =
  { ok: true; relayed: string; mapped: string | undefined } | { ok: false; problem: 'unreachable' | 'credentials' | 'refused'; detail: string };

/** Allocates a relay on `url` with credentials from `secret`, then releases it. Never throws. */
export async function probeTurn(url: string, secret: string, timeoutMs = 3000): Promise<TurnProbeResult> {
  let target: TurnTarget;
  try {
    target = parseTurnUrl(url);
  } catch (err) {
    return { ok: false, problem: 'refused', detail: (err as Error).message };
  }
  const { username, credential } = turnCredentials({ urls: [url], secret, ttlSeconds: 600 }, 'pairux-check');
  let exchange: Exchange;
  try {
    exchange = await openExchange(target, timeoutMs);
  } catch (err) {
    return { ok: false, problem: 'unreachable', detail: (err as Error).message };
  }
  try {
    const udp = Buffer.from([17, 0, 0, 0]);
    let id = randomBytes(12);
    let answer: StunAnswer;
    try {
      answer = await exchange.ask(encodeRequest(ALLOCATE, id, [[ATTR.transport, udp]]), id, timeoutMs);
    } catch (err) {
      return { ok: false, problem: 'unreachable', detail: (err as Error).message };
    }
    const first = errorOf(answer);
    if (answer.type !== (ALLOCATE | ERROR) || first.code !== 401) {
      return {
        ok: false,
        problem: 'refused',
        detail: `an Allocate without credentials got ${answer.type === (ALLOCATE | SUCCESS) ? 'a relay (the server asks for no credentials: anyone can relay through it)' : `${first.code} ${first.reason}`}`,
      };
    }
    const realm = answer.attrs.get(ATTR.realm);
    const nonce = answer.attrs.get(ATTR.nonce);
    if (!realm || !nonce) return { ok: false, problem: 'refused', detail: 'the 401 carried no realm or nonce' };
    const key = createHash('md5')
      .update(`${username}:${realm.toString('utf8')}:${credential}`)
      .digest();
    const auth: Array<[number, Buffer]> = [
      [ATTR.username, Buffer.from(username ?? '')],
      [ATTR.realm, realm],
      [ATTR.nonce, nonce],
    ];
    id = randomBytes(12);
    answer = await exchange.ask(encodeRequest(ALLOCATE, id, [[ATTR.transport, udp], ...auth], key), id, timeoutMs);
    if (answer.type !== (ALLOCATE | SUCCESS)) {
      const e = errorOf(answer);
      return e.code === 401
        ? { ok: false, problem: 'credentials', detail: `401 ${e.reason}: the server does not accept credentials made from this secret` }
        : { ok: false, problem: 'refused', detail: `${e.code} ${e.reason}` };
    }
    const relayed = xorAddress(answer.attrs.get(ATTR.relayed), id) ?? 'an address it did not say';
    const mapped = xorAddress(answer.attrs.get(ATTR.mapped), id);
    // Release the relay at once rather than leave it for its 10-minute lifetime.
    const release = randomBytes(12);
    await exchange.ask(encodeRequest(REFRESH, release, [[ATTR.lifetime, Buffer.alloc(4)], ...auth], key), release, timeoutMs).catch(() => undefined);
    return { ok: true, relayed, mapped };
  } catch (err) {
    return { ok: false, problem: 'unreachable', detail: (err as Error).message };
  } finally {
    exchange.close();
  }
}
