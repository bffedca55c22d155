/** Assertions the specs share. */
import assert from 'node:assert/strict';
import { PairuxError } from '../../protocol/errors';

/** Resolves with the PairuxError `promise` rejected with, after checking its code. */
export async function rejects(promise: Promise<unknown>, code: string): Promise<PairuxError> {
  try {
    await promise;
  } catch (err) {
    assert.ok(err instanceof PairuxError, `expected a PairuxError, got ${String(err)}`);
    assert.equal(err.code, code, err.message);
    return err;
  }
  assert.fail(`expected ${code}, but it succeeded`);
}
