/**
 * Two control-plane instances sharing one real Redis, for the "across instances" tests: one Redis
 * per test file (started in `before`, stopped in `after`), a fresh key prefix per `two()` so tests
 * do not see each other's sessions, and every plane and client made through the rig closed after
 * each test. Call `twoInstancesOnRedis(...)` inside the `describe` body.
 */
import { startControlPlane, type ControlPlane } from '../../server/control-plane';
import { startRedis, type TestRedis } from './redis';
import { TestClient } from './signaling-client';

export interface TwoInstances {
  /** Two fresh planes on one new key prefix (`<name><n>:`), instance ids `<name>-0` and `<name>-1`. */
  two(): Promise<[ControlPlane, ControlPlane]>;
  /** A client connected to `on`, killed after the test. */
  connect(on: ControlPlane): Promise<TestClient>;
}

/** Registers the before/after/afterEach hooks of the rig in the enclosing `describe`. */
export function twoInstancesOnRedis(name: string, tokenSecret: string): TwoInstances {
  let redis: TestRedis;
  let prefixN = 0;
  const planes: ControlPlane[] = [];
  const clients: TestClient[] = [];
  before(async () => {
    redis = await startRedis();
  });
  after(() => redis?.stop());
  afterEach(async () => {
    for (const c of clients.splice(0)) c.kill();
    await Promise.all(planes.splice(0).map((p) => p.close()));
  });

  return {
    async two() {
      const prefix = `${name}${++prefixN}:`;
      for (let i = 0; i < 2; i++) {
        planes.push(
          await startControlPlane({ host: '127.0.0.1', port: 0, redis: { url: redis.url, keyPrefix: prefix }, tokenSecret, instanceId: `${name}-${i}` }),
        );
      }
      return [planes[0]!, planes[1]!];
    },
    async connect(on) {
      const c = await TestClient.connect(on.url);
      clients.push(c);
      return c;
    },
  };
}
