/**
 * The editor's side of per-person links, without VS Code: which shared link Copy Share Link gives
 * after a removal revoked one, a rotation or a revoke; what the host is told (naming the removed
 * guest as literal text); Manage Links' rows; the Participants view's "via" the link's label.
 */
import assert from 'node:assert/strict';
import { ErrorCode, PairuxError } from '../../protocol/errors';
import type { Participant, ShareLinkInfo } from '../../protocol/signaling';
import type { ShellStatusParams } from '../../protocol/webview-shell';
import { LinkBook, labelProblem, linkPickItems, offerEndedText, personalLinkAction, personalLinkText } from '../../extension/core/link-book';
import { participantRows, type SessionView } from '../../extension/core/session-view';
import { hasLink, visible } from '../../extension/ui/literal-text';
import { participant } from '../support/participants';

/** A share link whose token carries `jti` (the server signs it; the editor only peeks). */
function url(jti: string, role: 'controller' | 'viewer' = 'controller'): string {
  const b64 = (o: object) => Buffer.from(JSON.stringify(o)).toString('base64url');
  const token = `${b64({ alg: 'HS256' })}.${b64({ sid: 's1', role, jti, iss: 'pairux', aud: 'pairux-join', iat: 1, exp: 9_999_999_999 })}.sig`;
  return `http://127.0.0.1:4000/s/s1#t=${token}`;
}

function info(id: string, role: 'controller' | 'viewer', label = `${role} link`, singleUse = false): ShareLinkInfo {
  return { url: url(id, role), role, expiresAt: Date.now() + 3_600_000, id, label, singleUse };
}

const p = (id: string, name: string, role: Participant['role'], link?: { id: string; label: string }): Participant =>
  participant(id, name, role, link ? { link } : {});

const EVIL = '[Fix](command:workbench.action.terminal.new)';

