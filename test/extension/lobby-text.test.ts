/**
 * The editor's Admit / Deny notification names who waits in the lobby as literal text: a name,
 * link label or address written as a command link stays inert (VS Code's own link pattern is the
 * judge), with the client, a short id and where they connected from beside the name.
 */
import assert from 'node:assert/strict';
import { hasLink, visible } from '../../extension/ui/literal-text';
import { lateAdmitText, lobbyKnockText } from '../../extension/ui/lobby-text';
import type { Knock } from '../../runner/host-runner';

const ATTACK = '[Admit](command:workbench.action.terminal.new)';

describe('extension: the lobby notification', () => {
  it('names the guest with client, short id, link and address, all inert', () => {
    const knock: Knock = {
      participantId: 'c-3fa9c2e1',
      name: ATTACK,
      role: 'controller',
      client: 'browser',
      shortId: '3fa9c2',
      link: ATTACK,
      from: '203.0.113.7',
    };
    const text = lobbyKnockText(knock, 20);
    assert.equal(hasLink(text), false, text);
    assert.equal(
      visible(text),
      `${ATTACK} (a browser, id 3fa9c2, link “${ATTACK}”) from 203.0.113.7 wants to join your PairUX session as a controller (they can ask to use your mouse and keyboard). (No answer in 20 s means no.)`,
    );
    assert.equal(hasLink(lateAdmitText(knock)), false);
  });

  it('a viewer is named as one', () => {
    const text = lobbyKnockText({ participantId: 'v-1', name: 'Vic', role: 'viewer', shortId: '1', from: '::1' }, 30);
    assert.match(text, /^Vic \(unknown client, id 1\) from ::1 wants to join your PairUX session as a viewer\./);
  });
});
