/**
 * An end-to-end encrypted session in the editor, without VS Code: every link the host's editor
 * shows or copies carries the host page's latest key (and none exists before it), a guest's
 * `vscode://` link keeps the key through the URI handler, the link check sends the server the
 * token and never the key, and the status bar and Participants view show the lock and the safety
 * code both sides compare. In a host transfer the guest panel that takes the seat hands its editor
 * the key schedule it held (only in an encrypted session).
 */
import assert from 'node:assert/strict';
import { createServer, type IncomingMessage } from 'node:http';
import type { AddressInfo } from 'node:net';
import { ErrorCode, PairuxError } from '../../protocol/errors';
import { editorJoinUri, formatShareLink, parseShareLink } from '../../protocol/share-link';
import type { ShareLinkInfo } from '../../protocol/signaling';
import { PROTOCOL_VERSION } from '../../protocol/rpc';
import { RpcEndpoint } from '../../protocol/rpc-endpoint';
import { ShellTakeOverKey, webviewShellBoundary, type ShellStatusParams } from '../../protocol/webview-shell';
import type { SessionPreview } from '../../protocol/http-api';
import { WebviewPort } from '../../extension/core/webview-port';
import { JoinTokens } from '../../server/join-tokens';
import { checkLink, GuestSession, KEY_MISSING_TEXT } from '../../extension/core/guest-session';
import { joinInputFromUri, parseJoinInput } from '../../extension/core/join-input';
import { KEY_NOT_READY_MESSAGE, LinkBook } from '../../extension/core/link-book';
import { lockLine, participantsDescription, statusBarText, type SessionView } from '../../extension/core/session-view';
import { readHostSettings } from '../../extension/core/settings';

const KEY = 'q0dJ3kTzWw5x_Yv-8bN2mL4pR6sU9cE1fH7jK0aZ3oQ';
const NEXT = 'Zm9vYmFyYmF6cXV4cXV1eGNvcmdlZ3JhdWx0Z2FycGw';
const tokens = new JoinTokens('a-test-secret-that-is-long-enough-32');

async function link(role: 'controller' | 'viewer' = 'controller', key?: string, gen = 0): Promise<string> {
  return formatShareLink('http://127.0.0.1:7420', 'sess1', (await tokens.issue('sess1', role, 600)).token, key, gen);
}

function unavailable(pattern: RegExp) {
  return (err: unknown) => err instanceof PairuxError && err.code === ErrorCode.Unavailable && pattern.test(err.message);
}

/**
 * The URI a `vscode://` link becomes in the URI handler: VS Code parses it and percent-decodes
 * its query once (vscode-uri's `URI.parse`); `toString(true)` re-encodes only `#` and `?`.
 */
function handlerUri(text: string) {
  const query = decodeURIComponent(text.slice(text.indexOf('?') + 1));
  return {
    query,
    toString: (skip?: boolean) => `vscode://pairux.pairux/join?${skip ? query.replace(/[#?]/g, encodeURIComponent) : encodeURIComponent(query)}`,
  };
}

