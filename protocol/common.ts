/** Schemas reused by several boundaries. */
import { z } from 'zod';
import { MAX_ID_CHARS, MAX_NAME_CHARS } from './limits';

export const Id = z.string().min(1).max(MAX_ID_CHARS).regex(/^[A-Za-z0-9_-]+$/, 'must be letters, digits, _ or -');
export const Role = z.enum(['host', 'controller', 'viewer']);
export const GuestRole = z.enum(['controller', 'viewer']);
/** The mode a session was started in: `auto` lets the server's session focus pick (P2P, then SFU as it grows). */
export const Mode = z.enum(['auto', 'p2p', 'sfu']);
/** Where a session's media flows right now (an `auto` session moves from p2p to sfu). */
export const Media = z.enum(['p2p', 'sfu']);
/** A region hint (e.g. `eu`, `us-west`): which SFU pool a participant would be nearest to. */
export const Region = z.string().min(1).max(32).regex(/^[a-z0-9][a-z0-9-]*$/, 'must be lower-case letters, digits and -');
/** Display names: printable, no control characters, trimmed length 1..64. */
export const DisplayName = z
  .string()
  .trim()
  .min(1)
  .max(MAX_NAME_CHARS)
  .regex(/^[^\u0000-\u001f\u007f]+$/, 'must not contain control characters');

export const IceServer = z.object({
  urls: z.array(z.string().max(512)).min(1).max(8),
  username: z.string().max(512).optional(),
  credential: z.string().max(512).optional(),
});
export type IceServer = z.infer<typeof IceServer>;
