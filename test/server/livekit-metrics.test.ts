/** A lone LiveKit's load from its Prometheus endpoint: what is read, how CPU is rated, and every way a scrape can be no good. */
import assert from 'node:assert/strict';
import { createServer, type IncomingHttpHeaders, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { LiveKitMetricsSampler, MAX_METRICS_BYTES, parseLiveKitMetrics } from '../../server/sfu/livekit-metrics';

const SCRAPE = `# HELP livekit_room_total Number of rooms
# TYPE livekit_room_total gauge
livekit_room_total{node_id="ND_a",node_type="SERVER"} 3
livekit_participant_total{node_id="ND_a",node_type="SERVER"} 7
livekit_participant_total{node_id="ND_b",node_type="SERVER",note="a } in a label \\" quoted"} 2
livekit_participant_totally_else 100
process_cpu_seconds_total 12.5
go_sched_gomaxprocs_threads 4
go_goroutines 321
`;

describe("server: LiveKit metrics (a lone server's load)", () => {
  it('sums the wanted series, whatever their labels hold, and skips comments and other metrics', () => {
    assert.deepEqual(parseLiveKitMetrics(SCRAPE), {
      livekit_room_total: 3,
      livekit_participant_total: 9,
      process_cpu_seconds_total: 12.5,
      go_sched_gomaxprocs_threads: 4,
    });
  });

  it("rates CPU as the process's CPU seconds between two scrapes over the CPUs it may use, from the second scrape on", () => {
    const s = new LiveKitMetricsSampler('http://127.0.0.1:1/metrics', 1000);
    const m = (cpu: number) => ({ livekit_room_total: 1, livekit_participant_total: 2, process_cpu_seconds_total: cpu, go_sched_gomaxprocs_threads: 4 });
    assert.deepEqual(s.reading(m(10), 0), { rooms: 1, participants: 2, cpuLoad: undefined }, 'one scrape is no rate');
    assert.equal(s.reading(m(12), 1000).cpuLoad, 0.5, '2 CPU seconds in 1 s on 4 CPUs');
    assert.equal(s.reading(m(12), 2000).cpuLoad, 0, 'idle');
    assert.equal(s.reading(m(30), 3000).cpuLoad, 1, 'capped at all of them');
    assert.equal(s.reading(m(0.2), 4000).cpuLoad, undefined, 'a restarted server: its counter began again');
    assert.equal(s.reading(m(1.2), 6000).cpuLoad, 0.125, 'rated from the restart on');
  });

  it("refuses a scrape that is not LiveKit's", () => {
    const s = new LiveKitMetricsSampler('http://127.0.0.1:1/metrics', 1000);
    assert.throws(
      () => s.reading(parseLiveKitMetrics('process_cpu_seconds_total 1\n'), 0),
      /at http:\/\/127\.0\.0\.1:1\/metrics are not LiveKit's \(no livekit_room_total/,
    );
  });

  describe('scraping', () => {
    let server: Server;
    let reply: (res: import('node:http').ServerResponse) => void;
    let seen: IncomingHttpHeaders | undefined;
    let base = '';
    before(async () => {
      server = createServer((req, res) => {
        seen = req.headers;
        reply(res);
      });
      await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
      base = `127.0.0.1:${(server.address() as AddressInfo).port}`;
    });
    after(() => new Promise<void>((r) => server.close(() => r())));

    it('reads the endpoint, with basic auth from the URL kept out of requests and messages', async () => {
      reply = (res) => res.end(SCRAPE);
      const s = new LiveKitMetricsSampler(`http://prom:s%3Acret@${base}/metrics`, 2000);
      assert.deepEqual(await s.read(), { rooms: 3, participants: 9, cpuLoad: undefined });
      assert.equal(seen?.authorization, `Basic ${Buffer.from('prom:s:cret').toString('base64')}`);
      reply = (res) => res.writeHead(401).end();
      await assert.rejects(s.read(), (err: Error) => err.message === `its metrics at http://${base}/metrics did not answer (HTTP 401)`);
    });

    it('says why when the endpoint is closed, hangs, or sends too much', async () => {
      const closed = new LiveKitMetricsSampler('http://127.0.0.1:1/metrics', 500);
      await assert.rejects(closed.read(), /^Error: its metrics at http:\/\/127\.0\.0\.1:1\/metrics did not answer \(fetch failed\)$/);
      reply = () => undefined; // never answers
      await assert.rejects(new LiveKitMetricsSampler(`http://${base}/metrics`, 300).read(), /did not answer \(.*(timeout|aborted).*\)/i);
      reply = (res) => res.end('x'.repeat(MAX_METRICS_BYTES + 1));
      await assert.rejects(new LiveKitMetricsSampler(`http://${base}/metrics`, 5000).read(), /did not answer \(\d+ bytes, more than 4194304\)/);
      // Chunked, with no length announced: stopped once past the cap.
      reply = (res) => {
        res.writeHead(200, { 'content-type': 'text/plain' });
        const chunk = 'y'.repeat(1024 * 1024);
        for (let i = 0; i < 5; i++) res.write(chunk);
        res.end();
      };
      await assert.rejects(new LiveKitMetricsSampler(`http://${base}/metrics`, 5000).read(), /did not answer \(more than 4194304 bytes\)/);
    });
  });
});
