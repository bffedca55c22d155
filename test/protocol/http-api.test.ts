/**
 * What a client accepts as a server's HTTP error: a share link can name any server, so its error
 * body is bounded (a known code, a short message, small data) before anyone shows it.
 */
import assert from 'node:assert/strict';
import { ErrorCode } from '../../protocol/errors';
import { HttpErrorResponse, MAX_HTTP_ERROR_MESSAGE_CHARS } from '../../protocol/http-api';
import type { ControlPlane } from '../../server/control-plane';
import { startTestServer } from '../support/control-plane';

describe('protocol: HTTP error bodies', () => {
  it('accepts a genuine error and refuses unknown codes, long messages and bulky data', () => {
    const ok = { error: { code: ErrorCode.RateLimited, message: 'slow down', data: { retryAfterSeconds: 30 } } };
    assert.deepEqual(HttpErrorResponse.parse(ok), ok);
    assert.equal(HttpErrorResponse.safeParse({ error: { code: 'NOT_FOUND', message: 'x' } }).success, false);
    assert.equal(HttpErrorResponse.safeParse({ error: { code: 'RUN [me](command:workbench.action.terminal.new)', message: 'x' } }).success, false);
    assert.equal(HttpErrorResponse.safeParse({ error: { code: ErrorCode.Internal, message: 'x'.repeat(MAX_HTTP_ERROR_MESSAGE_CHARS) } }).success, true);
    assert.equal(HttpErrorResponse.safeParse({ error: { code: ErrorCode.Internal, message: 'x'.repeat(MAX_HTTP_ERROR_MESSAGE_CHARS + 1) } }).success, false);
    assert.equal(HttpErrorResponse.safeParse({ error: { code: ErrorCode.Internal, message: 'x', data: { blob: 'y'.repeat(5000) } } }).success, false);
    const manyKeys = Object.fromEntries(Array.from({ length: 40 }, (_, i) => [`k${i}`, i]));
    assert.equal(HttpErrorResponse.safeParse({ error: { code: ErrorCode.Internal, message: 'x', data: manyKeys } }).success, false);
  });

  describe('from our own server', () => {
    let plane: ControlPlane;
    afterEach(async () => plane?.close());

    it('every error it answers fits the bounds, including a missing page and a long reason', async () => {
      plane = await startTestServer();
      const notFound = await fetch(`${plane.url}/no/such/page`);
      assert.equal(notFound.status, 404);
      assert.equal(HttpErrorResponse.safeParse(await notFound.json()).success, true, 'the 404 body');
      // A path long enough that the message naming it would pass the cap.
      const long = await fetch(`${plane.url}/${'a'.repeat(2000)}`);
      const body = HttpErrorResponse.parse(await long.json());
      assert.ok(body.error.message.length <= MAX_HTTP_ERROR_MESSAGE_CHARS);
    });
  });
});
