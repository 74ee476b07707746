/**
 * The golden vectors file holds each value in serde's JSON form (the Rust crate's field names).
 * The client's shapes match it field for field except for the round, which it exposes as an
 * {@link ArenaRound} (`endsAtTick`, phase names): {@link fromSerde} maps one to the other.
 */
import type { ArenaRound } from '../src/arena';

interface SerdeRound {
  number: number;
  phase: number;
  ends_at: number;
  winner: string | null;
}

function round(r: SerdeRound): ArenaRound {
  return {
    number: r.number,
    phase: r.phase === 1 ? 'over' : 'playing',
    endsAtTick: r.ends_at,
    winner: r.winner ?? null,
  };
}

/** `value` with every `round` in the client's shape (everything else as it is). */
export function fromSerde<T>(value: T): T {
  if (Array.isArray(value)) return value.map(fromSerde) as T;
  if (value === null || typeof value !== 'object') return value;
  return Object.fromEntries(
    Object.entries(value).map(([k, v]) => [
      k,
      k === 'round' && v != null ? round(v as SerdeRound) : fromSerde(v),
    ]),
  ) as T;
}
