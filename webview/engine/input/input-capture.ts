/**
 * While the guest drives: turns pointer, wheel and key events over the shared screen into
 * `protocol/input.ts` events with increasing `seq`. The rules themselves live in input-mapping.ts;
 * this file is only the DOM plumbing and the bookkeeping a real keyboard and mouse need:
 *
 * - keys are taken in a capture-phase listener on the window and consumed (preventDefault +
 *   stopImmediatePropagation), so neither the browser nor VS Code (which re-dispatches webview
 *   keys to its keybindings) acts on Ctrl+P, Ctrl+W, F1… — they belong to the host now;
 * - IME keys are left to a hidden textarea, whose composition result is sent as text;
 * - moves are coalesced to one per animation frame; presses and releases are never dropped;
 * - every key and button sent down is remembered and sent up when focus leaves the window or the
 *   drive ends, so the host never keeps a stuck Ctrl or a held button.
 */
import type { InputEvent, Modifier, MouseButton } from '../../../protocol/input';
import { containedPicture, mapKey, modifiersOf, normalisePoint, textChunks, WheelNotches, type NormalisedPoint } from './input-mapping';

type DistributiveOmit<T, K extends PropertyKey> = T extends unknown ? Omit<T, K> : never;
/** An event before it gets its sequence number. */
export type InputDraft = DistributiveOmit<InputEvent, 'seq'>;

export interface InputCaptureOptions {
  /** The `<video>` showing the host's screen: coordinates are relative to the picture in it. */
  video: HTMLVideoElement;
  /** Focused while driving so an IME has somewhere to compose; its text is sent, never kept. */
  imeSink?: HTMLTextAreaElement;
  /** Sends one event; false if it could not go (no data channel): counted as dropped. */
  send(event: InputEvent): boolean;
}

/** PointerEvent.buttons bits → protocol buttons. */
const BUTTON_BITS: ReadonlyArray<[number, MouseButton]> = [
  [1, 'left'],
  [2, 'right'],
  [4, 'middle'],
];

const MAX_SEQ = 2 ** 31 - 1;

export class InputCapture {
  private enabled = false;
  private seq = 0;
  /** Keys sent down, by physical code, with the name that was sent (so keyup matches it). */
  private readonly heldKeys = new Map<string, string>();
  private readonly heldButtons = new Set<MouseButton>();
  private lastPoint: NormalisedPoint = { x: 0.5, y: 0.5 };
  private pendingMove: NormalisedPoint | undefined;
  private frameRequest: number | undefined;
  private readonly wheel = new WheelNotches();
  sent = 0;
  dropped = 0;

  constructor(private readonly options: InputCaptureOptions) {}

  get active(): boolean {
    return this.enabled;
  }

  enable(): void {
    if (this.enabled) return;
    this.enabled = true;
    const v = this.options.video;
    v.addEventListener('pointermove', this.onPointer);
    v.addEventListener('pointerdown', this.onPointer);
    v.addEventListener('pointerup', this.onPointer);
    v.addEventListener('pointercancel', this.onPointerCancel);
    v.addEventListener('wheel', this.onWheel, { passive: false });
    v.addEventListener('contextmenu', this.onContextMenu);
    v.addEventListener('dblclick', this.onDoubleClick);
    v.addEventListener('auxclick', this.onContextMenu);
    window.addEventListener('keydown', this.onKeyDown, true);
    window.addEventListener('keyup', this.onKeyUp, true);
    window.addEventListener('keypress', this.swallow, true);
    window.addEventListener('blur', this.onFocusLost);
    document.addEventListener('visibilitychange', this.onVisibility);
    const ime = this.options.imeSink;
    if (ime) {
      ime.addEventListener('compositionend', this.onCompositionEnd);
      ime.addEventListener('input', this.onImeInput);
      ime.focus({ preventScroll: true });
    }
  }

