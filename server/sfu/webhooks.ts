/**
 * LiveKit's webhooks (POST /livekit/webhook): the body's SHA-256 sits in a JWT signed with the API
 * secret in the Authorization header; `WebhookReceiver` checks both. Anything else is refused
 * before a byte of it is believed, since a forged "participant left" could hide someone present.
 * With several deployments the JWT's issuer (the API key) says whose secret to check it with, and
 * the secret that verifies it says which deployment sent it. A signature says who sent an event,
 * not when: an event older than a few minutes, or one whose id was seen, is a replay and refused.
 */
import { WebhookReceiver, type WebhookEvent } from 'livekit-server-sdk';
import { ErrorCode, PairuxError } from '../../protocol/errors';

export const LIVEKIT_WEBHOOK_PATH = '/livekit/webhook';
/** Webhook bodies are one event with a room and a participant: a few KB. */
export const MAX_WEBHOOK_BYTES = 256 * 1024;
/** How old an event may be (LiveKit sends at once and retries for about a minute). */
export const WEBHOOK_MAX_AGE_MS = 5 * 60_000;
/** Clock skew tolerated the other way. */
const WEBHOOK_MAX_AHEAD_MS = 60_000;
/** Ids remembered at most (each for WEBHOOK_MAX_AGE_MS); beyond it the oldest are forgotten first. */
const MAX_SEEN_IDS = 100_000;

export interface WebhookKey {
  deploymentId: string;
  apiKey: string;
  apiSecret: string;
}

export interface VerifiedWebhook {
  event: WebhookEvent;
  /** The deployments whose key and secret signed it: one, unless several share their credentials. */
  deployments: string[];
}

export class SfuWebhookVerifier {
  /** By API key, then by secret: deployments sharing both are checked once. */
  private readonly byKey = new Map<string, Map<string, { receiver: WebhookReceiver; deployments: string[] }>>();
  /** Event id → when it may be forgotten (it is stale by then anyway); in insertion order. */
  private readonly seen = new Map<string, number>();

  constructor(
    keys: WebhookKey[],
    private readonly now: () => number = Date.now,
  ) {
    for (const k of keys) {
      let secrets = this.byKey.get(k.apiKey);
      if (!secrets) this.byKey.set(k.apiKey, (secrets = new Map()));
      const entry = secrets.get(k.apiSecret);
      if (entry) entry.deployments.push(k.deploymentId);
      else secrets.set(k.apiSecret, { receiver: new WebhookReceiver(k.apiKey, k.apiSecret), deployments: [k.deploymentId] });
    }
  }

  async verify(body: string, authorization: string | undefined): Promise<VerifiedWebhook> {
    if (!authorization) throw new PairuxError(ErrorCode.Unauthorized, 'LiveKit webhooks must carry a signed Authorization header');
    // LiveKit sends the bare JWT; tolerate a Bearer prefix from proxies that add one.
    const jwt = authorization.replace(/^Bearer\s+/i, '');
    const issuer = issuerOf(jwt);
    const secrets = issuer === undefined ? undefined : this.byKey.get(issuer);
    if (!secrets) {
      throw new PairuxError(
        ErrorCode.Unauthorized,
        `LiveKit webhook refused: it is not signed with the API key of any configured LiveKit deployment${issuer ? ` (it names ${issuer})` : ''}`,
      );
    }
    let lastError: unknown;
    for (const { receiver, deployments } of secrets.values()) {
      let event: WebhookEvent;
      try {
        event = await receiver.receive(body, jwt);
      } catch (err) {
        lastError = err;
        continue;
      }
      this.refuseReplay(event);
      return { event, deployments: [...deployments] };
    }
    throw new PairuxError(ErrorCode.Unauthorized, `LiveKit webhook refused: ${lastError instanceof Error ? lastError.message : String(lastError)}`);
  }

  private refuseReplay(event: WebhookEvent): void {
    const t = this.now();
    const createdAt = Number(event.createdAt) * 1000;
    if (!(createdAt > t - WEBHOOK_MAX_AGE_MS && createdAt < t + WEBHOOK_MAX_AHEAD_MS)) {
      throw new PairuxError(
        ErrorCode.Unauthorized,
        `LiveKit webhook refused: created at ${new Date(createdAt).toISOString()}, not within ${WEBHOOK_MAX_AGE_MS / 60_000} minutes of now (a replay, or a clock far off)`,
      );
    }
    if (!event.id) throw new PairuxError(ErrorCode.Unauthorized, 'LiveKit webhook refused: it has no event id, so a replay of it could not be told apart');
    for (const [id, until] of this.seen) {
      if (until > t && this.seen.size < MAX_SEEN_IDS) break;
      this.seen.delete(id);
    }
    if (this.seen.has(event.id)) throw new PairuxError(ErrorCode.Unauthorized, `LiveKit webhook refused: event ${event.id} was already received (a replay)`);
    this.seen.set(event.id, t + WEBHOOK_MAX_AGE_MS + WEBHOOK_MAX_AHEAD_MS);
  }
}

/** The unverified `iss` claim: only to pick the secret the signature is then checked with. */
function issuerOf(jwt: string): string | undefined {
  const payload = jwt.split('.')[1];
  if (!payload) return undefined;
  try {
    const iss = (JSON.parse(Buffer.from(payload, 'base64url').toString('utf8')) as { iss?: unknown }).iss;
    return typeof iss === 'string' ? iss : undefined;
  } catch {
    return undefined;
  }
}
