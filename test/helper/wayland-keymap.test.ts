/** The Wayland virtual keyboard's own keymap: one keycode per key, no Shift, text beyond it added on use. */
import assert from 'node:assert/strict';
import { MOD_MASK, WaylandKeymap } from '../../helper/inject/wayland-keymap';
import type { WaylandClient } from '../../helper/native/wayland-client';
import { virtualInputMissing } from '../../helper/native/wayland-virtual-input';

const symbolOf = (km: WaylandKeymap, code: number) => new RegExp(`key <K${code}> \\{ \\[ (\\S+) \\] \\};`).exec(km.source)?.[1];

describe('Wayland keymap: a keycode of its own for every key', () => {
  it('every printable ASCII character has its own keycode whose only symbol is that character (so none needs Shift)', () => {
    const km = new WaylandKeymap();
    const codes = new Set<number>();
    for (let c = 0x21; c <= 0x7e; c++) {
      const { code, changed } = km.code(String.fromCharCode(c));
      assert.equal(changed, false);
      codes.add(code);
      assert.equal(symbolOf(km, code), `0x${c.toString(16)}`);
    }
    assert.equal(codes.size, 0x7e - 0x21 + 1);
    assert.equal(symbolOf(km, km.code('enter').code), 'Return');
    assert.equal(symbolOf(km, km.code('space').code), 'space');
  });

  it('the modifier keys drive XKB real modifiers, and their masks are the standard bits', () => {
    const km = new WaylandKeymap();
    for (const [key, mod] of [
      ['shift', 'Shift'],
      ['control', 'Control'],
      ['alt', 'Mod1'],
      ['meta', 'Mod4'],
    ] as const) {
      assert.match(km.source, new RegExp(`modifier_map ${mod} \\{ <K${km.code(key).code}> \\};`));
      assert.equal(WaylandKeymap.modifierOf(key), MOD_MASK[key]);
    }
    assert.equal(WaylandKeymap.modifierOf('a'), 0);
  });

  it('a character beyond the keymap gets a keycode on first use (the keymap changes once), its Unicode keysym', () => {
    const km = new WaylandKeymap();
    const first = km.code('é');
    assert.equal(first.changed, true);
    assert.equal(symbolOf(km, first.code), '0x10000e9');
    assert.deepEqual(km.code('é'), { code: first.code, changed: false });
    assert.throws(() => km.code('ab'), /no key for "ab"/);
  });

  it('past 100 extra characters the oldest keycodes are reused, and every keycode stays under 256', () => {
    const km = new WaylandKeymap();
    const oldest = km.code('\u0100');
    for (let cp = 0x101; cp < 0x100 + 150; cp++) km.code(String.fromCodePoint(cp));
    const max = Math.max(...[...km.source.matchAll(/<K\d+> = (\d+);/g)].map((m) => Number(m[1])));
    assert.ok(max <= 255, `highest keycode ${max}`);
    assert.equal(km.code('\u0100').changed, true, 'the oldest was given away and comes back as new');
    assert.notEqual(symbolOf(km, oldest.code), '0x1000100');
  });
});

describe('Wayland input: what a compositor must offer', () => {
  it('names the protocols it lacks (GNOME and KDE offer neither), and nothing when all are there', () => {
    const client = (names: string[]) => ({ globals: new Map(names.map((n, i) => [n, { name: i, version: 1 }])) }) as unknown as WaylandClient;
    assert.equal(virtualInputMissing(client(['wl_seat', 'zwp_virtual_keyboard_manager_v1', 'zwlr_virtual_pointer_manager_v1'])), undefined);
    assert.match(
      virtualInputMissing(client(['wl_seat', 'wl_compositor'])) ?? '',
      /offers no zwp_virtual_keyboard_manager_v1 or zwlr_virtual_pointer_manager_v1 .*guests can watch but not drive/,
    );
  });
});
