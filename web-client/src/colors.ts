/**
 * Player colours: each player id hashes to a colour of the shared palette
 * (`assets/web/palette.json`), the same on every client. game.ts assigns them once per snapshot;
 * render.ts draws with them.
 */
import palette from '../../assets/web/palette.json';

export { palette };

function hashId(id: string): number {
  let h = 2166136261;
  for (let i = 0; i < id.length; i++) {
    h ^= id.charCodeAt(i);
    h = Math.imul(h, 16777619);
  }
  return h >>> 0;
}

/** A stable colour for a player id, the same on every client. */
export function playerColor(id: string): string {
  const colors = palette.players;
  return colors[hashId(id) % colors.length]!;
}

/**
 * Colours for everyone in a room: each player gets its hashed colour, or the next one not taken
 * by a player listed before it. Every client sees the same snapshot order, so every client
 * picks the same colours, and two players share a colour only when the palette runs out.
 */
export function assignColors(ids: readonly string[]): Map<string, string> {
  const colors = palette.players;
  const taken = new Set<number>();
  const out = new Map<string, string>();
  for (const id of ids) {
    let i = hashId(id) % colors.length;
    for (let step = 0; step < colors.length && taken.has(i); step++) i = (i + 1) % colors.length;
    if (taken.size >= colors.length) i = hashId(id) % colors.length;
    taken.add(i);
    out.set(id, colors[i]!);
  }
  return out;
}
