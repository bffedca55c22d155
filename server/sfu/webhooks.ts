/**
 * LiveKit's webhooks (POST /livekit/webhook): the body's SHA-256 sits in a JWT signed with the API
 * secret in the Authorization header; `WebhookReceiver` checks both. Anything else is refused
 * before a byte of it is believed, since a forged "participant left" could hide someone present.
 * With several deployments the JWT's issuer (the API key) says whose secret to check it with, and
 * the secret that verifies it says which deployment sent it.
 */
import { WebhookReceiver, type WebhookEvent } from 'livekit-server-sdk';
import { ErrorCode, PairuxError } from '../../protocol/errors';

export const LIVEKIT_WEBHOOK_PATH = '/livekit/webhook';
/** Webhook bodies are one event with a room and a participant: a few KB. */
export const MAX_WEBHOOK_BYTES = 256 * 1024;

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

  constructor(keys: WebhookKey[]) {
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
      throw new PairuxError(ErrorCode.Unauthorized, `LiveKit webhook refused: it is not signed with the API key of any configured LiveKit deployment${issuer ? ` (it names ${issuer})` : ''}`);
    }
    let lastError: unknown;
    for (const { receiver, deployments } of secrets.values()) {
      try {
        return { event: await receiver.receive(body, jwt), deployments: [...deployments] };
      } catch (err) {
        lastError = err;
      }
    }
    throw new PairuxError(ErrorCode.Unauthorized, `LiveKit webhook refused: ${lastError instanceof Error ? lastError.message : String(lastError)}`);
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
