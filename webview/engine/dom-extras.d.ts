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

/** Keyboard Lock (Chromium ≥ 68): in full screen, lets a page have browser-reserved shortcuts. */
interface PairuxKeyboardLock {
  lock(keyCodes?: string[]): Promise<void>;
  unlock(): void;
}

interface Navigator {
  readonly keyboard?: PairuxKeyboardLock;
}
