/**
 * When a peer-to-peer host says it cannot keep up (webview/engine/quality/host-load.ts): from what
 * its page measures once a second, sustained for a few seconds, and never for a still screen, one
 * guest's poor link, or a link that flaps. What the control plane does with the report is
 * test/server/host-overload.test.ts.
 */
import assert from 'node:assert/strict';
import type { HostLoadReport } from '../../protocol/signaling';
import type { DirectVideoSenderStats, GuestStats } from '../../webview/engine/engine-types';
import { HostLoadWatch, sampleHostLoad } from '../../webview/engine/quality/host-load';

const TARGET = 30;

function rtpGuest(id: string, fps: number, limited = ''): GuestStats {
  return {
    guestId: id,
    name: id,
    pcId: `pc-${id}`,
    path: 'rtp',
    fps,
    qualityLimitationReason: limited,
    framesEncoded: 0,
    framesSent: 0,
    frameWidth: 1920,
    frameHeight: 1080,
    codec: 'AV1',
    encoderImplementation: 'libaom',
    bytesSent: 0,
    targetBitrate: 0,
    encodeMsPerFrame: 0,
    framesGiven: 0,
  } as GuestStats;
}

function directGuest(id: string, direct: Partial<DirectVideoSenderStats>): GuestStats {
  return {
    ...rtpGuest(id, 0),
    path: 'direct',
    direct: {
      codec: 'avc1',
      peers: 1,
      framesRead: 0,
      framesEncoded: 0,
      keyFrames: 0,
      framesSkipped: 0,
      framesWaited: 0,
      framesHeldBack: 0,
      bytesSent: 0,
      encodeMsPerFrame: 0,
      width: 1920,
      height: 1080,
      ...direct,
    },
  };
}

/** A page's readings, one a second: `second(i)` says what its guests show in second i. */
class Page {
  offeredSoFar = 0;
  at = 0;
  readonly watch = new HostLoadWatch();
  readonly reports: Array<{ second: number; report: HostLoadReport }> = [];

  constructor(private offered = TARGET) {
    this.watch.add({ at: 0, framesOffered: 0, targetFps: TARGET, guests: [] });
  }

  run(seconds: number, guests: (second: number) => GuestStats[], offered = this.offered): void {
    for (let i = 0; i < seconds; i++) {
      this.at += 1000;
      this.offeredSoFar += offered;
      const second = this.at / 1000;
      const report = this.watch.add({ at: this.at, framesOffered: this.offeredSoFar, targetFps: TARGET, guests: guests(second) });
      if (report) this.reports.push({ second, report });
    }
  }
}

/** Direct video's cumulative counters after `second` seconds at these per-second rates. */
const direct = (second: number, perSecond: { read: number; encoded: number; skipped?: number; waited?: number }) =>
  directGuest('d', {
    framesRead: perSecond.read * second,
    framesEncoded: perSecond.encoded * second,
    framesSkipped: (perSecond.skipped ?? 0) * second,
    framesWaited: (perSecond.waited ?? 0) * second,
  });