  /**
   * Stops capturing. `release` sends up/keyup for everything held (right while we may still send:
   * the guest stopping by itself); after the host has taken control away, the host side releases.
   */
  disable(release: boolean): void {
    if (!this.enabled) return;
    if (release) this.releaseAll();
    this.heldKeys.clear();
    this.heldButtons.clear();
    this.enabled = false;
    this.pendingMove = undefined;
    if (this.frameRequest !== undefined) cancelAnimationFrame(this.frameRequest);
    this.frameRequest = undefined;
    this.wheel.reset();
    const v = this.options.video;
    v.removeEventListener('pointermove', this.onPointer);
    v.removeEventListener('pointerdown', this.onPointer);
    v.removeEventListener('pointerup', this.onPointer);
    v.removeEventListener('pointercancel', this.onPointerCancel);
    v.removeEventListener('wheel', this.onWheel);
    v.removeEventListener('contextmenu', this.onContextMenu);
    v.removeEventListener('dblclick', this.onDoubleClick);
    v.removeEventListener('auxclick', this.onContextMenu);
    window.removeEventListener('keydown', this.onKeyDown, true);
    window.removeEventListener('keyup', this.onKeyUp, true);
    window.removeEventListener('keypress', this.swallow, true);
    window.removeEventListener('blur', this.onFocusLost);
    document.removeEventListener('visibilitychange', this.onVisibility);
    const ime = this.options.imeSink;
    if (ime) {
      ime.removeEventListener('compositionend', this.onCompositionEnd);
      ime.removeEventListener('input', this.onImeInput);
      ime.value = '';
      ime.blur();
    }
  }

  /** Sends up/keyup for every held button and key (modifiers last, so nothing is left shifted). */
  releaseAll(): void {
    for (const button of [...this.heldButtons]) this.emit({ t: 'up', ...this.lastPoint, button });
    this.heldButtons.clear();
    const keys = [...this.heldKeys.values()];
    this.heldKeys.clear();
    const isModifier = (k: string): boolean => k === 'shift' || k === 'control' || k === 'alt' || k === 'meta';
    for (const key of [...keys.filter((k) => !isModifier(k)), ...keys.filter(isModifier)]) this.emit({ t: 'keyup', key, mods: [] });
  }

  private emit(draft: InputDraft): void {
    const event = { ...draft, seq: this.seq } as InputEvent;
    this.seq = this.seq >= MAX_SEQ ? 0 : this.seq + 1;
    if (this.options.send(event)) this.sent++;
    else this.dropped++;
  }

  /** The picture's place on the page now (it moves with resizes, view mode and scrolling). */
  private point(e: { clientX: number; clientY: number }, clamp = false): NormalisedPoint | undefined {
    const v = this.options.video;
    const r = v.getBoundingClientRect();
    const picture = containedPicture({ left: r.left, top: r.top, width: r.width, height: r.height }, v.videoWidth, v.videoHeight);
    return normalisePoint(e.clientX, e.clientY, picture, clamp);
  }

  private readonly onPointer = (e: PointerEvent): void => {
    if (e.pointerType === 'touch') return; // touch driving is not designed yet
    const pressing = e.type === 'pointerdown';
    if (pressing) {
      e.preventDefault();
      this.options.imeSink?.focus({ preventScroll: true });
      try {
        // Releases outside the video (and the window) still come here.
        this.options.video.setPointerCapture(e.pointerId);
      } catch {
        // Synthetic pointers cannot be captured; harmless.
      }
    }
    const inside = this.point(e);
    const changed = this.buttonChanges(e.buttons);
    if (changed.down.length === 0 && changed.up.length === 0) {
      if (e.type === 'pointermove' && inside) this.queueMove(inside);
      return;
    }
    // Presses only count on the picture; a release counts anywhere (clamped to the edge).
    const at = this.point(e, true);
    if (!at) return;
    this.flushMove(false);
    if (changed.down.length > 0 && inside) {
      this.lastPoint = inside;
      for (const button of changed.down) {
        this.heldButtons.add(button);
        this.emit({ t: 'down', ...inside, button });
      }
    }
    for (const button of changed.up) {
      if (!this.heldButtons.delete(button)) continue;
      this.lastPoint = at;
      this.emit({ t: 'up', ...at, button });
    }
  };

  /** Compares `buttons` with what we sent: chorded presses arrive as pointermove, not pointerdown. */
  private buttonChanges(buttons: number): { down: MouseButton[]; up: MouseButton[] } {
    const down: MouseButton[] = [];
    const up: MouseButton[] = [];
    for (const [bit, button] of BUTTON_BITS) {
      const pressed = (buttons & bit) !== 0;
      if (pressed && !this.heldButtons.has(button)) down.push(button);
      if (!pressed && this.heldButtons.has(button)) up.push(button);
    }
    return { down, up };
  }

