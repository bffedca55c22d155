/** Schemas reused by several boundaries. */
import { z } from 'zod';
import { MAX_ID_CHARS, MAX_NAME_CHARS } from './limits';

export const Id = z.string().min(1).max(MAX_ID_CHARS).regex(/^[A-Za-z0-9_-]+$/, 'must be letters, digits, _ or -');
export const Role = z.enum(['host', 'controller', 'viewer']);
export const GuestRole = z.enum(['controller', 'viewer']);
export const Mode = z.enum(['p2p', 'sfu']);
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
