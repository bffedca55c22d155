/**
 * A guest's connection in one word for the host's control room (issue 16): good, fair or poor,
 * from what the host measures on it (the frames it gets against what the screen offers, the
 * round trip, the loss its receiver reports), with the figures behind the word. Nothing the guest
 * says about itself enters.
 */
export type NetworkQuality = 'good' | 'fair' | 'poor';

export interface LinkFigures {
  /** Frames a second this guest gets from the host's encoder. */
  fps: number;
  /** Frames a second the screen offers (capped at its target); under 3 a still screen, not judged by rate. */
  expectedFps: number;
  /** Round trip on its connection, ms; null while unknown. */
  rttMs: number | null;
  /** Share of packets lost on the way to it (0..1). */
  lossFraction: number;
}

/** Below these a guest's link is fair, then poor. */
const FAIR = { fpsShare: 0.8, rttMs: 150, loss: 0.02 };
const POOR = { fpsShare: 0.4, rttMs: 400, loss: 0.08 };
const STILL_FPS = 3;

export function networkQuality(f: LinkFigures): { quality: NetworkQuality; why: string } {
  const judged = f.expectedFps >= STILL_FPS;
  const share = judged ? f.fps / f.expectedFps : 1;
  const rtt = f.rttMs ?? 0;
  const figures = `${Math.round(f.fps)} of ${Math.round(f.expectedFps)} fps, ${f.rttMs === null ? 'round trip unknown' : `${Math.round(rtt)} ms round trip`}, ${(f.lossFraction * 100).toFixed(1)} % lost`;
  if (share < POOR.fpsShare || rtt >= POOR.rttMs || f.lossFraction >= POOR.loss) return { quality: 'poor', why: figures };
  if (share < FAIR.fpsShare || rtt >= FAIR.rttMs || f.lossFraction >= FAIR.loss) return { quality: 'fair', why: figures };
  return { quality: 'good', why: figures };
}
