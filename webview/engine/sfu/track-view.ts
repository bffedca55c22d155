/**
 * Shows a LiveKit remote video track in a `<video>`, either at once (each decoded frame re-written
 * through an InstantPresenter, the default where the browser can) or paced (the element plays
 * the remote track itself and holds frames to WebRTC's render times). Either way LiveKit's
 * adaptive stream sees the element's size and visibility: `attach()` tells it in the paced
 * view, a VideoElementInfo in the instant one, where the element plays another stream.
 */
import type { ElementInfo, RemoteVideoTrack } from 'livekit-client';
import type { Logger } from '../logger';
import { InstantPresenter } from './instant-presenter';

export interface TrackView {
  readonly track: RemoteVideoTrack;
  readonly video: HTMLVideoElement;
  /** 'instant' until the presenter fails (then paced), 'paced' when asked or unsupported. */
  readonly presentation: 'instant' | 'paced';
  /** Stops showing the track's new frames in the element; idempotent. */
  close(): void;
}

export function showTrack(track: RemoteVideoTrack, video: HTMLVideoElement, instant: boolean, log: Logger): TrackView {
  if (!instant || !InstantPresenter.supported) return pacedView(track, video);
  const info = new VideoElementInfo(video);
  let presentation: 'instant' | 'paced' = 'instant';
  let closed = false;
  const presenter = new InstantPresenter(track.mediaStreamTrack, (reason) => {
    if (closed) return;
    log('warn', `showing frames at once failed (${reason}): the video plays the track at its own pace`);
    presentation = 'paced';
    track.stopObservingElementInfo(info);
    track.attach(video);
  });
  video.srcObject = presenter.stream;
  track.observeElementInfo(info);
  return {
    track,
    video,
    get presentation() {
      return presentation;
    },
    close() {
      if (closed) return;
      closed = true;
      presenter.close();
      if (presentation === 'paced') track.detach(video);
      // The element keeps the last picture until the next track is shown in it.
      else track.stopObservingElementInfo(info);
    },
  };
}

function pacedView(track: RemoteVideoTrack, video: HTMLVideoElement): TrackView {
  track.attach(video);
  let closed = false;
  return {
    track,
    video,
    presentation: 'paced',
    close() {
      if (closed) return;
      closed = true;
      track.detach(video);
    },
  };
}

/**
 * What adaptive stream needs to know of an element it does not attach to: its size and whether
 * it is on screen (LiveKit pauses a track nobody can see and picks the layer from the size).
 */
export class VideoElementInfo implements ElementInfo {
  readonly element: HTMLVideoElement;
  visible: boolean;
  readonly pictureInPicture = false;
  visibilityChangedAt: number | undefined = 0;
  handleResize?: () => void;
  handleVisibilityChanged?: () => void;
  private intersection: IntersectionObserver | undefined;
  private resize: ResizeObserver | undefined;

  constructor(element: HTMLVideoElement) {
    this.element = element;
    this.visible = inViewport(element);
  }

  width(): number {
    return this.element.clientWidth;
  }

  height(): number {
    return this.element.clientHeight;
  }

  observe(): void {
    this.stopObserving();
    this.visible = inViewport(this.element);
    this.intersection = new IntersectionObserver((entries) => {
      for (const entry of entries) {
        if (entry.target !== this.element) continue;
        this.visible = entry.isIntersecting;
        this.visibilityChangedAt = Date.now();
        this.handleVisibilityChanged?.();
      }
    });
    this.intersection.observe(this.element);
    this.resize = new ResizeObserver(() => this.handleResize?.());
    this.resize.observe(this.element);
  }

  stopObserving(): void {
    this.intersection?.disconnect();
    this.resize?.disconnect();
    this.intersection = undefined;
    this.resize = undefined;
  }
}

function inViewport(el: HTMLElement): boolean {
  const r = el.getBoundingClientRect();
  return r.width > 0 && r.height > 0 && r.bottom > 0 && r.right > 0 && r.top < window.innerHeight && r.left < window.innerWidth;
}
