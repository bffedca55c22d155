/**
 * The guest's view inside VS Code: the browser viewer's page in a webview, joined with the link
 * the user pasted (or clicked), mirroring its state to the extension (status bar, the
 * `pairux.driving` context key) and taking the palette's Request Control / Stop Driving / Leave.
 */
import { ErrorCode, PairuxError } from '../../protocol/errors';
import { ShellAction, ShellDriving, ShellHostOffered, ShellReady, ShellStatus, ShellTakeOverKey } from '../../protocol/webview-shell';
import { consoleLogger } from '../engine/logger';
import { startViewerPage, type ViewerStatus } from '../pages/viewer-page';
import { e2eeWorkerBlobUrls } from './e2ee-worker-url';
import { ShellSignalingTransport } from './shell-transport';
import { VsCodeChannel } from './vscode-channel';

const log = consoleLogger('pairux:guest-panel');
const channel = new VsCodeChannel(log);

function shellState(status: ViewerStatus): 'connecting' | 'live' | 'reconnecting' | 'ended' | 'failed' {
  switch (status.state) {
    case 'live':
    case 'reconnecting':
    case 'ended':
      return status.state;
    case 'error':
      return 'failed';
    default:
      return 'connecting';
  }
}

async function main(): Promise<void> {
  const boot = await channel.shell.request(ShellReady, { page: 'guest', origin: location.origin });
  if (boot.page !== 'guest') throw new Error('the extension opened the guest panel as something else');
  let driving = false;
  // An encrypted session's workers, started from blobs (a webview cannot start them from the extension's files).
  const workers = await e2eeWorkerBlobUrls(log);
  const page = startViewerPage({
    link: boot.link,
    signalingUrl: boot.signalingUrl,
    transport: new ShellSignalingTransport(channel.shell),
    client: 'vscode',
    ...(boot.name ? { name: boot.name } : {}),
    ...(boot.resume ? { resume: boot.resume } : {}),
    ...workers,
    // The editor asks its user (a modal prompt) and answers with 'answerHostOffer'.
    onHostOffer: (offer) => channel.shell.notify(ShellHostOffered, offer),
    // Made the host of an encrypted session: the editor's host panel continues this key. To the extension only, never logged.
    onTakeOverKey: (key) => channel.shell.notify(ShellTakeOverKey, key),
    onStatus: (status) => {
      channel.shell.notify(ShellStatus, {
        state: shellState(status),
        message: status.message.slice(0, 1000),
        ...(status.selfId ? { selfId: status.selfId } : {}),
        ...(status.role ? { role: status.role } : {}),
        ...(status.resume ? { resume: status.resume } : {}),
        ...(status.joinedAs ? { joinedAs: status.joinedAs } : {}),
        participants: status.participants.slice(0, 200),
        driverId: status.driverId,
        control: status.control,
        ...(status.media ? { media: status.media } : {}),
        ...(status.notice ? { notice: status.notice.slice(0, 300) } : {}),
        ...(status.ended ? { ended: status.ended } : {}),
        ...(status.errorCode ? { errorCode: status.errorCode } : {}),
        ...(status.e2ee
          ? { e2ee: { state: status.e2ee.state, gen: status.e2ee.gen, ...(status.e2ee.safetyCode ? { safetyCode: status.e2ee.safetyCode } : {}) } }
          : {}),
      });
      const now = status.control === 'granted';
      if (now !== driving) {
        driving = now;
        channel.shell.notify(ShellDriving, { driving });
      }
    },
  });
  channel.shell.onRequest(ShellAction, async (a) => {
    if (!page) throw new PairuxError(ErrorCode.Unavailable, 'this link could not be joined');
    switch (a.action) {
      case 'requestControl':
        await page.requestControl();
        break;
      case 'releaseControl':
        await page.releaseControl();
        break;
      case 'leave':
        await page.leave();
        break;
      case 'answerHostOffer':
        await page.answerHostOffer(a.offerId, a.accept);
        break;
      default:
        throw new PairuxError(ErrorCode.BadMessage, `a guest cannot '${a.action}'`);
    }
    return {};
  });
}

main().catch((err: unknown) => log('error', `guest panel failed to start: ${String(err)}`));
