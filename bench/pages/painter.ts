/**
 * Paints onto a real screen what the latency bench reads back at the viewers, in a full-screen
 * page of a headed Chromium on the X display the helper captures. Glass (X screen) to glass (viewer).
 *
 * Every change is stamped with the frame marker (change counter + paint time) in a small box at
 * the top-left, the only place a viewer reads it; the box is its own small canvas, so a change
 * there damages only the box on X (a full-screen canvas would be re-sent whole by the compositor).
 * Scenes (bench/pages/scenes.ts): busy (the marker at the scene's rate, today's row), still (one
 * small change a second), typing (characters at a typist's rate), scroll (a page of text scrolling
 * a line at a time at the scene's rate). Each painted change is logged for the bench to time.
 */
import { captureTimeLow32, markerGeometry, paintMarker } from '../../webview/engine/frames/frame-marker';
import { epochNow } from '../../webview/engine/frames/frame-source';
import { SCENES, type SceneName, type ScenePage } from './scenes';

document.body.style.cssText = 'margin:0;overflow:hidden;background:#1e1e1e;color:#d4d4d4;font:16px/19px "DejaVu Sans Mono",monospace';
const g = markerGeometry(screen.width);
/** The marker plus a band whose colour changes with each stamp: the still scene's small window. */
const BAND = 14;
const box = document.createElement('canvas');
box.width = g.width;
box.height = g.height + BAND;
box.style.cssText = `position:fixed;left:0;top:0;width:${box.width}px;height:${box.height}px;z-index:2`;
const boxCtx = box.getContext('2d', { willReadFrequently: true })!;
const stage = document.createElement('div');
stage.style.cssText = `position:fixed;left:0;top:${box.height + 10}px;right:0;bottom:0;overflow:hidden`;
document.body.append(box, stage);

let frame = 0;
let painted: Array<[number, number]> = [];
let stopScene: (() => void) | undefined;

/** Stamps the next change into the box; called in the same animation frame as the scene's own change. */
function stamp(): void {
  const at = epochNow();
  boxCtx.fillStyle = `hsl(${(frame * 47) % 360} 60% 45%)`;
  boxCtx.fillRect(0, 0, box.width, box.height);
  const top = boxCtx.getImageData(0, 0, box.width, g.height);
  paintMarker(top.data, screen.width, g.height, { frame: frame & 0xffff, captureTimeLow32: captureTimeLow32(at) }, box.width * 4);
  boxCtx.putImageData(top, 0, 0);
  painted.push([frame, at]);
  frame++;
}

const page: ScenePage = { stage, stamp };

const api = {
  /** Starts a scene from change 0; `rate` = changes per second where the scene has a rate (busy, scroll). */
  scene(name: SceneName, rate: number): void {
    stopScene?.();
    stage.replaceChildren();
    frame = 0;
    painted = [];
    stopScene = SCENES[name](page, rate);
  },
  /** [change number, epoch ms painted] since the last call. */
  takePainted(): Array<[number, number]> {
    const out = painted;
    painted = [];
    return out;
  },
  frames: () => frame,
};
(window as unknown as { painter: typeof api; painterFrames: () => number }).painter = api;
(window as unknown as { painterFrames: () => number }).painterFrames = () => frame;
api.scene((new URLSearchParams(location.search).get('scene') as SceneName | null) ?? 'busy', Number(new URLSearchParams(location.search).get('fps') ?? 30));
