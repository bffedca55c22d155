/** What the soak samples each minute: the server process, the helper, the host page, this process. */
import { readdirSync, readFileSync } from 'node:fs';
import type { Page } from 'playwright-core';

export interface Sample {
  minute: number;
  serverRssMb: number;
  serverFds: number;
  helperRssMb: number;
  hostHeapMb: number;
  benchHandles: number;
  guests: number;
  actions: number;
}

export function rssMb(pid: number): number {
  const kb = Number(/VmRSS:\s+(\d+)/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))?.[1] ?? NaN);
  return kb / 1024;
}

export function openFds(pid: number): number {
  return readdirSync(`/proc/${pid}/fd`).length;
}

/** Active libuv handles of this process (sockets, timers, child pipes): what would leak here. */
export function activeHandles(): number {
  return (process as unknown as { _getActiveHandles(): unknown[] })._getActiveHandles().length;
}

export async function pageHeap(page: Page): Promise<number> {
  const cdp = await page.context().newCDPSession(page);
  await cdp.send('HeapProfiler.collectGarbage');
  const { usedSize } = (await cdp.send('Runtime.getHeapUsage')) as { usedSize: number };
  await cdp.detach();
  return usedSize / 2 ** 20;
}

export function printTable(samples: Sample[]): void {
  const head = ['minute', 'server RSS MB', 'server fds', 'helper RSS MB', 'host page heap MB', 'bench handles', 'guests', 'actions so far'];
  const rows = samples.map((s) =>
    [s.minute.toFixed(1), s.serverRssMb.toFixed(1), s.serverFds, s.helperRssMb.toFixed(1), s.hostHeapMb.toFixed(1), s.benchHandles, s.guests, s.actions].map(
      String,
    ),
  );
  const widths = head.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i]!.length)));
  const line = (cells: string[]) => `| ${cells.map((c, i) => c.padEnd(widths[i]!)).join(' | ')} |`;
  console.log(line(head));
  console.log(`|${widths.map((w) => '-'.repeat(w + 2)).join('|')}|`);
  for (const r of rows) console.log(line(r));
}
