/**
 * How to start the helper. It runs the way its runner runs: a runner loaded from TypeScript
 * source (tests, benches, `tsx`) starts `helper/main.ts` through tsx, and a bundled runner (the
 * demo or extension in dist/) starts the bundled `dist/helper.js`, so the two never drift apart.
 */
import { existsSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

export interface HelperCommand {
  command: string;
  args: string[];
  cwd: string;
  /** Extra environment the command needs (Electron's node mode in VS Code). */
  env: Record<string, string>;
  from: 'source' | 'bundle';
}

export interface ResolveHelperOptions {
  /** The repository (or extension) root; by default found from this module's location. */
  root?: string;
  /** Force one form; by default the form this module was loaded in. */
  from?: 'source' | 'bundle';
}

export function resolveHelperCommand(options: ResolveHelperOptions = {}): HelperCommand {
  const here = fileURLToPath(import.meta.url);
  // helper/command.ts and dist/<bundle>.js both sit one level below the root.
  const root = options.root ?? path.resolve(path.dirname(here), '..');
  const from = options.from ?? (here.endsWith('.ts') ? 'source' : 'bundle');
  // Inside VS Code, process.execPath is Electron: this makes it behave as plain Node.
  const env: Record<string, string> = process.versions.electron ? { ELECTRON_RUN_AS_NODE: '1' } : {};
  const bundle = path.join(root, 'dist', 'helper.js');
  const entry = path.join(root, 'helper', 'main.ts');
  if (from === 'bundle' && existsSync(bundle)) return { command: process.execPath, args: [bundle], cwd: root, env, from };
  if (!existsSync(entry)) throw new Error(`neither the helper bundle ${bundle} nor its source ${entry} is there: run \`npm run build\``);
  // `--import tsx` resolves from the working directory, hence cwd = root.
  return { command: process.execPath, args: ['--import', 'tsx', entry], cwd: root, env, from: 'source' };
}
