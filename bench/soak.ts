/**
 * `npm run soak [-- --minutes=N --seed=N]` (default 30 minutes): one session, its host real (the
 * host panel's page in Chromium behind the extension's webview bridge, the runner, the helper on
 * Xvfb, the control plane as its own process: bench/support/soak-host.ts), guests
 * joining, leaving, dropping, being removed, asking for control (allowed or denied by the host's
 * prompt) and losing it (released, stop-all, leaving while driving) every few seconds. Each minute
 * it samples the server's RSS and open files, the helper's RSS, the host page's heap and this
 * process's handles; at the end it asserts they are flat, that no participant is left 'granted' or
 * 'requested', and that the helper grants nobody. Exit code 1 when one of those fails.
 */
import { Gen } from '../test/fuzz/support/generate';
import { tokenOf } from '../test/support/control-plane';
import { TestClient } from '../test/support/signaling-client';
import { Churn } from './support/soak-churn';
import { startSoakHost } from './support/soak-host';
import { activeHandles, openFds, pageHeap, printTable, rssMb, type Sample } from './support/soak-sample';

const arg = (name: string, fallback: number) => Number(process.argv.find((a) => a.startsWith(`--${name}=`))?.split('=')[1] ?? fallback);
const MINUTES = arg('minutes', 30);
const SEED = arg('seed', 12);
/** Tolerances, from the first sample after a minute of warm-up to the one after the churn stops. */
const TOLERANCE = { serverRssMb: 30, serverFds: 8, helperRssMb: 40, hostHeapMb: 15, benchHandles: 10 };
const GRACE_MS = 3000;

async function main(): Promise<number> {
  const rig = await startSoakHost({ allow: (name) => /^Ctl \d*[02468]$/.test(name), graceMs: GRACE_MS, width: 640, height: 480 });
  const planePid = rig.plane.pid;
  const churn = new Churn(rig, new Gen(SEED));
  const samples: Sample[] = [];
  const started = Date.now();
  let grants = 0;
  let lastController: string | null = null;
  const watchGrants = setInterval(() => {
    const c = rig.helper.controller;
    if (c && c !== lastController) grants++;
    lastController = c;
  }, 100);
  const sample = async () => {
    samples.push({
      minute: (Date.now() - started) / 60_000,
      serverRssMb: rssMb(planePid),
      serverFds: openFds(planePid),
      helperRssMb: rssMb(rig.helper.pid!),
      hostHeapMb: await pageHeap(rig.page),
      benchHandles: activeHandles(),
      guests: churn.guests.size,
      actions: Object.values(churn.done).reduce((a, b) => a + b, 0),
    });
    const s = samples.at(-1)!;
    console.log(
      `soak ${s.minute.toFixed(1)} min: server ${s.serverRssMb.toFixed(1)} MB / ${s.serverFds} fds, helper ${s.helperRssMb.toFixed(1)} MB, host page ${s.hostHeapMb.toFixed(1)} MB, ${s.benchHandles} handles, ${s.guests} guests, ${s.actions} actions`,
    );
  };
  console.log(`soak: ${MINUTES} min, seed ${SEED}; server pid ${planePid}, helper pid ${rig.helper.pid}`);
  let exit = 0;
  try {
    await sample();
    let nextSample = started + 60_000;
    const g = new Gen(SEED + 1);
    while (Date.now() - started < MINUTES * 60_000) {
      await churn.step();
      await new Promise((r) => setTimeout(r, g.int(1000, 3000)));
      if (Date.now() >= nextSample) {
        await sample();
        nextSample += 60_000;
      }
    }
    await churn.stop();
    // Dropped guests' seats outlast them by the grace; then everything the churn made is gone.
    await new Promise((r) => setTimeout(r, GRACE_MS + 2000));
    await sample();

    const observer = await TestClient.connect(rig.plane.url);
    const seen = await observer.join(rig.session.sessionId, tokenOf(await rig.createLink('viewer')), 'Observer');
    observer.close();
    const stuck = seen.participants.filter((p) => p.controlState !== 'none');
    const helperStats = await rig.helper.inputStats();

    console.log('');
    printTable(samples);
    const base = samples.find((s) => s.minute >= 1) ?? samples[0]!;
    const last = samples.at(-1)!;
    const checks: Array<[string, boolean, string]> = [
      [
        'server RSS',
        last.serverRssMb - base.serverRssMb < TOLERANCE.serverRssMb,
        `${base.serverRssMb.toFixed(1)} → ${last.serverRssMb.toFixed(1)} MB (tolerance +${TOLERANCE.serverRssMb})`,
      ],
      [
        'server open files',
        last.serverFds - base.serverFds <= TOLERANCE.serverFds,
        `${base.serverFds} → ${last.serverFds} (tolerance +${TOLERANCE.serverFds})`,
      ],
      [
        'helper RSS',
        last.helperRssMb - base.helperRssMb < TOLERANCE.helperRssMb,
        `${base.helperRssMb.toFixed(1)} → ${last.helperRssMb.toFixed(1)} MB (tolerance +${TOLERANCE.helperRssMb})`,
      ],
      [
        'host page heap',
        last.hostHeapMb - base.hostHeapMb < TOLERANCE.hostHeapMb,
        `${base.hostHeapMb.toFixed(1)} → ${last.hostHeapMb.toFixed(1)} MB (tolerance +${TOLERANCE.hostHeapMb})`,
      ],
      [
        'bench handles',
        last.benchHandles - base.benchHandles <= TOLERANCE.benchHandles,
        `${base.benchHandles} → ${last.benchHandles} (tolerance +${TOLERANCE.benchHandles})`,
      ],
      [
        'no stuck control',
        stuck.length === 0,
        stuck.length
          ? stuck.map((p) => `${p.name} ${p.controlState}`).join(', ')
          : `left: ${seen.participants.map((p) => `${p.name} (${p.role}, ${p.controlState})`).join(', ')}`,
      ],
      ['helper grants nobody', helperStats.granted === null && rig.helper.controller === null, `granted ${String(helperStats.granted)}`],
      ['control was real', grants > 0, `${grants} grants reached the helper, ${rig.asked.length} prompts`],
    ];
    console.log('');
    console.log(`actions: ${JSON.stringify(churn.done)}`);
    if (churn.failures.length) console.log(`failed actions (first ${churn.failures.length}): ${churn.failures.join('; ')}`);
    for (const [what, ok, detail] of checks) {
      console.log(`${ok ? 'ok  ' : 'FAIL'} ${what}: ${detail}`);
      if (!ok) exit = 1;
    }
  } finally {
    clearInterval(watchGrants);
    await churn.stop().catch(() => undefined);
    await rig.close();
  }
  return exit;
}

main().then(
  (code) => process.exit(code),
  (err: unknown) => {
    console.error(err);
    process.exit(1);
  },
);
