/**
 * One name per person in a session. Two names are the same when they read the same: compared
 * after NFKC (fullwidth and styled letters fold to plain ones) and case folding (ß and ss too),
 * with joiners and variation selectors dropped and blanks collapsed. A name already taken gets
 * a number ("Ann (2)") rather than a refusal: two real people called Ann both get in, neither
 * client needs a rename step, and the host can tell them apart. Look-alikes from other scripts
 * (Cyrillic "а" for Latin "a") are not folded; the link label beside each name helps there.
 */
import { MAX_NAME_CHARS } from '../protocol/limits';

/** The form two names are compared in. */
export function nameKey(name: string): string {
  return (
    name
      .normalize('NFKC')
      .toUpperCase()
      .toLowerCase()
      .normalize('NFKC')
      // Joiners and variation selectors, each on its own, are what folding drops.
      // eslint-disable-next-line no-misleading-character-class
      .replace(/[\u200c\u200d\ufe00-\ufe0f]/gu, '')
      .replace(/\s+/gu, ' ')
      .trim()
  );
}

/** `wanted` when no name in `taken` reads the same, otherwise the first free "wanted (n)" within the length cap. */
export function uniqueName(wanted: string, taken: Iterable<string>): string {
  const keys = new Set([...taken].map(nameKey));
  if (!keys.has(nameKey(wanted))) return wanted;
  for (let n = 2; ; n++) {
    const suffix = ` (${n})`;
    const base = fit(wanted, MAX_NAME_CHARS - suffix.length);
    const candidate = `${base}${suffix}`;
    if (!keys.has(nameKey(candidate))) return candidate;
  }
}

/** The longest prefix within `max` UTF-16 units (the schema's measure), whole code points, no dangling joiner or blank. */
function fit(text: string, max: number): string {
  let out = '';
  for (const ch of text) {
    if (out.length + ch.length > max) break;
    out += ch;
  }
  return out.replace(/[\s\u200c\u200d]+$/u, '');
}
