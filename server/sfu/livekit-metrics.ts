/**
 * A lone LiveKit server's load from its Prometheus endpoint (LiveKit's `prometheus.port`). A
 * server outside a cluster writes its `NodeStats` nowhere the control plane can read, and its
 * API's participant counts lag by up to 5 s; its `/metrics` has, at the moment of the scrape:
 * `livekit_room_total` and `livekit_participant_total` (gauges), and from the Go client's
 * default collectors `process_cpu_seconds_total` and `go_sched_gomaxprocs_threads`. CPU load is
 * then the server process's CPU time between two scrapes over the CPUs it may use: the SFU's
 * own share, unlike a cluster node's figure, which is the whole machine's.
 */

/** A scrape larger than this is not LiveKit's endpoint (its own is tens of kB). */
export const MAX_METRICS_BYTES = 4 * 1024 * 1024;

const WANTED = ['livekit_room_total', 'livekit_participant_total', 'process_cpu_seconds_total', 'go_sched_gomaxprocs_threads'] as const;
type Wanted = (typeof WANTED)[number];

/**
 * Sums each wanted metric over its series (LiveKit labels them by node). Prometheus's text
 * format: `name{labels} value [timestamp]`, comments and other metrics skipped.
 */
export function parseLiveKitMetrics(text: string): Partial<Record<Wanted, number>> {
  const out: Partial<Record<Wanted, number>> = {};
  for (const line of text.split('\n')) {
    if (!line || line.startsWith('#')) continue;
    const name = /^[a-zA-Z_:][a-zA-Z0-9_:]*/.exec(line)?.[0];
    if (!name || !(WANTED as readonly string[]).includes(name)) continue;
    // The value follows the name or the closing brace of its labels (a label value may hold spaces).
    const rest = line.slice(name.length);
    const afterLabels = rest.startsWith('{') ? rest.slice(closingBrace(rest) + 1) : rest;
    const value = Number(afterLabels.trim().split(/\s+/)[0]);
    if (!Number.isFinite(value)) continue;
    out[name as Wanted] = (out[name as Wanted] ?? 0) + value;
  }
  return out;
}

/** The body as text, refused (and the download stopped) past `max` bytes, announced or not. */
async function cappedText(res: Response, max: number): Promise<string> {
  const length = Number(res.headers.get('content-length') ?? 0);
  if (length > max) throw new Error(`${length} bytes, more than ${max}`);
  const reader = res.body?.getReader();
  if (!reader) return '';
  const chunks: Uint8Array[] = [];
  let total = 0;
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    total += value.byteLength;
    if (total > max) {
      await reader.cancel();
      throw new Error(`more than ${max} bytes`);
    }
    chunks.push(value);
  }
  return Buffer.concat(chunks).toString('utf8');
}

function closingBrace(s: string): number {
  let quoted = false;
  for (let i = 1; i < s.length; i++) {
    const c = s[i];
    if (c === '\\' && quoted) i++;
    else if (c === '"') quoted = !quoted;
    else if (c === '}' && !quoted) return i;
  }
  return s.length;
}

export interface LiveKitMetricsReading {
  rooms: number;
  participants: number;
  /** 0-1; undefined on the first scrape (a rate needs two). */
  cpuLoad: number | undefined;
}

/** Scrapes one endpoint; keeps the previous scrape for the CPU rate. */
export class LiveKitMetricsSampler {
  private previous: { at: number; cpuSeconds: number } | undefined;
  /** Where to scrape, without credentials (fetch refuses a URL that has them) and so fit for messages. */
  private readonly url: string;
  private readonly headers: Record<string, string> = {};

  constructor(
    url: string,
    private readonly timeoutMs: number,
    private readonly now: () => number = () => performance.now(),
  ) {
    // LiveKit's `prometheus.username` / `password` protect the endpoint with basic auth.
    const u = new URL(url);
    if (u.username || u.password) {
      this.headers.authorization = `Basic ${Buffer.from(`${decodeURIComponent(u.username)}:${decodeURIComponent(u.password)}`).toString('base64')}`;
      u.username = '';
      u.password = '';
    }
    this.url = u.toString();
  }

  async read(): Promise<LiveKitMetricsReading> {
    let text: string;
    try {
      const res = await fetch(this.url, { headers: this.headers, signal: AbortSignal.timeout(this.timeoutMs) });
      if (!res.ok) throw new Error(`HTTP ${res.status}`);
      text = await cappedText(res, MAX_METRICS_BYTES);
    } catch (err) {
      throw new Error(`its metrics at ${this.url} did not answer (${(err as Error).message})`, { cause: err });
    }
    return this.reading(parseLiveKitMetrics(text), this.now());
  }

  /** The figures of one scrape taken at `at` (ms); exported for the rate's own tests. */
  reading(m: Partial<Record<Wanted, number>>, at: number): LiveKitMetricsReading {
    if (m.livekit_participant_total === undefined || m.livekit_room_total === undefined) {
      throw new Error(`its metrics at ${this.url} are not LiveKit's (no livekit_room_total / livekit_participant_total)`);
    }
    const cpuSeconds = m.process_cpu_seconds_total;
    const cpus = m.go_sched_gomaxprocs_threads;
    let cpuLoad: number | undefined;
    const prev = this.previous;
    if (cpuSeconds !== undefined && cpus && prev && at > prev.at && cpuSeconds >= prev.cpuSeconds) {
      cpuLoad = Math.min(1, (cpuSeconds - prev.cpuSeconds) / (((at - prev.at) / 1000) * cpus));
    }
    // A restarted server's counter starts again from 0: the next scrape rates from here.
    this.previous = cpuSeconds === undefined ? undefined : { at, cpuSeconds };
    return { rooms: m.livekit_room_total, participants: m.livekit_participant_total, cpuLoad };
  }
}
