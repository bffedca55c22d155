/**
 * The latency bench's scenes, painted by bench/pages/painter.ts. Each changes the screen the way a
 * real one does and stamps every change (page.stamp) in the same animation frame, so the change and
 * its marker reach X together. A scene returns how to stop it.
 */
export interface ScenePage {
  /** Where the scene puts its content (everything below the marker box). */
  stage: HTMLElement;
  /** Stamps the next change into the marker box: call it in the animation frame that changes the screen. */
  stamp(): void;
}

export type SceneName = 'busy' | 'still' | 'typing' | 'scroll' | 'idle';
/** The latency bench's rows, in order (idle has no change to time): scroll last, its backlog must not spill into another row. */
export const SCENE_NAMES: SceneName[] = ['still', 'typing', 'busy', 'scroll'];

const CODE = [
  'export async function render(frame: Frame, lines: readonly string[]): Promise<void> {',
  '  const ctx = frame.canvas.getContext("2d")!; // real X screen, painted by bench/pages/painter.ts',
  '  for (const [i, line] of lines.entries()) ctx.fillText(line, 40, 120 + i * 19);',
  '  await frame.commit(); // one damage rectangle per changed line, nothing else',
  '}',
  '$ npm run bench:latency -- --rows=still,typing,scroll,busy --backends=robotjs,x11 --fps=30,60',
];

function textPage(stage: HTMLElement, lines: number, first = 0): HTMLPreElement {
  const pre = document.createElement('pre');
  pre.style.cssText = 'margin:0 0 0 40px;font:inherit';
  pre.textContent = Array.from({ length: lines }, (_, i) => codeLine(first + i)).join('\n');
  stage.append(pre);
  return pre;
}

function codeLine(i: number): string {
  return `${String(i + 1).padStart(5)}  ${CODE[i % CODE.length]}`;
}

/** Calls `change` in an animation frame `every()` ms apart, until stopped. */
function paced(every: () => number, change: () => void): () => void {
  let timer: ReturnType<typeof setTimeout> | undefined;
  let raf = 0;
  let stopped = false;
  const next = () => {
    timer = setTimeout(() => {
      raf = requestAnimationFrame(() => {
        if (stopped) return;
        change();
        next();
      });
    }, every());
  };
  next();
  return () => {
    stopped = true;
    clearTimeout(timer);
    cancelAnimationFrame(raf);
  };
}

/** Every animation frame at least 1000/rate ms after the last: the display's 60 Hz cadence, capped. */
function perFrame(rate: number, change: () => void): () => void {
  const interval = 1000 / rate;
  let last = 0;
  let raf = 0;
  const tick = (now: number) => {
    raf = requestAnimationFrame(tick);
    if (now - last < interval - 2) return;
    last = now;
    change();
  };
  raf = requestAnimationFrame(tick);
  return () => cancelAnimationFrame(raf);
}

export const SCENES: Record<SceneName, (page: ScenePage, rate: number) => () => void> = {
  /** Nothing changes at all: what a still screen costs. */
  idle(page) {
    textPage(page.stage, 50);
    return () => undefined;
  },
  /** The marker at the scene's rate on a still page of text: the real-screen row as it has always been. */
  busy(page, rate) {
    textPage(page.stage, 50);
    return perFrame(rate, () => page.stamp());
  },
  /** One small change a second (the marker box changes colour) on an otherwise still screen. */
  still(page) {
    textPage(page.stage, 50);
    page.stamp();
    return paced(
      () => 1000,
      () => page.stamp(),
    );
  },
  /** A terminal: a character appears every 70–130 ms (≈ 10/s, a fast typist), each one stamped. */
  typing(page) {
    const COLS = 120;
    const ROWS = 40;
    const pre = document.createElement('pre');
    pre.style.cssText = 'margin:0 0 0 40px;font:inherit';
    const lines = Array.from({ length: ROWS }, (_, i) => {
      const line = document.createElement('div');
      line.textContent = i < 3 ? codeLine(i) : ' ';
      pre.append(line);
      return line;
    });
    page.stage.append(pre);
    const text = CODE.join(' ');
    let row = 3;
    let typed = '$ ';
    let n = 0;
    return paced(
      () => 70 + Math.random() * 60,
      () => {
        if (typed.length >= COLS) {
          // On to the next line, back to the top at the bottom: two lines change, the screen never scrolls.
          lines[row]!.textContent = typed;
          row = row + 1 < ROWS ? row + 1 : 3;
          typed = '';
        }
        typed += text[n++ % text.length];
        lines[row]!.textContent = `${typed}█`;
        page.stamp();
      },
    );
  },
  /** A page of text scrolling a line at a time at the scene's rate, as a held arrow key or a log does. */
  scroll(page, rate) {
    const LINES = 55;
    let first = 0;
    const pre = textPage(page.stage, LINES);
    return perFrame(rate, () => {
      first++;
      pre.textContent = Array.from({ length: LINES }, (_, i) => codeLine(first + i)).join('\n');
      page.stamp();
    });
  },
};
