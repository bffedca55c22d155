/** What the probe reads, and which of it was on screen; free of the DOM so Node tests and benches use it too. */

export interface ProbeReading {
  frame: number;
  captureTimeLow32: number;
  width: number;
  height: number;
}

export interface PresentedReading extends ProbeReading {
  /** Epoch ms: performance.timeOrigin + metadata.expectedDisplayTime. */
  presentedAt: number;
  /** Which element presented it: the page's video or a move's stage over it. */
  video: 'main' | 'stage';
}

export interface CollectSummary {
  /** Frames presented during the last collect(). */
  presented: number;
  /** Of those, how many had no readable marker. */
  unreadable: number;
  /** Epoch ms a stage was removed during the collect (the end of a move), if one was. */
  stageRemovedAt?: number;
}

/**
 * The readings that were on screen: the page's video, except from a stage's first frame until
 * the stage was removed, when the stage covered it.
 */
export function visibleFrames(readings: PresentedReading[], summary: Pick<CollectSummary, 'stageRemovedAt'>): PresentedReading[] {
  const stageFirst = readings.find((r) => r.video === 'stage')?.presentedAt;
  const stageEnd = summary.stageRemovedAt ?? Infinity;
  return readings.filter((r) => {
    const covered = stageFirst !== undefined && r.presentedAt >= stageFirst && r.presentedAt < stageEnd;
    return r.video === 'stage' ? covered : !covered;
  });
}
