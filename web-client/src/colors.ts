/**
 * Player colours from the shared palette (`assets/web/palette.json`): players in a room get hues
 * as far apart as the palette allows — never near-identical — and a player keeps its colour for
 * as long as it stays. game.ts calls {@link assignColors} on every snapshot with the previous
 * assignment; render.ts and the overlays draw with the result.
 *
 * The palette's first {@link VIVID} colours have hues at least {@link MIN_HUE_GAP}° apart (the
 * orbs' gold is left out); the other ones are lighter, at the hues in between. A newcomer gets the
 * free vivid colour farthest in hue from the colours in use (the one its id hashes to when the
 * room is empty, and among equally far ones the first from there), and a lighter one only when
 * every vivid colour is taken. The choice depends only on the ids in snapshot order and the
 * previous assignment: clients that saw the same players arrive in the same order show the same
 * colours (a client that joined later may differ; colours are for telling players apart on one
 * screen).
 */
import palette from '../../assets/web/palette.json';

export { palette };

/** How many of the palette's colours are the vivid, well-separated ones. */
export const VIVID = 8;
/** The smallest hue difference between two vivid colours, degrees. */
export const MIN_HUE_GAP = 40;

function hashId(id: string): number {
  let h = 2166136261;
  for (let i = 0; i < id.length; i++) {
    h ^= id.charCodeAt(i);
    h = Math.imul(h, 16777619);
  }
  return h >>> 0;
}

/** The hue (0–360°) of a `#rrggbb` colour. */
export function hueOf(hex: string): number {
  const n = parseInt(hex.slice(1), 16);
  const [r, g, b] = [(n >> 16) & 255, (n >> 8) & 255, n & 255].map((c) => c / 255) as [
    number,
    number,
    number,
  ];
  const max = Math.max(r, g, b);
  const d = max - Math.min(r, g, b);
  if (d === 0) return 0;
  const h = max === r ? ((g - b) / d) % 6 : max === g ? (b - r) / d + 2 : (r - g) / d + 4;
  return (h * 60 + 360) % 360;
}

/** The difference between two hues, degrees (0–180). */
export function hueDistance(a: number, b: number): number {
  const d = Math.abs(a - b) % 360;
  return d > 180 ? 360 - d : d;
}

/** A player's own colour: the vivid colour its id hashes to (before any collision). */
export function playerColor(id: string): string {
  return palette.players[hashId(id) % VIVID]!;
}

/**
 * Colours for the players `ids` (in snapshot order): everyone in `previous` keeps its colour;
 * each newcomer, in order, gets the free colour farthest in hue from the ones in use — a vivid
 * one while any is free, then a lighter one. Only when all are taken do two players share one.
 */
export function assignColors(
  ids: readonly string[],
  previous: ReadonlyMap<string, string> = new Map(),
): Map<string, string> {
  const colors = palette.players;
  const out = new Map<string, string>();
  const taken = new Set<number>();
  for (const id of ids) {
    const i = colors.indexOf(previous.get(id) ?? '');
    if (i >= 0 && !taken.has(i)) {
      taken.add(i);
      out.set(id, colors[i]!);
    }
  }
  for (const id of ids) {
    if (out.has(id)) continue;
    const i = freeColor(hashId(id), taken);
    taken.add(i);
    out.set(id, colors[i]!);
  }
  // Keep the snapshot's order (players kept first above).
  return new Map(ids.map((id) => [id, out.get(id)!]));
}

/** The palette's hues, degrees. */
const HUES = palette.players.map(hueOf);

/**
 * The colour index for a newcomer whose id hashes to `hash`: of the free colours of the first
 * tier with any (vivid, then light), the one farthest in hue from every `taken` one; among equally
 * far ones, the first counting from the hashed one.
 */
function freeColor(hash: number, taken: ReadonlySet<number>): number {
  const count = HUES.length;
  for (const [start, size] of [
    [0, VIVID],
    [VIVID, count - VIVID],
  ] as const) {
    let best = -1;
    let bestGap = -1;
    for (let step = 0; step < size; step++) {
      const i = start + ((hash + step) % size);
      if (taken.has(i)) continue;
      let gap = Infinity;
      for (const t of taken) gap = Math.min(gap, hueDistance(HUES[i]!, HUES[t]!));
      if (gap > bestGap) [best, bestGap] = [i, gap];
    }
    if (best >= 0) return best;
  }
  return hash % count;
}
