/**
 * A typed event emitter keyed by an event map (the pattern of livekit-client's
 * `TypedEventEmitter`), so listeners get the payload type of the event they subscribe to.
 * Tiny on purpose: the engine runs in pages and webviews without Node's `events`.
 */
export type Listener<T> = (event: T) => void;

export class TypedEmitter<M extends object> {
  private readonly listeners = new Map<keyof M, Set<Listener<never>>>();

  /** Subscribe; returns the unsubscribe function. */
  on<K extends keyof M>(type: K, listener: Listener<M[K]>): () => void {
    let set = this.listeners.get(type);
    if (!set) {
      set = new Set();
      this.listeners.set(type, set);
    }
    set.add(listener as Listener<never>);
    return () => this.off(type, listener);
  }

  once<K extends keyof M>(type: K, listener: Listener<M[K]>): () => void {
    const off = this.on(type, (event) => {
      off();
      listener(event);
    });
    return off;
  }

  off<K extends keyof M>(type: K, listener: Listener<M[K]>): void {
    this.listeners.get(type)?.delete(listener as Listener<never>);
  }

  removeAllListeners(): void {
    this.listeners.clear();
  }

  protected emit<K extends keyof M>(type: K, event: M[K]): void {
    const set = this.listeners.get(type);
    if (!set) return;
    // A throwing listener must not starve the others or break the engine's own state machine.
    for (const listener of [...set]) {
      try {
        (listener as Listener<M[K]>)(event);
      } catch (err) {
        console.error(`[pairux] listener for '${String(type)}' threw`, err);
      }
    }
  }
}
