/**
 * `window.tickcast`: a read-only view of the game for tests and debugging (the e2e tests read
 * it). game.ts builds a new frozen {@link TickcastView} every frame and on every snapshot and
 * hands it to {@link publishView}; the getter installed on `window` returns the newest one.
 */
import type { ConnStatus } from './net';
import { NetStats, type NetStatsSample, type NetTotals } from 'tickcast-client';
import type { Round } from './round';

export interface TickcastPlayerView {
  readonly id: string;
  readonly name: string;
  readonly x: number;
  readonly y: number;
  readonly score: number;
  /** The player's connection is lost and its seat is held (drawn dimmed, "reconnecting…"). */
  readonly held: boolean;
  /** The player's colour (`#rrggbb`, colors.ts). */
  readonly color: string;
}

/** What `window.tickcast` shows (read-only; replaced by a new frozen object every frame). */
export interface TickcastView {
  readonly connected: boolean;
  readonly status: ConnStatus;
  readonly playerId: string | null;
  readonly roomId: string | null;
  /** Newest snapshot tick received. */
  readonly tick: number;
  readonly tickRate: number | null;
  readonly pingMs: number | null;
  readonly arena: { readonly width: number; readonly height: number } | null;
  /** Players as currently rendered (own player predicted, others interpolated). */
  readonly players: readonly TickcastPlayerView[];
  /** The newest snapshot's round (`null` when the server sends none). */
  readonly round: Readonly<Round> | null;
  /** The last close that ended the session, if any. */
  readonly closed: { readonly code: number; readonly reason: string } | null;
  /** Orbs of the newest snapshot. */
  readonly orbs: readonly { readonly id: number; readonly x: number; readonly y: number }[];
  /** Smoothed time spent drawing one frame, ms. */
  readonly drawMs: number;
  /** Snapshot traffic since the page loaded (over all connections). */
  readonly net: TickcastNetView;
  /**
   * The net graph's figures (rates over the last second, refreshed 4 times a second whether the
   * overlay is shown or not) and whether it is shown (`N`).
   */
  readonly netStats: TickcastNetStatsView;
}

export interface TickcastNetStatsView extends NetStatsSample {
  /** Whether the overlay is shown. */
  readonly visible: boolean;
}

export interface TickcastNetView extends NetTotals {
  /** What inputs acknowledge now (`Input.ack_tick`). */
  readonly ackTick: number;
  /** Delta baselines held. */
  readonly baselines: number;
}

/** The net stats figures before anything was measured. */
export const EMPTY_NET_STATS: TickcastNetStatsView = Object.freeze({
  ...new NetStats().sample(0, { rttMs: null, tickRate: null, newestTick: 0, ackTick: 0 }),
  visible: false,
});

let currentView: TickcastView = Object.freeze({
  connected: false,
  status: 'closed',
  playerId: null,
  roomId: null,
  tick: 0,
  tickRate: null,
  pingMs: null,
  arena: null,
  players: Object.freeze([]),
  round: null,
  closed: null,
  orbs: Object.freeze([]),
  drawMs: 0,
  net: Object.freeze({ ...new NetStats().totals(), ackTick: 0, baselines: 0 }),
  netStats: EMPTY_NET_STATS,
});

/** Installs the read-only `window.tickcast` getter (once). */
export function installView(): void {
  if (Object.getOwnPropertyDescriptor(window, 'tickcast')) return;
  Object.defineProperty(window, 'tickcast', {
    get: () => currentView,
    enumerable: true,
    configurable: false,
  });
}

/** Makes `view` what `window.tickcast` returns. */
export function publishView(view: TickcastView): void {
  currentView = view;
}

/** What `window.tickcast` returns now. */
export function currentTickcastView(): TickcastView {
  return currentView;
}
