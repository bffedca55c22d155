/**
 * The runner keeps the helper's frame WebSocket URL stable across helper restarts by handing each
 * helper it spawns the same key (and, once known, port) in its environment: the host page keeps
 * reconnecting to the URL it was given, and it goes on working.
 */
export const FRAME_SOCKET_KEY_ENV = 'PAIRUX_HELPER_FRAME_KEY';
export const FRAME_SOCKET_PORT_ENV = 'PAIRUX_HELPER_FRAME_PORT';

export function frameSocketFromEnv(env: NodeJS.ProcessEnv): { key?: string; port?: number } {
  const key = env[FRAME_SOCKET_KEY_ENV];
  const port = Number(env[FRAME_SOCKET_PORT_ENV]);
  return {
    ...(key && /^[A-Za-z0-9_-]{16,64}$/.test(key) ? { key } : {}),
    ...(Number.isInteger(port) && port > 1024 && port < 65536 ? { port } : {}),
  };
}
