/**
 * Remote control end to end with real parts: the real control plane, the host page in headless
 * Chromium connected to a real HostBridgeServer (the demo's runner end of the bridge) whose
 * backend records what reaches it and answers control requests as each test decides, and guests
 * in Chromium viewer pages driving with the real mouse and keyboard (Playwright input).
 *
 * The host's screen comes from the runner too: synthetic BGRX frames with the frame marker,
 * relayed through `sendFrame`, so "the guest sees it" is always read back from decoded pixels.
 */
import assert from 'node:assert/strict';
import type { AddressInfo } from 'node:net';
import type { Browser, Page } from 'playwright-core';
import { WebSocketServer } from 'ws';
import { launchChromium } from '../../demo/chromium';
import { hostPageUrl } from '../../demo/headless-host';
import { HostBridgeServer } from '../../runner/websocket-bridge';
import type { BridgeBackend } from '../../runner/bridge-backend';
import { FrameKind, VIDEO_HEADER_BYTES, writeVideoHeader } from '../../protocol/helper-framing';
import { sanitizeInputEvent, type InputEvent } from '../../protocol/input';
import type { CreateSessionResponse } from '../../protocol/http-api';
import type { ParamsOf, ResultOf } from '../../protocol/rpc';
import type { AskControl, ControlState } from '../../protocol/host-bridge';
import type { ControlPlane } from '../../server/control-plane';
import { captureTimeLow32, paintMarker } from '../../webview/engine/frame-marker';
import type { HostBridgeSnapshot, HostControlSnapshot } from '../../webview/pages/host-page';
import type { ViewerControlSnapshot } from '../../webview/pages/viewer-control';
import { ViewerPage, framesBetween } from '../support/browser-viewer';
import { createSession, startTestServer } from '../support/control-plane';

type AskParams = ParamsOf<typeof AskControl>;
type AskResult = ResultOf<typeof AskControl>;
type StateParams = ParamsOf<typeof ControlState>;

const HOST_NAME = 'Hana';

