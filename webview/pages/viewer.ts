/**
 * The browser viewer (no install): `/s/<sessionId>#t=<token>[&name=…][&ice=relay]`. Joins the
 * session, asks the host for the screen, and shows it; explains every failure in words that
 * say what to do next.
 *
 * Test hooks (stable): body[data-state], body[data-error-code], body[data-control],
 * body[data-can-request], #message, #control-status, #control-request, #control-stop, the single
 * <video>, and window.pairuxViewer.
 */
import './viewer.css';
import { peekClaims } from '../../protocol/share-link';
import { GuestEngine, type GuestState } from '../engine/guest-engine';
import { SignalingClient, type EndReason } from '../engine/signaling-client';
import { signalingUrlFor, WebSocketTransport } from '../engine/transport';
import { consoleLogger } from '../engine/logger';
import { inboundVideoStats, type InboundVideoStats } from '../engine/stats';
import { errorScreen, expiredScreen, linkInvalidScreen, wrongSessionScreen, type ErrorScreen } from './error-text';
import { defaultGuestName, readViewerLink, type ViewerParams } from './viewer-link';
import { ViewerUi, type ViewerPageState } from './viewer-ui';
import { startViewerControl, type ViewerControl, type ViewerControlSnapshot } from './viewer-control';
import type { ScreenDescription } from '../engine/host-engine';

export interface ViewerHook {
  readonly state: ViewerPageState;
  readonly selfId: string | undefined;
  stats(): Promise<InboundVideoStats>;
  /** The host's screen as it reported it (`peer.screen`). */
  readonly screen: ScreenDescription | undefined;
  /** Remote control as this page sees it (undefined before the page has started). */
  control(): ViewerControlSnapshot | undefined;
  /** Test hook: sends any payload as `peer.input`, bypassing the page's own checks (the host's are what is tested). */
  sendRawInput(raw: unknown): boolean;
}

declare global {
  interface Window {
    pairuxViewer?: ViewerHook;
  }
}

/** Local clocks drift: only call a link expired before asking the server when it clearly is. */
const EXPIRY_SLACK_MS = 30_000;

const ui = new ViewerUi();
let engine: GuestEngine | undefined;
let signaling: SignalingClient | undefined;
let control: ViewerControl | undefined;

window.pairuxViewer = {
  get state() {
    return (document.body.dataset.state ?? 'loading') as ViewerPageState;
  },
  get selfId() {
    return signaling?.self?.id;
  },
  // Zeros (not a rejection) before there is a connection, so pollers need no special case.
  stats: () => (engine ? engine.stats() : inboundVideoStats(undefined)),
  get screen() {
    return engine?.screen;
  },
  control: () => control?.snapshot(),
  sendRawInput: (raw) => control?.sendRaw(raw) ?? false,
};

function fail(screen: ErrorScreen): void {
  ui.showError(screen.code, screen.title, screen.message);
}

function describeEnd(reason: EndReason, message: string): { title: string; message: string } {
  if (reason === 'replaced') return { title: 'Opened somewhere else', message: `${message} Reload this page to watch here instead.` };
  if (reason === 'left') return { title: 'You left the session', message: 'Reload the page to join again while the session is running.' };
  return { title: 'The session has ended', message: message || 'The host ended the session.' };
}

