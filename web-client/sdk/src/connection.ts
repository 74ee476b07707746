/**
 * One player's WebSocket connection, for any game (its codec is passed in): Join, message
 * decoding, ping, and reconnecting with exponential backoff after an unexpected close (only for
 * the retryable close codes of PROTOCOL.md), resending Join with the Welcome's resume token when
 * the server gave one. A rejoin that cannot resume (the seat is gone: 4005, or a restarted server
 * that closed with 1001 and forgot the token) names the room the server assigned in the last
 * Welcome, also after quick play, so players who were together meet again (issue 13).
 *
 * A `Redirect` followed by close 4007 (the room is on another node) is followed at once, without
 * backoff and without a visible disconnect (status `moving`): the same join, naming the
 * redirect's room and resuming the seat when there is one (a live migration keeps the score), at
 * the redirect's URL, at most `MAX_REDIRECT_HOPS` times in a row (a Welcome starts the count
 * again). Reconnects with backoff go to the entry URL, which sends the client on to the room's
 * node again.
 *
 * The join token travels in the `Sec-WebSocket-Protocol` header by default: the client offers
 * {@link SUBPROTOCOL} and `tickcast.token.<TOKEN>`, so the token stays out of URLs and access logs
 * (PROTOCOL.md, Handshake). No DOM: the WebSocket implementation, `fetch` and the clock can be
 * passed in (Node before 22 has no global WebSocket: pass the `ws` package's).
 */
import {
  CloseCode,
  MAX_REDIRECT_HOPS,
  PROTOCOL_VERSION,
  RedirectError,
  checkRedirect,
  describeClose,
  isRetryableClose,
  type ClientMsg,
  type Codec,
  type DeltaSnapshot,
  type PackedDelta,
  type ErrorMsg,
  type Pong,
  type Redirect,
  type Snapshot,
  type Welcome,
} from './protocol.js';
import {
  defaultNow,
  globalWebSocket,
  probeUpgrade,
  socketProtocols,
  type FetchLike,
  type WebSocketCtor,
  type WebSocketLike,
} from './transport.js';

/** `moving`: following a redirect to the room's node (not a disconnect: no backoff, no notice). */
export type ConnStatus =
  'connecting' | 'connected' | 'reconnecting' | 'moving' | 'refused' | 'closed';

/** What a connection reports, for a game with state `S`, welcome parameters `W`, patches `P`. */
export interface ConnectionEvents<S, W, P> {
  status(status: ConnStatus, detail: string): void;
  welcome(w: Welcome<W>): void;
  /** A full snapshot; `bytes` = its WebSocket payload size. */
  snapshot(s: Snapshot<S>, bytes: number): void;
  /** A delta snapshot (only after joining with `deltas`); the receiver applies it. */
  delta(d: DeltaSnapshot<P>, bytes: number): void;
  /** A packed delta snapshot (only after joining with `packed`); the receiver applies it. */
  packed?(d: PackedDelta, bytes: number): void;
  pong(p: Pong): void;
  error(e: ErrorMsg): void;
  /**
   * The server refused us or closed for good: show `message` (and the server's `reason`).
   * `code` is the close code, or the HTTP status (< 1000) when the upgrade itself was refused.
   */
  refused(code: number, message: string, reason: string): void;
  /** Every message sent (`out`) or received (`in`): its WebSocket payload bytes (for stats). */
  traffic?(direction: 'in' | 'out', bytes: number): void;
}

export interface BackoffPolicy {
  initialMs: number;
  maxMs: number;
}

export const DEFAULT_BACKOFF: BackoffPolicy = { initialMs: 500, maxMs: 10_000 };

/** How long {@link Connection.leave} gives the browser to write the close frame. */
export const LEAVE_FLUSH_MS = 100;

/** Blocks the thread for `ms` (a browser's network process keeps working meanwhile). */
function busyWait(ms: number): void {
  const until = defaultNow() + ms;
  while (defaultNow() < until) {
    // Spin: nothing else may run before the page is torn down.
  }
}

/** Delay before reconnect attempt `attempt` (0-based): doubling, capped, with ±25 % jitter. */
export function backoffDelay(attempt: number, policy = DEFAULT_BACKOFF, random = Math.random) {
  const base = Math.min(policy.maxMs, policy.initialMs * 2 ** Math.min(attempt, 20));
  return Math.round(base * (0.75 + random() * 0.5));
}

