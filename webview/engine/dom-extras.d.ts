// Chromium APIs that TypeScript's lib.dom does not describe yet (Insertable Streams for
// MediaStreamTrack, main-thread variant). Only what the engine uses.

interface MediaStreamTrackGeneratorInit {
  kind: 'video' | 'audio';
}

/** A MediaStreamTrack fed by writing VideoFrames to `writable` (Chromium ≥ 94, main thread). */
interface MediaStreamTrackGenerator extends MediaStreamTrack {
  readonly writable: WritableStream<VideoFrame>;
}

// A global constructor, as lib.dom declares its own: `var` is how an ambient global is declared.
// eslint-disable-next-line no-var
declare var MediaStreamTrackGenerator: {
  prototype: MediaStreamTrackGenerator;
  new (init: MediaStreamTrackGeneratorInit): MediaStreamTrackGenerator;
};

interface MediaStreamTrackProcessorInit {
  track: MediaStreamTrack;
  /** Frames kept when the reader falls behind (older ones are dropped). */
  maxBufferSize?: number;
}

/** Reads a video track's frames as VideoFrames (Chromium ≥ 94, main thread). */
interface MediaStreamTrackProcessor {
  readonly readable: ReadableStream<VideoFrame>;
}

// eslint-disable-next-line no-var
declare var MediaStreamTrackProcessor: {
  prototype: MediaStreamTrackProcessor;
  new (init: MediaStreamTrackProcessorInit): MediaStreamTrackProcessor;
};

/** Keyboard Lock (Chromium ≥ 68): in full screen, lets a page have browser-reserved shortcuts. */
interface PairuxKeyboardLock {
  lock(keyCodes?: string[]): Promise<void>;
  unlock(): void;
}

interface Navigator {
  readonly keyboard?: PairuxKeyboardLock;
}