function start(params: ViewerParams, expiresAtMs: number | undefined): void {
  const log = consoleLogger('pairux:viewer');
  const client = new SignalingClient({
    transport: new WebSocketTransport(signalingUrlFor(location.href)),
    sessionId: params.sessionId,
    token: params.token,
    name: params.name ?? defaultGuestName(sessionStorageOrUndefined()),
    client: { kind: 'browser' },
    log,
  });
  signaling = client;
  const guest = new GuestEngine({ signaling: client, video: ui.video, iceTransportPolicy: params.iceTransportPolicy, log });
  engine = guest;
  const remote = startViewerControl({ client, guest, video: ui.video, log });
  control = remote;

  let lastRetry = '';
  client.on('retry', ({ delayMs }) => {
    lastRetry = `Cannot reach the server; trying again in ${(delayMs / 1000).toFixed(1)} s`;
    render(guest.state);
  });
  client.on('joined', () => {
    lastRetry = '';
    render(guest.state);
  });
  client.on('participants', ({ participants }) => {
    ui.setParticipants(participants, client.self?.id);
    render(guest.state);
  });
  client.on('ended', ({ reason, message }) => {
    const text = describeEnd(reason, message);
    ui.setState('ended', text.title, text.message);
    ui.setStatus(text.title);
  });
  client.on('failed', ({ error }) => fail(errorScreen(error, expiresAtMs)));
  guest.on('state', ({ state }) => render(state));
  guest.on('rtt', () => void refreshStatus());

  function render(state: GuestState): void {
    switch (state) {
      case 'connecting': {
        const joined = client.state === 'joined';
        const host = client.hostId ? client.participants.get(client.hostId) : undefined;
        const message = !joined
          ? lastRetry || `Joining session ${params.sessionId}…`
          : !host
            ? 'The host is not in the session yet; the picture appears as soon as they are.'
            : !host.connected
              ? `${host.name} (the host) is reconnecting; the picture appears when they are back.`
              : `Waiting for ${host.name}'s screen…`;
        ui.setState('connecting', 'Connecting…', message);
        ui.setStatus(message);
        return;
      }
      case 'live':
        ui.setState('live', 'Live');
        void refreshStatus();
        return;
      case 'reconnecting':
        ui.setState(
          'reconnecting',
          'Reconnecting…',
          client.state === 'joined' ? 'The connection to the host dropped; the last picture stays until it is back.' : lastRetry || 'Reconnecting to the server…',
        );
        void refreshStatus();
        return;
      case 'ended':
      case 'error':
        // The signaling client's 'ended' / 'failed' listeners above draw these screens.
        return;
    }
  }

  async function refreshStatus(): Promise<void> {
    const state = guest.state;
    if (state !== 'live' && state !== 'reconnecting') return;
    let stats: InboundVideoStats | undefined;
    try {
      stats = await guest.stats();
    } catch {
      stats = undefined;
    }
    if (guest.state !== state) return;
    const parts: string[] = [state === 'live' ? 'Live' : 'Reconnecting'];
    if (stats && stats.frameWidth > 0) {
      const screen = guest.screen;
      // Say so when the encoder is sending less than the host's real screen size.
      const scaled = screen && (screen.width !== stats.frameWidth || screen.height !== stats.frameHeight);
      parts.push(`${stats.frameWidth}×${stats.frameHeight}${scaled ? ` (screen ${screen.width}×${screen.height})` : ''}`);
    }
    // The helper sends about one frame a second while nothing on the screen changes: under 2 fps
    // that is a still screen, not a broken stream, and "0 fps" would alarm people.
    if (stats) parts.push(stats.fps < 2 ? 'screen still' : `${Math.round(stats.fps)} fps`);
    if (guest.rttMs !== undefined) parts.push(`RTT ${Math.round(guest.rttMs)} ms`);
    if (stats?.codec) parts.push(stats.codec);
    if (stats?.localCandidateType) parts.push(stats.localCandidateType === 'relay' || stats.remoteCandidateType === 'relay' ? 'via TURN relay' : 'direct');
    const driving = remote.driverText();
    if (driving) parts.push(driving);
    parts.push(`${client.participants.size} in session`);
    if (client.state === 'reconnecting') parts.push('server connection lost, retrying');
    ui.setStatus(parts.join(' · '));
  }

  setInterval(() => void refreshStatus(), 1000);
  // Leaving the page (reload or close) tells the host at once, so it stops encoding for us; the
  // seat itself stays ours for the grace period, and a reload says hello again.
  window.addEventListener('pagehide', () => guest.stop());
  // Restored from the back/forward cache with a stopped engine: start over as a fresh load.
  window.addEventListener('pageshow', (event) => {
    if (event.persisted) location.reload();
  });
  guest.start();
  client.start();
  ui.setState('connecting', 'Connecting…', `Joining session ${params.sessionId}…`);
}

function sessionStorageOrUndefined(): Storage | undefined {
  try {
    return sessionStorage;
  } catch {
    return undefined;
  }
}

function main(): void {
  const link = readViewerLink(location.href);
  if (!link.ok) {
    fail(linkInvalidScreen(link.message));
    return;
  }
  const { params } = link;
  const claims = peekClaims(params.token);
  const expiresAtMs = claims ? claims.exp * 1000 : undefined;
  // The server is the authority; these checks only spare a round trip and say it sooner.
  if (expiresAtMs !== undefined && expiresAtMs < Date.now() - EXPIRY_SLACK_MS) {
    fail(expiredScreen(expiresAtMs));
    return;
  }
  if (claims && claims.sid !== params.sessionId) {
    fail(wrongSessionScreen());
    return;
  }
  start(params, expiresAtMs);
}

main();
