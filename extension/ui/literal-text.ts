/**
 * Peer-supplied text (display names, session names, a server's error text, notices) shown in
 * VS Code as exactly what it is. VS Code's notifications turn `[label](command:…)`,
 * `[label](https://…)` and `[label](file:…)` into clickable links (its `parseLinkedText`, the
 * pattern below), and status-bar texts turn `$(name)` into icons. A guest called
 * `[Fix](command:workbench.action.terminal.new)` must stay a name, not a button that runs a
 * command on the host. So every `]` and `$` is followed by a zero-width space (the text looks
 * the same, the syntax no longer parses, also where two peer strings meet in one message),
 * controls and bidi overrides are dropped (they reorder or hide what the reader sees), line
 * breaks become spaces, and the length is capped.
 *
 * No `vscode` import: the prompt texts are built and tested here, the UI only shows them.
 */
import type { ClientKind } from '../../protocol/signaling';

/** VS Code's link syntax in notifications (src/vs/base/common/linkedText.ts, VS Code 1.100). */
// Kept character for character as VS Code has it, escapes included, so the test matches what it parses.
// eslint-disable-next-line no-useless-escape
export const VSCODE_LINK_PATTERN = /\[([^\]]+)\]\(((?:https?:\/\/|command:|file:)[^\)\s]+)(?: (["'])(.+?)(\3))?\)/gi;

const ZWSP = '\u200B';
/** C0 and C1 controls, and the format characters that reorder or hide text (bidi overrides, isolates, marks). */
const INVISIBLE = /[\u0000-\u001f\u007f-\u009f\u200b-\u200f\u202a-\u202e\u2060-\u2064\u2066-\u206f\ufeff]/g;

export const DEFAULT_LITERAL_CHARS = 300;

/** `text` as inert, one-line literal text of at most `maxChars` visible characters. */
export function literal(text: unknown, maxChars = DEFAULT_LITERAL_CHARS): string {
  let s = typeof text === 'string' ? text : String(text);
  s = s.replace(/[\r\n\t\u2028\u2029]+/g, ' ').replace(INVISIBLE, '');
  const chars = [...s];
  if (chars.length > maxChars) s = `${chars.slice(0, Math.max(0, maxChars - 1)).join('')}…`;
  return s.replace(/[\]$]/g, (c) => c + ZWSP);
}

/** What a person sees of literal text (for tests and logs): the zero-width spaces removed. */
export function visible(text: string): string {
  return text.split(ZWSP).join('');
}

/** Does this text contain anything VS Code would render as a link? */
export function hasLink(text: string): boolean {
  VSCODE_LINK_PATTERN.lastIndex = 0;
  const found = VSCODE_LINK_PATTERN.test(text);
  VSCODE_LINK_PATTERN.lastIndex = 0;
  return found;
}

const CLIENT_LABEL: Record<ClientKind, string> = { vscode: 'VS Code', browser: 'a browser', 'host-page': 'a host page', bench: 'a bench client' };

/** Who asks for control, beyond a display name (names are not unique). */
export interface RequesterInfo {
  shortId: string;
  client?: ClientKind;
  link?: string;
}

/** "Ada (VS Code, id 3fa9c2, link “for Ada”)": everything literal. */
export function describeRequester(name: string, who: RequesterInfo | undefined): string {
  if (!who) return literal(name, 64);
  const details = [who.client ? CLIENT_LABEL[who.client] : 'unknown client', `id ${literal(who.shortId, 12)}`];
  if (who.link) details.push(`link “${literal(who.link, 64)}”`);
  return `${literal(name, 64)} (${details.join(', ')})`;
}

/** The Allow / Deny prompt's text. */
export function controlRequestText(name: string, who: RequesterInfo | undefined, seconds: number): string {
  return `${describeRequester(name, who)} asks to control your mouse and keyboard. (No answer in ${seconds} s means no.)`;
}

/** Said when Allow is clicked after the request had timed out. */
export function lateAllowText(name: string, who: RequesterInfo | undefined): string {
  return `${describeRequester(name, who)}: the request had already timed out; they can ask again.`;
}
