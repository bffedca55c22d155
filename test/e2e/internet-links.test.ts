/**
 * The test internet's shaped access links (test/support/internet.ts with `shaped`, the delay line
 * standing in for netem, which this kernel lacks): what the latency bench's internet rows and any
 * test of a slow or lossy network rely on. Measured with UDP round trips from a private machine
 * through its NAT to an echo on the public machine, so each round trip crosses the access link
 * twice.
 */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { startInternet, type Internet } from '../support/internet';
import { runKept, stopKept, type Kept } from '../support/demo-machines';
import { eventually } from '../support/livekit';

const ECHO_PORT = 9999;

/** Echoes every datagram; a datagram starting "count" is answered with the bytes of the others received in the last 2 s. */
const ECHO = `const s = require('node:dgram').createSocket('udp4');
let got = [];
s.on('message', (m, r) => {
  if (m.subarray(0, 5).toString() === 'count') { const since = Date.now() - 2000; s.send(String(got.filter((g) => g.at >= since).reduce((a, g) => a + g.bytes, 0)), r.port, r.address); got = []; return; }
  if (m.length > 100) { got.push({ at: Date.now(), bytes: m.length }); return; }
  s.send(m, r.port, r.address);
});
s.bind(${ECHO_PORT}, process.argv[1], () => console.log('echo up'));`;

/** Sends 1000-byte datagrams at about 3.2 Mbit/s for 2.5 s, then asks how many bytes arrived in the last 2 s. */
const BLAST = `const s = require('node:dgram').createSocket('udp4');
const to = process.argv[1];
const big = Buffer.alloc(1000);
const t = setInterval(() => { for (let i = 0; i < 4; i++) s.send(big, ${ECHO_PORT}, to); }, 10);
setTimeout(() => { clearInterval(t); setTimeout(() => { s.once('message', (m) => { console.log(m.toString()); process.exit(0); }); s.send('count', ${ECHO_PORT}, to); }, 300); }, 2500);`;

/** Sends `count` datagrams 5 ms apart; prints each answered one's round trip (ms) and how many never came back. */
const PROBE = `const s = require('node:dgram').createSocket('udp4');
const [to, count] = [process.argv[1], Number(process.argv[2])];
const sent = new Map(), rtts = [];
s.on('message', (m) => { const t = sent.get(m.readUInt32BE(0)); if (t !== undefined) { rtts.push(performance.now() - t); sent.delete(m.readUInt32BE(0)); } });
let i = 0;
const next = () => { if (i === count) return setTimeout(() => { console.log(JSON.stringify({ rtts, lost: sent.size })); process.exit(0); }, 1500);
  const b = Buffer.alloc(64); b.writeUInt32BE(i); sent.set(i++, performance.now()); s.send(b, ${ECHO_PORT}, to); setTimeout(next, 5); };
next();`;

/** Runs `script` (node -e) on the private machine `from`, with the public machine's address and `args` as its arguments; its output. */
async function run(net: Internet, from: string, script: string, ...args: string[]): Promise<string> {
  const [cmd, argv] = net.machines[from]!.argv(process.execPath, '-e', script, net.pub.address, ...args);
  const child = spawn(cmd, argv, { stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  child.stdout.on('data', (d: Buffer) => (out += d.toString()));
  child.stderr.on('data', (d: Buffer) => (out += d.toString()));
  const code = await new Promise<number | null>((r) => child.once('exit', r));
  assert.equal(code, 0, out);
  return out.trim();
}

async function roundTrips(net: Internet, from: string, count: number): Promise<{ rtts: number[]; lost: number }> {
  return JSON.parse(await run(net, from, PROBE, String(count))) as { rtts: number[]; lost: number };
}

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;

describe('the test internet: shaped access links (delay and loss each way, as netem would)', function () {
  this.timeout(60_000);
  let net: Internet;
  let echo: Kept | undefined;

  before(async () => {
    net = await startInternet({ home: 'cone', office: 'symmetric' }, { shaped: true });
    echo = runKept(net.pub.argv(process.execPath, '-e', ECHO, net.pub.address), {});
    await eventually(
      () => (echo!.out().includes('echo up') ? true : undefined),
      () => `the echo to listen: ${echo!.out()}`,
      10_000,
    );
  });
  after(async () => {
    await stopKept(echo?.child);
    net?.close();
  });

  it('an unshaped link adds nothing: round trips through the NAT stay fast, none lost', async () => {
    const r = await roundTrips(net, 'home', 40);
    assert.equal(r.lost, 0);
    assert.ok(median(r.rtts) < 20, `median ${median(r.rtts).toFixed(1)} ms`);
  });

  it('a 40 ms link delays each crossing by 40 ms: every round trip takes at least 80 ms, and only that link is slowed', async () => {
    await net.shape('home', { delayMs: 40, lossPercent: 0 });
    const slow = await roundTrips(net, 'home', 40);
    assert.equal(slow.lost, 0);
    assert.ok(Math.min(...slow.rtts) >= 80, `fastest ${Math.min(...slow.rtts).toFixed(1)} ms`);
    assert.ok(median(slow.rtts) < 80 + 40, `median ${median(slow.rtts).toFixed(1)} ms`);
    const other = await roundTrips(net, 'office', 40);
    assert.ok(median(other.rtts) < 20, `the other machine's median ${median(other.rtts).toFixed(1)} ms`);
    await net.shape('home', { delayMs: 0, lossPercent: 0 });
  });

  it('20 % loss each way loses about 36 % of round trips (1 − 0.8²), and setting it back to 0 loses none', async () => {
    await net.shape('office', { delayMs: 0, lossPercent: 20 });
    const lossy = await roundTrips(net, 'office', 300);
    const rate = lossy.lost / 300;
    assert.ok(rate > 0.22 && rate < 0.5, `lost ${lossy.lost} of 300`);
    await net.shape('office', { delayMs: 0, lossPercent: 0 });
    assert.equal((await roundTrips(net, 'office', 60)).lost, 0);
  });

  it('a rate makes the link a bottleneck: 3.2 Mbit/s sent through an 800 kbit/s link arrives at about 800 kbit/s', async () => {
    const unshaped = (Number(await run(net, 'home', BLAST)) * 8) / 2 / 1000;
    assert.ok(unshaped > 2500, `without a rate ${unshaped.toFixed(0)} kbit/s arrived`);
    await net.shape('home', { delayMs: 0, lossPercent: 0, rateKbps: 800 });
    const kbps = (Number(await run(net, 'home', BLAST)) * 8) / 2 / 1000;
    assert.ok(kbps > 650 && kbps < 900, `${kbps.toFixed(0)} kbit/s arrived`);
    await net.shape('home', { delayMs: 0, lossPercent: 0 });
  });

  it('refuses a machine it does not have and a shape that makes no sense', async () => {
    await assert.rejects(net.shape('nobody', { delayMs: 1, lossPercent: 0 }), /no private machine "nobody"/);
    await assert.rejects(net.shape('home', { delayMs: -1, lossPercent: 0 }), /bad link shape/);
    await assert.rejects(net.shape('home', { delayMs: 0, lossPercent: 101 }), /bad link shape/);
    await assert.rejects(net.shape('home', { delayMs: 0, lossPercent: 0, rateKbps: -5 }), /bad link shape/);
  });
});
