/**
 * The SDK's front door: `connect(url, options)` joins a room and resolves with a {@link Room}
 * once the server's Welcome arrives. The room wires a {@link Connection} (join, resume,
 * reconnect with backoff, redirects) to what every game client does with it: applying delta
 * snapshots to their baselines, numbering inputs (`seq`) and acknowledging the newest state
 * (`ack_tick`), measuring the round trip, and the net-stats figures. Generic over the game like
 * the Rust shared crate: a {@link GameClient} says how the game's messages look on the wire and
 * how its state is rebuilt from patches.
 *
 * ```ts
 * const room = await connect('wss://game.example/ws', { game: arena, name: 'ada' });
 * room.on('snapshot', (state, tick) => draw(state));
 * setInterval(() => room.sendInput(readControls()), 1000 / room.tickRate);
 * ```
 */
import { Connection, type BackoffPolicy, type ConnStatus } from './connection.js';
import { defaultNow, type FetchLike, type WebSocketCtor } from './transport.js';
import { Baselines, DeltaError, type Diffable } from './delta.js';
import { NetStats, RoundTrips, type NetStatsSample } from './netstats.js';
import type { Codec, DeltaSnapshot, ErrorMsg, PackedDelta, Welcome } from './protocol.js';

/**
 * A game as the SDK plays it: input `I`, state `S`, welcome parameters `W`, delta patch `P`, and
 * `F`, the state as delta patches rebuild it (often quantised).
 */
export interface GameClient<I, S, W, P, F = unknown> {
  /** The game's codec ({@link makeCodec} of its `GameWire`). */
  codec: Codec<I, S, W, P>;
  /** How delta snapshots are applied; without it the room joins for full snapshots only. */
  deltas?: {
    diff: Diffable<F, P>;
    /** The state a patched `F` stands for (e.g. dequantised). */
    toState(f: F): S;
  };
  /** The players in a state, for the `players` event (when the set of ids changes). */
  players?(state: S): readonly { id: string }[];
}

/** Options of {@link connect}. */
export interface ConnectOptions<I, S, W, P, F> {
  game: GameClient<I, S, W, P, F>;
  /** The player's name (1–20 visible characters). */
  name: string;
  /** The room to join; absent or `null` = quick play (the server picks one). */
  room?: string | null;
  /** A signed join token (offered in `Sec-WebSocket-Protocol`, never put in the URL). */
  token?: string | null;
  /** Ask for delta snapshots (default: when the game can apply them). */
  deltas?: boolean;
  /**
   * Ask for packed deltas (default: when the game can unpack them, `Diffable.unpack`). Set
   * false for a server from before `packed` (it refuses the flag with 1007).
   */
  packed?: boolean;
  /** The WebSocket implementation: needed in Node before 22 (e.g. the `ws` package's). */
  WebSocket?: WebSocketCtor;
  /** `fetch`, to learn why an upgrade was refused (default: the global one). */
  fetch?: FetchLike;
  /** The clock, ms (default: `performance.now()`). */
  now?: () => number;
  backoff?: BackoffPolicy;
}

/** The events of a {@link Room} and their arguments. */
export interface RoomEvents<S, W> {
  /** Joined (or rejoined, resumed, moved): the server's Welcome. */
  welcome: (welcome: Welcome<W>) => void;
  /** A new state, from a full snapshot or an applied delta. */
  snapshot: (state: S, tick: number) => void;
  /** The players changed (someone joined or left). */
  players: (players: readonly { id: string }[]) => void;
  status: (status: ConnStatus, detail: string) => void;
  /**
   * After a reconnect the server placed us in another room than before (`from` → `to`): say so
   * to the player; friends are not here.
   */
  moved: (from: string, to: string) => void;
  /** A delta could not be applied (dropped; the ack stays where it was). */
  deltaError: (error: DeltaError) => void;
  /** The server's Error message (the connection stays up). */
  error: (error: ErrorMsg) => void;
  /**
   * Closed for good: by {@link Room.leave} (code 1000), or refused (a close code, or the HTTP
   * status of a refused upgrade).
   */
  close: (code: number, message: string, reason: string) => void;
}

type Listeners<S, W> = { [K in keyof RoomEvents<S, W>]: Set<RoomEvents<S, W>[K]> };

