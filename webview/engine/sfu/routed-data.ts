/**
 * Data packets addressed where the SFU can see the address, whether or not they are encrypted.
 *
 * livekit-client (2.23) writes a packet's destinations into its UserPacket. With E2EE on, the
 * whole UserPacket becomes ciphertext, and LiveKit (1.13.5, pkg/rtc/room.go) routes a packet by
 * the outer `DataPacket.destinationIdentities` only: a controller's input, meant for the host,
 * went to every participant of the room, and every other guest holds the key. Before
 * livekit-client seals a packet, the destinations are copied to the outer packet, so the SFU
 * routes it as it does without E2EE: it learns who a packet is for (which it knows anyway from
 * the room), never what the packet says.
 *
 * The copy is made in the engine's send, because livekit-client keeps its protocol classes to
 * itself (a second copy of `@livekit/protocol` would build packets of other classes) and makes a
 * new engine on a full reconnect: each engine is wrapped the first time a packet goes through it.
 */
import { ConnectionState, type Room } from 'livekit-client';
import type { PublishData } from './sfu-data';

type Engine = Room['engine'];
type SendDataPacket = Engine['sendDataPacket'];

const routed = new WeakSet<Engine>();

function routeOutside(engine: Engine): void {
  if (routed.has(engine)) return;
  routed.add(engine);
  const send: SendDataPacket = engine.sendDataPacket.bind(engine);
  engine.sendDataPacket = (packet, kind) => {
    if (packet.value.case === 'user' && packet.destinationIdentities.length === 0) {
      packet.destinationIdentities = [...packet.value.value.destinationIdentities];
    }
    return send(packet, kind);
  };
}

/** Publishes through the room's local participant, the destinations outside any encryption. */
export function routedPublisher(room: () => Room | undefined): PublishData {
  return (bytes, options) => {
    const current = room();
    if (!current) return Promise.reject(new Error('not in the room'));
    // Before the room has connected, livekit-client's engine would keep the failure of this one
    // send and fail every later one with it (RTCEngine.publisherConnectionPromise).
    if (current.state === ConnectionState.Connecting || current.state === ConnectionState.Disconnected) {
      return Promise.reject(new Error(`not in the room yet (${current.state})`));
    }
    // A room made to encrypt sends data in clear until its worker has confirmed encryption
    // (livekit-client checks per packet): nothing goes before that.
    if (current.options.encryption && !current.isE2EEEnabled) return Promise.reject(new Error('end-to-end encryption is not on yet'));
    routeOutside(current.engine);
    return current.localParticipant.publishData(bytes, options);
  };
}