describe('extension: links', () => {
  const shared = () => ({ controller: { url: url('c-1'), expiresAt: 1 }, viewer: { url: url('v-1', 'viewer'), expiresAt: 1 } });

  it('a removal that replaced the shared controller link: Copy Share Link gives the new one, and the notice names who was removed', () => {
    const book = new LinkBook(shared());
    book.see([p('h', 'Hana', 'host'), p('g1', 'Mallory', 'controller', { id: 'c-1', label: 'controller link' })]);
    const fresh = info('c-2', 'controller');
    const notice = book.linksChanged({ reason: 'removed', message: 'Mallory was removed…', revoked: ['c-1'], controller: fresh });
    assert.equal(book.links.controller.url, fresh.url);
    assert.equal(book.links.viewer.url, url('v-1', 'viewer'), 'the viewer link is untouched');
    assert.deepEqual(notice.fresh, { role: 'controller', url: fresh.url });
    assert.match(visible(notice.text), /^Mallory's controller link no longer works/);
  });

  it('a revoked personal link leaves the shared links alone; a name that looks like a command link stays text', () => {
    const book = new LinkBook(shared());
    book.see([p('g1', EVIL, 'viewer', { id: 'p-1', label: 'for Eve' })]);
    const notice = book.linksChanged({ reason: 'removed', message: 'x', revoked: ['p-1'] });
    assert.deepEqual(book.links, shared());
    assert.equal(notice.fresh, undefined);
    assert.ok(visible(notice.text).startsWith(EVIL), notice.text);
    assert.equal(hasLink(notice.text), false);
    // Nobody seen through it: the server's words, as text too.
    const unknown = new LinkBook(shared()).linksChanged({ reason: 'removed', message: `${EVIL} was removed`, revoked: ['zzz'] });
    assert.equal(hasLink(unknown.text), false);
  });

  it('rotate and revoke: the shared links Copy Share Link gives follow, and a revoked shared link is recognised by its token', () => {
    const book = new LinkBook(shared());
    assert.equal(book.sharedRoleOf('c-1'), 'controller');
    assert.equal(book.sharedRoleOf('v-1'), 'viewer');
    assert.equal(book.sharedRoleOf('p-9'), undefined);
    const links = book.rotated({ controller: info('c-3', 'controller'), viewer: info('v-3', 'viewer'), revoked: 4 });
    assert.deepEqual([links.controller.url, links.viewer.url], [url('c-3'), url('v-3', 'viewer')]);
    assert.equal(book.sharedRoleOf('c-1'), undefined, 'the old one is no longer the shared link');
    book.replace('viewer', { url: url('v-4', 'viewer'), expiresAt: 2 });
    assert.equal(book.sharedRoleOf('v-4'), 'viewer');
  });

  it('Create Personal Link: the label is checked as a name before it goes out; the confirmation says single use or until revoked', () => {
    assert.deepEqual(personalLinkAction({ role: 'viewer', label: '  for Ada ', singleUse: true }), {
      action: 'createLink',
      role: 'viewer',
      label: 'for Ada',
      singleUse: true,
    });
    assert.throws(
      () => personalLinkAction({ role: 'controller', label: '   ', singleUse: false }),
      (err: unknown) => err instanceof PairuxError && err.code === ErrorCode.BadMessage,
    );
    assert.ok(labelProblem('x'.repeat(500)));
    assert.match(personalLinkText(info('p-1', 'controller', 'for Ada', true)), /works once/);
    assert.match(personalLinkText(info('p-2', 'viewer', 'for Bo')), /until you revoke it/);
    assert.equal(hasLink(personalLinkText(info('p-3', 'viewer', EVIL))), false);
  });

  it('Manage Links rows: label, role, single use, who is in through it', () => {
    const book = new LinkBook(shared());
    book.see([p('g2', 'Bo', 'viewer', { id: 'p-2', label: 'for Bo' })]);
    const now = Date.now();
    const rows = linkPickItems(
      [
        { id: 'c-1', role: 'controller', label: 'controller link', singleUse: false, expiresAt: now + 30 * 60_000 },
        { id: 'p-1', role: 'viewer', label: 'for Ada', singleUse: true, expiresAt: now + 5 * 3_600_000 },
        { id: 'p-2', role: 'viewer', label: 'for Bo', singleUse: false, expiresAt: now + 60_000 },
      ],
      [p('g1', 'Ada', 'viewer', { id: 'p-1', label: 'for Ada' })],
      book,
      now,
    );
    assert.deepEqual(
      rows.map((r) => [r.id, r.label, r.description]),
      [
        ['c-1', 'controller link', 'controller'],
        ['p-1', 'for Ada', 'viewer · single use'],
        ['p-2', 'for Bo', 'viewer'],
      ],
    );
    assert.match(rows[0]!.detail, /nobody in through it now; expires in 30 min/);
    assert.match(rows[1]!.detail, /in now: Ada; expires in 5 h/);
    assert.match(rows[2]!.detail, /used by Bo/);
  });

  it('a declined offer names the guest as text', () => {
    const text = offerEndedText({ offerId: 'o1', participantId: 'g1', reason: 'declined', message: 'x' }, [p('g1', EVIL, 'controller')]);
    assert.ok(visible(text).startsWith(`${EVIL} declined`));
    assert.equal(hasLink(text), false);
    assert.match(offerEndedText({ offerId: 'o1', participantId: 'gone', reason: 'expired', message: 'Bo did not answer in time' }, []), /Bo did not answer/);
  });

  it('the Participants view shows which link each guest came through', () => {
    const page: ShellStatusParams = {
      state: 'joined',
      message: '',
      selfId: 'h',
      role: 'host',
      driverId: null,
      participants: [
        p('h', 'Hana', 'host'),
        p('g1', 'Ada', 'controller', { id: 'p-1', label: 'for Ada' }),
        p('g2', 'Ada 2', 'viewer', { id: 'v-1', label: 'viewer link' }),
      ],
    };
    const view: SessionView = { kind: 'host', phase: 'live', mode: 'p2p', page, screen: { width: 1, height: 1, fps: 1 } };
    const rows = participantRows(view);
    const ada = rows.find((r) => r.id === 'g1')!;
    assert.match(ada.description, /via “for Ada”/);
    assert.match(ada.tooltip, /via “for Ada”/);
    assert.match(rows.find((r) => r.id === 'g2')!.description, /via “viewer link”/);
  });
});
