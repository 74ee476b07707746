import { describe, expect, it } from 'vitest';
import { HELD_TAG, drawPlayerName, type DrawPlayer } from '../src/render';

/** A 2D context that records the text drawn and the alpha it was drawn with. */
function recordingContext() {
  const texts: { text: string; alpha: number }[] = [];
  const state: Record<string | symbol, unknown> = { globalAlpha: 1 };
  const saved: number[] = [];
  const ctx = new Proxy(state, {
    get(target, prop) {
      if (prop === 'fillText')
        return (text: string) => texts.push({ text, alpha: target.globalAlpha as number });
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
  return { ctx: ctx as unknown as CanvasRenderingContext2D, texts, state };
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
});
