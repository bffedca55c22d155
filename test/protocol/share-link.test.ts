/** Share links: what a pasted link must look like, and what the user is told when it does not. */
import assert from 'node:assert/strict';
import { ErrorCode, PairuxError } from '../../protocol/errors';
import { formatShareLink, parseShareLink, peekClaims, withMediaKey } from '../../protocol/share-link';
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

  it("an encrypted session's link carries its media key in the fragment only, added to the link the server issued", () => {
    const key = 'A'.repeat(42) + 'Q';
    const issued = formatShareLink('https://pairux.example.com', 'abc_123', 'aaa.bbb.ccc');
    const link = withMediaKey(issued, key);
    assert.equal(link, `https://pairux.example.com/s/abc_123#t=aaa.bbb.ccc&k=${key}`);
    assert.deepEqual(parseShareLink(link), { origin: 'https://pairux.example.com', sessionId: 'abc_123', token: 'aaa.bbb.ccc', key, keyGen: 0 });
    // Nothing of the key in what a browser sends for the link (path and query).
    assert.ok(!(new URL(link).pathname + new URL(link).search).includes(key));
    // A second key replaces the first; a plain link has none.
    const other = 'B'.repeat(42) + 'A';
    assert.equal(parseShareLink(withMediaKey(link, other)).key, other);
    assert.equal(parseShareLink(issued).key, undefined);
    assert.throws(() => withMediaKey(issued, 'short'), RangeError);
  });

  it("carries the key's generation when the session's keys have moved on since it started", () => {
    const key = 'A'.repeat(42) + 'Q';
    const link = withMediaKey('https://x/s/abc#t=aaa.bbb.ccc', key, 7);
    assert.equal(link, `https://x/s/abc#t=aaa.bbb.ccc&k=${key}&kg=7`);
    assert.equal(parseShareLink(link).keyGen, 7);
    for (const bad of ['-1', '70000', 'x', '1.5', ''])
      assert.match(failure(`https://x/s/abc#t=aaa.bbb.ccc&k=${key}&kg=${bad}`).message, /key is damaged \(the part after &kg=/, bad);
    assert.throws(() => withMediaKey(link, key, 0x10000), RangeError);
  });

  it('a link whose key was cut or edited says so, naming the key', () => {
    const key = 'A'.repeat(43);
    for (const bad of [key.slice(0, 40), `${key}A`, `${key.slice(0, 42)}+`, ''])
      assert.match(failure(`https://x/s/abc#t=aaa.bbb.ccc&k=${bad}`).message, /end-to-end encrypted and your link’s key is damaged/, bad);
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
