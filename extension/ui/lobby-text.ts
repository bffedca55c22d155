/**
 * What the host's editor says about someone waiting in the lobby. Everything in it came from the
 * guest or the server (name, link label, address): literal text (literal-text.ts), with the
 * client, a short id and where they connected from beside the name, since names are not unique.
 * No `vscode` import, so the texts are tested without an editor.
 */
import type { Knock } from '../../runner/host-runner';
import { describeRequester, literal } from './literal-text';

/** "Ada (VS Code, id 3fa9c2, link “for Ada”) from 203.0.113.7": who knocks. */
export function describeKnock(knock: Knock): string {
  const who = describeRequester(knock.name, {
    shortId: knock.shortId,
    ...(knock.client ? { client: knock.client } : {}),
    ...(knock.link ? { link: knock.link } : {}),
  });
  return `${who} from ${literal(knock.from, 64)}`;
}

/** The Admit / Deny notification's text. */
export function lobbyKnockText(knock: Knock, seconds: number): string {
  const as = knock.role === 'controller' ? 'a controller (they can ask to use your mouse and keyboard)' : 'a viewer';
  return `${describeKnock(knock)} wants to join your PairUX session as ${as}. (No answer in ${seconds} s means no.)`;
}

/** Said when Admit is clicked after the wait had run out. */
export function lateAdmitText(knock: Knock): string {
  return `${describeKnock(knock)}: their wait had already run out; they can open the link again.`;
}
