/**
 * Who lets people in on the runner's side: HostRunner asks its LobbyAsker and says no without one;
 * the demo's console prompt names the guest as plain text (client, short id, link, address) and
 * lets everyone in only when told to (`--allow-control`); without a terminal to ask on it says no.
 */
import assert from 'node:assert/strict';
import { ControlPrompt } from '../../demo/control-prompt';
import { HostRunner, type Knock } from '../../runner/host-runner';
import type { HelperProcess } from '../../helper/client';

const CONTROL = /[\u0000-\u001f\u007f-\u009f\u202a-\u202e\u2066-\u2069]/;
const knock: Knock = {
  participantId: 'c-3fa9c2e1',
  name: 'Ada\u001b[2J\u202Eevil',
  role: 'controller',
  client: 'browser',
  shortId: '3fa9c2',
  link: 'for Ada',
  from: '203.0.113.7',
};

function runner(lobby?: ConstructorParameters<typeof HostRunner>[0]['lobby'], said: string[] = []): HostRunner {
  const helper = { on: () => helper } as unknown as HelperProcess;
  return new HostRunner({
    helper,
    capture: { width: 640, height: 480, fps: 10 } as ConstructorParameters<typeof HostRunner>[0]['capture'],
    prompt: { ask: async () => ({ allow: false, reason: 'denied' }) },
    ...(lobby ? { lobby } : {}),
    say: (l) => said.push(l),
    frames: 'bridge',
    controlRequests: true,
  });
}

describe('runner: letting people in from the lobby', () => {
  it('HostRunner without a lobby asker turns everyone away, and says so', async () => {
    const said: string[] = [];
    assert.deepEqual(await runner(undefined, said).askAdmit(knock), { admit: false, reason: 'denied' });
    assert.match(said.join('\n'), /waits in the lobby, but nothing here can ask you: turned away/);
  });

  it("HostRunner passes the knock to its asker and returns the asker's answer", async () => {
    const asked: Knock[] = [];
    const r = runner({ admit: async (k) => (asked.push(k), { admit: true, reason: 'allowed' }) });
    assert.deepEqual(await r.askAdmit(knock), { admit: true, reason: 'allowed' });
    assert.deepEqual(asked, [knock]);
  });

  it('the demo prompt lets everyone in with --allow-control, naming them as plain text', async () => {
    const lines: string[] = [];
    const prompt = new ControlPrompt(
      (l) => lines.push(l),
      () => undefined,
      'allow',
    );
    assert.deepEqual(await prompt.admit(knock), { admit: true, reason: 'allowed' });
    prompt.close();
    assert.equal(lines.length, 1);
    assert.doesNotMatch(lines[0]!, CONTROL);
    assert.equal(lines[0], 'Ada[2Jevil (browser, id 3fa9c2, link for Ada) from 203.0.113.7 joins as controller (--allow-control lets everyone in)');
  });

  it('the demo prompt with no terminal to ask on turns people away and says how to let them in', async () => {
    const lines: string[] = [];
    const prompt = new ControlPrompt(
      (l) => lines.push(l),
      () => undefined,
      'ask',
    );
    assert.equal(process.stdin.isTTY ?? false, false, 'the test runs without a terminal');
    assert.deepEqual(await prompt.admit(knock), { admit: false, reason: 'denied' });
    prompt.close();
    assert.match(lines.join('\n'), /turned away \(no terminal to ask on; start the demo with --allow-control/);
  });
});
