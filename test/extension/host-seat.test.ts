/**
 * The editor's decision "may this editor become the host now?" (extension/core/host-seat.ts):
 * only after its user accepted an offer naming the participant its guest page is, once, and
 * soon after; and the offer's prompt shows the offerer's name as plain text.
 */
import assert from 'node:assert/strict';
import type { ShellStatusParams } from '../../protocol/webview-shell';
import { CONSENT_WINDOW_MS, HostSeatConsent, offerQuestion, type HostSeatOffer } from '../../extension/core/host-seat';
import { hasLink, visible } from '../../extension/ui/literal-text';

const ticket = (participantId: string) => ({ participantId, secret: 'a-ticket-that-is-long-enough' });

function page(selfId: string, joinedAs: 'host' | 'controller' | 'viewer'): ShellStatusParams {
  return { state: 'joined', message: '', selfId, joinedAs, role: joinedAs, resume: ticket(selfId), participants: [], driverId: null };
}

describe('extension: who may take the host seat', () => {
  let clock = 1_000_000;
  const now = () => clock;
  const offer = (over: Partial<HostSeatOffer> = {}): HostSeatOffer => ({
    offerId: 'o1',
    participantId: 'c-me',
    fromId: 'host-1',
    fromName: 'Hana',
    expiresAt: clock + 60_000,
    ...over,
  });

  it('a host seat nobody here accepted is refused, as unasked', () => {
    const consent = new HostSeatConsent(now);
    const decision = consent.mayTakeOver(page('c-me', 'host'));
    assert.ok(!decision.ok && decision.unasked);
    assert.match(!decision.ok ? decision.message : '', /you never accepted an offer to take over\. PairUX did not start sharing your screen/);
  });

  it('after Accept, the seat for that participant is taken once; for another participant, or late, it is refused', () => {
    const consent = new HostSeatConsent(now);
    consent.accept(offer());
    assert.deepEqual(consent.mayTakeOver(page('c-me', 'host')), { ok: true });
    assert.equal(consent.mayTakeOver(page('c-me', 'host')).ok, false, 'one acceptance, one take-over');
    consent.accept(offer());
    assert.equal(consent.mayTakeOver(page('c-other', 'host')).ok, false, 'the seat of a participant the offer did not name');
    consent.accept(offer());
    assert.equal(consent.mayTakeOver({ ...page('c-me', 'host'), resume: ticket('c-other') }).ok, false, "another participant's ticket");
    consent.accept(offer());
    clock += CONSENT_WINDOW_MS + 1;
    assert.equal(consent.mayTakeOver(page('c-me', 'host')).ok, false, 'too long after Accept');
    consent.accept(offer());
    consent.withdraw();
    assert.equal(consent.mayTakeOver(page('c-me', 'host')).ok, false, 'an acceptance the server refused');
  });

  it('a page that has not joined as host is no reason to take over, and does not use up an acceptance', () => {
    const consent = new HostSeatConsent(now);
    consent.accept(offer());
    const decision = consent.mayTakeOver(page('c-me', 'controller'));
    assert.ok(!decision.ok && !decision.unasked);
    assert.deepEqual(consent.mayTakeOver(page('c-me', 'host')), { ok: true });
  });

  it('asks once per open offer that names the page, on a page that joined as a guest', () => {
    const consent = new HostSeatConsent(now);
    assert.equal(consent.shouldAsk(offer({ participantId: 'c-other' }), page('c-me', 'controller')), false, 'an offer for someone else');
    assert.equal(consent.shouldAsk(offer({ offerId: 'o2' }), page('c-me', 'host')), false, 'a page that already is the host');
    assert.equal(consent.shouldAsk(offer({ offerId: 'o3', expiresAt: clock - 1 }), page('c-me', 'controller')), false, 'an expired offer');
    assert.equal(consent.shouldAsk(offer(), page('c-me', 'controller')), true);
    assert.equal(consent.shouldAsk(offer(), page('c-me', 'controller')), false, 'the same offer again');
  });

  it('the prompt names who offers, as literal text: a name shaped like a link stays a name', () => {
    const name = '[Hana](command:workbench.action.terminal.new)';
    const question = offerQuestion({ fromName: name });
    assert.equal(hasLink(question), false);
    assert.equal(
      visible(question),
      `${name} wants to hand you the host's seat: your screen will be shared with everyone in the session and you will answer their control requests.`,
    );
  });
});
