/**
 * The demo's connection: the SDK's `Connection` bound to the arena's codec, with the page's join
 * token offered in the WebSocket handshake (as the subprotocol `tickcast.token.<TOKEN>`, so it
 * stays out of the socket URL and the server's logs). game.ts opens it; overlays.ts and view.ts
 * read its status type from here.
 */
import {
  Connection as SdkConnection,
  type ConnectionEvents as SdkConnectionEvents,
} from 'tickcast-client';
import {
  clientMsgFromWire,
  decodeClientMsg,
  decodeServerMsg,
  encodeClientMsg,
  serverMsgFromWire,
  type ArenaInfo,
  type ArenaPatch,
  type ArenaState,
  type Controls,
} from './arena';

export type { ConnStatus } from 'tickcast-client';

export type ConnectionEvents = SdkConnectionEvents<ArenaState, ArenaInfo, ArenaPatch>;

/** The arena's codec, as the SDK's connection takes it. */
const ARENA_CODEC = {
  encodeClientMsg,
  decodeClientMsg,
  decodeServerMsg,
  clientMsgFromWire,
  serverMsgFromWire,
};

/** The page's join token (`?token=` in the page URL, from a login service), if any. */
export function pageToken(loc: Pick<Location, 'search'> = location): string | null {
  return new URLSearchParams(loc.search).get('token') || null;
}

/** The server's WebSocket URL for this page: `/ws` on the same host (no token in it). */
export function defaultSocketUrl(loc: Pick<Location, 'protocol' | 'host'> = location): string {
  const proto = loc.protocol === 'https:' ? 'wss:' : 'ws:';
  return `${proto}//${loc.host}/ws`;
}

export class Connection extends SdkConnection<Controls, ArenaState, ArenaInfo, ArenaPatch> {
  constructor(
    url: string,
    room: string | null,
    name: string,
    events: ConnectionEvents,
    deltas = true,
    token: string | null = typeof location === 'undefined' ? null : pageToken(),
  ) {
    // Packed deltas (`"d"`) with deltas: game.ts applies both forms.
    super({ url, room, name, events, deltas, packed: deltas, token, codec: ARENA_CODEC });
  }
}