describe('extension: end-to-end encrypted sessions', () => {
  describe('the host’s links', () => {
    const shared = async () => ({ controller: { url: await link(), expiresAt: 1 }, viewer: { url: await link('viewer'), expiresAt: 2 } });

    it('gives out no link before the host page has made the key: a link without it would show guests nothing', async () => {
      const book = new LinkBook(await shared(), true);
      assert.equal(book.ready, false);
      assert.throws(() => book.links, unavailable(/end-to-end encrypted and its key is not made yet/));
      assert.throws(() => book.keyed('http://x/s/a#t=b'), unavailable(/not made yet/));
      assert.throws(
        () => book.assertReady(),
        (err: unknown) => err instanceof PairuxError && err.message === KEY_NOT_READY_MESSAGE,
      );
    });

    it('every shared link carries the latest key and its generation, after a ratchet and after a re-key', async () => {
      const raw = await shared();
      const book = new LinkBook(raw, true);
      book.setKey({ text: KEY, gen: 0 });
      const first = book.links;
      assert.deepEqual([parseShareLink(first.controller.url).key, parseShareLink(first.viewer.url).key, first.viewer.expiresAt], [KEY, KEY, 2]);
      assert.equal(parseShareLink(first.controller.url).token, parseShareLink(raw.controller.url).token, 'the server’s token, untouched');
      book.setKey({ text: NEXT, gen: 7 });
      const after = parseShareLink(book.links.controller.url);
      assert.deepEqual([after.key, after.keyGen], [NEXT, 7]);
      assert.ok(!book.links.controller.url.includes(KEY), 'the old key is gone from the link');
      // Only in the fragment: nothing of the key in what an HTTP request would carry.
      const u = new URL(book.links.viewer.url);
      assert.ok(!`${u.origin}${u.pathname}${u.search}`.includes(NEXT));
    });

    it('rotated, replaced and revoked-then-replaced links are keyed too; a plain session’s are left as the server made them', async () => {
      const book = new LinkBook(await shared(), true);
      book.setKey({ text: KEY, gen: 2 });
      const info = async (role: 'controller' | 'viewer', id: string): Promise<ShareLinkInfo> => ({
        url: await link(role),
        role,
        expiresAt: 5,
        id,
        label: `${role} link`,
        singleUse: false,
      });
      const rotated = book.rotated({ controller: await info('controller', 'c2'), viewer: await info('viewer', 'v2'), revoked: 3 });
      assert.equal(parseShareLink(rotated.controller.url).key, KEY);
      assert.equal(parseShareLink(rotated.viewer.url).keyGen, 2);
      const notice = book.linksChanged({ reason: 'removed', message: 'Bo was removed', revoked: ['v2'], viewer: await info('viewer', 'v3') });
      assert.equal(parseShareLink(notice.fresh!.url).key, KEY, 'the notification’s Copy gives a keyed link');
      book.replace('controller', { url: await link(), expiresAt: 9 });
      assert.equal(parseShareLink(book.links.controller.url).key, KEY);

      const plain = new LinkBook(await shared());
      const before = plain.links;
      assert.equal(plain.ready, true);
      assert.equal(parseShareLink(before.controller.url).key, undefined);
      assert.equal(plain.keyed(before.viewer.url), before.viewer.url);
    });

    it('before the key a removal’s notice offers no link to copy', async () => {
      const book = new LinkBook(await shared(), true);
      const fresh: ShareLinkInfo = { url: await link('viewer'), role: 'viewer', expiresAt: 5, id: 'v9', label: 'viewer link', singleUse: false };
      assert.equal(book.linksChanged({ reason: 'removed', message: 'x', revoked: ['v1'], viewer: fresh }).fresh, undefined);
    });

    it('pairux.e2ee is read as a boolean, and the host’s pick at Start wins; any mode may be encrypted', () => {
      const extra = { hostKey: undefined, env: {}, userName: 'ada' };
      const get = (values: Record<string, unknown>) => (key: string) => values[key];
      assert.equal(readHostSettings(get({}), { ...extra, mode: 'p2p' }).e2ee, undefined);
      assert.equal(readHostSettings(get({ e2ee: true }), { ...extra, mode: 'auto' }).e2ee, true);
      assert.equal(readHostSettings(get({ e2ee: true }), { ...extra, mode: 'p2p', e2ee: false }).e2ee, undefined, 'the host’s pick wins');
      assert.deepEqual(
        (['p2p', 'auto', 'sfu'] as const).map((mode) => readHostSettings(get({}), { ...extra, mode, e2ee: true }).e2ee),
        [true, true, true],
      );
      assert.throws(
        () => readHostSettings(get({ e2ee: 'yes' }), { ...extra, mode: 'p2p' }),
        (err: unknown) => err instanceof PairuxError && /“pairux\.e2ee” must be true or false/.test(err.message),
      );
    });
  });

  describe('the guest’s link', () => {
    it('a vscode:// link through the URI handler keeps the key and its generation (the decoded query would split them off)', async () => {
      const keyed = await link('viewer', KEY, 3);
      const uri = handlerUri(editorJoinUri(keyed));
      // What the handler did before: the key read as a parameter of the editor's link, and lost.
      assert.equal(parseJoinInput(uri.toString(true)).key, undefined);
      const target = parseJoinInput(joinInputFromUri(uri));
      assert.equal(target.link, keyed, 'the guest panel gets the link whole');
      assert.deepEqual([target.key, target.keyGen, target.role], [KEY, 3, 'viewer']);
      // An editor that hands the query over still encoded.
      const encoded = { query: editorJoinUri(keyed).split('?')[1]!, toString: () => editorJoinUri(keyed) };
      assert.equal(parseJoinInput(joinInputFromUri(encoded)).key, KEY);
      // A pasted vscode:// link (encoded as copied) and the plain link keep it too.
      assert.equal(parseJoinInput(editorJoinUri(keyed)).link, keyed);
      assert.equal(parseJoinInput(keyed).key, KEY);
      // Without a link in it, the input explains what is missing.
      assert.throws(() => parseJoinInput(joinInputFromUri(handlerUri('vscode://pairux.pairux/join?x=1'))), /no share link in it/);
    });

    it('a cut key is refused before anything is sent', async () => {
      const keyed = await link('viewer', KEY);
      assert.throws(
        () => parseJoinInput(keyed.slice(0, -5)),
        (err: unknown) => err instanceof PairuxError && /key is damaged/.test(err.message),
      );
    });

    it("the link check sends its server the token and never the key; an encrypted session's link without one is refused with what to do", async () => {
      const seen: Array<{ url: string; headers: IncomingMessage['headers'] }> = [];
      const server = createServer((req, res) => {
        seen.push({ url: req.url ?? '', headers: req.headers });
        res.setHeader('content-type', 'application/json');
        res.end(
          JSON.stringify({
            sessionId: 'sess1',
            hostName: 'Ada',
            hostConnected: true,
            mode: 'p2p',
            media: 'p2p',
            role: 'viewer',
            expiresAt: Date.now() + 60_000,
            participants: 1,
            e2ee: true,
          }),
        );
      });
      await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
      const origin = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
      try {
        const token = (await tokens.issue('sess1', 'viewer', 600)).token;
        const keyed = parseJoinInput(formatShareLink(origin, 'sess1', token, KEY, 1));
        const preview = await checkLink(keyed, () => undefined);
        assert.equal(preview.e2ee, true);
        assert.equal(seen.length, 1);
        assert.equal(seen[0]!.url, '/api/preview');
        assert.equal(seen[0]!.headers.authorization, `Bearer ${token}`);
        assert.ok(!JSON.stringify(seen[0]).includes(KEY), 'the key went to the server');

        const keyless = parseJoinInput(formatShareLink(origin, 'sess1', token));
        await assert.rejects(
          checkLink(keyless, () => undefined),
          (err: unknown) => err instanceof PairuxError && err.code === ErrorCode.TokenInvalid && err.message === KEY_MISSING_TEXT,
        );
      } finally {
        await new Promise((r) => server.close(r));
      }
    });
  });

  describe('the lock and the safety code', () => {
    const screen = { width: 1280, height: 720, fps: 30 };
    const page = (over: Partial<ShellStatusParams> = {}): ShellStatusParams => ({
      state: 'live',
      message: 'Watching',
      participants: [],
      driverId: null,
      ...over,
    });

    it("the host's status bar shows the lock, its tooltip and the Participants view the safety code", () => {
      const view: SessionView = { kind: 'host', phase: 'live', mode: 'p2p', page: undefined, screen, e2ee: { safetyCode: '123 456 789', gen: 0 } };
      const { text, tooltip } = statusBarText(view);
      assert.match(text, /^\$\(broadcast\) PairUX · \$\(lock\) P2P · 0 watching$/);
      assert.match(tooltip, /End-to-end encrypted · safety code 123 456 789/);
      assert.equal(participantsDescription(view), '🔒 end-to-end encrypted · 123 456 789');
      assert.match(statusBarText({ ...view, e2ee: { safetyCode: '123 456 789', gen: 4 } }).tooltip, /safety code 123 456 789 \(key 4\)/);
      assert.match(statusBarText({ ...view, e2ee: { safetyCode: undefined, gen: 0 } }).tooltip, /End-to-end encrypted · making the key…/);
      const plain: SessionView = { kind: 'host', phase: 'live', mode: 'p2p', page: undefined, screen };
      assert.equal(statusBarText(plain).text, '$(broadcast) PairUX · P2P · 0 watching');
      assert.doesNotMatch(statusBarText(plain).tooltip, /encrypted/);
      assert.equal(participantsDescription(plain), undefined);
    });

    it("the guest's shows the same words from its page's report, and says when the link's key does not open the session", () => {
      const guest = (p: ShellStatusParams | undefined): SessionView => ({ kind: 'guest', hostName: 'Ada', mode: 'p2p', page: p, e2ee: true });
      const decrypting = statusBarText(guest(page({ e2ee: { state: 'decrypting', safetyCode: '123 456 789', gen: 0 } })));
      assert.match(decrypting.text, /\$\(lock\) P2P · Ada's screen/);
      assert.match(decrypting.tooltip, /\nEnd-to-end encrypted · safety code 123 456 789$/);
      assert.match(statusBarText(guest(undefined)).tooltip, /End-to-end encrypted · waiting for the key/);
      const rejected = guest(page({ state: 'failed', e2ee: { state: 'key-rejected', safetyCode: '999 000 111', gen: 0 } }));
      assert.match(statusBarText(rejected).tooltip, /your link's key does not open this session/);
      assert.equal(
        lockLine({ side: 'guest', state: 'waiting', safetyCode: '1 2 3', gen: 0 }),
        'End-to-end encrypted · safety code 1 2 3 · waiting for the first picture',
      );
      assert.equal(statusBarText({ kind: 'guest', hostName: 'Ada', mode: 'p2p', page: page() }).text.includes('$(lock)'), false);
    });
  });

  describe('host transfer', () => {
    const preview = (e2ee: boolean): SessionPreview => ({
      sessionId: 'sess1',
      hostName: 'Ada',
      hostConnected: true,
      mode: 'p2p',
      media: 'p2p',
      role: 'controller',
      expiresAt: Date.now() + 60_000,
      participants: 2,
      ...(e2ee ? { e2ee: true } : {}),
    });

    /** A guest session with its panel's page on the other end of the shell, as the webview speaks. */
    async function guestWithPage(e2ee: boolean) {
      const target = parseJoinInput(await link('controller', e2ee ? KEY : undefined));
      const session = new GuestSession(target, preview(e2ee), 'Bo');
      const errors: PairuxError[] = [];
      let page!: RpcEndpoint;
      const port = new WebviewPort({ post: (m) => (page.receive((m as { text: string }).text), Promise.resolve(true)) }, (e) => void errors.push(e));
      page = new RpcEndpoint({ boundary: webviewShellBoundary, side: 'a', send: (text) => port.receive({ ch: 'shell', text }) });
      session.attachPage(port);
      return { session, page, port, errors };
    }

    it('the guest panel that became the host hands its editor the key schedule it held, for the host panel to continue', async () => {
      const { session, page } = await guestWithPage(true);
      const events: string[] = [];
      session.on('status', (s) => events.push(JSON.stringify(s)));
      try {
        assert.equal(session.takeOverKey, undefined, 'nothing before the page has it');
        page.notify(ShellTakeOverKey, { key: NEXT, gen: 6 });
        await new Promise((r) => setImmediate(r));
        assert.deepEqual(session.takeOverKey, { key: NEXT, gen: 6 });
        assert.ok(!events.some((e) => e.includes(NEXT)), 'the key went into an event');
      } finally {
        session.detach();
      }
    });

    it('a plain session holds no key a page may send, and a malformed one is refused at the boundary without repeating it', async () => {
      const plain = await guestWithPage(false);
      try {
        plain.page.notify(ShellTakeOverKey, { key: NEXT, gen: 1 });
        await new Promise((r) => setImmediate(r));
        assert.equal(plain.session.takeOverKey, undefined);
      } finally {
        plain.session.detach();
      }
      const encrypted = await guestWithPage(true);
      try {
        encrypted.port.receive({
          ch: 'shell',
          text: JSON.stringify({ v: PROTOCOL_VERSION, method: ShellTakeOverKey.method, params: { key: `${NEXT}==`, gen: 1 } }),
        });
        assert.equal(encrypted.session.takeOverKey, undefined);
        assert.equal(encrypted.errors.length, 1);
        assert.ok(!encrypted.errors[0]!.message.includes(NEXT), encrypted.errors[0]!.message);
      } finally {
        encrypted.session.detach();
      }
    });
  });
});