/**
 * Where a client connects to follow `r`, coming from an entry URL `entryUrl`: the redirect's URL,
 * carrying the entry URL's `?token=` (a join token, which every node checks) unless it has its
 * own. Throws a {@link RedirectError} for a URL a client must not follow.
 */
export function redirectTarget(r: Redirect, entryUrl: string): string {
  checkRedirect(r);
  let url: URL;
  try {
    url = new URL(r.url);
  } catch {
    throw new RedirectError('not-websocket', r.url, `redirect to ${JSON.stringify(r.url)} refused`);
  }
  let token: string | null = null;
  try {
    token = new URL(entryUrl).searchParams.get('token');
  } catch {
    // An entry URL that is not absolute has no token to carry.
  }
  if (token && !url.searchParams.has('token')) url.searchParams.set('token', token);
  return url.toString();
}

// WebSocket.readyState values (the constructor passed in need not have them as statics).
const OPEN = 1;
const CLOSING = 2;

const PING_INTERVAL_MS = 1000;

/** How to open a {@link Connection}. */
export interface ConnectionOptions<I, S, W, P> {
  /** The server's socket URL (e.g. `wss://game.example/ws`): the first attempt and every retry. */
  url: string;
  /** The room to join; `null` = quick play (the server picks one). */
  room: string | null;
  name: string;
  /** The game's codec ({@link makeCodec}). */
  codec: Codec<I, S, W, P>;
  events: ConnectionEvents<S, W, P>;
  /** Join with `deltas: true` (delta snapshots instead of full ones, if the server does them). */
  deltas?: boolean;
  /**
   * With `deltas`, join with `packed: true` as well (packed deltas, `"d"`; default false: the
   * receiver must handle {@link ConnectionEvents.packed}). Needs a server that knows the flag.
   */
  packed?: boolean;
  /** A signed join token, offered as the subprotocol `tickcast.token.<TOKEN>`. */
  token?: string | null;
  /** The WebSocket implementation (default: the global `WebSocket`). */
  WebSocket?: WebSocketCtor;
  /** `fetch` for the refused-upgrade probe (default: the global `fetch`). */
  fetch?: FetchLike;
  /** The clock for ping times, ms (default: `performance.now()`). */
  now?: () => number;
  backoff?: BackoffPolicy;
}

export class Connection<I, S, W, P> {
  private ws: WebSocketLike | null = null;
  private stopped = false;
  private attempt = 0;
  private resumeToken: string | null = null;
  /** Where the next attempt connects: the entry URL, or the node a redirect named. */
  private url: string;
  /** The room a join names: the caller's choice, a redirect's, or the last Welcome's. */
  private room: string | null;
  /** The Redirect received on the current socket (its 4007 close says to follow it). */
  private redirect: Redirect | null = null;
  /** Redirects followed since the last Welcome (or reconnect with backoff). */
  private hops = 0;
  /** The socket {@link Connection.leave} closed, until the page is gone. */
  private leaving: WebSocketLike | null = null;
  private reconnectTimer: ReturnType<typeof setTimeout> | null = null;
  private pingTimer: ReturnType<typeof setInterval> | null = null;
  private welcomed = false;
  /** Whether the current attempt's socket ever opened. */
  private opened = false;
  private readonly entryUrl: string;
  private readonly name: string;
  private readonly codec: Codec<I, S, W, P>;
  private readonly events: ConnectionEvents<S, W, P>;
  private readonly deltas: boolean;
  private readonly packed: boolean;
  private readonly token: string | null;
  private readonly WebSocketImpl: WebSocketCtor;
  private readonly now: () => number;

  constructor(private readonly opts: ConnectionOptions<I, S, W, P>) {
    this.entryUrl = opts.url;
    this.url = opts.url;
    this.room = opts.room;
    this.name = opts.name;
    this.codec = opts.codec;
    this.events = opts.events;
    this.deltas = opts.deltas ?? true;
    this.packed = this.deltas && (opts.packed ?? false);
    this.token = opts.token ?? null;
    this.WebSocketImpl = opts.WebSocket ?? globalWebSocket();
    this.now = opts.now ?? defaultNow;
  }

  get isOpen(): boolean {
    return this.ws?.readyState === OPEN && this.welcomed;
  }

