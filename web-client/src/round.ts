/**
 * Rounds, as the HUD shows them: the round the server puts in the arena snapshot (an optional
 * field: a server without rounds sends none and the HUD shows none), its countdown, and the
 * winner banner of the over-phase. game.ts reads the round from each snapshot with
 * {@link roundOf} and hands {@link roundHud}'s result to the overlays (overlays.ts), which draw it.
 * Pure: the tick and the tick rate are arguments, nothing here reads a clock.
 *
 * The server owns the rules (a round lasts a fixed number of ticks, then an over-phase names the
 * winner, then scores reset and the next round starts); the client only counts down to
 * `endsAtTick`, which stays constant during a phase. The over-phase still carries the final
 * scores, so the final scoreboard is simply the players of that snapshot.
 */

/** The round of an arena snapshot (the shape the arena decoder gives, `ArenaRound`). */
export interface Round {
  /** 1, 2, 3… since the room started. */
  number: number;
  /** `playing` until `endsAtTick`, then `over` (the winner is announced) until the next round. */
  phase: 'playing' | 'over';
  /** The tick at which the current phase ends. */
  endsAtTick: number;
  /** The round's winner (a player id) during the over-phase; `null` while playing or for none. */
  winner: string | null;
}

/** A player as far as the round banner cares. */
export interface RoundPlayer {
  id: string;
  name: string;
}

/** The round card: which round, and the time left in its phase. */
export interface RoundClock {
  /** "Round 3", or "Round 3 over" in the over-phase. */
  title: string;
  /** Time left in the phase, "m:ss". */
  time: string;
  /** What the time counts down to: "left" while playing, "next round in" when over. */
  caption: string;
  /** The last seconds of a round: drawn in the warning colour. */
  urgent: boolean;
}

/** The banner of the over-phase. */
export interface RoundBanner {
  /** "nova wins round 3!", "You win round 3!" or "Round 3: no winner". */
  title: string;
  /** "Next round in 5 s". */
  subtitle: string;
  /** Whether we won (drawn in the winner's colour with a highlight). */
  mine: boolean;
  /** The winner's player id, if it is still in the room. */
  winnerId: string | null;
}

/** What the HUD shows of the round in one frame. */
export interface RoundHud {
  clock: RoundClock;
  /** Only in the over-phase. */
  banner: RoundBanner | null;
}

/** Seconds left at or under which the countdown turns to the warning colour. */
export const URGENT_SECONDS = 10;

/** Whether `x` is a round (the decoder checks the wire; this guards the field's shape). */
export function isRound(x: unknown): x is Round {
  if (!x || typeof x !== 'object') return false;
  const r = x as Record<string, unknown>;
  return (
    Number.isInteger(r.number) &&
    (r.phase === 'playing' || r.phase === 'over') &&
    Number.isInteger(r.endsAtTick) &&
    (r.winner === null || r.winner === undefined || typeof r.winner === 'string')
  );
}

/**
 * The round of a snapshot state, or `null` when it has none. Reads the optional `round` field of
 * whatever state type the decoder gives, so the HUD works as soon as the field is on the wire.
 */
export function roundOf(state: object): Round | null {
  const r = (state as { round?: unknown }).round;
  if (!isRound(r)) return null;
  return {
    number: r.number,
    phase: r.phase,
    endsAtTick: r.endsAtTick,
    winner: r.winner ?? null,
  };
}

/** Whole seconds left in the round's phase at `tick` (rounded up, never negative). */
export function secondsLeft(round: Round, tick: number, tickRate: number): number {
  if (!(tickRate > 0)) return 0;
  return Math.max(0, Math.ceil((round.endsAtTick - tick) / tickRate));
}

/** The time left in the round's phase at `tick`, as "m:ss" ("1:42", "0:05"). */
export function countdownText(round: Round, tick: number, tickRate: number): string {
  const s = secondsLeft(round, tick, tickRate);
  return `${Math.floor(s / 60)}:${String(s % 60).padStart(2, '0')}`;
}

/** The round card at `tick`. */
export function roundClock(round: Round, tick: number, tickRate: number): RoundClock {
  const playing = round.phase === 'playing';
  return {
    title: playing ? `Round ${round.number}` : `Round ${round.number} over`,
    time: countdownText(round, tick, tickRate),
    caption: playing ? 'left' : 'next round in',
    urgent: playing && secondsLeft(round, tick, tickRate) <= URGENT_SECONDS,
  };
}

/**
 * The winner's name for the banner: "You" for ourselves (`me`), the player's name, or `null`
 * when there is no winner or the winner has left the room.
 */
export function winnerName(
  round: Round,
  players: readonly RoundPlayer[],
  me: string | null,
): string | null {
  if (round.winner === null) return null;
  if (round.winner === me) return 'You';
  return players.find((p) => p.id === round.winner)?.name ?? null;
}

/** The over-phase banner, or `null` while the round is being played. */
export function roundBanner(
  round: Round,
  tick: number,
  tickRate: number,
  players: readonly RoundPlayer[],
  me: string | null,
): RoundBanner | null {
  if (round.phase !== 'over') return null;
  const n = round.number;
  const name = winnerName(round, players, me);
  const mine = round.winner !== null && round.winner === me;
  const title =
    round.winner === null
      ? `Round ${n}: no winner`
      : name === null
        ? `Round ${n} went to a player who left`
        : mine
          ? `You win round ${n}!`
          : `${name} wins round ${n}!`;
  const s = secondsLeft(round, tick, tickRate);
  return {
    title,
    subtitle: s > 0 ? `Next round in ${s} s` : 'Next round starting…',
    mine,
    winnerId: name === null ? null : round.winner,
  };
}

/** Everything the HUD shows of `round` at `tick` (`null` round: no round HUD). */
export function roundHud(
  round: Round | null,
  tick: number,
  tickRate: number,
  players: readonly RoundPlayer[],
  me: string | null,
): RoundHud | null {
  if (!round) return null;
  return {
    clock: roundClock(round, tick, tickRate),
    banner: roundBanner(round, tick, tickRate, players, me),
  };
}
