/**
 * What a client needs of its platform to open a tickcast connection, kept apart from the
 * connection's rules: the WebSocket as an interface (the browser's, or the `ws` package's in
 * Node), the handshake's subprotocols (`tickcast.v1`, and the join token as
 * `tickcast.token.<TOKEN>`, PROTOCOL.md "Handshake"), the clock, and the plain-HTTP probe that
 * learns why an upgrade was refused. connection.ts uses it; no DOM types.
 */

/** The subprotocol a tickcast client offers; the server answers it (PROTOCOL.md, Handshake). */
export const SUBPROTOCOL = 'tickcast.v1';
/** Prefix of the subprotocol that carries the join token: `tickcast.token.<TOKEN>`. */
export const TOKEN_SUBPROTOCOL_PREFIX = 'tickcast.token.';

/** The subprotocols to offer: {@link SUBPROTOCOL}, and the token's when there is one. */
export function socketProtocols(token: string | null | undefined): string[] {
  return token ? [SUBPROTOCOL, TOKEN_SUBPROTOCOL_PREFIX + token] : [SUBPROTOCOL];
}

// A handler type that accepts the browser's and the `ws` package's event handlers alike (method
// parameters are checked bivariantly; plain function properties would not accept either).
type Handler<E> = { bivarianceHack(ev: E): void }['bivarianceHack'];

/** What the connection needs of a WebSocket: the browser's, or the `ws` package's in Node. */
export interface WebSocketLike {
  readonly readyState: number;
  binaryType: string;
  onopen: Handler<unknown> | null;
  onmessage: Handler<{ data: unknown }> | null;
  onclose: Handler<{ code: number; reason: string }> | null;
  /** Set to a no-op: `ws` throws an error event nobody listens to; `onclose` follows anyway. */
  onerror: Handler<unknown> | null;
  send(data: Uint8Array): void;
  close(code?: number, reason?: string): void;
}

/** A WebSocket constructor (`WebSocket` in browsers and Node ≥ 22, `ws`'s default export). */
export type WebSocketCtor = new (url: string, protocols?: string | string[]) => WebSocketLike;

/** What the upgrade probe needs of `fetch` (see {@link probeUpgrade}). */
export type FetchLike = (
  url: string,
  init: { cache?: string; credentials?: string; headers?: Record<string, string> },
) => Promise<{ status: number; text(): Promise<string> }>;

/** The global `WebSocket`; throws a clear error where there is none (Node before 22). */
export function globalWebSocket(): WebSocketCtor {
  const ctor = (globalThis as { WebSocket?: WebSocketCtor }).WebSocket;
  if (!ctor) {
    throw new Error(
      'tickcast-client: no global WebSocket (Node before 22): pass one, e.g. { WebSocket } from "ws"',
    );
  }
  return ctor;
}

/** `performance.now()` where there is one, else `Date.now()`, ms. */
export function defaultNow(): number {
  const perf = (globalThis as { performance?: { now(): number } }).performance;
  return perf ? perf.now() : Date.now();
}

/** What a refused upgrade means; `retry` = worth trying again later. */
export interface UpgradeRefusal {
  status: number;
  message: string;
  /** The server's own words (its plain-text answer), when it gave any. */
  detail: string;
  retry: boolean;
}

/**
 * A browser cannot see why a WebSocket upgrade failed (it only reports close 1006), so after an
 * attempt that never opened, the client asks the same URL over plain HTTP: the server runs its
 * admission checks (origin 403, token 401, limits 429/503) before looking at upgrade headers.
 * `fetch` may not set `Sec-WebSocket-Protocol`, so a token the socket offered as a subprotocol
 * goes in `Authorization: Bearer` (which the server reads too), never in the URL.
 */
export async function probeUpgrade(
  wsUrl: string,
  token: string | null = null,
  fetchImpl: FetchLike | null = null,
): Promise<UpgradeRefusal | null> {
  const url = wsUrl.replace(/^ws/, 'http');
  const doFetch = fetchImpl ?? (globalThis as { fetch?: FetchLike }).fetch;
  if (!doFetch) return null;
  let status: number;
  let detail = '';
  try {
    const headers: Record<string, string> = token ? { authorization: `Bearer ${token}` } : {};
    const res = await doFetch(url, { cache: 'no-store', credentials: 'same-origin', headers });
    status = res.status;
    if (status >= 400) detail = (await res.text().catch(() => '')).trim().slice(0, 200);
  } catch {
    return null; // unreachable, or a cross-origin refusal the browser hides from us
  }
  const r = (message: string, retry: boolean) => ({ status, message, detail, retry });
  switch (status) {
    case 401:
      return r('The server refused the join token (missing, invalid or expired).', false);
    case 403:
      return r("The server does not allow this page's origin.", false);
    case 429:
      return r('Too many connections from your address.', true);
    case 503:
      return r('The server is full right now.', true);
    default:
      return null;
  }
}
