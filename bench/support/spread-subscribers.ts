/**
 * Light SFU subscribers (sfu-browser-subscribers.ts) spread over several headless Chromium
 * processes, `perBrowser` in each: one page carrying several hundred livekit-client Rooms stalls
 * on two cores (measured: past ~150 its joins took minutes and its counts never came back), so a
 * bench of 500+ viewers opens another browser for each `perBrowser` subscribers. Indexes are
 * global, in the order they were added, as with one page.
 */
import { launchMeteredChromium, type MeteredBrowser } from './browsers';
import { BrowserSfuSubscribers, type LightCounts, type LightJoin, type SubscriberJoinOptions } from './sfu-browser-subscribers';

export class SpreadSubscribers {
  private readonly parts: Array<{ browser: MeteredBrowser; subs: BrowserSfuSubscribers }> = [];
  /** Global index → [part, index within it]. */
  private readonly where: Array<[number, number]> = [];

  constructor(
    private readonly pageUrl: string,
    private readonly perBrowser: number,
  ) {
    if (!(perBrowser >= 1)) throw new RangeError(`subscribers per browser must be 1 or more, not ${perBrowser}`);
  }

  get joins(): LightJoin[] {
    return this.where.map(([p, i]) => this.parts[p]!.subs.joins[i]!);
  }

  /** The Chromium processes carrying them, for their CPU. */
  get browsers(): MeteredBrowser[] {
    return this.parts.map((p) => p.browser);
  }

  /** Joins `n` more, filling the last browser before opening another. */
  async add(n: number, planeUrl: string, sessionId: string, token: string, options: SubscriberJoinOptions = {}): Promise<void> {
    let left = n;
    while (left > 0) {
      let part = this.parts.length - 1;
      if (part < 0 || this.parts[part]!.subs.count >= this.perBrowser) {
        const browser = await launchMeteredChromium();
        this.parts.push({ browser, subs: await BrowserSfuSubscribers.open(browser.browser, this.pageUrl) });
        part = this.parts.length - 1;
      }
      const { subs } = this.parts[part]!;
      const take = Math.min(left, this.perBrowser - subs.count);
      const from = subs.count;
      await subs.add(take, planeUrl, sessionId, token, options);
      for (let i = 0; i < take; i++) this.where.push([part, from + i]);
      left -= take;
    }
  }

  async counts(): Promise<LightCounts[]> {
    const all = await Promise.all(this.parts.map((p) => p.subs.counts()));
    return this.where.map(([p, i]) => all[p]![i]!);
  }

  async close(): Promise<void> {
    for (const p of this.parts.splice(0)) {
      await p.subs.close();
      await p.browser.close();
    }
  }
}
