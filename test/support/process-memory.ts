/**
 * Searches a live process's memory for byte strings (as root, through /proc/<pid>/maps and
 * /proc/<pid>/mem): what a process holds, not only what it printed. Regions that cannot be
 * read (guard pages, vsyscall) are skipped.
 */
import { closeSync, openSync, readFileSync, readSync } from 'node:fs';

const CHUNK = 4 * 1024 * 1024;

/** Which of `needles` occur anywhere in the readable memory of `pid`, and how many bytes were searched. */
export function searchMemory(pid: number, needles: Buffer[]): { found: Buffer[]; bytes: number } {
  const regions = readFileSync(`/proc/${pid}/maps`, 'utf8')
    .split('\n')
    .map((line) => /^([0-9a-f]+)-([0-9a-f]+) (r)/.exec(line))
    .filter((m): m is RegExpExecArray => m !== null)
    .map((m) => ({ start: Number.parseInt(m[1]!, 16), end: Number.parseInt(m[2]!, 16) }));
  const longest = Math.max(...needles.map((n) => n.length));
  const found = new Set<Buffer>();
  let bytes = 0;
  const fd = openSync(`/proc/${pid}/mem`, 'r');
  try {
    for (const r of regions) {
      let tail = Buffer.alloc(0);
      for (let at = r.start; at < r.end; at += CHUNK) {
        const len = Math.min(CHUNK, r.end - at);
        const buf = Buffer.alloc(len);
        let n: number;
        try {
          n = readSync(fd, buf, 0, len, at);
        } catch {
          break;
        }
        bytes += n;
        // A needle split across two chunks is found in the previous chunk's tail joined to this one.
        const hay = Buffer.concat([tail, buf.subarray(0, n)]);
        for (const needle of needles) if (!found.has(needle) && hay.includes(needle)) found.add(needle);
        tail = hay.subarray(Math.max(0, hay.length - longest + 1));
      }
    }
  } finally {
    closeSync(fd);
  }
  return { found: [...found], bytes };
}
