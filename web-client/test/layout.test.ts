import { describe, expect, it } from 'vitest';
import {
  BOTTOM_HEIGHT,
  TOOLBAR_WIDTH,
  fitArena,
  overlaps,
  screenLayout,
  worldArea,
  type Rect,
  type Size,
} from '../src/layout';

const ARENA: Size = { width: 1600, height: 900 };

const SCREENS: [string, Size][] = [
  ['a 720p window', { width: 1280, height: 720 }],
  ['a 1080p window', { width: 1920, height: 1080 }],
  ['a 4:3 window', { width: 1024, height: 768 }],
  ['a portrait tablet', { width: 768, height: 1024 }],
  ['a phone upright', { width: 390, height: 844 }],
  ['a phone on its side', { width: 844, height: 390 }],
  ['an ultrawide window', { width: 2560, height: 1080 }],
  ['a tiny window', { width: 320, height: 240 }],
];

/** The arena as drawn, in CSS px. */
function arenaRect(stage: Rect, focus: { x: number; y: number } | null): Rect {
  const v = fitArena(stage, ARENA, focus);
  return { x: v.ox, y: v.oy, w: ARENA.width * v.scale, h: ARENA.height * v.scale };
}

/** Whether `inner` lies within `outer` (a hair of rounding allowed). */
function inside(inner: Rect, outer: Rect): boolean {
  const e = 1e-6;
  return (
    inner.x >= outer.x - e &&
    inner.y >= outer.y - e &&
    inner.x + inner.w <= outer.x + outer.w + e &&
    inner.y + inner.h <= outer.y + outer.h + e
  );
}

describe('the screen layout', () => {
  for (const [label, screen] of SCREENS) {
    it(`never lets the panels or the hint cover the arena: ${label}`, () => {
      const l = screenLayout(screen, ARENA);
      expect(overlaps(l.stage, l.panels)).toBe(false);
      if (l.hint) {
        expect(overlaps(l.hint, l.stage)).toBe(false);
        expect(overlaps(l.hint, l.panels)).toBe(false);
        // The toolbar's buttons are at the bottom right.
        const toolbar = {
          x: screen.width - TOOLBAR_WIDTH,
          y: screen.height - BOTTOM_HEIGHT,
          w: TOOLBAR_WIDTH,
          h: BOTTOM_HEIGHT,
        };
        expect(overlaps(l.hint, toolbar)).toBe(false);
      }
      // The world draws beside the panels, never over them, and has the whole stage.
      const world = worldArea(l, screen);
      expect(overlaps(world, l.panels)).toBe(false);
      expect(inside(l.stage, world)).toBe(true);
      // Everything is on the screen.
      const all = { x: 0, y: 0, w: screen.width, h: screen.height };
      for (const r of [l.stage, l.panels]) expect(inside(r, all)).toBe(true);
      // The arena as drawn stays in the stage; along an axis where it is larger (followed), the
      // stage shows a part of it.
      const drawn = arenaRect(l.stage, { x: 800, y: 450 });
      for (const [pos, size] of [
        ['x', 'w'],
        ['y', 'h'],
      ] as const) {
        const [small, big] =
          drawn[size] <= l.stage[size] + 1e-6 ? [drawn, l.stage] : [l.stage, drawn];
        expect(small[pos]).toBeGreaterThanOrEqual(big[pos] - 1e-6);
        expect(small[pos] + small[size]).toBeLessThanOrEqual(big[pos] + big[size] + 1e-6);
      }
    });
  }

  it('puts the panels at the side of a wide window and on top of a tall one', () => {
    expect(screenLayout({ width: 1280, height: 720 }, ARENA).mode).toBe('side');
    expect(screenLayout({ width: 844, height: 390 }, ARENA).mode).toBe('side');
    expect(screenLayout({ width: 768, height: 1024 }, ARENA).mode).toBe('top');
    expect(screenLayout({ width: 390, height: 844 }, ARENA).mode).toBe('top');
    // A square arena on a wide screen still goes beside the panels.
    expect(screenLayout({ width: 1280, height: 720 }, { width: 900, height: 900 }).mode).toBe(
      'side',
    );
  });

  it('picks the same layout before the arena is known (no jump at the Welcome)', () => {
    for (const [, screen] of SCREENS) {
      expect(screenLayout(screen, null)).toEqual(screenLayout(screen, ARENA));
    }
  });

  it('has no controls hint on a phone', () => {
    expect(screenLayout({ width: 390, height: 844 }, ARENA).hint).toBeNull();
    expect(screenLayout({ width: 1280, height: 720 }, ARENA).hint).not.toBeNull();
  });
});

describe('the arena in its stage', () => {
  const stage: Rect = { x: 16, y: 16, w: 1024, h: 656 };

  it('is fitted, centred across and at the top, when it fits', () => {
    const v = fitArena(stage, ARENA, null);
    expect(v.scale).toBeCloseTo(0.64);
    expect(v.ox).toBeCloseTo(16);
    expect(v.oy).toBeCloseTo(16);
    const narrow = fitArena({ ...stage, w: 2000 }, ARENA, null);
    expect(narrow.ox).toBeCloseTo(16 + (2000 - 1600 * narrow.scale) / 2);
  });

  it('zooms in and follows our player where fitting would make it tiny', () => {
    const phone: Rect = { x: 8, y: 124, w: 374, h: 664 };
    const left = fitArena(phone, ARENA, { x: 100, y: 450 });
    expect(left.scale).toBeCloseTo(0.55);
    // At the left wall the view stops at the arena's edge…
    expect(left.ox).toBeCloseTo(8);
    // …and in the middle our player is in the middle of the stage.
    const mid = fitArena(phone, ARENA, { x: 800, y: 450 });
    expect(mid.ox + 800 * mid.scale).toBeCloseTo(8 + 374 / 2);
  });
});
