/**
 * TURN credentials that expire mid-session (issue 14): what PairUX relies on, checked against the
 * real coturn with the control plane's own credentials (server/turn-credentials.ts). An expired
 * credential cannot make a new allocation, but an allocation made before the expiry keeps being
 * refreshed, and its permissions and channels too (coturn keeps the key the allocation
 * authenticated with): a relayed call does not drop when its credentials expire. New peer
 * connections take fresh credentials (webview/engine/signaling/ice-freshness.ts, tested here too).
 */
import assert from 'node:assert/strict';
import { createHash, randomBytes } from 'node:crypto';
import { createSocket, type Socket } from 'node:dgram';
import { decodeAnswer, encodeRequest, type StunAnswer } from '../../server/check/turn-probe';
import { turnCredentials } from '../../server/turn-credentials';
import { credentialsExpireAt, ICE_SERVERS_MAX_AGE_MS, iceServersStale } from '../../webview/engine/signaling/ice-freshness';
import { startCoturn, type Coturn } from '../support/coturn';

const ALLOCATE = 0x0003;
const REFRESH = 0x0004;
const CREATE_PERMISSION = 0x0008;
const CHANNEL_BIND = 0x0009;
const A = { username: 0x0006, errorCode: 0x0009, channel: 0x000c, lifetime: 0x000d, peer: 0x0012, realm: 0x0014, nonce: 0x0015, transport: 0x0019 };
const UDP = Buffer.from([17, 0, 0, 0]);

/** One TURN client on one UDP socket (one 5-tuple: one allocation). */
class TurnClient {
  private readonly socket: Socket = createSocket('udp4');
  private auth: { key: Buffer; attrs: Array<[number, Buffer]> } | undefined;
  constructor(private readonly turn: Coturn) {}

  ask(method: number, attrs: Array<[number, Buffer]>): Promise<StunAnswer> {
    const id = randomBytes(12);
    const message = encodeRequest(method, id, [...attrs, ...(this.auth?.attrs ?? [])], this.auth?.key);
    return new Promise((resolve, reject) => {
      const t = setTimeout(() => reject(new Error(`no answer to 0x${method.toString(16)}`)), 3000);
      this.socket.once('message', (b) => {
        clearTimeout(t);
        resolve(decodeAnswer(b, id));
      });
      this.socket.send(message, this.turn.port, '127.0.0.1');
    });
  }

  /** Takes realm and nonce from the server's 401, then signs with `username`/`credential` (long-term key). */
  async login(username: string, credential: string): Promise<void> {
    this.auth = undefined;
    const challenge = await this.ask(ALLOCATE, [[A.transport, UDP]]);
    const realm = challenge.attrs.get(A.realm)!;
    const nonce = challenge.attrs.get(A.nonce)!;
    this.auth = {
      key: createHash('md5').update(`${username}:${realm.toString()}:${credential}`).digest(),
      attrs: [
        [A.username, Buffer.from(username)],
        [A.realm, realm],
        [A.nonce, nonce],
      ],
    };
  }

  close(): void {
    this.socket.close();
  }
}

/** A success answer is the method | 0x0100, an error the method | 0x0110 with its code. */
function outcome(a: StunAnswer, method: number): string {
  if (a.type === (method | 0x0100)) return 'ok';
  const e = a.attrs.get(A.errorCode);
  return e ? `error ${(e[2]! & 7) * 100 + e[3]!}` : `type 0x${a.type.toString(16)}`;
}

function peer(port: number): Buffer {
  // XOR-PEER-ADDRESS for 127.0.0.1:port.
  const b = Buffer.alloc(8);
  b[1] = 0x01;
  b.writeUInt16BE(port ^ 0x2112, 2);
  b.writeUInt32BE((0x7f000001 ^ 0x2112a442) >>> 0, 4);
  return b;
}

describe('TURN credentials that expire mid-session (real coturn, the control plane’s credentials)', function () {
  this.timeout(30_000);
  let turn: Coturn;
  before(async () => {
    turn = await startCoturn();
  });
  after(async () => turn?.stop());

  it('an allocation made before the expiry is refreshed, and gets permissions and a channel, after it; a new one with the same credentials is refused', async () => {
    // Three seconds of life: the control plane's scheme with a lifetime no deployment would pick.
    const creds = turnCredentials({ urls: [turn.url], secret: turn.secret, ttlSeconds: 3 }, 'guest-1');
    const early = new TurnClient(turn);
    const late = new TurnClient(turn);
    const renewed = new TurnClient(turn);
    try {
      await early.login(creds.username!, creds.credential!);
      assert.equal(outcome(await early.ask(ALLOCATE, [[A.transport, UDP]]), ALLOCATE), 'ok', 'allocated while the credentials were valid');
      await new Promise((r) => setTimeout(r, 4500));

      // The refusal first: the expired credentials reached coturn, which checks them for a new allocation.
      await late.login(creds.username!, creds.credential!);
      assert.equal(outcome(await late.ask(ALLOCATE, [[A.transport, UDP]]), ALLOCATE), 'error 401', 'a new allocation with expired credentials');

      const life = Buffer.alloc(4);
      life.writeUInt32BE(600);
      assert.equal(outcome(await early.ask(REFRESH, [[A.lifetime, life]]), REFRESH), 'ok', 'the allocation is refreshed after the expiry');
      assert.equal(outcome(await early.ask(CREATE_PERMISSION, [[A.peer, peer(40000)]]), CREATE_PERMISSION), 'ok', 'a permission after the expiry');
      const channel = Buffer.from([0x40, 0x01, 0, 0]);
      assert.equal(
        outcome(
          await early.ask(CHANNEL_BIND, [
            [A.channel, channel],
            [A.peer, peer(40001)],
          ]),
          CHANNEL_BIND,
        ),
        'ok',
        'a channel after the expiry',
      );

      // Fresh credentials (what a page asks for before a new connection) allocate again.
      const fresh = turnCredentials({ urls: [turn.url], secret: turn.secret, ttlSeconds: 60 }, 'guest-1');
      await renewed.login(fresh.username!, fresh.credential!);
      assert.equal(outcome(await renewed.ask(ALLOCATE, [[A.transport, UDP]]), ALLOCATE), 'ok', 'fresh credentials allocate');
    } finally {
      for (const c of [early, late, renewed]) c.close();
    }
  });

  it('a page takes fresh ICE servers for a new connection past half the credentials’ lifetime, or after five minutes', () => {
    const now = Date.parse('2026-12-06T12:00:00Z');
    const servers = (ttl: number) => [{ urls: ['stun:x:3478'] }, turnCredentials({ urls: ['turn:x:3478'], secret: 'a-secret', ttlSeconds: ttl }, 'p', now)];
    assert.equal(credentialsExpireAt(servers(60)), now + 60_000);
    assert.equal(credentialsExpireAt([{ urls: ['stun:x'] }, { urls: ['turn:x'], username: 'static-user', credential: 'pw' }]), undefined);
    // A minute's credentials: fresh for 30 s.
    assert.equal(iceServersStale(servers(60), now, now + 29_000), false);
    assert.equal(iceServersStale(servers(60), now, now + 30_000), true);
    // An hour's credentials (the default): the five-minute refresh comes first.
    assert.equal(iceServersStale(servers(3600), now, now + ICE_SERVERS_MAX_AGE_MS), false);
    assert.equal(iceServersStale(servers(3600), now, now + ICE_SERVERS_MAX_AGE_MS + 1), true);
    // No TURN, or static credentials: only the age counts.
    assert.equal(iceServersStale([{ urls: ['stun:x'] }], now, now + 60_000), false);
  });
});
