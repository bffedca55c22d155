// Mocha's spec reporter plus the closing line CI counts: `N passed, N failed[, N skipped]`.
'use strict';
const Mocha = require('mocha');

class PairuxReporter extends Mocha.reporters.Spec {
  constructor(runner, options) {
    super(runner, options);
    runner.once(Mocha.Runner.constants.EVENT_RUN_END, () => {
      const { passes, failures, pending } = runner.stats;
      // Spec's epilogue was registered first, so this lands after it. Synchronously: mocha's
      // --exit ends the process right after this event.
      process.stdout.write(`${passes} passed, ${failures} failed${pending ? `, ${pending} skipped` : ''}\n`);
    });
  }
}

module.exports = PairuxReporter;
