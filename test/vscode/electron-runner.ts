/**
 * The same inner suite (test/vscode/suite/) in desktop VS Code via @vscode/test-electron, for
 * machines where VS Code can be downloaded (`npm run test:electron`). There is no UI driver
 * here: inner tests that need one fail, naming it (requireParts; the inner mocha forbids
 * pending tests, so nothing is skipped unseen). The code-server harness
 * (test/vscode/workbench.test.ts, part of npm test) is the one that runs everywhere.
 *
 *   PAIRUX_VSCODE_VERSION=1.100.3 (default) | stable | insiders
 *   PAIRUX_VSCODE_GREP=pattern     inner mocha grep
 */
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { downloadAndUnzipVSCode, runTests } from '@vscode/test-electron';
import { INNER_SUITE_INDEX, ROOT } from './support/workbench';

const version = process.env.PAIRUX_VSCODE_VERSION ?? '1.100.3';
const cachePath = path.join(ROOT, '.cache', 'vscode-test');
const PROBE = 'https://update.code.visualstudio.com/api/releases/stable';

function fail(message: string): never {
  console.error(`[test:electron] ${message}`);
  process.exit(1);
}

/** Without a network the download would otherwise wait on its idle timeout per retry; ask once, briefly. */
async function probeDownloadServer(): Promise<void> {
  try {
    const res = await fetch(PROBE, { signal: AbortSignal.timeout(8000) });
    if (!res.ok) fail(`${PROBE} answered ${res.status}; VS Code cannot be downloaded from here.`);
  } catch (err) {
    const why = err instanceof Error ? `${err.message}${err.cause instanceof Error ? ` (${err.cause.message})` : ''}` : String(err);
    fail(
      `cannot reach ${new URL(PROBE).host} to download VS Code ${version}: ${why}.\n` +
        'This runner needs that download; on a machine without it, the same suite runs in code-server: npm test -- test/vscode/workbench.test.ts',
    );
  }
}

async function main(): Promise<void> {
  if (!existsSync(INNER_SUITE_INDEX)) fail(`${INNER_SUITE_INDEX} is missing: run node esbuild.config.mjs`);
  // Electron needs an X display; on a headless machine this re-runs itself under xvfb-run.
  if (process.platform === 'linux' && !process.env.DISPLAY && !process.env.PAIRUX_UNDER_XVFB) {
    await probeDownloadServer();
    if (spawnSync('sh', ['-c', 'command -v xvfb-run'], { stdio: 'ignore' }).status !== 0) fail('no DISPLAY and no xvfb-run (Debian package xvfb)');
    const r = spawnSync('xvfb-run', ['-a', process.execPath, ...process.execArgv, ...process.argv.slice(1)], {
      stdio: 'inherit',
      env: { ...process.env, PAIRUX_UNDER_XVFB: '1' },
    });
    process.exit(r.status ?? 1);
  }
  mkdirSync(cachePath, { recursive: true });
  if (!readdirSync(cachePath).some((name) => name.includes(version))) await probeDownloadServer();

  const vscodeExecutablePath = await downloadAndUnzipVSCode({ version, cachePath, timeout: 30_000 });
  const runDir = mkdtempSync(path.join(os.tmpdir(), 'pairux-vscode-electron-'));
  mkdirSync(path.join(runDir, 'workspace'));
  try {
    const code = await runTests({
      vscodeExecutablePath,
      extensionDevelopmentPath: ROOT,
      extensionTestsPath: INNER_SUITE_INDEX,
      launchArgs: [
        path.join(runDir, 'workspace'),
        '--user-data-dir',
        path.join(runDir, 'user-data'),
        '--extensions-dir',
        path.join(runDir, 'extensions'),
        '--disable-workspace-trust',
        '--disable-telemetry',
        '--skip-welcome',
        '--skip-release-notes',
        '--no-sandbox',
      ],
      extensionTestsEnv: process.env.PAIRUX_VSCODE_GREP ? { PAIRUX_VSCODE_GREP: process.env.PAIRUX_VSCODE_GREP } : {},
    });
    process.exitCode = code;
  } finally {
    rmSync(runDir, { recursive: true, force: true });
  }
}

main().catch((err: unknown) => fail(err instanceof Error ? err.message : String(err)));
