/**
 * What the tests that run PairUX on other (namespaced) machines share: a child process whose
 * output is kept for the failure message, stopping it for sure, and the demo desktop's guest
 * routine: ask for control, click into the host's terminal, type a command, see it run on the host.
 */
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import type { ViewerPage } from './browser-viewer';
import { eventually } from './livekit';
import { pointOnVideo } from './real-host-rig';

export const ROOT = fileURLToPath(new URL('../..', import.meta.url));
/** The demo's virtual desktop background (demo/desktop.ts). */
export const DESKTOP: [number, number, number] = [0x22, 0x38, 0x4f];

export interface Kept {
  child: ChildProcess;
  out(): string;
}

/** Runs `argv` (e.g. a Machine's `argv(...)`) from the repository root, keeping what it prints. */
export function runKept(argv: [string, string[]], env: NodeJS.ProcessEnv = {}): Kept {
  let out = '';
  const child = spawn(argv[0], argv[1], { cwd: ROOT, env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
  child.stdout!.on('data', (d: Buffer) => (out += d.toString()));
  child.stderr!.on('data', (d: Buffer) => (out += d.toString()));
  return { child, out: () => out };
}

/** `signal`, then SIGKILL after 10 s. */
export async function stopKept(child: ChildProcess | undefined, signal: NodeJS.Signals = 'SIGTERM'): Promise<void> {
  if (!child || child.exitCode !== null || child.signalCode !== null) return;
  child.kill(signal);
  await new Promise((resolve) => {
    const t = setTimeout(() => (child.kill('SIGKILL'), resolve(undefined)), 10_000);
    child.once('exit', () => (clearTimeout(t), resolve(undefined)));
  });
}

/**
 * The guest asks for control (the demo allows it), waits until it drives, and clicks the host's
 * screen at (x, y) of its picture: the window there gets the pointer and so the keyboard.
 */
export async function driveAndClick(guest: ViewerPage, screen: { width: number; height: number }, x: number, y: number): Promise<void> {
  await guest.page.click('#control-request');
  await eventually(() => guest.page.evaluate(() => (document.body.dataset.control === 'driving' ? true : undefined)), 'the guest to be driving', 20_000);
  const box = await guest.page.locator('video').boundingBox();
  assert.ok(box);
  const at = pointOnVideo(box, screen, x, y);
  await guest.page.mouse.click(at.x, at.y);
}

/**
 * The guest asks for control, clicks the demo's terminal (the window at the top right: the click
 * gives it the pointer and so the keyboard), types `echo <word> > <proof>` and Enter; resolves
 * once the host's shell has written the file (the filesystem is shared between namespaces).
 */
export async function typeIntoHostTerminal(
  guest: ViewerPage,
  screen: { width: number; height: number },
  proof: string,
  word: string,
  said: () => string,
): Promise<void> {
  await driveAndClick(guest, screen, 1000, 150);
  await guest.page.keyboard.type(`echo ${word} > ${proof}`, { delay: 10 });
  await guest.page.keyboard.press('Enter');
  await eventually(
    () => (existsSync(proof) && readFileSync(proof, 'utf8') === `${word}\n` ? true : undefined),
    () => `the command typed by the guest to run in the host's terminal; ${said()}`,
    20_000,
  );
}
