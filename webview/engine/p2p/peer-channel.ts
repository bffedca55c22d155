/**
 * The `pairux` data channel as an RpcEndpoint on `peerBoundary` (guest = side 'a', host = side
 * 'b'): the same validation and size caps as every other boundary, and control events will
 * travel here next.
 */
import { RpcEndpoint, type Side } from '../../../protocol/rpc-endpoint';
import { peerBoundary } from '../../../protocol/peer';
import type { Logger } from '../logger';

export function attachPeerEndpoint(channel: RTCDataChannel, side: Side, log: Logger): RpcEndpoint {
  const endpoint = new RpcEndpoint({
    boundary: peerBoundary,
    side,
    requestTimeoutMs: 5000,
    send: (text) => {
      if (channel.readyState !== 'open') throw new Error(`data channel is ${channel.readyState}`);
      channel.send(text);
    },
    onProtocolError: (error) => log('warn', `data channel protocol error: ${error.message}`),
  });
  channel.addEventListener('message', (event: MessageEvent) => {
    // Binary messages are not part of the peer boundary (yet); ignore rather than fail.
    if (typeof event.data === 'string') endpoint.receive(event.data);
  });
  channel.addEventListener('close', () => endpoint.close('data channel closed'));
  return endpoint;
}
