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
 * Server settings for end-to-end tests that are not about admission: their host is a page that
 * does not answer lobby knocks, so a controller link would wait there until the lobby gave up.
 * The lobby has its own tests (test/server/lobby.test.ts, test/webview/lobby-viewer.test.ts).
 */
export const NO_LOBBY = { lobby: 'off' } as const;
