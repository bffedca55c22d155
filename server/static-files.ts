/**
 * Serves the built page bundles (dist/webview) without ever leaving that folder. Source maps are
 * not served: they would hand out the code's structure (and with sourcesContent, the sources).
 */
import { existsSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const TYPES: Record<string, string> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.svg': 'image/svg+xml',
  '.png': 'image/png',
  '.woff2': 'font/woff2',
  '.ttf': 'font/ttf',
};

/** dist/webview beside the bundled server, or under the repo when running from source. */
export function findWebviewDist(configured?: string): string {
  const candidates = configured
    ? [configured]
    : [fileURLToPath(new URL('./webview', import.meta.url)), fileURLToPath(new URL('../dist/webview', import.meta.url))];
  const found = candidates.find((dir) => existsSync(path.join(dir, 'viewer.html')));
  if (!found) {
    throw new Error(`the viewer page is not built (looked in ${candidates.join(', ')}); run \`npm run build\``);
  }
  return found;
}

export interface StaticFile {
  body: Buffer;
  contentType: string;
}

export class StaticFiles {
  constructor(readonly root: string) {}

  /** `relative` is a URL path below the root; undefined when missing or outside it. */
  async get(relative: string): Promise<StaticFile | undefined> {
    let decoded: string;
    try {
      decoded = decodeURIComponent(relative);
    } catch {
      return undefined;
    }
    if (decoded.includes('\0')) return undefined;
    const full = path.resolve(this.root, `.${path.posix.normalize(`/${decoded}`)}`);
    if (!full.startsWith(this.root + path.sep)) return undefined;
    const contentType = TYPES[path.extname(full)];
    if (!contentType) return undefined;
    try {
      return { body: await readFile(full), contentType };
    } catch {
      return undefined;
    }
  }
}
