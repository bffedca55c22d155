/** Starts a real control plane for a test and creates sessions on it over real HTTP. */
import { startControlPlane, type ControlPlane } from '../../server/control-plane';
import type { ServerConfigInput } from '../../server/config';
import { CreateSessionResponse, type CreateSessionRequest } from '../../protocol/http-api';
import { TEST_PAGES } from './test-pages';

/** Serves the pages with their test hooks (test-pages.ts) unless `config` names other pages. */
export async function startTestServer(config: ServerConfigInput = {}): Promise<ControlPlane> {
  return startControlPlane({ host: '127.0.0.1', port: 0, ...TEST_PAGES, ...config });
}

export async function createSession(
  plane: { url: string },
  body: CreateSessionRequest = {},
  headers: Record<string, string> = {},
): Promise<CreateSessionResponse> {
  const res = await fetch(`${plane.url}/api/sessions`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', ...headers },
    body: JSON.stringify(body),
  });
  const json: unknown = await res.json();
  if (res.status !== 201) throw new Error(`create session failed: HTTP ${res.status} ${JSON.stringify(json)}`);
  return CreateSessionResponse.parse(json);
}

export function tokenOf(link: string): string {
  return new URL(link).hash.replace(/^#t=/, '');
}

/**
 * The lobby off, for the few end-to-end tests that are not about admission and whose host cannot
 * admit: a host page with no runner behind its bridge turns every knock away (webview/engine/signaling/host-lobby.ts),
 * so a controller link would be refused. A host with a runner asks it (`lobby.ask` on the bridge),
 * and the test runners let everyone in (real-host-rig.ts, recording-runner.ts, the fuzz host rig),
 * so those tests run with the product's default lobby. The lobby has its own tests
 * (test/server/lobby.test.ts, test/webview/lobby-viewer.test.ts).
 */
export const NO_LOBBY = { lobby: 'off' } as const;
