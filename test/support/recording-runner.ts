/**
 * A stand-in for the host's runner behind the host page's bridge, for end-to-end tests whose
 * subject is not the runner: the page shares its own generated marker screen, every control
 * request is allowed, and every input event that reaches the runner is recorded sanitized, with
 * who sent it (what the helper would have injected).
 */
import { sanitizeInputEvent, type InputEvent } from '../../protocol/input';
import { HostBridgeServer } from '../../runner/websocket-bridge';

export interface RecordingRunner {
  readonly bridge: HostBridgeServer;
  /** ws:// URL for the host page's `bridge` option. */
  readonly url: string;
  readonly inputs: Array<{ controllerId: string; event: InputEvent }>;
  /** Names of the guests who asked for control, in order. */
  readonly asked: string[];
  close(): Promise<void>;
}

export async function startRecordingRunner(screen: { width: number; height: number; fps: number }): Promise<RecordingRunner> {
  const inputs: RecordingRunner['inputs'] = [];
  const asked: string[] = [];
  const bridge = new HostBridgeServer({
    hello: () => ({ frames: { via: 'generated' }, screen: { ...screen, source: 'generated' }, controlRequests: true }),
    askControl: async ({ name }) => (asked.push(name), { allow: true, reason: 'allowed' }),
    controlState: () => undefined,
    input: (controllerId, raw) => {
      const checked = sanitizeInputEvent(raw);
      if (checked.ok) inputs.push({ controllerId, event: checked.event });
    },
  });
  await bridge.listen();
  return { bridge, url: bridge.url, inputs, asked, close: () => bridge.close() };
}
