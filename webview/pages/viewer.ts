/**
 * The browser viewer (no install): `/s/<sessionId>#t=<token>[&name=…][&ice=relay]`, served by
 * the control plane. The page is its own share link; everything else is in viewer-page.ts.
 */
import { signalingUrlFor } from '../../common/signaling-url';
import { startViewerPage } from './viewer-page';

startViewerPage({ link: location.href, signalingUrl: signalingUrlFor(location.href), client: 'browser' });
