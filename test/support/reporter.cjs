// Mocha's spec reporter plus the closing line CI counts: `N passed, N failed[, N skipped]`.
// Before it, the slowest top-level suites with their hooks (a LiveKit started, a desktop brought
// up), since the whole run has a budget and the per-test times leave the hooks out.
'use strict';
const fs = require('node:fs');
const path = require('node:path');
const Mocha = require('mocha');

const { EVENT_RUN_END, EVENT_SUITE_BEGIN, EVENT_SUITE_END } = Mocha.Runner.constants;
const SLOWEST = 15;

class PairuxReporter extends Mocha.reporters.Spec {
  constructor(runner, options) {
    super(runner, options);
    const started = new Map();
    const spent = [];
    runner.on(EVENT_SUITE_BEGIN, (suite) => {
      if (suite.parent?.root) started.set(suite, Date.now());
    });
    runner.on(EVENT_SUITE_END, (suite) => {
      const t0 = started.get(suite);
      if (t0 === undefined) return;
      started.delete(suite);
      const file = suite.file ? path.relative(process.cwd(), suite.file) : '';
      spent.push({ ms: Date.now() - t0, title: suite.title, file });
    });
    runner.once(EVENT_RUN_END, () => {
      const { passes, failures, pending } = runner.stats;
      // Spec's epilogue was registered first, so this lands after it. Synchronously: mocha's
      // --exit ends the process right after this event.
      const slow = spent.sort((a, b) => b.ms - a.ms).slice(0, SLOWEST);
      if (slow.length) {
        const lines = slow.map((s) => `  ${(s.ms / 1000).toFixed(1).padStart(6)} s  ${s.title}${s.file ? `  (${s.file})` : ''}`);
        process.stdout.write(`\nslowest suites, hooks included:\n${lines.join('\n')}\n\n`);
      }
      // One of the whole run's processes (scripts/test.mjs): it sums them into the closing line.
      const countsFile = process.env.PAIRUX_COUNTS_FILE;
      if (countsFile) {
        fs.writeFileSync(countsFile, JSON.stringify({ passes, failures, pending }));
        process.stdout.write(`this process: ${passes} ok, ${failures} not ok${pending ? `, ${pending} skipped` : ''}\n`);
        return;
      }
      process.stdout.write(`${passes} passed, ${failures} failed${pending ? `, ${pending} skipped` : ''}\n`);
    });
  }
}

module.exports = PairuxReporter;