async function until<T>(what: string, probe: () => T | undefined | false | Promise<T | undefined | false>, timeoutMs = 15_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await probe();
    if (value !== undefined && value !== false) return value;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** The runner behind the bridge: records everything, answers requests as the test says, pumps frames. */
class Runner {
  readonly inputs: Array<{ controllerId: string; event: InputEvent; raw: unknown }> = [];
  readonly asks: AskParams[] = [];
  readonly states: StateParams[] = [];
  readonly hellos: unknown[] = [];
  answer: (p: AskParams) => Promise<AskResult> = async () => ({ allow: true, reason: 'allowed' });
  screen = { width: 640, height: 360 };
  /** Where the page is told to take frames from (a URL: a helper-like frame socket). */
  via: 'bridge' | 'generated' | { url: string } = 'bridge';
  /** Where pumped frames go when not through the bridge. */
  sink: ((frame: Uint8Array) => void) | undefined;
  private seq = 0;
  private timer: ReturnType<typeof setInterval> | undefined;
  /** Every n-th message is garbage instead of a frame (0: never). */
  garbageEvery = 0;
  readonly server: HostBridgeServer;

  constructor() {
    const backend: BridgeBackend = {
      hello: (p) => {
        this.hellos.push(p);
        const frames = this.via === 'bridge' ? { via: 'bridge' as const } : this.via === 'generated' ? { via: 'generated' as const } : { via: 'websocket' as const, url: this.via.url };
        return { frames, screen: { ...this.screen, fps: 10, source: 'test-runner' }, controlRequests: true };
      },
      askControl: (p) => {
        this.asks.push(p);
        return this.answer(p);
      },
      controlState: (p) => {
        this.states.push(p);
      },
      input: (controllerId, raw) => {
        // What a real runner does before the helper: the same sanitizer, again.
        const checked = sanitizeInputEvent(raw);
        assert.ok(checked.ok, `the page forwarded an event the sanitizer refuses: ${JSON.stringify(raw)}`);
        if (checked.ok) this.inputs.push({ controllerId, event: checked.event, raw });
      },
    };
    this.server = new HostBridgeServer(backend);
  }

  /** Synthetic helper frames (BGRX, frame marker painted) through the bridge at `fps`. */
  pump(fps = 10): void {
    this.stopPump();
    this.timer = setInterval(() => {
      const n = this.seq++;
      const send = this.sink ?? ((f: Uint8Array) => this.server.sendFrame(f));
      if (this.garbageEvery > 0 && n % this.garbageEvery === 0) {
        send(Uint8Array.from({ length: 1000 + (n % 7) }, (_, i) => (i * 31 + n) & 0xff));
        return;
      }
      send(syntheticFrame(this.screen.width, this.screen.height, n));
    }, 1000 / fps);
  }

  stopPump(): void {
    if (this.timer !== undefined) clearInterval(this.timer);
    this.timer = undefined;
  }

  events(controllerId?: string, kind?: InputEvent['t']): InputEvent[] {
    return this.inputs.filter((i) => (!controllerId || i.controllerId === controllerId) && (!kind || i.event.t === kind)).map((i) => i.event);
  }
}

function syntheticFrame(width: number, height: number, seq: number): Uint8Array {
  const bytes = new Uint8Array(1 + VIDEO_HEADER_BYTES + width * height * 4);
  bytes[0] = FrameKind.Video;
  const captureTime = Date.now();
  writeVideoHeader(new DataView(bytes.buffer), 1, { seq, width, height, format: 'BGRX', captureTime });
  const pixels = bytes.subarray(1 + VIDEO_HEADER_BYTES);
  // A dark blue-grey desktop (B, G, R, X), then the marker the viewer's probe reads back.
  for (let i = 0; i < pixels.length; i += 4) {
    pixels[i] = 70;
    pixels[i + 1] = 45;
    pixels[i + 2] = 30;
  }
  paintMarker(pixels, width, height, { frame: seq & 0xffff, captureTimeLow32: captureTimeLow32(captureTime) });
  return bytes;
}

interface BridgedHost {
  page: Page;
  control(): Promise<HostControlSnapshot>;
  bridge(): Promise<HostBridgeSnapshot | null>;
  close(): Promise<void>;
}

/** The host page with `bridge=` in its fragment, up once its runner has answered hello (startHeadlessHost only waits for the join). */
async function startBridgedHost(browser: Browser, plane: ControlPlane, session: CreateSessionResponse, bridgeUrl: string): Promise<BridgedHost> {
  const context = await browser.newContext({ viewport: { width: 1280, height: 800 } });
  const page = await context.newPage();
  const errors: string[] = [];
  page.on('pageerror', (e) => errors.push(e.message));
  const url = hostPageUrl(plane.url, session.sessionId, session.hostToken, { name: HOST_NAME, width: 640, height: 360, fps: 10, bridge: bridgeUrl });
  await page.goto(url);
  type Hook = { pairuxHost: { control(): HostControlSnapshot; bridge(): HostBridgeSnapshot | null } };
  try {
    await page.waitForFunction(() => (window as unknown as Hook).pairuxHost?.bridge()?.state === 'open', null, { timeout: 20_000 });
  } catch (err) {
    const text = await page.evaluate(() => document.body.innerText.slice(0, 600)).catch(() => '');
    await context.close();
    throw new Error(`the bridged host page did not come up: ${errors.join('; ') || text || String(err)}`);
  }
  return {
    page,
    control: () => page.evaluate(() => (window as unknown as Hook).pairuxHost.control()),
    bridge: () => page.evaluate(() => (window as unknown as Hook).pairuxHost.bridge()),
    close: () => context.close().catch(() => undefined),
  };
}

function controlOf(v: ViewerPage): Promise<ViewerControlSnapshot> {
  return v.page.evaluate(() => (window as unknown as { pairuxViewer: { control(): ViewerControlSnapshot } }).pairuxViewer.control());
}

function forge(v: ViewerPage, raw: unknown): Promise<boolean> {
  return v.page.evaluate((r) => (window as unknown as { pairuxViewer: { sendRawInput(r: unknown): boolean } }).pairuxViewer.sendRawInput(r), raw);
}

async function controlText(v: ViewerPage): Promise<string> {
  return v.page.evaluate(() => document.getElementById('control-status')?.textContent ?? '');
}

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

const near = (a: number, b: number, eps = 0.004) => Math.abs(a - b) <= eps;

describe('end to end: remote control through the host page and its runner', function () {
  this.timeout(120_000);
  let browser: Browser;
  let plane: ControlPlane;
  let session: CreateSessionResponse;
  let runner: Runner;
  let host: BridgedHost;
  const viewers: ViewerPage[] = [];

  before(async () => {
    browser = await launchChromium();
  });
  after(async () => {
    await browser?.close();
  });
  beforeEach(async () => {
    plane = await startTestServer({ reconnectGraceMs: 5000 });
    session = await createSession(plane, { name: 'Control E2E' });
    runner = new Runner();
    const bridgeUrl = await runner.server.listen();
    runner.pump(10);
    host = await startBridgedHost(browser, plane, session, bridgeUrl);
  });
  afterEach(async () => {
    runner?.stopPump();
    for (const v of viewers.splice(0)) await v.close();
    await host?.close();
    await runner?.server.close();
    await plane?.close();
  });

  async function open(role: 'controller' | 'viewer', name: string): Promise<ViewerPage> {
    const v = await ViewerPage.open(browser, role === 'controller' ? session.links.controller.url : session.links.viewer.url, name);
    viewers.push(v);
    await v.waitForState('live', 20_000);
    return v;
  }

  /** Asks for control from the page's button and waits until the page says it drives. */
  async function drive(v: ViewerPage, name: string): Promise<string> {
    const id = (await v.selfId())!;
    const asksBefore = runner.asks.length;
    await v.page.click('#control-request');
    await until(`${name}'s request to reach the runner`, () => runner.asks.length > asksBefore && runner.asks.at(-1)?.participantId === id);
    assert.equal(runner.asks.at(-1)?.name, name);
    await v.page.waitForFunction(() => document.body.dataset.control === 'driving', null, { timeout: 10_000 });
    await until('the runner to hear who drives', () => runner.states.at(-1)?.driverId === id);
    return id;
  }

  it('a controller asks, the runner allows, and the click, typed keys and Ctrl+P arrive sanitized at the runner', async () => {
    const ada = await open('controller', 'Ada');
    const vic = await open('viewer', 'Vic');
    assert.ok(await ada.page.isVisible('#control-request'), 'a controller has a Request control button');
    assert.ok(!(await vic.page.isVisible('#control-request')), 'a viewer has none');

    const adaId = await drive(ada, 'Ada');
    assert.deepEqual(runner.states.at(-1), { driverId: adaId, driverName: 'Ada', reason: 'granted' });
    assert.match(await controlText(ada), /You are driving Hana's screen/);
    // Everyone sees who drives: the status line, the control line and the participants list.
    await until('the viewer to see who drives', async () => /Ada is driving/.test(await controlText(vic)));
    await until('the viewer status line to say so', async () => /Ada is driving/.test(await vic.page.textContent('#status') ?? ''));
    assert.equal(await vic.page.textContent(`#participants li[data-id="${adaId}"] .control`), 'driving');

    // Fit view letterboxes the 16:9 screen in the stage: click its centre, a quarter point, and a bar.
    const pic = await pictureOf(ada);
    assert.ok(pic.top > 40, `letterboxed (picture top ${pic.top.toFixed(1)} px)`);
    await ada.page.mouse.click(pic.left + pic.width / 2, pic.top + pic.height / 2);
    await ada.page.mouse.click(pic.left + pic.width * 0.25, pic.top + pic.height * 0.75, { button: 'right' });
    await until('two clicks at the runner', () => runner.events(adaId, 'up').length >= 2);
    const [down1, down2] = runner.events(adaId, 'down') as Array<Extract<InputEvent, { t: 'down' }>>;
    assert.ok(down1 && near(down1.x, 0.5) && near(down1.y, 0.5) && down1.button === 'left', JSON.stringify(down1));
    assert.ok(down2 && near(down2.x, 0.25) && near(down2.y, 0.75) && down2.button === 'right', JSON.stringify(down2));
    const downs = runner.events(adaId, 'down').length;
    await ada.page.mouse.click(pic.left + pic.width / 2, pic.top - 15); // on the bar above the picture
    await sleep(300);
    assert.equal(runner.events(adaId, 'down').length, downs, 'a click outside the picture is not sent');

    // Keys: nothing that reaches the page's own listeners, no print dialog, all of it at the runner.
    await ada.page.evaluate(() => {
      const w = window as unknown as { leaks: string[] };
      w.leaks = [];
      window.addEventListener('keydown', (e) => w.leaks.push(`window:${e.key}`));
      document.addEventListener('keydown', (e) => w.leaks.push(`document:${e.key}`), true);
      document.body.addEventListener('keydown', (e) => w.leaks.push(`body:${e.key}`));
      window.addEventListener('beforeprint', () => w.leaks.push('print'));
    });
    const keysBefore = runner.events(adaId).length;
    await ada.page.keyboard.type('Hi!');
    await ada.page.keyboard.press('Control+p');
    await ada.page.keyboard.press('F1');
    await until('the keys at the runner', () => runner.events(adaId, 'keyup').length >= 6);
    const keys = runner.events(adaId).slice(keysBefore).filter((e) => e.t === 'keydown' || e.t === 'keyup') as Array<Extract<InputEvent, { t: 'keydown' | 'keyup' }>>;
    const downsOnly = keys.filter((e) => e.t === 'keydown').map((e) => `${e.key}${e.mods.length ? `+${e.mods.join('+')}` : ''}`);
    assert.deepEqual(downsOnly, ['H', 'i', '!', 'control+control', 'p+control', 'f1']);
    assert.deepEqual(keys.filter((e) => e.t === 'keyup').map((e) => e.key), ['H', 'i', '!', 'p', 'control', 'f1']);
    assert.deepEqual(await ada.page.evaluate(() => (window as unknown as { leaks: string[] }).leaks), [], 'the guest page itself saw none of the keys');

    // Sequence numbers only go up, and the viewer's own input was never sent.
    const seqs = runner.events(adaId).map((e) => e.seq);
    assert.deepEqual(seqs, [...seqs].sort((a, b) => a - b));
    assert.equal(runner.events().filter((e) => !runner.events(adaId).includes(e)).length, 0);
    const hostSide = await host.control();
    assert.equal(hostSide.forwarded, runner.inputs.length);
    assert.equal(hostSide.driverId, adaId);

    // The helper refusing something further down reaches the guest too.
    runner.server.inputRefused({ controllerId: adaId, seq: 14, code: 'FORBIDDEN', reason: 'the helper could not inject f1', count: 2 });
    await until("the helper's refusal at Ada's page", async () => (await controlOf(ada)).lastRefusal?.reason === 'the helper could not inject f1');
    assert.equal((await controlOf(ada)).lastRefusal?.count, 2);

    // Stop driving: Ada gives control back, and everyone sees nobody drives.
    await ada.page.click('#control-stop');
    await until('the runner to hear control was released', () => runner.states.at(-1)?.reason === 'released' && runner.states.at(-1)?.driverId === null);
    await until('Ada to see she stopped', async () => /You stopped driving/.test(await controlText(ada)));
    await until('Vic to see nobody drives', async () => (await controlText(vic)) === '');
  });

  it('moves are coalesced per frame; wheel, IME text and held keys and buttons reach the runner right', async () => {
    const ada = await open('controller', 'Ada');
    const adaId = await drive(ada, 'Ada');
    const pic = await pictureOf(ada);
    const at = (fx: number, fy: number) => [pic.left + pic.width * fx, pic.top + pic.height * fy] as const;

    // 50 pointer moves inside one task are one move, at the last position.
    await ada.page.evaluate(([x0, y0, dx]) => {
      const video = document.querySelector('video')!;
      for (let i = 0; i < 50; i++) video.dispatchEvent(new PointerEvent('pointermove', { clientX: x0 + i * dx, clientY: y0, bubbles: true, pointerType: 'mouse' }));
    }, [...at(0.1, 0.5), (pic.width * 0.5) / 49] as const);
    await until('the coalesced move', () => runner.events(adaId, 'move').length >= 1);
    await sleep(200);
    const moves = runner.events(adaId, 'move') as Array<Extract<InputEvent, { t: 'move' }>>;
    assert.equal(moves.length, 1, JSON.stringify(moves));
    assert.ok(near(moves[0]!.x, 0.6) && near(moves[0]!.y, 0.5), JSON.stringify(moves[0]));
    // Real mouse movement in steps: at most one move per step, ending where the mouse is.
    await ada.page.mouse.move(...at(0.2, 0.2));
    await ada.page.mouse.move(...at(0.8, 0.4), { steps: 10 });
    await until('the last move', () => {
      const last = runner.events(adaId, 'move').at(-1) as Extract<InputEvent, { t: 'move' }> | undefined;
      return last && near(last.x, 0.8) && near(last.y, 0.4);
    });
    assert.ok(runner.events(adaId, 'move').length <= 1 + 11);

    // Wheel: 300 px down is three notches, at the pointer; the page itself does not scroll.
    await ada.page.mouse.wheel(0, 300);
    const wheel = await until('the wheel', () => runner.events(adaId, 'wheel')[0] as Extract<InputEvent, { t: 'wheel' }> | undefined);
    assert.deepEqual([wheel.dx, wheel.dy], [0, 3]);
    assert.ok(near(wheel.x, 0.8) && near(wheel.y, 0.4));

    // No context menu over the picture while driving.
    await ada.page.evaluate(() => {
      const w = window as unknown as { menus: boolean[] };
      w.menus = [];
      window.addEventListener('contextmenu', (e) => w.menus.push(e.defaultPrevented));
    });
    await ada.page.mouse.click(...at(0.5, 0.5), { button: 'right' });
    assert.deepEqual(await ada.page.evaluate(() => (window as unknown as { menus: boolean[] }).menus), [true]);

    // Text: a character no key name covers, and an IME composition's result.
    await ada.page.keyboard.insertText('é');
    const cdp = await ada.page.context().newCDPSession(ada.page);
    await cdp.send('Input.imeSetComposition', { text: 'にほん', selectionStart: 3, selectionEnd: 3 });
    await cdp.send('Input.insertText', { text: '日本' });
    await until('the texts', () => runner.events(adaId, 'text').length >= 2);
    await sleep(200);
    assert.deepEqual(runner.events(adaId, 'text').map((e) => (e as Extract<InputEvent, { t: 'text' }>).text), ['é', '日本']);

    // The window loses focus while Shift and the left button are held: both are let go.
    await ada.page.keyboard.down('Shift');
    await ada.page.mouse.move(...at(0.3, 0.3));
    await ada.page.mouse.down();
    await until('shift and the button down', () => runner.events(adaId, 'keydown').some((e) => e.t === 'keydown' && e.key === 'shift') && runner.events(adaId, 'down').length >= 2);
    await ada.page.evaluate(() => window.dispatchEvent(new Event('blur')));
    await until('both released', () => runner.events(adaId, 'keyup').some((e) => e.t === 'keyup' && e.key === 'shift') && runner.events(adaId, 'up').length >= 2);
    const ups = runner.events(adaId, 'up').length;
    await ada.page.mouse.up();
    await ada.page.keyboard.up('Shift');
    await sleep(200);
    assert.equal(runner.events(adaId, 'up').length, ups, 'no second release');

    // Stop driving with a key held: the key is let go before control is handed back.
    await ada.page.keyboard.down('a');
    await until('a down', () => runner.events(adaId, 'keydown').some((e) => e.t === 'keydown' && e.key === 'a'));
    await ada.page.click('#control-stop');
    await until('released', () => runner.states.at(-1)?.reason === 'released');
    assert.deepEqual(runner.events(adaId).at(-1), { t: 'keyup', seq: runner.events(adaId).at(-1)!.seq, key: 'a', mods: [] });
    await ada.page.keyboard.up('a');
  });

  it('in full screen the driver is told whether the browser lets it have every key', async () => {
    const ada = await open('controller', 'Ada');
    await drive(ada, 'Ada');
    assert.match(await controlText(ada), /full screen/);
    await ada.page.click('#fullscreen');
    await until('full screen', async () => ada.page.evaluate(() => Boolean(document.fullscreenElement)));
    const snap = await until('the keyboard lock to settle', async () => {
      const s = await controlOf(ada);
      return s.keyboard !== 'off' ? s : undefined;
    });
    if (snap.keyboard === 'locked') assert.match(snap.text, /every key goes to the host/);
    else assert.match(snap.text, /Keyboard Lock is not available/);
    await ada.page.evaluate(() => document.exitFullscreen());
    await until('unlocked', async () => (await controlOf(ada)).keyboard === 'off');
  });

  it('a denied request and an unanswered one leave nothing forwarded', async () => {
    const ada = await open('controller', 'Ada');
    const adaId = (await ada.selfId())!;
    runner.answer = async () => ({ allow: false, reason: 'denied' });
    await ada.page.click('#control-request');
    await until('Ada to see the refusal', async () => /Hana declined your request/.test(await controlText(ada)));
    assert.equal((await controlOf(ada)).outcome, 'denied');
    assert.ok(await ada.page.isVisible('#control-request'), 'she may ask again');

    runner.answer = async () => ({ allow: false, reason: 'timeout' });
    await ada.page.click('#control-request');
    await until('Ada to see nobody answered', async () => /Hana did not answer/.test(await controlText(ada)));
    assert.equal(runner.asks.length, 2);

    // Her pointer and keys over the picture go nowhere, and forged input is refused by the host.
    const pic = await pictureOf(ada);
    await ada.page.mouse.click(pic.left + pic.width / 2, pic.top + pic.height / 2);
    await ada.page.keyboard.press('Control+p');
    assert.equal((await controlOf(ada)).sent, 0);
    assert.equal(await forge(ada, { t: 'down', seq: 1, x: 0.5, y: 0.5, button: 'left' }), true);
    await until('the host to refuse the forged click', async () => (await controlOf(ada)).refused >= 1);
    assert.match((await controlOf(ada)).lastRefusal?.reason ?? '', /not forwarded: nobody has been given control/);
    assert.deepEqual(runner.events(adaId), []);
    const hostSide = await host.control();
    assert.equal(hostSide.forwarded, 0);
    assert.equal(hostSide.denied, 2);
  });

  it('a viewer has no button, and its forged input is refused even while someone drives', async () => {
    const vic = await open('viewer', 'Vic');
    const ada = await open('controller', 'Ada');
    const vicId = (await vic.selfId())!;
    assert.equal(await vic.page.evaluate(() => document.body.dataset.canRequest), 'false');
    assert.ok(!(await vic.page.isVisible('#control-request')));
    await drive(ada, 'Ada');
    const forged: unknown[] = [
      { t: 'down', seq: 1, x: 0.5, y: 0.5, button: 'left' },
      { t: 'keydown', seq: 2, key: 'p', mods: ['control'] },
      { t: 'text', seq: 3, text: 'rm -rf ~\n' },
    ];
    for (const raw of forged) assert.equal(await forge(vic, raw), true);
    await until('the viewer to be told', async () => (await controlOf(vic)).refused >= 3);
    assert.deepEqual(runner.events(vicId), []);
    const hostSide = await host.control();
    assert.ok((hostSide.refused.FORBIDDEN ?? 0) >= 3, JSON.stringify(hostSide.refused));
    assert.match((await controlOf(vic)).lastRefusal?.reason ?? '', /someone else is driving/);
    // The page shows the refusal for a moment.
    assert.match((await vic.page.textContent('#control-note')) ?? '', /The host refused input/);
  });

  it('a second controller granted takes over; the first one\'s input is refused afterwards', async () => {
    const ada = await open('controller', 'Ada');
    const bob = await open('controller', 'Bob');
    const adaId = await drive(ada, 'Ada');
    let pic = await pictureOf(ada);
    await ada.page.mouse.click(pic.left + pic.width / 2, pic.top + pic.height / 2);
    await until("Ada's click", () => runner.events(adaId, 'up').length === 1);

    const bobId = await drive(bob, 'Bob');
    await until('Ada to see Bob took over', async () => /Bob took over control/.test(await controlText(ada)));
    assert.ok(runner.states.some((s) => s.reason === 'taken-over'), JSON.stringify(runner.states));
    assert.deepEqual(runner.states.at(-1), { driverId: bobId, driverName: 'Bob', reason: 'granted' });

    const adaBefore = runner.events(adaId).length;
    await ada.page.mouse.click(pic.left + pic.width / 2, pic.top + pic.height / 2); // not captured any more
    assert.equal(await forge(ada, { t: 'down', seq: 99, x: 0.1, y: 0.1, button: 'left' }), true);
    await until('Ada to be refused', async () => (await controlOf(ada)).refused >= 1);
    assert.equal(runner.events(adaId).length, adaBefore);

    pic = await pictureOf(bob);
    await bob.page.mouse.click(pic.left + pic.width * 0.9, pic.top + pic.height * 0.1);
    await until("Bob's click", () => runner.events(bobId, 'up').length === 1);
    const down = runner.events(bobId, 'down')[0] as Extract<InputEvent, { t: 'down' }>;
    assert.ok(near(down.x, 0.9) && near(down.y, 0.1), JSON.stringify(down));
  });

  it('stop-all from the runner stops forwarding at once, and everyone sees no driver', async () => {
    const ada = await open('controller', 'Ada');
    const vic = await open('viewer', 'Vic');
    const adaId = await drive(ada, 'Ada');
    // Ada streams pointer moves (as a real drag would) while the host hits stop-all.
    await ada.page.evaluate(() => {
      let seq = 10_000;
      const w = window as unknown as { streamer: ReturnType<typeof setInterval>; pairuxViewer: { sendRawInput(r: unknown): boolean } };
      w.streamer = setInterval(() => w.pairuxViewer.sendRawInput({ t: 'move', seq: seq++, x: 0.3, y: 0.3 }), 5);
    });
    await until('moves to flow', () => runner.events(adaId, 'move').length >= 10);
    runner.server.stopAllControl();
    await until('the host page to stop', async () => (await host.control()).stopped);
    const atStop = runner.events(adaId).length;
    // Right after the stop: refused, and nothing more reaches the runner.
    assert.equal(await forge(ada, { t: 'keydown', seq: 20_000, key: 'q', mods: ['control'] }), true);
    await until('everyone to hear about it', () => runner.states.at(-1)?.reason === 'panic' && runner.states.at(-1)?.driverId === null);
    await until('Ada to see the stop', async () => /Hana stopped all remote control/.test(await controlText(ada)));
    await until('Vic to see nobody drives', async () => !/driving/.test(await controlText(vic)) && !/is driving/.test(await vic.page.textContent('#status') ?? ''));
    await sleep(300);
    await ada.page.evaluate(() => clearInterval((window as unknown as { streamer: ReturnType<typeof setInterval> }).streamer));
    assert.equal(runner.events(adaId).length, atStop, 'nothing forwarded after the stop');
    assert.ok(!runner.events(adaId).some((e) => e.seq === 20_000));
    const hostSide = await host.control();
    assert.ok((hostSide.refused.FORBIDDEN ?? 0) > 0);
    assert.equal(hostSide.driverId, null);
    assert.equal(await vic.page.locator('#participants .control').count(), 0);
    assert.equal((await controlOf(ada)).phase, 'none');
  });

  it('frames the runner sends through the bridge are what viewers decode, through garbage and a resize', async () => {
    const vic = await open('viewer', 'Vic');
    const [a, b] = await vic.markerAdvance(1000);
    assert.ok(framesBetween(a, b) >= 4, `frame ${a.frame} → ${b.frame} in 1 s`);
    assert.deepEqual([b.width, b.height], [640, 360]);
    const screen = await vic.page.evaluate(() => (window as unknown as { pairuxViewer: { screen?: { width: number; source: string } } }).pairuxViewer.screen);
    assert.deepEqual([screen?.width, screen?.source], [640, 'test-runner']);

    // Garbage between frames is counted and dropped; the picture keeps moving.
    runner.garbageEvery = 3;
    await sleep(1500);
    const [c, d] = await vic.markerAdvance(1000);
    assert.ok(framesBetween(c, d) >= 2, `frame ${c.frame} → ${d.frame} with garbage`);
    const bridge = (await host.bridge())!;
    assert.ok(bridge.framesBad >= 3, `bad frames ${bridge.framesBad}`);
    assert.match(bridge.lastBadReason ?? '', /./);
    runner.garbageEvery = 0;

    // The screen changes size: the picture and the reported screen follow.
    runner.screen = { width: 800, height: 448 };
    const resized = await until('the viewer to decode the new size', async () => {
      const m = await vic.readMarker();
      return m && m.width === 800 ? m : undefined;
    }, 20_000);
    assert.equal(resized.height, 448);
    await until('peer.screen to report it', async () => (await vic.page.evaluate(() => (window as unknown as { pairuxViewer: { screen?: { width: number } } }).pairuxViewer.screen?.width)) === 800);
    assert.ok((await host.bridge())!.framesDelivered > 20);
  });

  it('the runner may instead point the page at a helper\'s own frame socket, or at the generated screen', async () => {
    // A stand-in for the helper's loopback frame socket: kind-first messages, as helper/capture sends.
    const sockets = new WebSocketServer({ host: '127.0.0.1', port: 0 });
    await new Promise<void>((resolve) => sockets.once('listening', () => resolve()));
    try {
      const url = `ws://127.0.0.1:${(sockets.address() as AddressInfo).port}/frames/test-key`;
      runner.sink = (frame) => {
        for (const ws of sockets.clients) ws.send(frame, { binary: true });
      };
      runner.via = { url };
      runner.screen = { width: 480, height: 270 };
      await host.close();
      session = await createSession(plane, { name: 'Frames via socket' });
      host = await startBridgedHost(browser, plane, session, runner.server.url);
      assert.equal((await host.bridge())?.via, 'websocket');
      const vic = await open('viewer', 'Vic');
      const [a, b] = await vic.markerAdvance(1000);
      assert.ok(framesBetween(a, b) >= 4, `frame ${a.frame} → ${b.frame} in 1 s`);
      assert.deepEqual([b.width, b.height], [480, 270]);
      assert.equal(sockets.clients.size, 1, 'the page opened the frame socket');
    } finally {
      runner.sink = undefined;
      for (const ws of sockets.clients) ws.terminate();
      await new Promise<void>((resolve) => sockets.close(() => resolve()));
    }

    // 'generated': the page draws its own stand-in screen at the size the runner gave.
    runner.via = 'generated';
    runner.screen = { width: 640, height: 360 };
    await host.close();
    session = await createSession(plane, { name: 'Generated' });
    host = await startBridgedHost(browser, plane, session, runner.server.url);
    const vic2 = await open('viewer', 'Vic again');
    const [c, d] = await vic2.markerAdvance(1000);
    assert.ok(framesBetween(c, d) >= 4);
    const screen = await vic2.page.evaluate(() => (window as unknown as { pairuxViewer: { screen?: { width: number; source: string } } }).pairuxViewer.screen);
    assert.deepEqual([screen?.width, screen?.source], [640, 'generated']);
  });

  it('in 1:1 view, a scrolled picture still maps clicks to the right place on the host\'s screen', async () => {
    runner.screen = { width: 1280, height: 720 };
    const ada = await open('controller', 'Ada');
    await until('the 1280-wide picture', async () => (await ada.page.evaluate(() => document.querySelector('video')!.videoWidth)) === 1280, 20_000);
    const adaId = await drive(ada, 'Ada');
    await ada.page.click('#view-toggle');
    await until('1:1 view', async () => (await ada.page.evaluate(() => document.body.dataset.view)) === 'actual');
    const stage = await ada.page.evaluate(() => {
      const s = document.getElementById('stage')!;
      s.scrollLeft = 150;
      const r = s.getBoundingClientRect();
      const v = document.querySelector('video')!;
      return { left: r.left, top: r.top, scrollLeft: s.scrollLeft, scrollTop: s.scrollTop, videoLeft: v.offsetLeft, videoTop: v.offsetTop, w: v.clientWidth, h: v.clientHeight };
    });
    assert.equal(stage.scrollLeft, 150);
    assert.deepEqual([stage.w, stage.h], [1280, 720]);
    // 400 px into the stage is 550 px into the scrolled picture.
    const clickX = stage.left + 400;
    const clickY = stage.top + 300;
    await ada.page.mouse.click(clickX, clickY);
    await until('the click', () => runner.events(adaId, 'down').length === 1);
    const down = runner.events(adaId, 'down')[0] as Extract<InputEvent, { t: 'down' }>;
    const expectX = (400 + stage.scrollLeft - stage.videoLeft) / 1280;
    const expectY = (300 + stage.scrollTop - stage.videoTop) / 720;
    assert.ok(near(down.x, expectX, 0.002) && near(down.y, expectY, 0.002), `${JSON.stringify(down)} vs ${expectX}, ${expectY}`);
  });
});
