/**
 * Remote control end to end with every real part: the real control plane, the host page in
 * headless Chromium with the real HostRunner behind its bridge, the helper injecting into a real
 * X server (test/support/real-host-rig.ts), an asker each test sets, and guests in Chromium viewer
 * pages driving with the real mouse and keyboard (Playwright input).
 *
 * What landed is read from X: the text a terminal received, where the X pointer is, the button
 * events the root window saw, what XTEST holds. What the page handed the runner is also checked
 * (key names, coalescing, sequence numbers), but never instead of X. A refusal is proven where it
 * happens (the host page's gate counts it, the guest is told) before "nothing landed" is asserted.
 * Frames through the bridge are test/e2e/host-bridge-frames.test.ts.
 */
import assert from 'node:assert/strict';
import type { Browser } from 'playwright-core';
import { launchChromium } from '../../demo/chromium';
import { startHeadlessHost, type HeadlessHost } from '../../demo/headless-host';
import type { InputEvent } from '../../protocol/input';
import type { CreateSessionResponse } from '../../protocol/http-api';
import type { ControlPlane } from '../../server/control-plane';
import type { KeyboardLockState } from '../../webview/engine/input/keyboard-lock';
import { ViewerPage } from '../support/browser-viewer';
import { createSession, startTestServer } from '../support/control-plane';
import { forge, forgeAndSeeRefused, guestControl, hostControl } from '../support/control-hooks';
import { eventually } from '../support/livekit';
import { RealHostRig, pressedAt } from '../support/real-host-rig';

const HOST_NAME = 'Hana';
const SCREEN = { width: 1280, height: 720 };
/** Keysyms' keycodes on Xvfb's default (evdev) map, as `xinput query-state` lists held keys. */
const KEYCODE = { shift: 50, a: 38 };

interface Picture {
  left: number;
  top: number;
  width: number;
  height: number;
}

/** Where the frame is drawn inside the <video> box (object-fit: contain), computed here independently. */
async function pictureOf(v: ViewerPage): Promise<Picture> {
  const m = await v.page.evaluate(() => {
    const video = document.querySelector('video')!;
    const r = video.getBoundingClientRect();
    return { left: r.left, top: r.top, width: r.width, height: r.height, vw: video.videoWidth, vh: video.videoHeight };
  });
  assert.ok(m.vw > 0 && m.vh > 0, 'the video has a size');
  const scale = Math.min(m.width / m.vw, m.height / m.vh);
  const width = m.vw * scale;
  const height = m.vh * scale;
  return { left: m.left + (m.width - width) / 2, top: m.top + (m.height - height) / 2, width, height };
}

async function controlText(v: ViewerPage): Promise<string> {
  return v.page.evaluate(() => document.getElementById('control-status')?.textContent ?? '');
}

const near = (a: number, b: number, eps = 0.004) => Math.abs(a - b) <= eps;
const at = (p: { x: number; y: number }, x: number, y: number, eps = 2) => Math.abs(p.x - x) <= eps && Math.abs(p.y - y) <= eps;