  /** The room the next join names (after a Welcome: the room the server assigned). */
  get roomId(): string | null {
    return this.room;
  }

  start(): void {
    this.stopped = false;
    this.open();
  }

  /** Closes for good (1000), no reconnect. */
  stop(): void {
    this.stopped = true;
    this.clearTimers();
    if (this.ws && this.ws.readyState <= OPEN) this.ws.close(1000, 'bye');
    this.ws = null;
    this.events.status('closed', 'Left the room');
  }

  /**
   * The page is going away: close with 1000 now, so the server removes the player at once
   * instead of holding its seat for a resume, and give the browser {@link LEAVE_FLUSH_MS} to put
   * the close frame on the wire. Without that wait the page's teardown, right after `pagehide`
   * or `beforeunload`, often destroys the socket before the frame is written: the server then
   * sees a lost connection and the player stays, frozen, for the whole resume grace (measured in
   * the browser e2e: navigating away left the player in 2–5 rounds of 10; with 50 ms, 0–1 on a
   * machine so loaded that the server's ticks overran by 100–350 ms; hence 100 ms). Called again
   * (`pagehide` after `beforeunload`) while the server has not yet answered the close, it waits
   * once more. Blocking is the point: the page is being dismissed, a user does not notice 0.1 s.
   */
  leave(wait: (ms: number) => void = busyWait): void {
    const ws = this.ws;
    if (ws?.readyState === OPEN) {
      this.leaving = ws;
      this.stop();
      wait(LEAVE_FLUSH_MS);
    } else {
      this.stop();
      if (this.leaving?.readyState === CLOSING) wait(LEAVE_FLUSH_MS);
      this.leaving = null;
    }
  }

  send(msg: ClientMsg<I>): boolean {
    if (!this.ws || this.ws.readyState !== OPEN) return false;
    const bytes = this.codec.encodeClientMsg(msg);
    this.ws.send(bytes);
    this.events.traffic?.('out', bytes.byteLength);
    return true;
  }

  private open(): void {
    this.welcomed = false;
    this.redirect = null;
    if (this.hops > 0) this.events.status('moving', "Moving to the room's server…");
    else {
      this.events.status(
        this.attempt === 0 ? 'connecting' : 'reconnecting',
        this.attempt === 0 ? 'Connecting…' : `Reconnecting (attempt ${this.attempt})…`,
      );
    }
    let ws: WebSocketLike;
    try {
      ws = new this.WebSocketImpl(this.url, socketProtocols(this.token));
    } catch (e) {
      this.events.refused(0, `Cannot open ${this.url}`, (e as Error).message);
      return;
    }
    ws.binaryType = 'arraybuffer';
    ws.onerror = () => {};
    this.ws = ws;
    this.opened = false;
    ws.onopen = () => {
      if (this.ws !== ws) return;
      this.opened = true;
      this.send({
        type: 'join',
        body: {
          version: PROTOCOL_VERSION,
          room: this.room,
          name: this.name,
          resume: this.resumeToken,
          deltas: this.deltas,
          ...(this.packed ? { packed: true } : {}),
        },
      });
    };
    ws.onmessage = (ev) => {
      if (this.ws !== ws) return;
      if (typeof ev.data === 'string') {
        this.events.traffic?.('in', new TextEncoder().encode(ev.data).byteLength);
      }
      if (!(ev.data instanceof ArrayBuffer)) {
        console.warn('tickcast: ignoring a text frame from the server');
        return;
      }
      const bytes = ev.data.byteLength;
      this.events.traffic?.('in', bytes);
      let msg;
      try {
        msg = this.codec.decodeServerMsg(new Uint8Array(ev.data));
      } catch (e) {
        console.warn('tickcast: undecodable server message', e);
        return;
      }
      switch (msg.type) {
        case 'welcome':
          this.welcomed = true;
          this.attempt = 0;
          this.hops = 0;
          this.resumeToken = msg.body.resume_token;
          // Every later join names this room: a resume (so a cluster node can route it), and
          // a fresh rejoin after the seat is gone (so friends split by a restart meet again).
          this.room = msg.body.room_id;
          this.startPing();
          this.events.status('connected', 'Connected');
          this.events.welcome(msg.body);
          break;
        case 'snap':
          this.events.snapshot(msg.body, bytes);
          break;
        case 'delta':
          this.events.delta(msg.body, bytes);
          break;
        case 'packed':
          this.events.packed?.(msg.body, bytes);
          break;
        case 'pong':
          this.events.pong(msg.body);
          break;
        case 'error':
          console.warn(`tickcast: server error ${msg.body.code}: ${msg.body.message}`);
          this.events.error(msg.body);
          break;
        case 'redirect':
          this.redirect = msg.body;
          break;
      }
    };
    ws.onclose = (ev) => {
      if (this.ws !== ws) return;
      this.ws = null;
      this.welcomed = false;
      this.clearTimers();
      if (this.stopped) return;
      if (!this.opened) void this.onUpgradeFailed();
      else this.onUnexpectedClose(ev.code, ev.reason);
    };
  }

