/**
 * One player's WebSocket connection: Join, message decoding, ping, and reconnecting with
 * exponential backoff after an unexpected close (only for the retryable close codes of
 * PROTOCOL.md), resending Join with the Welcome's resume token when the server gave one.
 */
import {
  CloseCode,
  PROTOCOL_VERSION,
  decodeServerMsg,
  describeClose,
  encodeClientMsg,
  isRetryableClose,
  type ClientMsg,
  type ErrorMsg,
  type Pong,
  type Snapshot,
  type Welcome,
} from './protocol';

export type ConnStatus = 'connecting' | 'connected' | 'reconnecting' | 'refused' | 'closed';

export interface ConnectionEvents {
  status(status: ConnStatus, detail: string): void;
  welcome(w: Welcome): void;
  snapshot(s: Snapshot): void;
  pong(p: Pong): void;
  error(e: ErrorMsg): void;
  /** The server refused us or closed for good: show `message` (and the close reason). */
  refused(code: number, message: string, reason: string): void;
}

export interface BackoffPolicy {
  initialMs: number;
  maxMs: number;
}

export const DEFAULT_BACKOFF: BackoffPolicy = { initialMs: 500, maxMs: 10_000 };

/** Delay before reconnect attempt `attempt` (0-based): doubling, capped, with ±25 % jitter. */
export function backoffDelay(attempt: number, policy = DEFAULT_BACKOFF, random = Math.random) {
  const base = Math.min(policy.maxMs, policy.initialMs * 2 ** Math.min(attempt, 20));
  return Math.round(base * (0.75 + random() * 0.5));
}

export function defaultSocketUrl(loc: Location = location): string {
  const proto = loc.protocol === 'https:' ? 'wss:' : 'ws:';
  return `${proto}//${loc.host}/ws`;
}

const PING_INTERVAL_MS = 1000;

export class Connection {
  private ws: WebSocket | null = null;
  private stopped = false;
  private attempt = 0;
  private resumeToken: string | null = null;
  private reconnectTimer: ReturnType<typeof setTimeout> | null = null;
  private pingTimer: ReturnType<typeof setInterval> | null = null;
  private welcomed = false;

  constructor(
    private readonly url: string,
    private readonly room: string | null,
    private readonly name: string,
    private readonly events: ConnectionEvents,
  ) {}

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

  send(msg: ClientMsg): boolean {
    if (!this.ws || this.ws.readyState !== WebSocket.OPEN) return false;
    this.ws.send(encodeClientMsg(msg));
    return true;
  }

  private open(): void {
    this.welcomed = false;
    this.events.status(
      this.attempt === 0 ? 'connecting' : 'reconnecting',
      this.attempt === 0 ? 'Connecting…' : `Reconnecting (attempt ${this.attempt})…`,
    );
    let ws: WebSocket;
    try {
      ws = new WebSocket(this.url);
    } catch (e) {
      this.events.refused(0, `Cannot open ${this.url}`, (e as Error).message);
      return;
    }
    ws.binaryType = 'arraybuffer';
    this.ws = ws;
    ws.onopen = () => {
      if (this.ws !== ws) return;
      this.send({
        type: 'join',
        body: {
          version: PROTOCOL_VERSION,
          room: this.room,
          name: this.name,
          resume: this.resumeToken,
        },
      });
    };
    ws.onmessage = (ev: MessageEvent) => {
      if (this.ws !== ws) return;
      if (!(ev.data instanceof ArrayBuffer)) {
        console.warn('tickcast: ignoring a text frame from the server');
        return;
      }
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
          this.resumeToken = msg.body.resume_token;
          this.startPing();
          this.events.status('connected', 'Connected');
          this.events.welcome(msg.body);
          break;
        case 'snap':
          this.events.snapshot(msg.body);
          break;
        case 'pong':
          this.events.pong(msg.body);
          break;
        case 'error':
          console.warn(`tickcast: server error ${msg.body.code}: ${msg.body.message}`);
          this.events.error(msg.body);
          break;
      }
    };
    ws.onclose = (ev: CloseEvent) => {
      if (this.ws !== ws) return;
      this.ws = null;
      this.welcomed = false;
      this.clearTimers();
      if (this.stopped) return;
      this.onUnexpectedClose(ev.code, ev.reason);
    };
  }

  private onUnexpectedClose(code: number, reason: string): void {
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

  private scheduleReconnect(delayMs: number, why: string): void {
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
