/** A guest's quality tier in words, for the pages' participant lists (viewer and host alike). */
import type { Participant } from '../../protocol/signaling';

/** Why a guest has the tier it has, for its tooltip. */
export function tierTitle(p: Pick<Participant, 'tier' | 'tierChosen' | 'tierLowered' | 'role'>): string {
  if (p.tierChosen) return `Quality tier: ${p.tier}, set by the host`;
  if (p.tierLowered) return `Quality tier: ${p.tier}: the host's computer cannot keep up, so viewers get less until the session moves to an SFU`;
  return `Quality tier: ${p.tier}, the ${p.role}s' tier in this session`;
}
