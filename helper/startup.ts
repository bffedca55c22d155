/**
 * What the helper finds out before it does anything: the platform (can it capture, inject?), the
 * keyboard layout, and what a previous helper left held, which it releases. All the X queries run
 * at once. It runs on the first request, not at process start, so a runner can keep a helper
 * spawned in advance (a warm standby) without it touching X while another helper is in charge.
 */
import { Keymap } from './inject/keymap';
import { HeldRecord } from './inject/wayland-held';
import { releaseHeldXtest } from './inject/xtest-recovery';
import { queryXtestState } from './native/x11';
import { probePlatform, type PlatformReport } from './platform';

export interface Startup {
  platform: PlatformReport;
  keymap: Keymap;
  releasedAtStart: string[];
}

export async function startUp(env: NodeJS.ProcessEnv, log: (line: string) => void): Promise<Startup> {
  const maybeX11 = process.platform === 'linux' && !!env.DISPLAY;
  const [platform, layout, held] = await Promise.all([
    probePlatform(env),
    maybeX11 ? Keymap.fromXServer(env) : Keymap.us(),
    maybeX11 ? queryXtestState(env) : undefined,
  ]);
  let keymap = Keymap.us();
  let releasedAtStart: string[] = [];
  if (platform.x11) {
    if (layout instanceof Error) log(`keyboard layout unknown (${layout.message}); assuming US`);
    else keymap = layout;
    if (held) {
      const recovery = await releaseHeldXtest(held, keymap, env);
      releasedAtStart = recovery.released;
      if (recovery.released.length) log(`released what a previous helper left held: ${recovery.released.join(' ')}`);
      for (const p of recovery.problems) log(p);
    }
  }
  if (platform.waylandInput) {
    // What a helper that died left held on the compositor (its record: wayland-held.ts).
    const record = HeldRecord.forDisplay(env);
    const held = record.read();
    if (held) {
      try {
        await new Promise((r) => setTimeout(r, 200));
        platform.waylandInput.release(held.buttons, held.keys);
        releasedAtStart = held.names;
        log(`released what a previous helper left held: ${held.names.join(' ')}`);
      } catch (err) {
        log(`could not release what a previous helper left held (${held.names.join(' ')}): ${(err as Error).message}`);
      }
      record.clear();
    }
  }
  if (!platform.capture.available) log(`capture unavailable: ${platform.capture.reason}`);
  else if (platform.capture.reason) log(`capture: ${platform.capture.reason}`);
  return { platform, keymap, releasedAtStart };
}
