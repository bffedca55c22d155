/**
 * A FrameSource whose real source is chosen later: the host page must create its track (and its
 * engine) before the runner has said where frames come from, and may change its mind (a helper
 * that stops, a fallback to the generated screen). Switching keeps the one track every guest's
 * sender already has.
 */
import type { FrameSink, FrameSource, FrameSourceInfo } from './frame-source';

export class SourceSwitch implements FrameSource {
  private inner: FrameSource | undefined;
  private sink: FrameSink | undefined;

  constructor(private readonly placeholder: FrameSourceInfo) {}

  get info(): FrameSourceInfo {
    return this.inner?.info ?? this.placeholder;
  }

  get running(): boolean {
    return this.sink !== undefined;
  }

  get source(): FrameSource | undefined {
    return this.inner;
  }

  /** Stops the previous source and feeds the track from `next` from now on. */
  use(next: FrameSource | undefined): void {
    if (next === this.inner) return;
    this.inner?.stop();
    this.inner = next;
    if (next && this.sink) next.start(this.sink);
  }

  start(sink: FrameSink): void {
    this.sink = sink;
    this.inner?.start(sink);
  }

  stop(): void {
    this.sink = undefined;
    this.inner?.stop();
  }
}
