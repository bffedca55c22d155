/** What a guest may paste or click to join, and what they are told when it is no good. */
import assert from 'node:assert/strict';
import { ErrorCode, PairuxError } from '../../protocol/errors';
import { formatShareLink } from '../../protocol/share-link';
import { JoinTokens } from '../../server/join-tokens';
import { parseJoinInput } from '../../extension/core/join-input';
import { editorJoinUri } from '../../protocol/share-link';

const tokens = new JoinTokens('a-test-secret-that-is-long-enough-32');

async function link(role: 'controller' | 'viewer' | 'host' = 'controller', ttl = 600, sid = 'sess1'): Promise<string> {
  return formatShareLink('http://127.0.0.1:7420', sid, (await tokens.issue(sid, role, ttl)).token);
}

function refused(input: string, code: string, pattern: RegExp): void {
  assert.throws(
    () => parseJoinInput(input),
    (err: unknown) => err instanceof PairuxError && err.code === code && pattern.test(err.message),
  );
}

describe('extension: join input', () => {
  it('takes the share link as pasted, with stray spaces', async () => {
    const l = await link();
    const t = parseJoinInput(`  ${l}\n`);
    assert.equal(t.link, l);
    assert.equal(t.sessionId, 'sess1');
    assert.equal(t.origin, 'http://127.0.0.1:7420');
    assert.equal(t.role, 'controller');
    assert.ok(t.expiresAt && t.expiresAt > Date.now());
  });

  it('unwraps vscode:// (and other editor builds) and pairux:// links to the same share link', async () => {
    const l = await link('viewer');
    for (const wrapped of [editorJoinUri(l), editorJoinUri(l, 'vscode-insiders'), `pairux://join?link=${encodeURIComponent(l)}`]) {
      const t = parseJoinInput(wrapped);
      assert.equal(t.link, l, wrapped);
      assert.equal(t.role, 'viewer');
    }
  });

  it('says what is wrong with a bad link', async () => {
    refused('', ErrorCode.TokenInvalid, /Paste the share link/);
    refused('hello there', ErrorCode.TokenInvalid, /not a link/);
    refused('ftp://x/s/abc#t=1', ErrorCode.TokenInvalid, /http/);
    refused('http://127.0.0.1:7420/s/abc', ErrorCode.TokenInvalid, /missing its access token/);
    refused('vscode://pairux.pairux/join', ErrorCode.TokenInvalid, /no share link in it/);
    refused(`vscode://other.extension/join?link=${encodeURIComponent(await link())}`, ErrorCode.TokenInvalid, /other\.extension/);
    // A token cut short still looks like a link here: its server refuses it (GET /api/preview).
    const cut = await link();
    assert.equal(parseJoinInput(cut.slice(0, cut.indexOf('#t=') + 10)).role, undefined);
  });

  it('refuses an expired link, a token for another session and a host token before any network', async () => {
    const expired = formatShareLink(
      'http://h:1',
      'sess1',
      (await new JoinTokens('a-test-secret-that-is-long-enough-32', () => Date.now() - 3_600_000).issue('sess1', 'viewer', 60)).token,
    );
    refused(expired, ErrorCode.TokenExpired, /expired on .*new one/);
    const other = formatShareLink('http://h:1', 'sess2', (await tokens.issue('sess1', 'viewer', 600)).token);
    refused(other, ErrorCode.TokenWrongSession, /another session/);
    refused(await link('host'), ErrorCode.Forbidden, /host's own token/);
  });
});
