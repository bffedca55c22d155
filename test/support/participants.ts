/** A participant as the control plane sends it, connected and idle, for tests of what the editor shows. */
import type { Participant } from '../../protocol/signaling';

export const participant = (id: string, name: string, role: Participant['role'], extra: Partial<Participant> = {}): Participant => ({
  id,
  name,
  role,
  connected: true,
  controlState: 'none',
  joinedAt: 1000,
  ...extra,
});
