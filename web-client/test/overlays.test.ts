import { describe, expect, it } from 'vitest';
import { screenLayout, type Rect } from '../src/layout';
import {
  HINTS,
  drawOverlays,
  hintFor,
  showsBanner,
  statusLabel,
  type Hud,
  type Overlays,
} from '../src/overlays';
import { roundHud, type Round } from '../src/round';
import { scoreboardRows, type ScoreRow } from '../src/scoreboard';

interface Drawn {
  text: string;
  x: number;
  y: number;
}

/** A 2D context that records the text drawn (in order, with where) and measures 7 px a character. */
function recordingContext(): { ctx: CanvasRenderingContext2D; drawn: Drawn[]; texts: string[] } {
  const drawn: Drawn[] = [];
  const ctx = new Proxy({} as Record<string | symbol, unknown>, {
    get(target, prop) {
      if (prop in target) return target[prop];
      if (prop === 'fillText')
        return (text: string, x: number, y: number) => drawn.push({ text, x, y });
      if (prop === 'measureText') return (text: string) => ({ width: [...text].length * 7 });
      return () => {};
    },
    set(target, prop, value) {
      target[prop] = value;
      return true;
    },
  });
  return {
    ctx: ctx as unknown as CanvasRenderingContext2D,
    drawn,
    get texts() {
      return drawn.map((d) => d.text);
    },
  };
}

const WIDE = screenLayout({ width: 1280, height: 720 }, { width: 1600, height: 900 });
const PHONE = screenLayout({ width: 390, height: 844 }, { width: 1600, height: 900 });

const HUD: Hud = {
  status: 'connected',
  statusText: 'Connected',
  pingMs: 12.4,
  players: 2,
  maxPlayers: 8,
};

function overlays(over: Partial<Overlays> = {}): Overlays {
  return { hud: HUD, round: null, netStats: null, scoreboard: null, stick: null, ...over };
}

function draw(o: Overlays, layout = WIDE) {
  const rec = recordingContext();
  drawOverlays(rec.ctx, layout, o);
  return rec;
}

const row = (name: string, score: number, me = false): ScoreRow => ({
  name,
  score,
  color: '#ffffff',
  me,
});

const inside = (d: Drawn, r: Rect) =>
  d.x >= r.x && d.x <= r.x + r.w && d.y >= r.y && d.y <= r.y + r.h;

const ROUND_PLAYING: Round = { number: 3, phase: 'playing', endsAtTick: 3600, winner: null };
const ROUND_OVER: Round = { number: 3, phase: 'over', endsAtTick: 3750, winner: 'n' };
const PLAYERS = [
  { id: 'n', name: 'nova' },
  { id: 'p', name: 'pixel' },
];

describe('the scoreboard', () => {
  it('lists players by score, then by name', () => {
    const rows = scoreboardRows([row('b', 1), row('c', 5), row('a', 1)]);
    expect(rows.map((r) => r.name)).toEqual(['c', 'a', 'b']);
  });

  it('lists the top 8 (or as many as fit) and always ourselves, last when outside them', () => {
    const others = Array.from({ length: 10 }, (_, i) => row(`p${i}`, 100 - i));
    const rows = scoreboardRows([...others, row('me', 0, true)]);
    expect(rows.map((r) => r.name)).toEqual(['p0', 'p1', 'p2', 'p3', 'p4', 'p5', 'p6', 'me']);
    expect(scoreboardRows([...others, row('me', 0, true)], 3).map((r) => r.name)).toEqual([
      'p0',
      'p1',
      'me',
    ]);
  });

  it('is not drawn before there is an arena, and is once there is', () => {
    expect(draw(overlays()).texts).not.toContain('SCOREBOARD');
    const after = draw(overlays({ scoreboard: [row('<b>x</b>', 3)] }));
    expect(after.texts).toContain('SCOREBOARD');
    expect(after.texts).toContain('<b>x</b>');
  });
});

