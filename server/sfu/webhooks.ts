/**
 * LiveKit's webhooks (POST /livekit/webhook): the body's SHA-256 sits in a JWT signed with the API
 * secret in the Authorization header; `WebhookReceiver` checks both. Anything else is refused
 * before a byte of it is believed, since a forged "participant left" could hide someone present.
 */
import { WebhookReceiver, type WebhookEvent } from 'livekit-server-sdk';
import { ErrorCode, PairuxError } from '../../protocol/errors';

export const LIVEKIT_WEBHOOK_PATH = '/livekit/webhook';
/** Webhook bodies are one event with a room and a participant: a few KB. */
export const MAX_WEBHOOK_BYTES = 256 * 1024;

export class SfuWebhookVerifier {
  private readonly receiver: WebhookReceiver;

  constructor(apiKey: string, apiSecret: string) {
    this.receiver = new WebhookReceiver(apiKey, apiSecret);
  }

  async verify(body: string, authorization: string | undefined): Promise<WebhookEvent> {
    if (!authorization) throw new PairuxError(ErrorCode.Unauthorized, 'LiveKit webhooks must carry a signed Authorization header');
    try {
      // LiveKit sends the bare JWT; tolerate a Bearer prefix from proxies that add one.
      return await this.receiver.receive(body, authorization.replace(/^Bearer\s+/i, ''));
    } catch (err) {
      throw new PairuxError(ErrorCode.Unauthorized, `LiveKit webhook refused: ${err instanceof Error ? err.message : String(err)}`);
    }
  }
}
