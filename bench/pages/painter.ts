/**
 * Paints onto a real screen what the latency bench reads back at the viewers: the frame marker
 * (frame counter + the paint time) top-left, on every animation frame, in a full-screen page of a
 * headed Chromium on the X display the helper captures. Glass (X screen) to glass (viewer).
 */
import { captureTimeLow32, paintMarker } from '../../webview/engine/frame-marker';
import { epochNow } from '../../webview/engine/frame-source';

const canvas = document.createElement('canvas');
canvas.width = screen.width;
canvas.height = screen.height;
canvas.style.cssText = 'position:fixed;left:0;top:0;width:100vw;height:100vh';
document.body.style.margin = '0';
document.body.append(canvas);
const ctx = canvas.getContext('2d', { willReadFrequently: true })!;
ctx.fillStyle = '#1e1e1e';
ctx.fillRect(0, 0, canvas.width, canvas.height);
ctx.fillStyle = '#d4d4d4';
ctx.font = '16px "DejaVu Sans Mono", monospace';
for (let i = 0; i < 50; i++)
  ctx.fillText(`${String(i + 1).padStart(3)}  const line${i} = render(frame, ${i}); // real X screen, painted by bench/pages/painter.ts`, 40, 120 + i * 19);

const h = Math.ceil(canvas.width / 80) * 5;
let frame = 0;
let last = 0;
// Paint at the capture rate, not the display's 60 Hz: on a 2-core box the painter competes with
// everything it measures (a real desktop's apps do not share the host's cores this way).
const interval = 1000 / Number(new URLSearchParams(location.search).get('fps') ?? 30);
function paint(now: number): void {
  requestAnimationFrame(paint);
  if (now - last < interval - 2) return;
  last = now;
  const image = ctx.getImageData(0, 0, canvas.width, h);
  paintMarker(image.data, canvas.width, h, { frame: frame++ & 0xffff, captureTimeLow32: captureTimeLow32(epochNow()) });
  ctx.putImageData(image, 0, 0);
}
requestAnimationFrame(paint);
(window as unknown as { painterFrames: () => number }).painterFrames = () => frame;
