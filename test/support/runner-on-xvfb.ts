/**
 * The real HostRunner with the real helper on a real X server (Xvfb, 1280×720) and a terminal
 * writing what it is typed into a file, for the runner's grant and audit tests: frames over the
 * bridge, control requests on, and a stand-in bridge whose only live end is the helper's refusals
 * (they go to `refused`). The test stops `helper`, `term` and `x` itself.
 */
import type { InputRefusedNotice } from '../../helper/client';
import { HostRunner, type HostRunnerOptions } from '../../runner/host-runner';
import type { RunnerBridge } from '../../runner/bridge-backend';
import { helperOn } from '../helper/support/helper';
import { startXterm, startXvfb, type Xterm, type Xvfb } from '../helper/support/xvfb';

export interface RunnerOnXvfb {
  x: Xvfb;
  term: Xterm;
  helper: ReturnType<typeof helperOn>;
  runner: HostRunner;
}

/** `o` is the host's side: its prompt and where the runner's lines go. */
export async function startRunnerOnXvfb(o: Pick<HostRunnerOptions, 'prompt' | 'say'>, refused: InputRefusedNotice[]): Promise<RunnerOnXvfb> {
  const x = await startXvfb(1280, 720);
  const term = await startXterm(x, { geometry: '80x20+0+0' });
  const helper = helperOn(x);
  await helper.start();
  const capture = await helper.startCapture({ fps: 5 });
  const runner = new HostRunner({ helper, capture, prompt: o.prompt, say: (line) => o.say(line), frames: 'bridge', controlRequests: true });
  // The bridge's other end: only the helper's refusals matter here.
  const bridge: RunnerBridge = {
    frameTarget: { connected: () => false, ready: () => false, send: () => undefined },
    onPageConnected: undefined,
    stopAllControl: () => undefined,
    inputRefused: (n) => refused.push(n),
  };
  runner.attach(bridge);
  return { x, term, helper, runner };
}
