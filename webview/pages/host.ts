/**
 * The headless host page of the demo, tests and benches: `/host#sid=…&token=…[&bridge=ws://…]`
 * (host-params.ts), served by the control plane. Everything else is in host-page.ts.
 */
import { signalingUrlFor } from '../../common/signaling-url';
import { HostBridgeClient } from '../engine/frames/host-bridge-client';
import { consoleLogger } from '../engine/logger';
import { bootHostPage } from './host-page';
import { readHostParams } from './host-params';

const parsed = readHostParams(location.hash);
const bridgeUrl = parsed.ok ? parsed.params.bridgeUrl : undefined;
// What an embedder (the demo's headless Chromium) drives the page with: grant, end, links.
window.pairuxHostActions = bootHostPage(location.hash, {
  signalingUrl: signalingUrlFor(location.href),
  ...(bridgeUrl ? { connectBridge: () => HostBridgeClient.connect(bridgeUrl, consoleLogger('pairux:host')) } : {}),
});
