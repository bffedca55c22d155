/**
 * The host's media engine inside a VS Code webview: the same host page as the demo's headless
 * one, told by the extension what to join, fed the helper's frames over postMessage, and driven
 * by the editor's UI (Participants view, palette) through `shell.action`.
 */
import '../pages/host.css';
import { ErrorCode, PairuxError } from '../../protocol/errors';
import { ShellAction, ShellCopyLink, ShellE2eeKey, ShellHostOfferEnded, ShellLinksChanged, ShellReady, ShellStatus } from '../../protocol/webview-shell';
import { HostBridgeClient } from '../engine/frames/host-bridge-client';
import { consoleLogger } from '../engine/logger';
import { bootHostPage, type HostSessionView } from '../pages/host-page';
import { e2eeWorkerBlobUrls } from './e2ee-worker-url';
import { ShellSignalingTransport } from './shell-transport';
import { VsCodeChannel } from './vscode-channel';

const log = consoleLogger('pairux:host-panel');
const channel = new VsCodeChannel(log);

function pageState(view: HostSessionView): 'connecting' | 'joined' | 'reconnecting' | 'ended' | 'failed' {
  return view.state === 'loading' ? 'connecting' : view.state;
}

async function main(): Promise<void> {
  const boot = await channel.shell.request(ShellReady, { page: 'host', origin: location.origin });
  if (boot.page !== 'host') throw new Error('the extension opened the host panel as something else');
  // An encrypted session's workers, started from blobs (a webview cannot start them from the extension's files).
  const workers = await e2eeWorkerBlobUrls(log);
  const actions = bootHostPage(boot.hostParams, {
    signalingUrl: boot.signalingUrl,
    transport: new ShellSignalingTransport(channel.shell),
    ...(boot.resume ? { resume: boot.resume } : {}),
    // Host transfer in an encrypted session: continue the key every guest's link holds.
    ...(boot.mediaKey ? { initialKey: boot.mediaKey } : {}),
    connectBridge: () => Promise.resolve(HostBridgeClient.over(channel.bridge, log)),
    onLinksChanged: (change) => channel.shell.notify(ShellLinksChanged, change),
    onHostOfferEnded: (ended) => channel.shell.notify(ShellHostOfferEnded, ended),
    onCopyLink: (role) => channel.shell.notify(ShellCopyLink, { role }),
    ...workers,
    // An encrypted session's key, for the links the editor hands out: to the extension only, never logged.
    onKey: (key) => channel.shell.notify(ShellE2eeKey, { gen: key.gen, key: key.text, safetyCode: key.safetyCode, why: key.why }),
    onSession: (view) =>
      channel.shell.notify(ShellStatus, {
        state: pageState(view),
        message: view.message.slice(0, 1000),
        ...(view.selfId ? { selfId: view.selfId } : {}),
        role: view.role ?? 'host',
        ...(view.resume ? { resume: view.resume } : {}),
        ...(view.joinedAs ? { joinedAs: view.joinedAs } : {}),
        participants: view.participants.slice(0, 200),
        driverId: view.driverId,
        ...(view.media ? { media: view.media } : {}),
        ...(view.notice ? { notice: view.notice.slice(0, 300) } : {}),
        ...(view.tiers ? { tiers: view.tiers } : {}),
      }),
  });
  channel.shell.onRequest(ShellAction, async (a) => {
    if (!actions) throw new PairuxError(ErrorCode.Unavailable, 'the host page did not start');
    switch (a.action) {
      case 'grant':
        await actions.grant(a.participantId);
        break;
      case 'revoke':
        await actions.revoke(a.participantId);
        break;
      case 'stopAll':
        actions.stopAll();
        break;
      case 'setRole':
        await actions.setRole(a.participantId, a.role);
        break;
      case 'remove':
        await actions.remove(a.participantId);
        break;
      case 'makeHost':
        await actions.makeHost(a.participantId);
        break;
      case 'setTier':
        await actions.setTier(a.participantId, a.tier);
        break;
      case 'showLinks':
        actions.showLinks({ viewer: a.viewer, controller: a.controller });
        break;
      case 'createLink': {
        const link = await actions.createLink(a.role, {
          ...(a.label !== undefined ? { label: a.label } : {}),
          ...(a.singleUse !== undefined ? { singleUse: a.singleUse } : {}),
          ...(a.ttlSeconds !== undefined ? { ttlSeconds: a.ttlSeconds } : {}),
        });
        return { url: link.url, expiresAt: link.expiresAt, link };
      }
      case 'rotateLinks':
        return { rotated: await actions.rotateLinks() };
      case 'listLinks':
        return { links: await actions.listLinks() };
      case 'controlAudit':
        return { controlAudit: await actions.controlAudit() };
      case 'revokeLink':
        return { revoked: await actions.revokeLink(a.id) };
      case 'end':
        await actions.end(a.reason);
        break;
      default:
        throw new PairuxError(ErrorCode.BadMessage, `the host panel does not do '${a.action}'`);
    }
    return {};
  });
}

main().catch((err: unknown) => log('error', `host panel failed to start: ${String(err)}`));
