/**
 * Keeps the server's resume ticket per session so a dropped socket, and also a page reload,
 * comes back as the same participant within the grace period. sessionStorage is per tab, which
 * is the right scope: two tabs are two participants.
 */
import { ResumeTicket } from '../../../protocol/signaling';

export interface ResumeStore {
  load(sessionId: string): ResumeTicket | undefined;
  save(sessionId: string, ticket: ResumeTicket): void;
  clear(sessionId: string): void;
}

const KEY_PREFIX = 'pairux.resume.';

export function memoryResumeStore(): ResumeStore {
  const tickets = new Map<string, ResumeTicket>();
  return {
    load: (sessionId) => tickets.get(sessionId),
    save: (sessionId, ticket) => void tickets.set(sessionId, ticket),
    clear: (sessionId) => void tickets.delete(sessionId),
  };
}

export function storageResumeStore(storage: Storage): ResumeStore {
  return {
    load(sessionId) {
      try {
        const raw = storage.getItem(KEY_PREFIX + sessionId);
        if (!raw) return undefined;
        const parsed = ResumeTicket.safeParse(JSON.parse(raw));
        return parsed.success ? parsed.data : undefined;
      } catch {
        return undefined;
      }
    },
    save(sessionId, ticket) {
      try {
        storage.setItem(KEY_PREFIX + sessionId, JSON.stringify(ticket));
      } catch {
        // Storage full or disabled: resuming after a reload is a convenience, not a requirement.
      }
    },
    clear(sessionId) {
      try {
        storage.removeItem(KEY_PREFIX + sessionId);
      } catch {
        // As above.
      }
    },
  };
}

/** sessionStorage when the page has one (webviews with storage disabled fall back to memory). */
export function defaultResumeStore(): ResumeStore {
  try {
    if (typeof sessionStorage !== 'undefined') return storageResumeStore(sessionStorage);
  } catch {
    // Accessing sessionStorage throws in sandboxed frames.
  }
  return memoryResumeStore();
}
