/**
 * What a guest's browser reports → what the host may receive: keys onto the allowlist, pixels
 * onto the shared screen (letterboxed and 1:1), wheel deltas into notches. Every mapped event is
 * also run through the host's own `sanitizeInputEvent`, so guest and host agree.
 */
import assert from 'node:assert/strict';
import { MAX_TEXT_CHARS, MAX_WHEEL_STEP, sanitizeInputEvent } from '../../protocol/input';
import {
  containedPicture,
  DOM_DELTA_LINE,
  DOM_DELTA_PAGE,
  DOM_DELTA_PIXEL,
  mapButton,
  mapKey,
  modifiersOf,
  normalisePoint,
  textChunks,
  WheelNotches,
  type KeyInput,
} from '../../webview/engine/input/input-mapping';

const NO_MODS = { shiftKey: false, ctrlKey: false, altKey: false, metaKey: false };
const key = (k: string, code: string, mods: Partial<KeyInput> = {}): KeyInput => ({ key: k, code, ...NO_MODS, ...mods });

function sanitized(mapped: ReturnType<typeof mapKey>): unknown {
  assert.equal(mapped.kind, 'key');
  if (mapped.kind !== 'key') return undefined;
  const r = sanitizeInputEvent({ t: 'keydown', seq: 1, key: mapped.key, mods: mapped.mods });
  assert.ok(r.ok, `host refuses ${JSON.stringify(mapped)}: ${r.ok ? '' : r.reason}`);
  return r.ok ? r.event : undefined;
}

