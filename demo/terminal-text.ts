/**
 * Text from guests (display names, a link's label) printed in the host's terminal: a name is
 * data, never terminal commands. C0 and C1 controls (ESC, CSI U+009B, OSC U+009D: colours, the
 * title, the clipboard, cursor moves that repaint the Allow prompt) and bidi overrides and
 * isolates (U+202E makes "Ada" print as something else) are dropped, line breaks become spaces,
 * and the length is capped, so one line stays one honest line.
 */
const UNSAFE = /[\u0000-\u0008\u000b-\u001f\u007f-\u009f\u200b-\u200f\u202a-\u202e\u2060-\u2064\u2066-\u206f\ufeff]/g;

export function terminalText(text: unknown, maxChars = 500): string {
  const s = String(text)
    .replace(/[\t\n\r\u2028\u2029]+/g, ' ')
    .replace(UNSAFE, '');
  const chars = [...s];
  return chars.length > maxChars ? `${chars.slice(0, maxChars - 1).join('')}…` : s;
}
