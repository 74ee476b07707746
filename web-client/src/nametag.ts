/**
 * Players' name tags on the world: the name over each player (canvas text, never markup), kept
 * inside the world's area, and the "reconnecting…" tag of a player whose seat is held. render.ts
 * draws one per player after the bodies, so names are never hidden under another player.
 */
import palette from '../../assets/web/palette.json';
import { FONT, fitText } from './canvas';

/** How opaque a held player is drawn. */
export const HELD_ALPHA = 0.35;
/** The tag over a held player's name. */
export const HELD_TAG = 'reconnecting…';

/** What a name tag needs of a player (render.ts's `DrawPlayer` is one). */
export interface NamedPlayer {
  name: string;
  me: boolean;
  /** The player's connection is lost and its seat is held: dimmed, tagged "reconnecting…". */
  held?: boolean;
}

/** Where names may go (screen px): the world's area, so a name at a wall is not cut off. */
export interface NameBounds {
  left: number;
  right: number;
  top: number;
}

/**
 * A player's name, its bottom at `y` (screen px), centred on `x`; `r` is the drawn radius. A
 * held player's name is dimmed and tagged "reconnecting…" above it, so everyone can tell a
 * frozen player from one standing still. Within `bounds`, a name at a side wall moves inwards
 * and one at the top goes under the player.
 */
export function drawPlayerName(
  ctx: CanvasRenderingContext2D,
  p: NamedPlayer,
  x: number,
  y: number,
  r: number,
  bounds?: NameBounds,
): void {
  const fs = Math.max(11, Math.min(15, r * 0.7));
  ctx.save();
  if (p.held) ctx.globalAlpha = Math.min(1, HELD_ALPHA * 2);
  ctx.font = `${p.me ? 700 : 600} ${fs}px ${FONT}`;
  ctx.textAlign = 'center';
  ctx.textBaseline = 'bottom';
  const label = fitText(ctx, p.name, 160);
  if (bounds) {
    const half = Math.max(ctx.measureText(label).width, p.held ? 90 : 0) / 2 + 4;
    x = Math.min(
      Math.max(x, bounds.left + half),
      Math.max(bounds.left + half, bounds.right - half),
    );
    const height = p.held ? fs * 2 + 2 : fs;
    if (y - height < bounds.top) y += 2 * r + 14 + height;
  }
  ctx.lineJoin = 'round';
  ctx.lineWidth = 4;
  ctx.strokeStyle = 'rgba(6, 9, 18, 0.9)';
  ctx.strokeText(label, x, y);
  ctx.fillStyle = p.me ? '#ffffff' : palette.text;
  ctx.fillText(label, x, y);
  if (p.held) {
    const ts = Math.max(10, fs - 2);
    ctx.font = `italic 600 ${ts}px ${FONT}`;
    ctx.strokeText(HELD_TAG, x, y - fs - 2);
    ctx.fillText(HELD_TAG, x, y - fs - 2);
  }
  ctx.restore();
}
