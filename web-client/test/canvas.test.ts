import { describe, expect, it } from 'vitest';
import { wrapBalanced, wrapText } from '../src/canvas';

/** Measures 7 px a character; everything else is a no-op. */
const ctx = {
  measureText: (text: string) => ({ width: [...text].length * 7 }),
} as unknown as CanvasRenderingContext2D;

const MESSAGE = 'The connection to the server was lost. Reconnecting in 1 s…';

describe('wrapped text', () => {
  it('keeps every word, in order, in lines that fit', () => {
    const lines = wrapText(ctx, MESSAGE, 280);
    expect(lines.join(' ')).toBe(MESSAGE);
    for (const l of lines) expect(l.length * 7).toBeLessThanOrEqual(280);
  });

  it('cuts only a word longer than a whole line', () => {
    expect(wrapText(ctx, 'a '.repeat(3) + 'x'.repeat(50), 70)).toEqual(['a a a', 'xxxxxxxxx…']);
  });

  it('balanced, takes as many lines but evens them out', () => {
    const greedy = wrapText(ctx, MESSAGE, 400);
    expect(greedy).toEqual(['The connection to the server was lost. Reconnecting in 1', 's…']);
    const even = wrapBalanced(ctx, MESSAGE, 400);
    expect(even).toEqual(['The connection to the server', 'was lost. Reconnecting in 1 s…']);
    expect(wrapBalanced(ctx, 'short', 440)).toEqual(['short']);
  });
});