describe('end to end: remote control through the host page, the real runner and helper, onto X', function () {
  this.timeout(120_000);
  let browser: Browser;
  let rig: RealHostRig;
  let plane: ControlPlane;
  let session: CreateSessionResponse;
  let host: HeadlessHost;
  const viewers: ViewerPage[] = [];

  before(async () => {
    browser = await launchChromium();
    rig = await RealHostRig.start({ ...SCREEN, fps: 10 });
  });
  after(async () => {
    await rig?.close();
    await browser?.close();
  });
  beforeEach(async () => {
    await rig.reset();
    plane = await startTestServer({ reconnectGraceMs: 5000 });
    session = await createSession(plane, { name: 'Control E2E' });
    host = await startHeadlessHost(plane.url, session.sessionId, session.hostToken, { browser, name: HOST_NAME, bridge: rig.url, fps: 10 });
  });
  afterEach(async () => {
    for (const v of viewers.splice(0)) await v.close();
    await host?.close();
    await plane?.close();
    // Whatever a test did, the page never handed the runner an event the sanitizer refuses.
    assert.deepEqual(rig.unsanitary(), [], 'the page forwarded events the sanitizer refuses');
  });

  async function open(role: 'controller' | 'viewer', name: string): Promise<ViewerPage> {
    const v = await ViewerPage.open(browser, role === 'controller' ? session.links.controller.url : session.links.viewer.url, name);
    viewers.push(v);
    await v.waitForState('live', 20_000);
    return v;
  }

  /** Asks for control from the page's button; done once the page drives and the helper was handed the grant. */
  async function drive(v: ViewerPage, name: string): Promise<string> {
    const id = (await v.selfId())!;
    const asked = rig.asked.length;
    await v.page.click('#control-request');
    await eventually(() => rig.asked.length > asked, `${name}'s request to reach the host's asker`);
    assert.equal(rig.asked.at(-1), name);
    await v.page.waitForFunction(() => document.body.dataset.control === 'driving', null, { timeout: 10_000 });
    await eventually(async () => (await rig.helperStats()).granted === id, `the helper to be granted ${name}`);
    return id;
  }

  /** The forwarded events of one kind from one controller (what the page handed the runner). */
  const sent = (controllerId: string, kind?: InputEvent['t']) =>
    rig.forwarded.filter((f) => f.controllerId === controllerId && (!kind || (f.event as InputEvent).t === kind)).map((f) => f.event as InputEvent);

  it("a controller asks, the host allows, and the clicks, typed keys, Ctrl+P and F1 land on the host's X screen", async () => {
    const ada = await open('controller', 'Ada');
    const vic = await open('viewer', 'Vic');
    assert.ok(await ada.page.isVisible('#control-request'), 'a controller has a Request control button');
    assert.ok(!(await vic.page.isVisible('#control-request')), 'a viewer has none');

    const adaId = await drive(ada, 'Ada');
    assert.match(await controlText(ada), /You are driving Hana's screen/);
    // Everyone sees who drives: the status line, the control line and the participants list.
    await eventually(async () => /Ada is driving/.test(await controlText(vic)), 'the viewer to see who drives');
    await eventually(async () => /Ada is driving/.test((await vic.page.textContent('#status')) ?? ''), 'the viewer status line to say so');
    assert.equal(await vic.page.textContent(`#participants li[data-id="${adaId}"] .control`), 'driving');

    // Fit view letterboxes the 16:9 screen in the stage: click its centre, a quarter point, and a bar.
    const clicks = await rig.watchRootClicks();
    const pic = await pictureOf(ada);
    assert.ok(pic.top > 40, `letterboxed (picture top ${pic.top.toFixed(1)} px)`);
    await ada.page.mouse.click(pic.left + pic.width / 2, pic.top + pic.height / 2);
    await ada.page.mouse.click(pic.left + pic.width * 0.75, pic.top + pic.height * 0.75, { button: 'right' });
    // Both points are on the bare root window (the terminal is top left): X saw each press there.
    await eventually(
      () => pressedAt(clicks.events, 640, 360),
      () => `the left click at (640,360) on X (saw ${JSON.stringify(clicks.events)})`,
    );
    await eventually(
      () => clicks.events.some((e) => e.type === 'release' && e.button === 3 && at(e, 960, 540)),
      () => `the right click at (960,540) on X (saw ${JSON.stringify(clicks.events)})`,
    );
    const sentBefore = (await guestControl(ada)).sent;
    const pressesBefore = clicks.events.length;
    await ada.page.mouse.click(pic.left + pic.width / 2, pic.top - 15); // on the bar above the picture
    assert.equal((await guestControl(ada)).sent, sentBefore, 'a click outside the picture is not sent');
    assert.equal(clicks.events.length, pressesBefore);

    // Keys: nothing reaches the guest page's own listeners, no print dialog; all of it lands in the terminal.
    await ada.page.evaluate(() => {
      const w = window as unknown as { leaks: string[] };
      w.leaks = [];
      window.addEventListener('keydown', (e) => w.leaks.push(`window:${e.key}`));
      document.addEventListener('keydown', (e) => w.leaks.push(`document:${e.key}`), true);
      document.body.addEventListener('keydown', (e) => w.leaks.push(`body:${e.key}`));
      window.addEventListener('beforeprint', () => w.leaks.push('print'));
    });
    const keysBefore = sent(adaId).length;
    await ada.page.keyboard.type('Hi!');
    await ada.page.keyboard.press('Control+p');
    await ada.page.keyboard.press('F1');
    await ada.page.keyboard.press('Enter');
    // Ctrl+P is the byte 0x10 to the terminal, F1 is xterm's ESC O P.
    await eventually(
      () => rig.typed() === 'Hi!\x10\x1bOP\n',
      () => `the keys in the host's terminal (got ${JSON.stringify(rig.typed())})`,
    );
    await eventually(() => sent(adaId, 'keyup').some((e) => e.t === 'keyup' && e.key === 'enter'), "Enter's key-up handed on");
    const keys = sent(adaId)
      .slice(keysBefore)
      .filter((e) => e.t === 'keydown' || e.t === 'keyup') as Array<Extract<InputEvent, { t: 'keydown' | 'keyup' }>>;
    const downsOnly = keys.filter((e) => e.t === 'keydown').map((e) => `${e.key}${e.mods.length ? `+${e.mods.join('+')}` : ''}`);
    assert.deepEqual(downsOnly, ['H', 'i', '!', 'control+control', 'p+control', 'f1', 'enter']);
    assert.deepEqual(
      keys.filter((e) => e.t === 'keyup').map((e) => e.key),
      ['H', 'i', '!', 'p', 'control', 'f1', 'enter'],
    );
    assert.deepEqual(await ada.page.evaluate(() => (window as unknown as { leaks: string[] }).leaks), [], 'the guest page itself saw none of the keys');
    assert.deepEqual(rig.held(), { buttons: [], keys: [] }, 'nothing left held on X');

    // Sequence numbers only go up, and nobody else's input was handed on.
    const seqs = sent(adaId).map((e) => e.seq);
    assert.deepEqual(
      seqs,
      [...seqs].sort((a, b) => a - b),
    );
    assert.equal(rig.forwarded.length, sent(adaId).length);
    const hostSide = await hostControl(host.page);
    assert.equal(hostSide.forwarded, rig.forwarded.length);
    assert.equal(hostSide.driverId, adaId);

    // A hostile driver's malformed event: the host page's sanitizer refuses it, the runner never has it.
    const { guest: told } = await forgeAndSeeRefused(host.page, ada, { t: 'keydown', seq: 500, key: 'no-such-key', mods: [] });
    assert.equal(told.lastRefusal?.seq, 500);
    assert.deepEqual(rig.unsanitary(), [], 'the page handed the runner an event the sanitizer refuses');

    // The helper refusing something further down reaches the guest too: a key it does not know.
    const typed = rig.typed();
    rig.helper.sendInput(adaId, { t: 'keydown', seq: 1_000_000, key: 'no-such-key', mods: [] });
    const refusal = await eventually(async () => {
      const r = (await guestControl(ada)).lastRefusal;
      return r?.seq === 1_000_000 ? r : undefined;
    }, "the helper's refusal at Ada's page");
    assert.match(refusal!.reason, /./);
    assert.equal(rig.typed(), typed);

    // Stop driving: Ada gives control back, the helper's grant goes, and everyone sees nobody drives.
    await ada.page.click('#control-stop');
    await eventually(async () => (await rig.helperStats()).granted === null, 'the helper to lose the grant');
    await eventually(async () => /You stopped driving/.test(await controlText(ada)), 'Ada to see she stopped');
    await eventually(async () => (await controlText(vic)) === '', 'Vic to see nobody drives');
  });

  it('moves are coalesced per frame; wheel, text and held keys and buttons land on X right', async () => {
    const ada = await open('controller', 'Ada');
    const adaId = await drive(ada, 'Ada');
    const pic = await pictureOf(ada);
    const point = (fx: number, fy: number) => [pic.left + pic.width * fx, pic.top + pic.height * fy] as const;

    // 50 pointer moves inside one task are one move, at the last position: X's pointer goes there.
    await ada.page.evaluate(
      ([x0, y0, dx]) => {
        const video = document.querySelector('video')!;
        for (let i = 0; i < 50; i++)
          video.dispatchEvent(new PointerEvent('pointermove', { clientX: x0 + i * dx, clientY: y0, bubbles: true, pointerType: 'mouse' }));
      },
      [...point(0.1, 0.5), (pic.width * 0.5) / 49] as const,
    );
    await eventually(
      () => at(rig.pointer(), 768, 360),
      () => `the X pointer at (768,360) (it is at ${JSON.stringify(rig.pointer())})`,
    );
    const moves = sent(adaId, 'move') as Array<Extract<InputEvent, { t: 'move' }>>;
    assert.equal(moves.length, 1, JSON.stringify(moves));
    assert.ok(near(moves[0]!.x, 0.6) && near(moves[0]!.y, 0.5), JSON.stringify(moves[0]));
    // Real mouse movement in steps: at most one move per step, ending where the mouse is.
    await ada.page.mouse.move(...point(0.2, 0.2));
    await ada.page.mouse.move(...point(0.8, 0.4), { steps: 10 });
    await eventually(
      () => at(rig.pointer(), 1024, 288),
      () => `the X pointer at (1024,288) (it is at ${JSON.stringify(rig.pointer())})`,
    );
    assert.ok(sent(adaId, 'move').length <= 1 + 11);

    // Wheel: 300 px down is three notches (X button 5) at the pointer; the page itself does not scroll.
    const clicks = await rig.watchRootClicks();
    await ada.page.mouse.wheel(0, 300);
    await eventually(
      () => clicks.events.filter((e) => e.type === 'press' && e.button === 5 && at(e, 1024, 288)).length === 3,
      () => `three wheel notches down at (1024,288) on X (saw ${JSON.stringify(clicks.events)})`,
    );
    assert.equal(clicks.events.filter((e) => e.button === 4).length, 0, 'no notch up');

    // No context menu over the picture while driving.
    await ada.page.evaluate(() => {
      const w = window as unknown as { menus: boolean[] };
      w.menus = [];
      window.addEventListener('contextmenu', (e) => w.menus.push(e.defaultPrevented));
    });
    await ada.page.mouse.click(...point(0.5, 0.5), { button: 'right' });
    assert.deepEqual(await ada.page.evaluate(() => (window as unknown as { menus: boolean[] }).menus), [true]);

    // Text: a character no key name covers, and an IME composition's result, typed into the terminal.
    await ada.page.keyboard.insertText('é');
    const cdp = await ada.page.context().newCDPSession(ada.page);
    await cdp.send('Input.imeSetComposition', { text: 'にほん', selectionStart: 3, selectionEnd: 3 });
    await cdp.send('Input.insertText', { text: '日本' });
    await ada.page.keyboard.press('Enter');
    await eventually(
      () => rig.typed() === 'é日本\n',
      () => `the text in the host's terminal (got ${JSON.stringify(rig.typed())})`,
    );
    assert.deepEqual(
      sent(adaId, 'text').map((e) => (e as Extract<InputEvent, { t: 'text' }>).text),
      ['é', '日本'],
    );

    // The window loses focus while Shift and the left button are held: X holds both, then neither.
    await ada.page.keyboard.down('Shift');
    await ada.page.mouse.move(...point(0.9, 0.9));
    await ada.page.mouse.down();
    await eventually(
      () => rig.held().keys.includes(KEYCODE.shift) && rig.held().buttons.includes(1),
      () => `Shift and button 1 held on X (${JSON.stringify(rig.held())})`,
    );
    await ada.page.evaluate(() => window.dispatchEvent(new Event('blur')));
    await eventually(
      () => rig.held().keys.length === 0 && rig.held().buttons.length === 0,
      () => `both released on X (${JSON.stringify(rig.held())})`,
    );
    const ups = sent(adaId, 'up').length;
    await ada.page.mouse.up();
    await ada.page.keyboard.up('Shift');
    assert.equal(sent(adaId, 'up').length, ups, 'no second release sent');

    // Stop driving with a key held: X has it let go before control is handed back.
    await ada.page.keyboard.down('a');
    await eventually(
      () => rig.held().keys.includes(KEYCODE.a),
      () => `a held on X (${JSON.stringify(rig.held())})`,
    );
    await ada.page.click('#control-stop');
    await eventually(async () => (await rig.helperStats()).granted === null, 'the helper to lose the grant');
    assert.deepEqual(rig.held(), { buttons: [], keys: [] }, 'a let go on X');
    assert.deepEqual(sent(adaId).at(-1), { t: 'keyup', seq: sent(adaId).at(-1)!.seq, key: 'a', mods: [] });
    await ada.page.keyboard.up('a');
  });

  it('in full screen this Chromium grants the Keyboard Lock, and the driver is told every key goes to the host', async () => {
    const ada = await open('controller', 'Ada');
    await drive(ada, 'Ada');
    assert.match(await controlText(ada), /full screen/);
    await ada.page.click('#fullscreen');
    await eventually(async () => ada.page.evaluate(() => Boolean(document.fullscreenElement)), 'full screen');
    const snap = await eventually(async () => {
      const s = await guestControl(ada);
      return s.keyboard !== 'off' ? s : undefined;
    }, 'the keyboard lock to settle');
    assert.equal(snap!.keyboard, KEYBOARD_HERE, JSON.stringify(snap));
    assert.match(snap!.text, KEYBOARD_HERE === 'locked' ? /every key goes to the host/ : /Keyboard Lock is not available/);
    await ada.page.evaluate(() => document.exitFullscreen());
    await eventually(async () => (await guestControl(ada)).keyboard === 'off', 'unlocked');
  });

  it('a denied request and an unanswered one: the host refuses what the guest then sends, and nothing lands on X', async () => {
    const ada = await open('controller', 'Ada');
    rig.answer = { allow: false, reason: 'denied' };
    await ada.page.click('#control-request');
    await eventually(async () => /Hana declined your request/.test(await controlText(ada)), 'Ada to see the refusal');
    assert.equal((await guestControl(ada)).outcome, 'denied');
    assert.ok(await ada.page.isVisible('#control-request'), 'she may ask again');

    rig.answer = { allow: false, reason: 'timeout' };
    await ada.page.click('#control-request');
    await eventually(async () => /Hana did not answer/.test(await controlText(ada)), 'Ada to see nobody answered');
    assert.deepEqual(rig.asked, ['Ada', 'Ada']);

    // Her pointer and keys over the picture are not even sent…
    const clicks = await rig.watchRootClicks();
    const pic = await pictureOf(ada);
    await ada.page.mouse.click(pic.left + pic.width / 2, pic.top + pic.height / 2);
    await ada.page.keyboard.press('Control+p');
    assert.equal((await guestControl(ada)).sent, 0);
    // …and what a hostile page sends anyway reaches the host, which refuses it.
    const { guest } = await forgeAndSeeRefused(host.page, ada, { t: 'down', seq: 1, x: 0.5, y: 0.5, button: 'left' }, { t: 'text', seq: 2, text: 'denied\n' });
    assert.match(guest.lastRefusal?.reason ?? '', /not forwarded: nobody has been given control/);
    assert.deepEqual(rig.forwarded, []);
    const hostSide = await hostControl(host.page);
    assert.equal(hostSide.forwarded, 0);
    assert.equal(hostSide.denied, 2);
    assert.equal((await rig.helperStats()).granted, null);
    assert.deepEqual([clicks.events, rig.typed()], [[], '']);
  });

  it('a viewer has no button, and its forged input is refused by the host even while someone drives', async () => {
    const vic = await open('viewer', 'Vic');
    const ada = await open('controller', 'Ada');
    assert.equal(await vic.page.evaluate(() => document.body.dataset.canRequest), 'false');
    assert.ok(!(await vic.page.isVisible('#control-request')));
    await drive(ada, 'Ada');
    const clicks = await rig.watchRootClicks();
    const { host: hostSide, guest } = await forgeAndSeeRefused(
      host.page,
      vic,
      { t: 'down', seq: 1, x: 0.5, y: 0.5, button: 'left' },
      { t: 'keydown', seq: 2, key: 'p', mods: ['control'] },
      { t: 'text', seq: 3, text: 'rm -rf ~\n' },
    );
    assert.ok((hostSide.refused.FORBIDDEN ?? 0) >= 3, JSON.stringify(hostSide.refused));
    assert.match(guest.lastRefusal?.reason ?? '', /someone else is driving/);
    // The page shows the refusal for a moment.
    assert.match((await vic.page.textContent('#control-note')) ?? '', /The host refused input/);
    const vicId = (await vic.selfId())!;
    assert.deepEqual(
      rig.forwarded.filter((f) => f.controllerId === vicId),
      [],
    );
    assert.deepEqual([clicks.events, rig.typed()], [[], '']);
  });

  it("a second controller granted takes over; the first one's input is refused by the host afterwards", async () => {
    const ada = await open('controller', 'Ada');
    const bob = await open('controller', 'Bob');
    const clicks = await rig.watchRootClicks();
    await drive(ada, 'Ada');
    let pic = await pictureOf(ada);
    await ada.page.mouse.click(pic.left + pic.width / 2, pic.top + pic.height / 2);
    await eventually(() => pressedAt(clicks.events, 640, 360), "Ada's click on X");

    const bobId = await drive(bob, 'Bob');
    await eventually(async () => /Bob took over control/.test(await controlText(ada)), 'Ada to see Bob took over');
    assert.equal((await hostControl(host.page)).driverId, bobId);

    const pointer = rig.pointer();
    const pressed = clicks.events.length;
    await ada.page.mouse.click(pic.left + pic.width / 2, pic.top + pic.height / 2); // not captured any more
    const { guest } = await forgeAndSeeRefused(host.page, ada, { t: 'down', seq: 99, x: 0.1, y: 0.9, button: 'left' });
    assert.match(guest.lastRefusal?.reason ?? '', /someone else is driving/);
    assert.equal(clicks.events.length, pressed);
    assert.deepEqual(rig.pointer(), pointer);

    pic = await pictureOf(bob);
    await bob.page.mouse.click(pic.left + pic.width * 0.9, pic.top + pic.height * 0.1);
    await eventually(
      () => pressedAt(clicks.events, 1152, 72),
      () => `Bob's click at (1152,72) on X (saw ${JSON.stringify(clicks.events)})`,
    );
  });

  it("stop-all from the host's runner: the helper stops at once, the host refuses what follows, and everyone sees no driver", async () => {
    const ada = await open('controller', 'Ada');
    const vic = await open('viewer', 'Vic');
    await drive(ada, 'Ada');
    // Ada streams pointer moves (as a real drag would) while the host hits stop-all.
    await ada.page.evaluate(() => {
      let seq = 10_000;
      const w = window as unknown as { streamer: ReturnType<typeof setInterval>; pairuxViewer: { sendRawInput(r: unknown): boolean } };
      w.streamer = setInterval(() => w.pairuxViewer.sendRawInput({ t: 'move', seq: seq++, x: 0.3, y: 0.3 }), 5);
    });
    await eventually(() => at(rig.pointer(), 384, 216), 'the streamed moves on X');
    await rig.runner.stopAllControl();
    await eventually(async () => (await hostControl(host.page)).stopped, 'the host page to stop');
    // Put X's pointer elsewhere: one more streamed move landing would bring it back.
    rig.x.run('xdotool', 'mousemove', '700', '600');
    const injected = (await rig.helperStats()).injected;
    const refusedBefore = (await hostControl(host.page)).refused.FORBIDDEN ?? 0;
    await eventually(async () => ((await hostControl(host.page)).refused.FORBIDDEN ?? 0) > refusedBefore + 10, 'the host to refuse the moves still streaming');
    // Refused by the host page's own gate, at once: not left to the runner or the helper further down.
    await eventually(
      async () => /the host stopped all remote control/.test((await guestControl(ada)).lastRefusal?.reason ?? ''),
      'Ada to be told the host stopped all control',
    );
    assert.deepEqual(await forge(ada, { t: 'keydown', seq: 20_000, key: 'q', mods: ['control'] }), [true]);
    await eventually(async () => /Hana stopped all remote control/.test(await controlText(ada)), 'Ada to see the stop');
    await eventually(
      async () => !/driving/.test(await controlText(vic)) && !/is driving/.test((await vic.page.textContent('#status')) ?? ''),
      'Vic to see nobody drives',
    );
    await ada.page.evaluate(() => clearInterval((window as unknown as { streamer: ReturnType<typeof setInterval> }).streamer));
    assert.deepEqual(rig.pointer(), { x: 700, y: 600 }, 'no move landed after the stop');
    assert.equal((await rig.helperStats()).injected, injected, 'the helper injected nothing after the stop');
    assert.equal(rig.typed(), '');
    const hostSide = await hostControl(host.page);
    assert.equal(hostSide.driverId, null);
    assert.equal(await vic.page.locator('#participants .control').count(), 0);
    assert.equal((await guestControl(ada)).phase, 'none');
  });

  it("in 1:1 view, a scrolled picture still maps a click to the right place on the host's X screen", async () => {
    const ada = await open('controller', 'Ada');
    await eventually(async () => (await ada.page.evaluate(() => document.querySelector('video')!.videoWidth)) === 1280, 'the 1280-wide picture', 20_000);
    await drive(ada, 'Ada');
    await ada.page.click('#view-toggle');
    await eventually(async () => (await ada.page.evaluate(() => document.body.dataset.view)) === 'actual', '1:1 view');
    const stage = await ada.page.evaluate(() => {
      const s = document.getElementById('stage')!;
      s.scrollLeft = 150;
      const r = s.getBoundingClientRect();
      const v = document.querySelector('video')!;
      return {
        left: r.left,
        top: r.top,
        scrollLeft: s.scrollLeft,
        scrollTop: s.scrollTop,
        videoLeft: v.offsetLeft,
        videoTop: v.offsetTop,
        w: v.clientWidth,
        h: v.clientHeight,
      };
    });
    assert.equal(stage.scrollLeft, 150);
    assert.deepEqual([stage.w, stage.h], [1280, 720]);
    // 400 px into the stage is 550 px into the scrolled picture, 1:1 with the X screen.
    const expectX = Math.round(400 + stage.scrollLeft - stage.videoLeft);
    const expectY = Math.round(300 + stage.scrollTop - stage.videoTop);
    const clicks = await rig.watchRootClicks();
    await ada.page.mouse.click(stage.left + 400, stage.top + 300);
    await eventually(
      () => pressedAt(clicks.events, expectX, expectY),
      () => `the click at (${expectX},${expectY}) on X (saw ${JSON.stringify(clicks.events)}, pointer ${JSON.stringify(rig.pointer())})`,
    );
  });
});

/** What this machine's headless Chromium does with navigator.keyboard.lock() in full screen (checked, not assumed). */
const KEYBOARD_HERE: KeyboardLockState = 'locked';