  /** The socket never opened: find out whether the server refused us, and why. */
  private async onUpgradeFailed(): Promise<void> {
    const refusal = await probeUpgrade(this.url, this.token, this.opts.fetch ?? null);
    if (this.stopped) return;
    if (refusal && !refusal.retry) {
      // Refused before the upgrade: `code` is the HTTP status (401, 403), not a close code.
      this.stopped = true;
      this.events.status('refused', refusal.message);
      this.events.refused(refusal.status, refusal.message, refusal.detail);
      return;
    }
    const delay = backoffDelay(this.attempt, this.opts.backoff);
    this.attempt++;
    this.scheduleReconnect(delay, refusal ? refusal.message : 'Cannot reach the server.');
  }

  private onUnexpectedClose(code: number, reason: string): void {
    if (code === CloseCode.Redirect && this.redirect) {
      this.follow(this.redirect);
      return;
    }
    // (A 4007 without a Redirect cannot be followed: it is retried through the entry URL.)
    if (code === CloseCode.ResumeUnknown) {
      // Our seat is gone: join the same room as a new player right away.
      this.resumeToken = null;
      this.scheduleReconnect(0, describeClose(code));
      return;
    }
    if (isRetryableClose(code)) {
      const delay = backoffDelay(this.attempt, this.opts.backoff);
      this.attempt++;
      const why = reason ? `${describeClose(code)} (${reason})` : describeClose(code);
      this.scheduleReconnect(delay, why);
      return;
    }
    this.stopped = true;
    this.events.status('refused', describeClose(code));
    this.events.refused(code, describeClose(code), reason);
  }

  /**
   * Reconnects at once where `r` points, with the same join naming its room (resuming the seat
   * when there is one: a live migration hands the seat over), or gives up.
   */
  private follow(r: Redirect): void {
    let url: string;
    try {
      if (this.hops >= MAX_REDIRECT_HOPS) {
        throw new RedirectError(
          'too-many-hops',
          r.url,
          `gave up after ${this.hops + 1} redirects in a row (the last to ${JSON.stringify(r.url)})`,
        );
      }
      url = redirectTarget(r, this.entryUrl);
    } catch (e) {
      if (!(e instanceof RedirectError)) throw e;
      const message =
        e.kind === 'too-many-hops'
          ? 'The servers keep sending this tab elsewhere; giving up.'
          : 'The server sent this tab to an address it will not follow.';
      this.stopped = true;
      this.events.status('refused', message);
      this.events.refused(CloseCode.Redirect, message, e.message);
      return;
    }
    this.hops++;
    this.url = url;
    this.room = r.room_id;
    this.open();
  }

  /** Reconnects to the entry URL after `delayMs` (0: at once). */
  private scheduleReconnect(delayMs: number, why: string): void {
    this.url = this.entryUrl;
    this.hops = 0;
    const secs = Math.max(1, Math.round(delayMs / 1000));
    this.events.status('reconnecting', `${why} Reconnecting in ${secs} s…`);
    this.reconnectTimer = setTimeout(() => {
      this.reconnectTimer = null;
      if (!this.stopped) this.open();
    }, delayMs);
  }

  private startPing(): void {
    if (this.pingTimer) clearInterval(this.pingTimer);
    const ping = () => this.send({ type: 'ping', body: { client_time: this.now() } });
    ping();
    this.pingTimer = setInterval(ping, PING_INTERVAL_MS);
  }

  private clearTimers(): void {
    if (this.pingTimer) clearInterval(this.pingTimer);
    if (this.reconnectTimer) clearTimeout(this.reconnectTimer);
    this.pingTimer = null;
    this.reconnectTimer = null;
  }
}
