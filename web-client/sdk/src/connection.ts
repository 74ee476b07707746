/**
 * One player's WebSocket connection: Join, message decoding, ping, and reconnecting with
 * exponential backoff after an unexpected close (only for the retryable close codes of
 * PROTOCOL.md), resending Join with the Welcome's resume token when the server gave one.
 *
 * A `Redirect` followed by close 4007 (the room is on another node) is followed at once, without
 * backoff and without a visible disconnect (status `moving`): the same join, naming the
 * redirect's room, at the redirect's URL (with the page's join token), at most
 * `MAX_REDIRECT_HOPS` times in a row (a Welcome starts the count again). Reconnects with backoff
 * go to the entry URL (the page's `/ws`), which sends the client on to the room's node again.
 */
import {
  decodeServerMsg,
  encodeClientMsg,
  type ArenaClientMsg as ClientMsg,
  type ArenaDelta as DeltaSnapshot,
  type ArenaSnapshot as Snapshot,
  type ArenaWelcome as Welcome,
} from './arena';
import {
  CloseCode,
  MAX_REDIRECT_HOPS,
  PROTOCOL_VERSION,
  RedirectError,
  checkRedirect,
  describeClose,
  isRetryableClose,
  type ErrorMsg,
  type Pong,
  type Redirect,
} from './protocol';

/** `moving`: following a redirect to the room's node (not a disconnect: no backoff, no notice). */
export type ConnStatus =
  'connecting' | 'connected' | 'reconnecting' | 'moving' | 'refused' | 'closed';

