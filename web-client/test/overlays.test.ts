import { describe, expect, it } from 'vitest';
import {
  drawOverlays,
  scoreboardRows,
  showsBanner,
  statusLabel,
  type Hud,
  type Overlays,
  type ScoreRow,
} from '../src/overlays';

/** A 2D context that records the text drawn (in order) and measures 7 px per character. */
function recordingContext(): { ctx: CanvasRenderingContext2D; texts: string[] } {
  const texts: string[] = [];
  const ctx = new Proxy({} as Record<string | symbol, unknown>, {
    get(target, prop) {
      if (prop in target) return target[prop];
      if (prop === 'fillText') return (text: string) => texts.push(text);
      if (prop === 'measureText') return (text: string) => ({ width: [...text].length * 7 });
      return () => {};
    },
    set(target, prop, value) {
      target[prop] = value;
      return true;
    },
  });
  return { ctx: ctx as unknown as CanvasRenderingContext2D, texts };
}

const HUD: Hud = {
  status: 'connected',
  statusText: 'Connected',
  roomId: 'lobby',
  pingMs: 12.4,
  tickRate: 30,
  players: 2,
  maxPlayers: 8,
  tick: 1234,
};

function overlays(over: Partial<Overlays> = {}): Overlays {
  return { hud: HUD, netStats: null, scoreboard: null, stick: null, ...over };
}

const row = (name: string, score: number, me = false): ScoreRow => ({
  name,
  score,
  color: '#ffffff',
  me,
});

describe('the scoreboard', () => {
  it('lists players by score, then by name', () => {
    const rows = scoreboardRows([row('b', 1), row('c', 5), row('a', 1)]);
    expect(rows.map((r) => r.name)).toEqual(['c', 'a', 'b']);
  });

  it('lists the top 8 and always ourselves, in the last place when outside them', () => {
    const others = Array.from({ length: 10 }, (_, i) => row(`p${i}`, 100 - i));
    const rows = scoreboardRows([...others, row('me', 0, true)]);
    expect(rows).toHaveLength(8);
    expect(rows.map((r) => r.name)).toEqual(['p0', 'p1', 'p2', 'p3', 'p4', 'p5', 'p6', 'me']);
  });

  it('is not drawn before there is an arena, and is on a wide screen once there is', () => {
    const before = recordingContext();
    drawOverlays(before.ctx, { width: 1200, height: 800 }, overlays());
    expect(before.texts).not.toContain('SCOREBOARD');
    const after = recordingContext();
    drawOverlays(
      after.ctx,
      { width: 1200, height: 800 },
      overlays({ scoreboard: [row('<b>x</b>', 3)] }),
    );
    expect(after.texts).toContain('SCOREBOARD');
    expect(after.texts).toContain('<b>x</b>');
  });
});

describe('the HUD and the banner', () => {
  it('names each connection status', () => {
    expect(statusLabel('connected')).toBe('Connected');
    expect(statusLabel('connecting')).toBe('Connecting…');
    expect(statusLabel('reconnecting')).toBe('Reconnecting…');
    expect(statusLabel('refused')).toBe('Disconnected');
    expect(statusLabel('closed')).toBe('Closed');
  });

  it('shows the room, ping, tick rate and tick', () => {
    const { ctx, texts } = recordingContext();
    drawOverlays(ctx, { width: 1200, height: 800 }, overlays());
    expect(texts).toEqual(
      expect.arrayContaining(['Connected', 'Room lobby', '2/8 players', 'ping 12 ms', '30 Hz']),
    );
    expect(texts).toContain('#1234');
  });

  it('shows the banner with the status text only while (re)connecting, over everything', () => {
    expect(showsBanner('connecting')).toBe(true);
    expect(showsBanner('reconnecting')).toBe(true);
    expect(showsBanner('connected')).toBe(false);
    expect(showsBanner('refused')).toBe(false);
    expect(showsBanner('closed')).toBe(false);
    const text = 'Connection lost. Reconnecting in 1 s…';
    const { ctx, texts } = recordingContext();
    drawOverlays(
      ctx,
      { width: 1200, height: 800 },
      overlays({ hud: { ...HUD, status: 'reconnecting', statusText: text } }),
    );
    expect(texts.at(-1)).toBe(text);
  });

  it('draws the net stats figures under the HUD when shown', () => {
    const { ctx, texts } = recordingContext();
    drawOverlays(
      ctx,
      { width: 1200, height: 800 },
      overlays({
        netStats: {
          rows: [
            [
              { label: 'rtt', value: '12 ms', warn: false },
              { label: 'interp', value: '95 ms', warn: false },
            ],
          ],
          bars: [{ bytes: 40, kind: 'delta', bad: false }],
          fullBytes: 300,
        },
      }),
    );
    expect(texts).toEqual(expect.arrayContaining(['NET', 'rtt', '12 ms', 'interp', '95 ms']));
    const hidden = recordingContext();
    drawOverlays(hidden.ctx, { width: 1200, height: 800 }, overlays());
    expect(hidden.texts).not.toContain('NET');
  });
});
