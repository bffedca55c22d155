/** The extension's API as the inner tests read it: what the editor shows now. */
import * as vscode from 'vscode';
import type { SessionView } from '../../../extension/core/session-view';
import { extensionReady, ui, until, type Ui } from './ui';

export interface PairuxApi {
  snapshot(): { view: SessionView; links?: { controller: string; viewer: string } };
}

export async function activatePairux(): Promise<PairuxApi> {
  return (await vscode.extensions.getExtension<PairuxApi>('pairux.pairux')!.activate()) as PairuxApi;
}

/** A P2P session hosted in this window, and a second window (named `name`) with PairUX loaded. */
export async function hostWithSecondWindow(name: string): Promise<{ api: PairuxApi; other: Ui }> {
  const api = await activatePairux();
  await vscode.commands.executeCommand('pairux.startSession', 'p2p');
  await until(() => api.snapshot().links, { timeoutMs: 30_000, what: 'the session to start' });
  await ui.openWindow(name);
  const other = ui.window(name);
  await extensionReady(other);
  return { api, other };
}