describe('the panels', () => {
  it('never draw over the arena, on a wide screen or a phone', () => {
    for (const layout of [WIDE, PHONE]) {
      const o = overlays({
        round: roundHud(ROUND_PLAYING, 0, 30, PLAYERS, 'p'),
        scoreboard: Array.from({ length: 12 }, (_, i) => row(`p${i}`, i)),
      });
      const { drawn } = draw(o, layout);
      expect(drawn.length).toBeGreaterThan(10);
      for (const d of drawn) expect(inside(d, layout.stage)).toBe(false);
    }
  });

  it('show the players and the ping, and keep the room, tick and tick rate for net stats', () => {
    const { texts } = draw(overlays());
    expect(texts).toEqual(expect.arrayContaining(['Connected', '2/8 players', 'ping 12 ms']));
    expect(texts.join(' ')).not.toMatch(/lobby|#\d|Hz/);
  });

  it('shorten the player count on a narrow panel instead of running into the ping', () => {
    const narrow = { ...WIDE, panels: { ...WIDE.panels, w: 150 } };
    const { texts } = draw(overlays({ hud: { ...HUD, players: 12, maxPlayers: 16 } }), narrow);
    expect(texts).toEqual(expect.arrayContaining(['12/16', 'ping 12 ms']));
    expect(texts).not.toContain('12/16 players');
  });

  it('draw the net stats with the room id and the tick when shown', () => {
    const { texts } = draw(
      overlays({
        netStats: {
          rows: [
            [
              { label: 'rtt', value: '12 ms', warn: false },
              { label: 'tick', value: '30 Hz', warn: false },
            ],
          ],
          bars: [{ bytes: 40, kind: 'delta', bad: false }],
          fullBytes: 300,
          roomId: 'lobby',
          tick: 1234,
        },
      }),
    );
    expect(texts).toEqual(
      expect.arrayContaining(['NET', 'room lobby', '#1234', 'rtt', '12 ms', '30 Hz']),
    );
    expect(draw(overlays()).texts).not.toContain('NET');
  });
});

describe('the connection banner', () => {
  it('is shown only while (re)connecting', () => {
    expect(showsBanner('connecting')).toBe(true);
    expect(showsBanner('reconnecting')).toBe(true);
    expect(showsBanner('moving')).toBe(true);
    expect(showsBanner('connected')).toBe(false);
    expect(showsBanner('refused')).toBe(false);
    expect(showsBanner('closed')).toBe(false);
  });

  it('says "reconnecting" once, in full, on the arena and clear of the hint', () => {
    const text =
      'The server is restarting. (going down for an upgrade, back in a moment) Reconnecting in 2 s…';
    const { drawn } = draw(
      overlays({
        hud: { ...HUD, status: 'reconnecting', statusText: text },
        scoreboard: [row('a', 1)],
      }),
    );
    const all = drawn.map((d) => d.text).join(' ');
    expect(all.match(/reconnecting/gi)).toHaveLength(1);
    // Wrapped into lines, every word there, nothing cut.
    const lines = drawn.filter((d) => inside(d, WIDE.stage));
    expect(lines.length).toBeGreaterThan(1);
    expect(lines.map((d) => d.text).join(' ')).toBe(text);
    expect(all).not.toContain('…Reconnecting');
    // The controls hint is still drawn, on its own line below the stage.
    const hint = drawn.find((d) => HINTS.includes(d.text as (typeof HINTS)[number]));
    expect(hint && inside(hint, WIDE.hint!)).toBe(true);
  });

  it('the HUD does not repeat it', () => {
    expect(statusLabel('connected')).toBe('Connected');
    expect(statusLabel('refused')).toBe('Disconnected');
    expect(statusLabel('closed')).toBe('Closed');
    for (const s of ['connecting', 'reconnecting', 'moving'] as const) {
      expect(statusLabel(s)).toBe('Not connected');
    }
  });
});

describe('the controls hint', () => {
  it('is the longest one that fits its line', () => {
    const measure = (t: string) => t.length * 7;
    expect(hintFor(10_000, measure)).toBe(HINTS[0]);
    expect(hintFor(HINTS[1].length * 7, measure)).toBe(HINTS[1]);
    expect(hintFor(10, measure)).toBeNull();
  });
});

describe('the round on screen', () => {
  it('shows the round and its countdown in the panels while playing, no banner', () => {
    const { drawn, texts } = draw(
      overlays({
        round: roundHud(ROUND_PLAYING, 30 * 18, 30, PLAYERS, 'p'),
        scoreboard: [row('nova', 4), row('pixel', 2, true)],
      }),
    );
    expect(texts).toEqual(expect.arrayContaining(['Round 3', '1:42', 'left']));
    const time = drawn.find((d) => d.text === '1:42')!;
    expect(inside(time, WIDE.panels)).toBe(true);
    expect(texts).not.toContain('FINAL SCORES');
  });

  it('shows the winner and the final scores on the arena in the over-phase', () => {
    const { drawn, texts } = draw(
      overlays({
        round: roundHud(ROUND_OVER, 3600, 30, PLAYERS, 'p'),
        scoreboard: [row('pixel', 2, true), row('nova', 4)],
      }),
    );
    expect(texts).toEqual(
      expect.arrayContaining(['Round 3 over', 'nova wins round 3!', 'Next round in 5 s']),
    );
    const final = drawn.slice(texts.indexOf('FINAL SCORES') + 1).map((d) => d.text);
    expect(final).toEqual(['nova', '4', 'pixel', '2']);
    const title = drawn.find((d) => d.text === 'nova wins round 3!')!;
    expect(inside(title, WIDE.stage)).toBe(true);
  });

  it('gives way to the connection banner', () => {
    const { texts } = draw(
      overlays({
        hud: {
          ...HUD,
          status: 'reconnecting',
          statusText: 'Connection lost. Reconnecting in 1 s…',
        },
        round: roundHud(ROUND_OVER, 3600, 30, PLAYERS, 'p'),
        scoreboard: [row('nova', 4)],
      }),
    );
    expect(texts).not.toContain('nova wins round 3!');
    expect(texts).toContain('Connection lost. Reconnecting in 1 s…');
  });

  it('is not shown when the server has no rounds', () => {
    const { texts } = draw(overlays({ scoreboard: [row('nova', 4)] }));
    expect(texts.join(' ')).not.toMatch(/Round/);
  });
});