describe('webview: input mapping', () => {
  describe('keys', () => {
    it('maps shortcuts the host must get to the key and its modifiers', () => {
      assert.deepEqual(mapKey(key('p', 'KeyP', { ctrlKey: true })), { kind: 'key', key: 'p', mods: ['control'] });
      assert.deepEqual(mapKey(key('P', 'KeyP', { ctrlKey: true, shiftKey: true })), { kind: 'key', key: 'P', mods: ['shift', 'control'] });
      assert.deepEqual(mapKey(key('w', 'KeyW', { ctrlKey: true })), { kind: 'key', key: 'w', mods: ['control'] });
      assert.deepEqual(mapKey(key('b', 'KeyB', { ctrlKey: true })), { kind: 'key', key: 'b', mods: ['control'] });
      assert.deepEqual(mapKey(key('F1', 'F1')), { kind: 'key', key: 'f1', mods: [] });
      assert.deepEqual(mapKey(key('Tab', 'Tab', { altKey: true })), { kind: 'key', key: 'tab', mods: ['alt'] });
      assert.deepEqual(mapKey(key('s', 'KeyS', { metaKey: true })), { kind: 'key', key: 's', mods: ['meta'] });
    });

    it('maps every named key onto the allowlist', () => {
      const names: Array<[string, string]> = [
        ['Enter', 'enter'],
        ['Escape', 'escape'],
        ['Backspace', 'backspace'],
        ['Tab', 'tab'],
        [' ', 'space'],
        ['Delete', 'delete'],
        ['Insert', 'insert'],
        ['Home', 'home'],
        ['End', 'end'],
        ['PageUp', 'pageup'],
        ['PageDown', 'pagedown'],
        ['ArrowUp', 'up'],
        ['ArrowDown', 'down'],
        ['ArrowLeft', 'left'],
        ['ArrowRight', 'right'],
        ['Shift', 'shift'],
        ['Control', 'control'],
        ['Alt', 'alt'],
        ['Meta', 'meta'],
        ['OS', 'meta'],
        ['CapsLock', 'capslock'],
        ['ContextMenu', 'menu'],
        ['F12', 'f12'],
        ['Esc', 'escape'],
        ['Spacebar', 'space'],
      ];
      for (const [domKey, name] of names) {
        const mapped = mapKey(key(domKey, ''));
        assert.deepEqual(mapped, { kind: 'key', key: name, mods: [] }, domKey);
        sanitized(mapped);
      }
    });

    it('sends printable ASCII as the character the guest typed, on every layout', () => {
      for (let c = 0x21; c <= 0x7e; c++) {
        const ch = String.fromCharCode(c);
        const mapped = mapKey(key(ch, 'Whatever', { shiftKey: /[A-Z!@#$%^&*()_+{}|:"<>?~]/.test(ch) }));
        assert.equal(mapped.kind, 'key', ch);
        if (mapped.kind === 'key') assert.equal(mapped.key, ch);
        sanitized(mapped);
      }
    });

    it('types characters outside the allowlist as text, and keeps shortcuts on other layouts working', () => {
      assert.deepEqual(mapKey(key('é', 'Digit2')), { kind: 'text', text: 'é' });
      assert.deepEqual(mapKey(key('ß', 'Minus')), { kind: 'text', text: 'ß' });
      assert.deepEqual(mapKey(key('😀', '')), { kind: 'text', text: '😀' });
      // Ctrl+С on a Russian layout is Ctrl+C for every program.
      assert.deepEqual(mapKey(key('с', 'KeyC', { ctrlKey: true })), { kind: 'key', key: 'c', mods: ['control'] });
      assert.deepEqual(mapKey(key('ж', 'Semicolon', { ctrlKey: true })), { kind: 'key', key: ';', mods: ['control'] });
      assert.deepEqual(mapKey(key('End', 'Numpad1')), { kind: 'key', key: 'end', mods: [] });
    });

    it('leaves IME keys to the browser and drops what the host may not get', () => {
      assert.deepEqual(mapKey(key('Process', 'KeyA')), { kind: 'compose' });
      assert.deepEqual(mapKey({ ...key('a', 'KeyA'), isComposing: true }), { kind: 'compose' });
      assert.deepEqual(mapKey({ ...key('Unidentified', ''), keyCode: 229 }), { kind: 'compose' });
      assert.deepEqual(mapKey(key('Dead', 'Quote')), { kind: 'none' });
      for (const k of ['PrintScreen', 'F13', 'AudioVolumeUp', 'NumLock', 'ScrollLock', 'Pause', 'Unidentified', 'AltGraph']) {
        assert.deepEqual(mapKey(key(k, k)), { kind: 'none' }, k);
      }
      // A non-ASCII character with Ctrl and no US key behind it is not a shortcut we can send.
      assert.deepEqual(mapKey(key('é', 'IntlBackslash', { ctrlKey: true })), { kind: 'none' });
    });

    it('does not turn AltGr into Ctrl+Alt', () => {
      assert.deepEqual(mapKey({ ...key('@', 'KeyQ', { ctrlKey: true, altKey: true }), altGraph: true }), { kind: 'key', key: '@', mods: [] });
      assert.deepEqual(modifiersOf({ ...NO_MODS, shiftKey: true, ctrlKey: true, altKey: true, metaKey: true }), ['shift', 'control', 'alt', 'meta']);
    });

    it('splits text into pieces the host accepts', () => {
      assert.deepEqual(textChunks('a\r\nb\u0007c'), ['a\nbc']);
      const long = 'x'.repeat(MAX_TEXT_CHARS * 2 + 3);
      const chunks = textChunks(long);
      assert.deepEqual(
        chunks.map((c) => c.length),
        [MAX_TEXT_CHARS, MAX_TEXT_CHARS, 3],
      );
      for (const text of [...chunks, '日本語', 'tab\there']) assert.ok(sanitizeInputEvent({ t: 'text', seq: 0, text }).ok, text);
      assert.deepEqual(textChunks('\u0001'), []);
    });
  });

  describe('pointer', () => {
    it('maps the three buttons and ignores back/forward', () => {
      assert.deepEqual([0, 1, 2, 3, 4].map(mapButton), ['left', 'middle', 'right', undefined, undefined]);
    });

    it('finds the picture in a letterboxed Fit view and normalises to it', () => {
      // A 16:9 screen in a 1060×769 box: bars above and below.
      const box = { left: 0, top: 31, width: 1060, height: 769 };
      const picture = containedPicture(box, 1920, 1080)!;
      assert.equal(picture.width, 1060);
      assert.ok(Math.abs(picture.height - 596.25) < 1e-9);
      assert.ok(Math.abs(picture.top - (31 + (769 - 596.25) / 2)) < 1e-9);
      const centre = normalisePoint(picture.left + picture.width / 2, picture.top + picture.height / 2, picture)!;
      assert.deepEqual(centre, { x: 0.5, y: 0.5 });
      const quarter = normalisePoint(picture.left + picture.width / 4, picture.top + (picture.height * 3) / 4, picture)!;
      assert.deepEqual(quarter, { x: 0.25, y: 0.75 });
      // On the bar above the picture: nothing is sent.
      assert.equal(normalisePoint(500, 40, picture), undefined);
      assert.equal(normalisePoint(500, 799, picture), undefined);
      // …unless clamped (a button released off the picture).
      assert.deepEqual(normalisePoint(500, 40, picture, true), { x: Math.round((500 / 1060) * 1e6) / 1e6, y: 0 });
    });

    it('handles pillarboxing (a tall screen in a wide box)', () => {
      const picture = containedPicture({ left: 10, top: 0, width: 1000, height: 500 }, 1080, 1920)!;
      assert.ok(Math.abs(picture.width - 281.25) < 1e-9);
      assert.ok(Math.abs(picture.left - (10 + (1000 - 281.25) / 2)) < 1e-9);
      assert.equal(normalisePoint(20, 250, picture), undefined);
      assert.deepEqual(normalisePoint(picture.left, 0, picture), { x: 0, y: 0 });
      assert.deepEqual(normalisePoint(picture.left + picture.width, 500, picture), { x: 1, y: 1 });
    });

    it('follows a scrolled 1:1 view (the box is offset by the scroll)', () => {
      // 1920×1080 at one pixel per pixel, scrolled 300 px right and 200 px down inside the stage.
      const box = { left: 0 - 300, top: 31 - 200, width: 1920, height: 1080 };
      const picture = containedPicture(box, 1920, 1080)!;
      assert.deepEqual(picture, box);
      const p = normalisePoint(660, 571, picture)!;
      assert.deepEqual(p, { x: 0.5, y: Math.round((740 / 1080) * 1e6) / 1e6 });
    });

    it('has no picture before the video has a size', () => {
      assert.equal(containedPicture({ left: 0, top: 0, width: 100, height: 100 }, 0, 0), undefined);
      assert.equal(normalisePoint(1, 1, undefined), undefined);
    });

    it('every normalised point passes the host sanitizer', () => {
      const picture = containedPicture({ left: 0, top: 0, width: 333, height: 777 }, 1366, 768)!;
      for (let i = 0; i <= 50; i++) {
        const p = normalisePoint(picture.left + (picture.width * i) / 50, picture.top + (picture.height * (50 - i)) / 50, picture)!;
        assert.ok(sanitizeInputEvent({ t: 'move', seq: i, ...p }).ok, JSON.stringify(p));
      }
    });
  });

  describe('wheel', () => {
    it('one wheel click is one notch, whatever the browser calls it', () => {
      for (const px of [53, 100, 120]) {
        const w = new WheelNotches();
        assert.deepEqual(w.take(0, px, DOM_DELTA_PIXEL), { dx: 0, dy: 1 }, `${px} px`);
        assert.deepEqual(w.take(0, -px, DOM_DELTA_PIXEL), { dx: 0, dy: -1 }, `-${px} px`);
      }
      assert.deepEqual(new WheelNotches().take(0, 3, DOM_DELTA_LINE), { dx: 0, dy: 1 });
      assert.deepEqual(new WheelNotches().take(-1, 0, DOM_DELTA_PAGE), { dx: -10, dy: 0 });
    });

    it("carries a touchpad's small deltas over until they make a notch", () => {
      const w = new WheelNotches();
      let total = 0;
      for (let i = 0; i < 50; i++) total += w.take(0, 8, DOM_DELTA_PIXEL).dy;
      assert.equal(total, 4); // 400 px
      // A change of direction does not spend what was carried the other way.
      assert.equal(w.take(0, -30, DOM_DELTA_PIXEL).dy, 0);
    });

    it('clamps a huge delta to the protocol maximum', () => {
      const w = new WheelNotches();
      const { dx, dy } = w.take(-100_000, 100_000, DOM_DELTA_PIXEL);
      assert.deepEqual({ dx, dy }, { dx: -MAX_WHEEL_STEP, dy: MAX_WHEEL_STEP });
      assert.ok(sanitizeInputEvent({ t: 'wheel', seq: 0, x: 0.5, y: 0.5, dx, dy }).ok);
      assert.deepEqual(w.take(Number.NaN, Number.POSITIVE_INFINITY, DOM_DELTA_PIXEL), { dx: 0, dy: 0 });
    });
  });
});