  private readonly onPointerCancel = (): void => {
    for (const button of [...this.heldButtons]) this.emit({ t: 'up', ...this.lastPoint, button });
    this.heldButtons.clear();
  };

  private queueMove(point: NormalisedPoint): void {
    this.pendingMove = point;
    this.frameRequest ??= requestAnimationFrame(() => {
      this.frameRequest = undefined;
      this.flushMove(true);
    });
  }

  private flushMove(send: boolean): void {
    const move = this.pendingMove;
    this.pendingMove = undefined;
    if (!move || !send) return;
    this.lastPoint = move;
    this.emit({ t: 'move', ...move });
  }

  private readonly onWheel = (e: WheelEvent): void => {
    const at = this.point(e);
    if (!at) return;
    e.preventDefault();
    const { dx, dy } = this.wheel.take(e.deltaX, e.deltaY, e.deltaMode);
    if (dx === 0 && dy === 0) return;
    this.flushMove(false);
    this.lastPoint = at;
    this.emit({ t: 'wheel', ...at, dx, dy });
  };

  private readonly onContextMenu = (e: Event): void => {
    e.preventDefault();
  };

  /** A double-click is the host's; the viewer's own double-click shortcut (full screen) must not fire. */
  private readonly onDoubleClick = (e: Event): void => {
    e.preventDefault();
    e.stopPropagation();
  };

  private readonly swallow = (e: Event): void => {
    e.preventDefault();
    e.stopImmediatePropagation();
  };

  private readonly onKeyDown = (e: KeyboardEvent): void => {
    const mapped = mapKey(this.keyInput(e));
    if (mapped.kind === 'compose') {
      // The IME needs the default action; nobody else (VS Code's keybindings) may see it.
      e.stopImmediatePropagation();
      return;
    }
    this.swallow(e);
    if (mapped.kind === 'text') {
      for (const text of textChunks(mapped.text)) this.emit({ t: 'text', text });
    } else if (mapped.kind === 'key') {
      this.heldKeys.set(e.code || mapped.key, mapped.key);
      this.emit({ t: 'keydown', key: mapped.key, mods: mapped.mods });
    }
  };

  private readonly onKeyUp = (e: KeyboardEvent): void => {
    if (e.isComposing || e.keyCode === 229) {
      e.stopImmediatePropagation();
      return;
    }
    this.swallow(e);
    const input = this.keyInput(e);
    const mapped = mapKey(input);
    const id = e.code || (mapped.kind === 'key' ? mapped.key : e.key);
    const key = this.heldKeys.get(id);
    if (key === undefined) return;
    this.heldKeys.delete(id);
    const mods: Modifier[] = modifiersOf(input);
    this.emit({ t: 'keyup', key, mods });
    // macOS sends no keyup for keys released while Cmd was down: let go of them with Cmd.
    if (key === 'meta') {
      for (const [code, other] of [...this.heldKeys]) {
        if (other === 'shift' || other === 'control' || other === 'alt') continue;
        this.heldKeys.delete(code);
        this.emit({ t: 'keyup', key: other, mods });
      }
    }
  };

  private keyInput(e: KeyboardEvent) {
    return {
      key: e.key,
      code: e.code,
      shiftKey: e.shiftKey,
      ctrlKey: e.ctrlKey,
      altKey: e.altKey,
      metaKey: e.metaKey,
      altGraph: e.getModifierState?.('AltGraph') ?? false,
      isComposing: e.isComposing,
      keyCode: e.keyCode,
    };
  }

  private readonly onCompositionEnd = (e: CompositionEvent): void => {
    for (const text of textChunks(e.data ?? '')) this.emit({ t: 'text', text });
    if (this.options.imeSink) this.options.imeSink.value = '';
  };

  /** Text that arrived without keys we could map (on-screen keyboards, dictation). */
  private readonly onImeInput = (e: Event): void => {
    const ime = this.options.imeSink;
    if (!ime || (e as { isComposing?: boolean }).isComposing) return;
    const text = ime.value;
    ime.value = '';
    for (const chunk of textChunks(text)) this.emit({ t: 'text', text: chunk });
  };

  private readonly onFocusLost = (): void => {
    this.releaseAll();
    this.wheel.reset();
  };

  private readonly onVisibility = (): void => {
    if (document.visibilityState === 'hidden') this.onFocusLost();
  };
}
