/**
 * Orb pops: an orb that moved between two snapshots was collected (the server respawns it
 * elsewhere), so a short burst is drawn where it was. game.ts feeds it each snapshot's orbs and
 * asks for the live pops every frame; render.ts draws them. Pure: time (seconds) is an argument.
 */
import type { Pop } from './render';

/** How long a pop is kept, s (render.ts draws it for the first 0.45 s). */
const POP_LIFE_S = 0.6;
/** At most this many pops at once. */
const MAX_POPS = 32;
/** The orbs' colour in the palette. */
const POP_COLOR = '#ffd166';

/** An orb as far as pops care. */
export interface OrbAt {
  readonly id: number;
  readonly x: number;
  readonly y: number;
}

export class OrbPops {
  private readonly seen = new Map<number, OrbAt>();
  private live: Pop[] = [];

  /** Forgets where the orbs were (a new seat: its first orbs are not collections). */
  forgetOrbs(): void {
    this.seen.clear();
  }

  /** A snapshot's orbs at `t` s: each one that moved since last seen leaves a pop where it was. */
  observe(orbs: readonly OrbAt[], t: number): void {
    for (const o of orbs) {
      const old = this.seen.get(o.id);
      if (old && (old.x !== o.x || old.y !== o.y)) {
        this.live.push({ x: old.x, y: old.y, born: t, color: POP_COLOR });
      }
      this.seen.set(o.id, o);
    }
    if (this.live.length > MAX_POPS) this.live.splice(0, this.live.length - MAX_POPS);
  }

  /** The pops still showing at `t` s (the older ones are dropped). */
  at(t: number): Pop[] {
    this.live = this.live.filter((p) => t - p.born < POP_LIFE_S);
    return this.live;
  }
}
