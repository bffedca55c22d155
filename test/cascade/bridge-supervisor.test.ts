/**
 * The bridge supervisor's lease (server/cascade/bridge-supervisor.ts): with several control-plane
 * instances placing viewers of one region, one runs the bridge and the others stand by to take it
 * over. The lease here is a switch the test flips; the configuration step stands for the start
 * (it fails, so no bridge process is spawned: what is asserted is who tries to run it).
 */
import assert from 'node:assert/strict';
import { BridgeSupervisor, type BridgeKey } from '../../server/cascade/bridge-supervisor';
import { eventually } from '../support/livekit';

const KEY: BridgeKey = { sessionId: 's1', region: 'eu' };
const TTL_MS = 200;

function rig() {
  const lease = { held: false, claims: 0, releases: 0 };
  let starts = 0;
  const supervisor = new BridgeSupervisor({
    configFor: async () => {
      starts++;
      throw new Error('no LiveKit in this test');
    },
    lease: {
      claim: async () => {
        lease.claims++;
        return lease.held;
      },
      release: async () => {
        lease.releases++;
      },
      ttlMs: TTL_MS,
    },
  });
  return { supervisor, lease, starts: () => starts };
}

describe('cascade bridge supervisor: one instance runs a bridge, the others stand by', () => {
  it('stands by while another instance holds the lease, and takes the bridge over once it is free', async () => {
    const { supervisor, lease, starts } = rig();
    try {
      supervisor.ensure(KEY);
      await eventually(() => lease.claims >= 3, 'the lease asked for again while standing by', 2000);
      assert.equal(starts(), 0, 'nothing started while another instance holds the lease');
      assert.deepEqual(supervisor.standingBy(), [KEY]);
      assert.deepEqual(supervisor.snapshot(), [], 'a bridge stood by for is not one this instance runs');
      lease.held = true; // the holder died: its lease expired
      await eventually(() => starts() > 0, 'the bridge started here', 2000);
      assert.deepEqual(supervisor.standingBy(), []);
      assert.equal(supervisor.snapshot().length, 1);
    } finally {
      supervisor.close();
    }
  });

  it('stops trying to run a bridge whose lease another instance took, and gives its lease back when the bridge stops', async () => {
    const { supervisor, lease, starts } = rig();
    lease.held = true;
    try {
      supervisor.ensure(KEY);
      await eventually(() => starts() > 0, 'the bridge started', 2000);
      lease.held = false;
      await eventually(() => supervisor.standingBy().length === 1, 'standing by once the lease is lost', 2000);
      const after = starts();
      await new Promise((r) => setTimeout(r, 3 * TTL_MS));
      assert.equal(starts(), after, 'no start while another instance holds it');
      lease.held = true;
      await eventually(() => supervisor.snapshot().length === 1, 'running again', 2000);
      supervisor.stopBridge(KEY);
      assert.equal(lease.releases, 1, 'the lease given back with the bridge');
    } finally {
      supervisor.close();
    }
  });
});
