/**
 * Peer-supplied text in VS Code stays literal text: a display name, a session name, a server's
 * error text never becomes a clickable `command:` link in a notification (VS Code's own link
 * pattern is the judge) nor an icon in the status bar, keeps no controls or bidi overrides, and a
 * link server's error body is read bounded, validated and capped before anyone shows it.
 */
import assert from 'node:assert/strict';
import { ErrorCode } from '../../protocol/errors';
import type { ShellStatusParams } from '../../protocol/webview-shell';
import { errorFrom, MAX_ERROR_BODY_BYTES, MAX_ERROR_TEXT_CHARS } from '../../extension/core/remote-server';
import { participantRows, presenceChanges, statusBarText } from '../../extension/core/session-view';
import { controlRequestText, hasLink, lateAllowText, literal, visible } from '../../extension/ui/literal-text';

const ATTACK = '[Click](command:workbench.action.terminal.new)';

function page(participants: ShellStatusParams['participants'], extra: Partial<ShellStatusParams> = {}): ShellStatusParams {
  return { state: 'live', message: '', role: 'host', selfId: 'h', participants, driverId: null, ...extra } as ShellStatusParams;
}
const person = (id: string, name: string) => ({ id, name, role: 'controller' as const, connected: true, controlState: 'none' as const, joinedAt: 1000 });

describe('extension: peer-supplied text is literal text', () => {
  it('a name written as a command link comes out inert, and reads the same', () => {
    assert.ok(hasLink(ATTACK), "VS Code's pattern sees a link in the raw name");
    for (const text of [ATTACK, `[a](https://evil.example/x) and [b](file:///etc/passwd "t")`, `x[y](COMMAND:workbench.action.quit)`]) {
      const shown = literal(text);
      assert.equal(hasLink(shown), false, shown);
      assert.equal(visible(shown), text);
    }
    // Two peer strings side by side cannot form one link either.
    assert.equal(hasLink(`${literal('[x]')}${literal('(command:workbench.action.terminal.new)')}`), false);
    // Literal text is idempotent: showing it twice does not change it.
    assert.equal(literal(literal(ATTACK)), literal(ATTACK));
  });

  it('the Allow prompt names the requester inertly, with client, short id and link', () => {
    const text = controlRequestText(ATTACK, { shortId: '3fa9c2', client: 'vscode', link: '[for](command:workbench.action.quit)' }, 20);
    assert.equal(hasLink(text), false, text);
    assert.match(
      visible(text),
      /^\[Click\]\(command:workbench\.action\.terminal\.new\) \(VS Code, id 3fa9c2, link “\[for\]\(command:workbench\.action\.quit\)”\) asks to control your mouse and keyboard\. \(No answer in 20 s means no\.\)$/,
    );
    assert.equal(hasLink(lateAllowText(ATTACK, { shortId: 'abc', client: 'browser' })), false);
    assert.match(controlRequestText('Ada', { shortId: 'ada-12', client: 'browser' }, 5), /^Ada \(a browser, id ada-12\) asks/);
  });

  it('controls, bidi overrides and line breaks are dropped; length is capped', () => {
    assert.equal(literal('Ada\u202Egnp.exe\u2066'), 'Adagnp.exe');
    assert.equal(literal('a\u009b31mb\u009d0;x\u0007c\u001b[2J'), 'a31mb0;xc[2J');
    assert.equal(literal('line one\r\nline two'), 'line one line two');
    const long = literal('x'.repeat(10_000), 64);
    assert.equal([...long].length, 64);
    assert.ok(long.endsWith('…'));
  });

  it('status bar and Participants view: a name cannot become an icon or a link', () => {
    const icon = '$(loading~spin) Admin';
    const view = {
      kind: 'host' as const,
      phase: 'live' as const,
      mode: 'p2p' as const,
      screen: { width: 1, height: 1, fps: 1 },
      page: page([person('h', 'Me'), person('c1', icon)], { driverId: 'c1' }),
    };
    const bar = statusBarText(view);
    assert.ok(bar.text.startsWith('$(broadcast) PairUX'), 'our own icon stays');
    assert.doesNotMatch(bar.text, /\$\(loading/);
    assert.match(visible(bar.text), /\$\(loading~spin\) Admin drives/);
    const row = participantRows(view).find((r) => r.id === 'c1')!;
    assert.doesNotMatch(row.label, /\$\(/);
    const guest = statusBarText({ kind: 'guest', hostName: ATTACK, mode: 'p2p', page: page([], { message: ATTACK }) });
    assert.equal(hasLink(guest.text) || hasLink(guest.tooltip), false);
    const lines = presenceChanges(page([person('h', 'Me')]), page([person('h', 'Me'), person('c2', ATTACK)]));
    assert.equal(hasLink(literal(lines.join('; '), 500)), false);
  });

  describe("a link server's error body", () => {
    it('is shown only when it is a valid PairUX error, capped', async () => {
      const huge = 'y'.repeat(5000);
      const err = await errorFrom(
        new Response(JSON.stringify({ error: { code: ErrorCode.SessionEnded, message: `${ATTACK}\n${huge}`.slice(0, 400) } }), { status: 410 }),
      );
      assert.equal(err.code, ErrorCode.SessionEnded);
      assert.ok(err.message.length <= MAX_ERROR_TEXT_CHARS);
      assert.doesNotMatch(err.message, /\n/);
      assert.equal(hasLink(literal(err.message)), false);
    });

    it('an oversize body is not read past the cap and its text is never shown', async () => {
      let pulled = 0;
      const chunk = new TextEncoder().encode(`{"error":{"code":"FORBIDDEN","message":"${'z'.repeat(4000)}`);
      const body = new ReadableStream<Uint8Array>({
        pull(controller) {
          pulled += chunk.byteLength;
          if (pulled > 10 * 1024 * 1024) controller.close();
          else controller.enqueue(chunk);
        },
      });
      const err = await errorFrom(new Response(body, { status: 400, statusText: 'Bad Request' }));
      assert.ok(pulled <= MAX_ERROR_BODY_BYTES + 2 * chunk.byteLength, `read ${pulled} bytes`);
      assert.equal(err.code, ErrorCode.Internal);
      assert.equal(err.message, 'the server answered 400 Bad Request');
    });

    it('odd bodies (unknown code, wrong shape, not JSON, declared too large) say only the status', async () => {
      const odd = [
        new Response(JSON.stringify({ error: { code: 'PWNED', message: ATTACK } }), { status: 400 }),
        new Response(JSON.stringify({ error: { code: 'FORBIDDEN', message: 'm'.repeat(100_000) } }), { status: 403 }),
        new Response(JSON.stringify({ error: ATTACK }), { status: 400 }),
        new Response(`<html>${ATTACK}</html>`, { status: 404 }),
        new Response('{}', { status: 400, headers: { 'content-length': String(MAX_ERROR_BODY_BYTES + 1) } }),
      ];
      for (const res of odd) {
        const err = await errorFrom(res);
        assert.equal(err.code, ErrorCode.Internal);
        assert.match(err.message, /^the server answered \d{3}$/);
      }
    });
  });
});
