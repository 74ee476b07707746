import { describe, expect, it } from 'vitest';
import { assignColors, palette, playerColor } from '../src/colors';

describe('player colours', () => {
  it('are stable per id and distinct within a room while the palette lasts', () => {
    const ids = Array.from({ length: palette.players.length }, (_, i) => `id-${i * 7919}`);
    const colors = assignColors(ids);
    expect(new Set(colors.values()).size).toBe(ids.length);
    expect(assignColors(ids)).toEqual(colors);
    // The first player always keeps its own hashed colour.
    expect(colors.get(ids[0]!)).toBe(playerColor(ids[0]!));
  });
});
