/**
 * Short-lived TURN credentials by coturn's REST API scheme (`use-auth-secret`): the username is
 * `<expiry unix seconds>:<participant>`, the password base64(HMAC-SHA1(secret, username)). coturn
 * checks both without calling us; leaked credentials die at their expiry.
 */
import { createHmac } from 'node:crypto';
import type { IceServer } from '../protocol/common';

export interface TurnSettings {
  urls: string[];
  secret: string;
  ttlSeconds: number;
}

export function turnCredentials(settings: TurnSettings, participantId: string, now = Date.now()): IceServer {
  const expiry = Math.floor(now / 1000) + settings.ttlSeconds;
  const username = `${expiry}:${participantId}`;
  const credential = createHmac('sha1', settings.secret).update(username).digest('base64');
  return { urls: settings.urls, username, credential };
}
