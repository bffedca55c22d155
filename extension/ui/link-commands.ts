/**
 * The host's link commands: Create Personal Link, Rotate Share Links, Manage Links. They ask and
 * show; the host's page does the work through `HostSession`, and the words come from
 * ../core/link-book (labels and names as literal text).
 */
import * as vscode from 'vscode';
import type { HostSession } from '../core/host-session';
import { labelProblem, linkPickItems, personalLinkText, type PersonalLinkRequest } from '../core/link-book';
import { literal } from './literal-text';

/** Links are made on the host page's connection: without one, say so instead of a protocol error. */
function connected(session: HostSession): boolean {
  if (session.status?.page?.state === 'joined') return true;
  void vscode.window.showInformationMessage(
    'PairUX: the host panel is not connected to the server right now (still joining, or reconnecting). Try again in a moment.',
  );
  return false;
}

/** A link for one person: a label (shown beside whoever joins through it), a role, single use or until revoked; copied. */
export async function createPersonalLink(session: HostSession, log: vscode.LogOutputChannel, given?: PersonalLinkRequest): Promise<void> {
  if (!connected(session)) return;
  const request = given ?? (await askPersonalLink());
  if (!request) return;
  const link = await session.createPersonalLink(request);
  await vscode.env.clipboard.writeText(link.url);
  log.info(`personal ${link.role} link “${literal(link.label, 64)}” made (${link.singleUse ? 'single use' : 'until revoked'}) and copied`);
  void vscode.window.showInformationMessage(`PairUX: ${personalLinkText(link)}`);
}

async function askPersonalLink(): Promise<PersonalLinkRequest | undefined> {
  const title = 'PairUX: Create Personal Link';
  const label = await vscode.window.showInputBox({
    title,
    prompt: 'Who is this link for? The label shows beside whoever joins through it.',
    placeHolder: 'for Ada',
    ignoreFocusOut: true,
    validateInput: (value) => (value.trim() ? labelProblem(value) : undefined),
  });
  if (!label?.trim()) return undefined;
  const role = await vscode.window.showQuickPick(
    [
      { label: 'Controller', role: 'controller' as const, detail: 'Can watch and ask to drive; you decide each time.' },
      { label: 'Viewer', role: 'viewer' as const, detail: 'Can only watch.' },
    ],
    { title, placeHolder: 'What may they do?' },
  );
  if (!role) return undefined;
  const use = await vscode.window.showQuickPick(
    [
      { label: 'Single use', singleUse: true, detail: 'Stops working once someone has joined through it.' },
      { label: 'Until revoked', singleUse: false, detail: 'Works until you revoke it (PairUX: Manage Links) or it expires.' },
    ],
    { title, placeHolder: 'How long does it work?' },
  );
  if (!use) return undefined;
  return { label, role: role.role, singleUse: use.singleUse };
}

/** Every link handed out stops working (people already in stay); the new controller link is copied. */
export async function rotateShareLinks(session: HostSession, log: vscode.LogOutputChannel, confirm: boolean, copyViewer: () => Promise<void>): Promise<void> {
  if (!connected(session)) return;
  if (confirm) {
    const choice = await vscode.window.showWarningMessage(
      'Rotate the share links?',
      {
        modal: true,
        detail: 'Every link you have handed out stops working, personal ones too; people already in stay. You get new controller and viewer links.',
      },
      'Rotate',
    );
    if (choice !== 'Rotate') return;
  }
  const { links, revoked } = await session.rotateLinks();
  await vscode.env.clipboard.writeText(links.controller.url);
  log.info(`share links rotated: ${revoked} old link(s) stopped working`);
  const gone = revoked === 1 ? '1 old link no longer works' : `${revoked} old links no longer work`;
  void vscode.window.showInformationMessage(`PairUX: ${gone}. The new controller link is on your clipboard.`, 'Copy Viewer Link').then(async (choice) => {
    if (choice) await copyViewer();
  });
}

/** The links that still work and who came through each; picking one offers to revoke it. */
export async function manageLinks(session: HostSession, log: vscode.LogOutputChannel, stillHosting: () => boolean): Promise<void> {
  if (!connected(session)) return;
  const links = await session.listLinks();
  if (!links.length) {
    void vscode.window.showInformationMessage('No guest link works right now. PairUX: Rotate Share Links makes new ones.');
    return;
  }
  const items = linkPickItems(links, session.status?.page?.participants ?? [], session.linkBook);
  const picked = await vscode.window.showQuickPick(items, {
    title: 'PairUX: Manage Links',
    placeHolder: 'The links that still let someone in; pick one to revoke it',
    matchOnDetail: true,
  });
  if (!picked || !stillHosting()) return;
  const choice = await vscode.window.showWarningMessage(
    `Revoke the link “${picked.label}”? Nobody can join through it any more; whoever is in stays (remove them in the Participants view).`,
    'Revoke',
    'Cancel',
  );
  if (choice !== 'Revoke' || !stillHosting()) return;
  const { revoked, replaced } = await session.revokeLink(picked.id);
  const done = !revoked
    ? `“${picked.label}” had already stopped working`
    : replaced
      ? `“${picked.label}” revoked; Copy Share Link gives a new ${replaced} link`
      : `“${picked.label}” revoked`;
  log.info(done);
  void vscode.window.setStatusBarMessage(`PairUX: ${done}`, 5000);
}