/** One joined room. Create it with {@link connect}. */
export class Room<I, S, W, P, F = unknown> {
  private readonly conn: Connection<I, S, W, P>;
  private readonly listeners: Listeners<S, W> = {
    welcome: new Set(),
    snapshot: new Set(),
    players: new Set(),
    status: new Set(),
    moved: new Set(),
    deltaError: new Set(),
    error: new Set(),
    close: new Set(),
  };
  private readonly baselines: Baselines<F, P> | null;
  private readonly now: () => number;
  private readonly netStats = new NetStats();
  private readonly rtt = new RoundTrips();
  private welcomeMsg: Welcome<W> | null = null;
  private latest: { tick: number; state: S } | null = null;
  private playerIds = '';
  private seq = 0;
  private statusNow: ConnStatus = 'connecting';

  /** Use {@link connect}. */
  constructor(
    url: string,
    private readonly opts: ConnectOptions<I, S, W, P, F>,
  ) {
    const game = opts.game;
    const deltas = (opts.deltas ?? true) && !!game.deltas;
    this.baselines = deltas && game.deltas ? new Baselines(game.deltas.diff) : null;
    this.now = opts.now ?? defaultNow;
    this.conn = new Connection<I, S, W, P>({
      url,
      room: opts.room ?? null,
      name: opts.name,
      codec: game.codec,
      deltas,
      packed: deltas && (opts.packed ?? true) && !!game.deltas?.diff.unpack,
      token: opts.token ?? null,
      WebSocket: opts.WebSocket,
      fetch: opts.fetch,
      now: this.now,
      backoff: opts.backoff,
      events: {
        status: (s, detail) => {
          this.statusNow = s;
          this.emit('status', s, detail);
        },
        welcome: (w) => this.onWelcome(w),
        snapshot: (s, bytes) => {
          this.netStats.snapshot(this.now(), s.tick, 'snap', bytes);
          this.onState(s.tick, s.state);
        },
        delta: (d, bytes) => this.onDelta(d, bytes),
        packed: (d, bytes) => this.onPacked(d, bytes),
        pong: (p) => this.rtt.pong(this.now(), p.client_time),
        error: (e) => this.emit('error', e),
        refused: (code, message, reason) => this.emit('close', code, message, reason),
        traffic: (direction, bytes) => {
          if (direction === 'in') this.netStats.received(this.now(), bytes);
          else this.netStats.sent(this.now(), bytes);
        },
      },
    });
  }

  /** Subscribes to `event`; returns the function that unsubscribes. */
  on<K extends keyof RoomEvents<S, W>>(event: K, fn: RoomEvents<S, W>[K]): () => void {
    this.listeners[event].add(fn);
    return () => this.listeners[event].delete(fn);
  }

  /** The room's id (the server's, from the Welcome; before it, the one asked for). */
  get id(): string | null {
    return this.welcomeMsg?.room_id ?? this.opts.room ?? null;
  }

  get playerId(): string | null {
    return this.welcomeMsg?.player_id ?? null;
  }

  /** The last Welcome: tick rate, capacity, the game's parameters. */
  get welcome(): Welcome<W> | null {
    return this.welcomeMsg;
  }

  get tickRate(): number | null {
    return this.welcomeMsg?.tick_rate ?? null;
  }

  /** The newest state and its tick. */
  get state(): S | null {
    return this.latest?.state ?? null;
  }

  get tick(): number {
    return this.latest?.tick ?? 0;
  }

  get status(): ConnStatus {
    return this.statusNow;
  }

  /** Welcomed and open: inputs sent now reach the room. */
  get connected(): boolean {
    return this.conn.isOpen;
  }

  /**
   * `Input.ack_tick`: with deltas the newest state held (0 before the first, so the server
   * starts with a full patch), else the newest full snapshot of this connection.
   */
  get ackTick(): number {
    if (this.baselines && this.baselines.size > 0) return this.baselines.ackTick;
    return this.latest?.tick ?? 0;
  }

  /** The newest input sequence number sent (strictly increasing across reconnects). */
  get lastSeq(): number {
    return this.seq;
  }

  /** The round trip of the once-a-second ping (median), ms; `null` until measured. */
  get rttMs(): number | null {
    return this.rtt.ms;
  }

  /** The net-stats figures now (rates over the last second, totals since connecting). */
  get stats(): NetStatsSample {
    return this.netStats.sample(this.now(), {
      rttMs: this.rtt.ms,
      tickRate: this.tickRate,
      newestTick: this.tick,
      ackTick: this.ackTick,
    });
  }

