/**
 * The demo prints guests' names in the host's terminal, including in its Allow prompt: a name
 * carrying terminal controls (ESC and C1 CSI/OSC sequences that recolour, retitle or repaint the
 * prompt) or bidi overrides must print as plain text on one line, with the client and short id
 * beside it.
 */
import assert from 'node:assert/strict';
import { ControlPrompt } from '../../demo/control-prompt';
import { terminalText } from '../../demo/terminal-text';
import { createRemoteSession } from '../../demo/remote-server';
import { createServer } from 'node:http';

/** Any C0/C1 control (other than none at all), or a bidi override/isolate. */
const CONTROL = /[\u0000-\u001f\u007f-\u009f\u202a-\u202e\u2066-\u2069]/;

const HOSTILE = 'Ada\u001b]0;pwned\u0007\u001b[2J\u009b31m\u009d52;c;ZWNobyBoaQ==\u009c\u202Egnp.exe\nAllow? [y/N] y';

describe('demo: guest names in the host terminal', () => {
  it('the Allow prompt prints a hostile name as plain text on one line', async () => {
    const lines: string[] = [];
    const prompt = new ControlPrompt(
      (l) => lines.push(l),
      () => undefined,
      'allow',
    );
    const answer = await prompt.ask(HOSTILE, { participantId: 'p3fa9c2e1', shortId: 'p3fa9c', client: 'browser' });
    prompt.close();
    assert.deepEqual(answer, { allow: true, reason: 'allowed' });
    assert.equal(lines.length, 1);
    assert.doesNotMatch(lines[0]!, CONTROL, JSON.stringify(lines[0]));
    assert.equal(lines[0], 'Ada]0;pwned[2J31m52;c;ZWNobyBoaQ==gnp.exe Allow? [y/N] y (browser, id p3fa9c) takes control (--allow-control)');
  });

  it('a denied request says so in plain text too', async () => {
    const lines: string[] = [];
    const prompt = new ControlPrompt(
      (l) => lines.push(l),
      () => undefined,
      'deny',
    );
    await prompt.ask(HOSTILE);
    prompt.close();
    assert.doesNotMatch(lines.join('\n'), CONTROL);
  });

  it('caps the length and keeps ordinary text as it is', () => {
    assert.equal(terminalText('Ada Lovelace — “café” 日本'), 'Ada Lovelace — “café” 日本');
    assert.equal([...terminalText('x'.repeat(10_000), 64)].length, 64);
  });

  it('a deployed server\u2019s error text (demo --server) reaches the terminal as plain text', async () => {
    const server = createServer((_q, r) => {
      r.writeHead(503, { 'content-type': 'application/json' });
      r.end(JSON.stringify({ error: { code: 'UNAVAILABLE', message: HOSTILE } }));
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    try {
      const { port } = server.address() as { port: number };
      const err = await createRemoteSession({ url: `http://127.0.0.1:${port}`, hostKey: undefined }, {}).then(
        () => undefined,
        (e: unknown) => e as Error,
      );
      assert.ok(err, 'the server refused');
      assert.match(err.message, /did not create the session \(HTTP 503: Ada/, 'the server\u2019s words reached the message');
      assert.doesNotMatch(err.message, CONTROL);
    } finally {
      server.close();
    }
  });
});
