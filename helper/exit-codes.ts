/** How the helper process ends, so the runner can tell a crash from a protocol failure. */
export const HelperExit = {
  /** stdin closed or SIGTERM/SIGINT: a normal stop. */
  Normal: 0,
  /** The link's framing was lost (a bad length prefix): nothing after it can be trusted. */
  LinkBroken: 2,
  /** An exception nothing caught; held keys and buttons were released first. */
  Crashed: 70,
} as const;

export const HELPER_VERSION = '0.1.0';