  /** The ledger behind {@link Room.stats} (totals, the bar graph). */
  get netLedger(): NetStats {
    return this.netStats;
  }

  /**
   * Sends the game's controls for the next tick, numbered and acknowledging the newest state;
   * returns its `seq`, or `null` when not connected (nothing was sent).
   */
  sendInput(controls: I): number | null {
    if (!this.conn.isOpen) return null;
    const seq = this.seq + 1;
    const sent = this.conn.send({ type: 'input', body: { seq, ack_tick: this.ackTick, controls } });
    if (!sent) return null;
    this.seq = seq;
    return seq;
  }

  /** Leaves the room for good (close 1000: the seat is freed at once, no resume). */
  leave(): void {
    this.conn.stop();
    this.emit('close', 1000, 'Left the room', '');
  }

  /** Starts connecting (done by {@link connect}). */
  start(): void {
    this.conn.start();
  }

  private emit<K extends keyof RoomEvents<S, W>>(
    event: K,
    ...args: Parameters<RoomEvents<S, W>[K]>
  ): void {
    for (const fn of this.listeners[event]) (fn as (...a: typeof args) => void)(...args);
  }

  private onWelcome(w: Welcome<W>): void {
    const before = this.welcomeMsg?.room_id;
    this.welcomeMsg = w;
    this.latest = null;
    // A new connection starts from a full patch (base tick 0): old baselines are no use.
    this.baselines?.reset();
    this.netStats.newConnection();
    this.emit('welcome', w);
    if (before !== undefined && before !== w.room_id) this.emit('moved', before, w.room_id);
  }

  private onDelta(d: DeltaSnapshot<P>, bytes: number): void {
    this.applyDelta(d, bytes, (b) => b.receive(d));
  }

  private onPacked(d: PackedDelta, bytes: number): void {
    const rate = this.welcomeMsg?.tick_rate ?? 0;
    this.applyDelta(d, bytes, (b) => b.receivePacked(d, rate));
  }

  /** A delta of either form: counted, applied by `receive`, handed on as a state. */
  private applyDelta(
    d: { tick: number; base_tick: number },
    bytes: number,
    receive: (b: Baselines<F, P>) => F,
  ): void {
    const now = this.now();
    this.netStats.snapshot(now, d.tick, d.base_tick === 0 ? 'full' : 'delta', bytes, d.base_tick);
    const game = this.opts.game.deltas;
    if (!this.baselines || !game) return;
    let patched: F;
    try {
      patched = receive(this.baselines);
    } catch (e) {
      if (!(e instanceof DeltaError)) throw e;
      this.netStats.deltaError(now, e.kind);
      this.emit('deltaError', e);
      return;
    }
    this.onState(d.tick, game.toState(patched));
  }

  private onState(tick: number, state: S): void {
    if (this.latest && tick <= this.latest.tick) return;
    this.latest = { tick, state };
    this.emit('snapshot', state, tick);
    const players = this.opts.game.players?.(state);
    if (!players) return;
    const ids = players
      .map((p) => p.id)
      .sort()
      .join(',');
    if (ids === this.playerIds) return;
    this.playerIds = ids;
    this.emit('players', players);
  }
}

/**
 * Joins a room at `url` (the server's `/ws`) and resolves with it once the server welcomed us;
 * rejects with a {@link JoinRefusedError} if the server refuses (room full, bad token …) before
 * that. After the first Welcome the room keeps itself connected: it resumes its seat after a cut
 * connection, reconnects with backoff, follows redirects, and reports `close` when it gives up.
 */
export function connect<I, S, W, P, F>(
  url: string,
  options: ConnectOptions<I, S, W, P, F>,
): Promise<Room<I, S, W, P, F>> {
  const room = new Room(url, options);
  return new Promise((resolve, reject) => {
    const offWelcome = room.on('welcome', () => {
      offWelcome();
      offClose();
      resolve(room);
    });
    const offClose = room.on('close', (code, message, reason) => {
      offWelcome();
      offClose();
      reject(new JoinRefusedError(code, message, reason));
    });
    room.start();
  });
}

/** {@link connect} was refused before it joined. */
export class JoinRefusedError extends Error {
  constructor(
    /** The close code, or the HTTP status of a refused upgrade (401, 403). */
    readonly code: number,
    message: string,
    /** The server's own words. */
    readonly reason: string,
  ) {
    super(reason ? `${message} (${reason})` : message);
    this.name = 'JoinRefusedError';
  }
}
