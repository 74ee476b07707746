import { describe, expect, it } from 'vitest';
import {
  MIN_HUE_GAP,
  VIVID,
  assignColors,
  hueDistance,
  hueOf,
  palette,
  playerColor,
} from '../src/colors';

/** Player ids like the server's (uuid v4 strings), from a seeded generator. */
function ids(n: number, seed = 1): string[] {
  let s = seed;
  const hex = () => {
    s = (Math.imul(s, 1103515245) + 12345) >>> 0;
    return (s >>> 8).toString(16).padStart(6, '0').slice(-6);
  };
  return Array.from(
    { length: n },
    () => `${hex()}${hex().slice(0, 2)}-${hex().slice(0, 4)}-4${hex()}`,
  );
}

/** The lightness (0–1) of a `#rrggbb` colour. */
function lightness(hex: string): number {
  const n = parseInt(hex.slice(1), 16);
  const c = [(n >> 16) & 255, (n >> 8) & 255, n & 255];
  return (Math.max(...c) + Math.min(...c)) / 2 / 255;
}

/** The smallest hue difference among `colors`, degrees. */
function minHueGap(colors: readonly string[]): number {
  let min = 360;
  for (let i = 0; i < colors.length; i++) {
    for (let j = i + 1; j < colors.length; j++) {
      min = Math.min(min, hueDistance(hueOf(colors[i]!), hueOf(colors[j]!)));
    }
  }
  return min;
}

/** Whether two colours are told apart: hues far apart (hex rounding costs under 1°), or one clearly lighter. */
function distinct(a: string, b: string): boolean {
  const hues = hueDistance(hueOf(a), hueOf(b));
  return hues >= MIN_HUE_GAP - 1 || (hues >= 15 && Math.abs(lightness(a) - lightness(b)) >= 0.1);
}

describe('the palette', () => {
  it('has vivid colours at least 40° apart in hue, none near the orbs', () => {
    const vivid = palette.players.slice(0, VIVID);
    expect(minHueGap(vivid)).toBeGreaterThanOrEqual(MIN_HUE_GAP - 1);
    for (const c of vivid) expect(hueDistance(hueOf(c), hueOf(palette.orb))).toBeGreaterThan(30);
  });

  it('has lighter colours between them, each told apart from every other colour', () => {
    expect(palette.players).toHaveLength(16);
    expect(new Set(palette.players).size).toBe(16);
    for (const a of palette.players) {
      for (const b of palette.players) if (a !== b) expect(distinct(a, b)).toBe(true);
    }
  });

  it('reads hues of known colours', () => {
    expect(hueOf('#ff0000')).toBe(0);
    expect(hueOf('#00ff00')).toBe(120);
    expect(hueOf('#0000ff')).toBe(240);
    expect(hueOf('#ff00ff')).toBe(300);
    expect(hueDistance(350, 10)).toBe(20);
  });
});

describe('player colours', () => {
  it('give up to 8 players hues at least 40° apart, however they arrive', () => {
    for (let seed = 1; seed <= 200; seed++) {
      for (let n = 2; n <= VIVID; n++) {
        const room = ids(n, seed);
        // All at once (a client joining a full room)…
        const once = assignColors(room);
        expect(minHueGap([...once.values()])).toBeGreaterThanOrEqual(MIN_HUE_GAP - 1);
        // …or one after the other (a client that was there first).
        let seen = new Map<string, string>();
        for (let k = 1; k <= n; k++) seen = assignColors(room.slice(0, k), seen);
        expect(minHueGap([...seen.values()])).toBeGreaterThanOrEqual(MIN_HUE_GAP - 1);
      }
    }
  });

  it('give 2 players hues far apart, and 3 players well apart', () => {
    for (let seed = 1; seed <= 200; seed++) {
      expect(minHueGap([...assignColors(ids(2, seed)).values()])).toBeGreaterThanOrEqual(120);
      expect(minHueGap([...assignColors(ids(3, seed)).values()])).toBeGreaterThanOrEqual(79);
    }
  });

  it('never give two players of a full room of 16 the same or a near-identical colour', () => {
    for (let seed = 1; seed <= 50; seed++) {
      const colors = [...assignColors(ids(16, seed)).values()];
      expect(new Set(colors).size).toBe(16);
      for (let i = 0; i < 16; i++) {
        for (let j = i + 1; j < 16; j++) expect(distinct(colors[i]!, colors[j]!)).toBe(true);
      }
    }
  });

  it('stay with each player while others come and go', () => {
    const all = ids(12, 7);
    let seen = assignColors(all.slice(0, 5));
    const before = new Map(seen);
    // Two leave, then seven join, listed before and after the ones who stayed.
    const stayed = all.slice(0, 3);
    seen = assignColors(stayed, seen);
    seen = assignColors([...all.slice(5, 9), ...stayed, ...all.slice(9)], seen);
    for (const id of stayed) expect(seen.get(id)).toBe(before.get(id));
    expect(new Set(seen.values()).size).toBe(10);
  });

  it('are the same on every client that saw the same players arrive', () => {
    const room = ids(6, 3);
    expect(assignColors(room)).toEqual(assignColors(room));
    // The first player listed keeps the colour its id hashes to.
    expect(assignColors(room).get(room[0]!)).toBe(playerColor(room[0]!));
  });

  it('share colours only past 16 players, and still give everyone one', () => {
    const room = ids(20, 5);
    const colors = assignColors(room);
    expect(colors.size).toBe(20);
    expect(new Set(colors.values()).size).toBe(16);
  });
});