describe('webview: a P2P host says when it cannot keep up', () => {
  it('its RTP encoders short of CPU for 8 seconds of 10: overloaded, "encoder-cpu", said once', () => {
    const page = new Page();
    page.run(3, () => [rtpGuest('a', 30), rtpGuest('b', 30)]);
    page.run(7, () => [rtpGuest('a', 14, 'cpu'), rtpGuest('b', 13, 'cpu')]);
    assert.deepEqual(page.reports, [], 'seven bad seconds are not yet sustained');
    page.run(1, () => [rtpGuest('a', 14, 'cpu'), rtpGuest('b', 13, 'cpu')]);
    assert.deepEqual(page.reports, [{ second: 11, report: { overloaded: true, reason: 'encoder-cpu', sentFps: 14, expectedFps: 30 } }]);
    page.run(20, () => [rtpGuest('a', 14, 'cpu'), rtpGuest('b', 13, 'cpu')]);
    assert.equal(page.reports.length, 1, 'not repeated within 30 s');
  });

  it('direct video: an encoder skipping a quarter of its frames is CPU; every channel backed up is the uplink', () => {
    const cpu = new Page();
    cpu.run(9, (s) => [direct(s, { read: 30, encoded: 20, skipped: 10 })]);
    assert.equal(cpu.reports[0]?.report.reason, 'encoder-cpu');
    assert.equal(cpu.reports[0]?.report.sentFps, 20);
    const uplink = new Page();
    uplink.run(9, (s) => [direct(s, { read: 30, encoded: 21, waited: 9 })]);
    assert.equal(uplink.reports[0]?.report.reason, 'uplink');
    const fine = new Page();
    fine.run(10, (s) => [direct(s, { read: 30, encoded: 29, skipped: 1 })]);
    assert.deepEqual(fine.reports, []);
  });

  it("even its best guest under 2/3 of the frames on offer is 'low-fps'; most encoders bandwidth-limited is the uplink", () => {
    assert.equal(sampleHostLoad(reading(0, 0, []), reading(1000, 30, [rtpGuest('a', 15), rtpGuest('b', 19)])).reason, 'low-fps');
    assert.equal(sampleHostLoad(reading(0, 0, []), reading(1000, 30, [rtpGuest('a', 21), rtpGuest('b', 12)])).bad, false);
    const two = [rtpGuest('a', 25, 'bandwidth'), rtpGuest('b', 25, 'bandwidth'), rtpGuest('c', 25)];
    assert.equal(sampleHostLoad(reading(0, 0, []), reading(1000, 30, two)).reason, 'uplink');
  });

  it("one guest's poor link is that guest's, not the host's: no report", () => {
    const page = new Page();
    page.run(20, () => [rtpGuest('a', 30), rtpGuest('b', 30), rtpGuest('slow', 6, 'bandwidth')]);
    assert.deepEqual(page.reports, []);
  });

  it('a still screen offers too few frames to judge: never overloaded, whatever the encoders send', () => {
    const page = new Page(1);
    page.run(20, () => [rtpGuest('a', 1, 'cpu')]);
    assert.deepEqual(page.reports, []);
  });

  it('back to keeping up only after 10 good seconds in a row; a flapping link never flips it', () => {
    const page = new Page();
    page.run(9, () => [rtpGuest('a', 10, 'cpu')]);
    assert.equal(page.reports.length, 1);
    // Good and bad in turn (the last second bad): not 10 good in a row, so still overloaded (and not said again).
    page.run(20, (s) => [s % 2 ? rtpGuest('a', 10, 'cpu') : rtpGuest('a', 30)]);
    assert.equal(page.reports.length, 1);
    page.run(9, () => [rtpGuest('a', 30)]);
    assert.ok(
      page.reports.every((r) => r.report.overloaded),
      'nine good seconds are not enough',
    );
    page.run(1, () => [rtpGuest('a', 30)]);
    assert.deepEqual(page.reports.at(-1), { second: 39, report: { overloaded: false, sentFps: 30, expectedFps: 30 } });
    // A link that flaps from the start never reaches 8 bad seconds of 10.
    const flapping = new Page();
    flapping.run(60, (s) => [s % 2 ? rtpGuest('a', 30) : rtpGuest('a', 10, 'cpu')]);
    assert.deepEqual(flapping.reports, []);
  });

  it('keeping up again: said again every 30 s, so viewers lowered for its sake can come back; a host that always kept up says nothing', () => {
    const page = new Page();
    page.run(8, () => [rtpGuest('a', 9, 'cpu')]);
    page.run(75, () => [rtpGuest('a', 30)]);
    assert.deepEqual(
      page.reports.map((r) => [r.second, r.report.overloaded]),
      [
        [8, true],
        [18, false],
        [48, false],
        [78, false],
      ],
    );
    const calm = new Page();
    calm.run(90, () => [rtpGuest('a', 30)]);
    assert.deepEqual(calm.reports, []);
  });

  it('still overloaded after 30 s: said again, so the control plane can try the move again', () => {
    const page = new Page();
    page.run(40, () => [rtpGuest('a', 9, 'cpu')]);
    assert.deepEqual(
      page.reports.map((r) => [r.second, r.report.overloaded]),
      [
        [8, true],
        [38, true],
      ],
    );
  });
});

function reading(at: number, framesOffered: number, guests: GuestStats[]) {
  return { at, framesOffered, targetFps: TARGET, guests };
}
