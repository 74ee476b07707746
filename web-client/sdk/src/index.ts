/**
 * `tickcast-client`: the TypeScript client of the tickcast protocol (shared/PROTOCOL.md), for
 * browsers and Node. {@link connect} is the front door; the modules below are its parts, for
 * clients that wire them differently (the bundled demo drives a {@link Connection} itself).
 *
 * - `protocol`: messages, codec ({@link makeCodec}), close codes, validation;
 * - `delta`: delta snapshots (plain and packed) and the baseline store; `varint`: the packed
 *   format's integers;
 * - `connection`: one connection with resume, reconnect with backoff, redirects; `transport`: the
 *   WebSocket it needs, the handshake's subprotocols (join token), the refused-upgrade probe;
 * - `room`: {@link connect} and {@link Room} (seq/ack, deltas applied, stats);
 * - `netstats`: the net-stats figures; `interpolation`, `schedule`: game-agnostic helpers for
 *   drawing other players in the past and sending one input per tick.
 */
export * from './protocol.js';
export * from './delta.js';
export * from './varint.js';
export * from './connection.js';
export * from './transport.js';
export * from './room.js';
export * from './netstats.js';
export * from './interpolation.js';
export * from './schedule.js';