export interface ConnectionEvents {
  status(status: ConnStatus, detail: string): void;
  welcome(w: Welcome): void;
  /** A full snapshot; `bytes` = its WebSocket payload size. */
  snapshot(s: Snapshot, bytes: number): void;
  /** A delta snapshot (only after joining with `deltas`); the receiver applies it. */
  delta(d: DeltaSnapshot, bytes: number): void;
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

/** Blocks the page's thread for `ms` (the browser's network process keeps working meanwhile). */
function busyWait(ms: number): void {
  const until = performance.now() + ms;
  while (performance.now() < until) {
    // Spin: nothing else may run before the page is torn down.
  }
}

/** Delay before reconnect attempt `attempt` (0-based): doubling, capped, with ±25 % jitter. */
export function backoffDelay(attempt: number, policy = DEFAULT_BACKOFF, random = Math.random) {
  const base = Math.min(policy.maxMs, policy.initialMs * 2 ** Math.min(attempt, 20));
  return Math.round(base * (0.75 + random() * 0.5));
}

/**
 * The server's WebSocket URL for this page: `/ws` on the same host, carrying the page's
 * `?token=` (a signed join token from a login service) when there is one.
 */
export function defaultSocketUrl(loc: Location = location): string {
  const proto = loc.protocol === 'https:' ? 'wss:' : 'ws:';
  const url = new URL(`${proto}//${loc.host}/ws`);
  const token = new URLSearchParams(loc.search).get('token');
  if (token) url.searchParams.set('token', token);
  return url.toString();
}

/**
 * Where a client connects to follow `r`, coming from a page whose socket URL is `entryUrl`: the
 * redirect's URL, carrying the entry URL's `?token=` (a join token, which every node checks)
 * unless it has its own. Throws a {@link RedirectError} for a URL a client must not follow.
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
 */
export async function probeUpgrade(wsUrl: string): Promise<UpgradeRefusal | null> {
  const url = wsUrl.replace(/^ws/, 'http');
  let status: number;
  let detail = '';
  try {
    const res = await fetch(url, { cache: 'no-store', credentials: 'same-origin' });
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

const PING_INTERVAL_MS = 1000;

export class Connection {
  private ws: WebSocket | null = null;
  private stopped = false;
  private attempt = 0;
  private resumeToken: string | null = null;
  /** Where the next attempt connects: the entry URL, or the node a redirect named. */
  private url: string;
  /** The room a fresh join names: the page's choice, or the room a redirect named. */
  private room: string | null;
  /** The Welcome's room: a resume names it, so a cluster node can route the resume. */
  private seatRoom: string | null = null;
  /** The Redirect received on the current socket (its 4007 close says to follow it). */
  private redirect: Redirect | null = null;
  /** Redirects followed since the last Welcome (or reconnect with backoff). */
  private hops = 0;
  /** The socket {@link Connection.leave} closed, until the page is gone. */
  private leaving: WebSocket | null = null;
  private reconnectTimer: ReturnType<typeof setTimeout> | null = null;
  private pingTimer: ReturnType<typeof setInterval> | null = null;
  private welcomed = false;
  /** Whether the current attempt's socket ever opened. */
  private opened = false;

  constructor(
    /** The server's socket URL (the page's `/ws`): the first attempt and every retry go here. */
    private readonly entryUrl: string,
    room: string | null,
    private readonly name: string,
    private readonly events: ConnectionEvents,
    /** Join with `deltas: true` (delta snapshots instead of full ones, if the server does them). */
    private readonly deltas = true,
  ) {
    this.url = entryUrl;
    this.room = room;
  }

  get isOpen(): boolean {
    return this.ws?.readyState === WebSocket.OPEN && this.welcomed;
  }

  start(): void {
    this.stopped = false;
    this.open();
  }

  /** Closes for good (1000), no reconnect. */
  stop(): void {
    this.stopped = true;
    this.clearTimers();
    if (this.ws && this.ws.readyState <= WebSocket.OPEN) this.ws.close(1000, 'bye');
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
    if (ws?.readyState === WebSocket.OPEN) {
      this.leaving = ws;
      this.stop();
      wait(LEAVE_FLUSH_MS);
    } else {
      this.stop();
      if (this.leaving?.readyState === WebSocket.CLOSING) wait(LEAVE_FLUSH_MS);
      this.leaving = null;
    }
  }

  send(msg: ClientMsg): boolean {
    if (!this.ws || this.ws.readyState !== WebSocket.OPEN) return false;
    const bytes = encodeClientMsg(msg);
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
    let ws: WebSocket;
    try {
      ws = new WebSocket(this.url);
    } catch (e) {
      this.events.refused(0, `Cannot open ${this.url}`, (e as Error).message);
      return;
    }
    ws.binaryType = 'arraybuffer';
    this.ws = ws;
    this.opened = false;
    ws.onopen = () => {
      if (this.ws !== ws) return;
      this.opened = true;
      this.send({
        type: 'join',
        body: {
          version: PROTOCOL_VERSION,
          room: this.resumeToken ? (this.seatRoom ?? this.room) : this.room,
          name: this.name,
          resume: this.resumeToken,
          deltas: this.deltas,
        },
      });
    };
    ws.onmessage = (ev: MessageEvent) => {
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
        msg = decodeServerMsg(new Uint8Array(ev.data));
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
          this.seatRoom = msg.body.room_id;
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
    ws.onclose = (ev: CloseEvent) => {
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
    const refusal = await probeUpgrade(this.url);
    if (this.stopped) return;
    if (refusal && !refusal.retry) {
      // Refused before the upgrade: `code` is the HTTP status (401, 403), not a close code.
      this.stopped = true;
      this.events.status('refused', refusal.message);
      this.events.refused(refusal.status, refusal.message, refusal.detail);
      return;
    }
    const delay = backoffDelay(this.attempt);
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
      // Our seat is gone: join as a new player right away.
      this.resumeToken = null;
      this.scheduleReconnect(0, describeClose(code));
      return;
    }
    if (isRetryableClose(code)) {
      const delay = backoffDelay(this.attempt);
      this.attempt++;
      const why = reason ? `${describeClose(code)} (${reason})` : describeClose(code);
      this.scheduleReconnect(delay, why);
      return;
    }
    this.stopped = true;
    this.events.status('refused', describeClose(code));
    this.events.refused(code, describeClose(code), reason);
  }

  /** Reconnects at once where `r` points, with the same join naming its room, or gives up. */
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
    this.seatRoom = null;
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
    const ping = () => this.send({ type: 'ping', body: { client_time: performance.now() } });
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
