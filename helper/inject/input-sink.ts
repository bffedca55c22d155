/**
 * Where granted input lands. Today the OS (robotjs + xdotool); next, the host's editor through
 * the VS Code API. A sink trusts its caller: only `GrantGate` calls it, after the grant check,
 * the rate limit and `sanitizeInputEvent`.
 */
import type { InputEvent } from '../../protocol/input';

export interface InputSink {
  readonly name: string;
  /** Injects one checked event. May throw; the gate counts that as a refusal. */
  inject(event: InputEvent): void;
  /** Releases every key and button this sink holds down and stops pending work; returns what it released. */
  releaseAll(): string[];
}
