/**
 * A second `<video>` laid exactly over the page's own, for a make-before-break move of the
 * picture (P2P → SFU): the new engine plays into the stage while the old one still plays into
 * the page's video. The stage is transparent until its first frame, then covers the old picture
 * (no gap); `handOver` moves the new engine into the page's video underneath, waits for a frame
 * there, and removes the stage, so the page keeps the one element its UI and control overlay use.
 *
 * The stage must be visible and full-size, not hidden: LiveKit's adaptive stream picks the
 * simulcast layer from the element's size on screen and pauses a hidden one.
 */

export interface VideoStage {
  readonly video: HTMLVideoElement;
  /**
   * `showIn` puts the new engine's picture into `main`; resolves once `main` presented a frame
   * (or after `maxWaitMs`), with the stage removed.
   */
  handOver(showIn: (main: HTMLVideoElement) => void, maxWaitMs?: number): Promise<void>;
  /** The move was given up: the stage goes, the page's video is untouched. */
  remove(): void;
}

/** Resolves at the next frame `video` presents, or after `maxWaitMs`. */
export function nextFrame(video: HTMLVideoElement, maxWaitMs: number): Promise<boolean> {
  return new Promise((resolve) => {
    const timer = setTimeout(() => resolve(false), maxWaitMs);
    video.requestVideoFrameCallback(() => {
      clearTimeout(timer);
      resolve(true);
    });
  });
}

export function createVideoStage(main: HTMLVideoElement): VideoStage {
  const stage = document.createElement('video');
  stage.muted = true;
  stage.playsInline = true;
  stage.autoplay = true;
  stage.dataset.pairuxStage = '';
  const style = getComputedStyle(main);
  Object.assign(stage.style, {
    position: 'fixed',
    margin: '0',
    border: '0',
    padding: '0',
    objectFit: style.objectFit,
    background: 'transparent',
    // Input goes on reaching the page's video and its overlay while the stage is up.
    pointerEvents: 'none',
    zIndex: '2147483646',
  } satisfies Partial<CSSStyleDeclaration>);
  const place = (): void => {
    const r = main.getBoundingClientRect();
    Object.assign(stage.style, { left: `${r.left}px`, top: `${r.top}px`, width: `${r.width}px`, height: `${r.height}px` });
  };
  place();
  const observer = new ResizeObserver(place);
  observer.observe(main);
  window.addEventListener('resize', place);
  window.addEventListener('scroll', place, true);
  document.body.append(stage);
  let removed = false;
  const remove = (): void => {
    if (removed) return;
    removed = true;
    observer.disconnect();
    window.removeEventListener('resize', place);
    window.removeEventListener('scroll', place, true);
    stage.srcObject = null;
    stage.remove();
  };
  return {
    video: stage,
    async handOver(showIn, maxWaitMs = 2000) {
      showIn(main);
      await nextFrame(main, maxWaitMs);
      remove();
    },
    remove,
  };
}
