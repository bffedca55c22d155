/** Share links: what a pasted link must look like, and what the user is told when it does not. */
import assert from 'node:assert/strict';
import { ErrorCode, PairuxError } from '../../protocol/errors';
import { formatShareLink, parseShareLink, peekClaims } from '../../protocol/share-link';
import { JoinTokens } from '../../server/join-tokens';

function failure(input: string): PairuxError {
  try {
    parseShareLink(input);
  } catch (e) {
    assert.ok(e instanceof PairuxError);
    return e;
  }
  assert.fail(`${input} parsed`);
}

describe('protocol: share links', () => {
  it('round-trips a link, with the token in the fragment only', () => {
    const link = formatShareLink('http://127.0.0.1:4000/', 'abc_123', 'aaa.bbb.ccc');
    assert.equal(link, 'http://127.0.0.1:4000/s/abc_123#t=aaa.bbb.ccc');
    assert.deepEqual(parseShareLink(`  ${link}\n`), { origin: 'http://127.0.0.1:4000', sessionId: 'abc_123', token: 'aaa.bbb.ccc' });
    assert.equal(new URL(link).search, '');
  });

  it('says what is wrong with a bad link', () => {
    assert.match(failure('hello').message, /not a link/);
    assert.match(failure('ftp://x/s/a#t=b').message, /http/);
    assert.match(failure('http://x/watch#t=b').message, /no session/);
    assert.match(failure('http://x/s/a$b#t=b').message, /malformed/);
    assert.match(failure('http://x/s/abc').message, /missing its access token/);
    assert.match(failure(`http://x/s/abc#t=${'a'.repeat(3000)}`).message, /too long/);
    assert.equal(failure('hello').code, ErrorCode.TokenInvalid);
    // A broken % escape: a PairuxError saying so, not decodeURIComponent's raw URIError.
    for (const bad of ['http://x/s/%E0%A4%A#t=b', 'http://x/s/abc%#t=b', 'http://x/s/%ZZ#t=b']) {
      assert.match(failure(bad).message, /malformed/, bad);
    }
  });

  it('peeks at claims for display without trusting them', async () => {
    const { token, expiresAt } = await new JoinTokens('a-secret-that-is-long-enough-for-hs256').issue('sess1', 'viewer', 600);
    const claims = peekClaims(token);
    assert.equal(claims?.sid, 'sess1');
    assert.equal(claims?.role, 'viewer');
    assert.equal(claims!.exp * 1000, expiresAt);
    assert.equal(peekClaims('garbage'), undefined);
    assert.equal(peekClaims('a.!!!.c'), undefined);
  });
});
