/** Schemas reused by several boundaries. */
import { z } from 'zod';
import { MAX_ID_CHARS, MAX_NAME_CHARS } from './limits';

export const Id = z
  .string()
  .min(1)
  .max(MAX_ID_CHARS)
  .regex(/^[A-Za-z0-9_-]+$/, 'must be letters, digits, _ or -');
export const Role = z.enum(['host', 'controller', 'viewer']);
export const GuestRole = z.enum(['controller', 'viewer']);
/** The mode a session was started in: `auto` lets the server's session focus pick (P2P, then SFU as it grows). */
export const Mode = z.enum(['auto', 'p2p', 'sfu']);
/** Where a session's media flows right now (an `auto` session moves from p2p to sfu). */
export const Media = z.enum(['p2p', 'sfu']);
/** A region hint (e.g. `eu`, `us-west`): which SFU pool a participant would be nearest to. */
export const Region = z
  .string()
  .min(1)
  .max(32)
  .regex(/^[a-z0-9][a-z0-9-]*$/, 'must be lower-case letters, digits and -');
/**
 * What may not appear in a name the host reads: control characters (C0, DEL, C1: a terminal acts
 * on CSI/OSC), direction overrides and isolates (they reorder the text around them), and
 * characters that show nothing (format characters, fillers, blank braille, private use, lone
 * surrogates), with which one name passes for another.
 */
const NAME_CONTROL = /[\p{Cc}]/u;
const NAME_DIRECTION = /[\u202a-\u202e\u2066-\u2069\u200e\u200f\u061c]/u;
const NAME_PRIVATE = /[\p{Co}\p{Cs}]/u;
// Joiners (ZWJ, ZWNJ) are format characters that emoji sequences and several scripts need: they
// pass between two visible characters. Tag characters pass only inside a subdivision flag (🏴…).
// U+034F (the combining grapheme joiner) is itself the invisible character refused here.
// eslint-disable-next-line no-misleading-character-class
const NAME_INVISIBLE = /[\p{Cf}\p{Zl}\p{Zp}\u115f\u1160\u3164\uffa0\u2800\u034f]/u;
// Joiners are listed one by one on purpose: each is matched alone, never as part of a sequence.

const NAME_JOINED = /(?<=[^\s\u200c\u200d])[\u200c\u200d](?=[^\s\u200c\u200d])/gu;
const NAME_FLAG_TAGS = /\u{1f3f4}[\u{e0020}-\u{e007e}]+\u{e007f}/gu;

function codePoint(ch: string): string {
  return `U+${ch.codePointAt(0)!.toString(16).toUpperCase().padStart(4, '0')}`;
}

/** Why `name` cannot be shown as a name, or undefined when it can. */
export function displayNameProblem(name: string): string | undefined {
  const control = NAME_CONTROL.exec(name);
  if (control) return `must not contain control characters (found ${codePoint(control[0])})`;
  const direction = NAME_DIRECTION.exec(name);
  if (direction) return `must not contain characters that change the text direction (found ${codePoint(direction[0])})`;
  const hidden = NAME_PRIVATE.exec(name);
  if (hidden) return `must not contain private-use or unpaired surrogate characters (found ${codePoint(hidden[0])})`;
  const invisible = NAME_INVISIBLE.exec(name.replace(NAME_FLAG_TAGS, '\u{1f3f4}').replace(NAME_JOINED, ''));
  if (invisible) return `must not contain invisible characters (found ${codePoint(invisible[0])}); use letters, digits, emoji or punctuation`;
  return undefined;
}

/** Display names: trimmed, 1..64 characters, nothing that hides or reorders text (see above). */
export const DisplayName = z
  .string()
  .trim()
  .min(1)
  .max(MAX_NAME_CHARS)
  .superRefine((name, ctx) => {
    const problem = displayNameProblem(name);
    if (problem) ctx.addIssue({ code: 'custom', message: problem });
  });

export const IceServer = z.object({
  urls: z.array(z.string().max(512)).min(1).max(8),
  username: z.string().max(512).optional(),
  credential: z.string().max(512).optional(),
});
export type IceServer = z.infer<typeof IceServer>;
