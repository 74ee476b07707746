import { describe, expect, it } from 'vitest';
import { HELD_TAG, drawPlayerName } from '../src/nametag';
import type { DrawPlayer } from '../src/render';

/** A 2D context that records the text drawn and the alpha it was drawn with (and where). */
function recordingContext() {
  const texts: { text: string; alpha: number }[] = [];
  const at: { text: string; x: number; y: number }[] = [];
  const state: Record<string | symbol, unknown> = { globalAlpha: 1 };
  const saved: number[] = [];
  const ctx = new Proxy(state, {
    get(target, prop) {
      if (prop === 'fillText')
        return (text: string, x: number, y: number) => {
          texts.push({ text, alpha: target.globalAlpha as number });
          at.push({ text, x, y });
        };
      if (prop === 'measureText') return (text: string) => ({ width: [...text].length * 7 });
      if (prop === 'save') return () => saved.push(target.globalAlpha as number);
      if (prop === 'restore') return () => (target.globalAlpha = saved.pop() ?? 1);
      if (prop in target) return target[prop];
      return () => {};
    },
    set(target, prop, value) {
      target[prop] = value;
      return true;
    },
  });
  return { ctx: ctx as unknown as CanvasRenderingContext2D, texts, state, at };
}

describe('player names', () => {
  const player = (held: boolean): DrawPlayer => ({
    id: 'p',
    name: 'carol',
    x: 0,
    y: 0,
    score: 2,
    color: '#ffffff',
    me: false,
    held,
  });

  it('a held player is tagged "reconnecting…" and dimmed', () => {
    const { ctx, texts, state } = recordingContext();
    drawPlayerName(ctx, player(true), 100, 100, 20);
    expect(texts.map((t) => t.text)).toEqual(['carol', HELD_TAG]);
    expect(HELD_TAG).toBe('reconnecting…');
    expect(texts.every((t) => t.alpha < 1)).toBe(true);
    expect(state.globalAlpha).toBe(1);
  });

  it('a connected player shows just its name at full opacity', () => {
    const { ctx, texts } = recordingContext();
    drawPlayerName(ctx, player(false), 100, 100, 20);
    expect(texts).toEqual([{ text: 'carol', alpha: 1 }]);
  });

  it('moves inwards at a side wall and under the player at the top, so it is never cut off', () => {
    const bounds = { left: 0, right: 1000, top: 100 };
    const right = recordingContext();
    // "carol" is 35 px wide here: centred at 995 it would end at 1012.
    drawPlayerName(right.ctx, player(false), 995, 300, 20, bounds);
    expect(right.at[0]!.x + 35 / 2).toBeLessThanOrEqual(1000);
    const left = recordingContext();
    drawPlayerName(left.ctx, player(false), 3, 300, 20, bounds);
    expect(left.at[0]!.x - 35 / 2).toBeGreaterThanOrEqual(0);
    const top = recordingContext();
    // A player at y = 120 (radius 20): its name's bottom would be at 93, above the top.
    drawPlayerName(top.ctx, player(false), 500, 93, 20, bounds);
    expect(top.at[0]!.y).toBeGreaterThan(120 + 20);
    const middle = recordingContext();
    drawPlayerName(middle.ctx, player(false), 500, 300, 20, bounds);
    expect(middle.at[0]).toEqual({ text: 'carol', x: 500, y: 300 });
  });
});
