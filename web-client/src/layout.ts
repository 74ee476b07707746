/**
 * Where things go on the screen: the player's panels (HUD, round, scoreboard) get a column at the
 * right or a band at the top, whichever leaves the arena larger, and the arena is laid out in the
 * free area (the stage), so no panel ever covers it; the controls hint gets the bottom line, left
 * of the toolbar. Then the arena is fitted into the stage, or, on small screens where that makes
 * players tiny, zoomed in and following our player. render.ts asks for both every frame (they are
 * cheap) and overlays.ts places the panels. Pure: sizes in, rectangles out (CSS px).
 */

export interface Rect {
  x: number;
  y: number;
  w: number;
  h: number;
}

export interface Size {
  width: number;
  height: number;
}

export interface ScreenLayout {
  /** The panels sit in a column at the right (`side`) or a band at the top (`top`). */
  mode: 'side' | 'top';
  /** Where the world is drawn: the arena is fitted (or followed) inside it. */
  stage: Rect;
  /** Where the HUD, the round card and the scoreboard go. Never overlaps the stage. */
  panels: Rect;
  /** The controls hint's line, left of the toolbar (`null` on small screens). */
  hint: Rect | null;
  /** Space around and between the areas. */
  margin: number;
  /** A small screen (a phone): tighter margins, no controls hint. */
  small: boolean;
}

/** How the arena is drawn: `x_screen = ox + x * scale` (and the same for y). */
export interface ArenaView {
  scale: number;
  ox: number;
  oy: number;
}

/** The panels' column width (side mode), CSS px. */
export const SIDE_WIDTH = 208;
/** The panels' band height (top mode): the HUD card and the round card stacked. */
export const TOP_HEIGHT = 108;
/** The bottom line: the controls hint and the toolbar's buttons. */
export const BOTTOM_HEIGHT = 48;
/** Room kept free for the toolbar (its buttons are HTML, at the bottom right). */
export const TOOLBAR_WIDTH = 360;
/** The arena's shape before the Welcome says (the server's default arena). */
const DEFAULT_ARENA: Size = { width: 1600, height: 900 };

/** Below this fit-to-stage scale (arena units → CSS px) the view zooms in and follows us… */
const FOLLOW_BELOW_SCALE = 0.4;
/** …to this scale (or as far as the stage's height allows). */
const MIN_SCALE = 0.55;

/** Whether a screen counts as small (a phone). */
export function isSmall(screen: Size): boolean {
  return screen.width < 600 || screen.height < 500;
}

/** The layout of a `screen` for an `arena` (its shape decides where the panels go). */
export function screenLayout(screen: Size, arena: Size | null): ScreenLayout {
  const side = sideLayout(screen);
  const top = topLayout(screen);
  const a = arena ?? DEFAULT_ARENA;
  return fitScale(side.stage, a) >= fitScale(top.stage, a) ? side : top;
}

function sideLayout(screen: Size): ScreenLayout {
  const small = isSmall(screen);
  const m = small ? 8 : 16;
  const sideW = small ? 176 : SIDE_WIDTH;
  const h = Math.max(1, screen.height - m - BOTTOM_HEIGHT);
  return {
    mode: 'side',
    stage: { x: m, y: m, w: Math.max(1, screen.width - sideW - 3 * m), h },
    panels: { x: screen.width - m - sideW, y: m, w: sideW, h },
    hint: hintLine(screen, m, small),
    margin: m,
    small,
  };
}

function topLayout(screen: Size): ScreenLayout {
  const small = isSmall(screen);
  const m = small ? 8 : 16;
  const stageY = m + TOP_HEIGHT + m;
  return {
    mode: 'top',
    stage: {
      x: m,
      y: stageY,
      w: Math.max(1, screen.width - 2 * m),
      h: Math.max(1, screen.height - stageY - BOTTOM_HEIGHT),
    },
    panels: { x: m, y: m, w: Math.max(1, screen.width - 2 * m), h: TOP_HEIGHT },
    hint: hintLine(screen, m, small),
    margin: m,
    small,
  };
}

function hintLine(screen: Size, m: number, small: boolean): Rect | null {
  const w = screen.width - 2 * m - TOOLBAR_WIDTH;
  if (small || w < 120) return null;
  return { x: m, y: screen.height - BOTTOM_HEIGHT, w, h: BOTTOM_HEIGHT };
}

function fitScale(stage: Rect, arena: Size): number {
  return Math.min(stage.w / arena.width, stage.h / arena.height);
}

/**
 * The arena fitted into `stage`: centred across, at the top of the stage (next to or right under
 * the panels). Where that would make the whole arena really small (phones), a minimum scale
 * applies instead and the view follows `focus` (our own player), without showing beyond the
 * arena's edges.
 */
export function fitArena(
  stage: Rect,
  arena: Size,
  focus: { x: number; y: number } | null,
): ArenaView {
  const fit = fitScale(stage, arena);
  const zoom = fit < FOLLOW_BELOW_SCALE ? Math.min(MIN_SCALE, stage.h / arena.height) : fit;
  const scale = Math.max(0.05, fit, zoom);
  const place = (
    size: number,
    avail: number,
    start: number,
    f: number | undefined,
    centre: boolean,
  ) => {
    const s = size * scale;
    if (s <= avail || f === undefined) return start + (centre ? (avail - s) / 2 : 0);
    const centred = start + avail / 2 - f * scale;
    return Math.min(start, Math.max(start + avail - s, centred));
  };
  return {
    scale,
    ox: place(arena.width, stage.w, stage.x, focus?.x, true),
    oy: place(arena.height, stage.h, stage.y, focus?.y, false),
  };
}

/**
 * Where the world may draw: the whole screen but the panels' side (or band) — room for the
 * arena's glow and for names at its walls, never over a panel.
 */
export function worldArea(layout: ScreenLayout, screen: Size): Rect {
  const half = layout.margin / 2;
  if (layout.mode === 'side') return { x: 0, y: 0, w: layout.panels.x - half, h: screen.height };
  const y = layout.panels.y + layout.panels.h + half;
  return { x: 0, y, w: screen.width, h: screen.height - y };
}

/** Whether two rectangles overlap (touching edges do not count). */
export function overlaps(a: Rect, b: Rect): boolean {
  return a.x < b.x + b.w && b.x < a.x + a.w && a.y < b.y + b.h && b.y < a.y + a.h;
}
