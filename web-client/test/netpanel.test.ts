import { describe, expect, it } from 'vitest';
import { NetStatsPanel, type PanelStorage } from '../src/netpanel';
import { NetStats, type NetStatsContext } from 'tickcast-client';

function memoryStorage(initial: Record<string, string> = {}) {
  const items = new Map(Object.entries(initial));
  const storage: PanelStorage = {
    getItem: (k) => items.get(k) ?? null,
    setItem: (k, v) => void items.set(k, v),
    removeItem: (k) => void items.delete(k),
  };
  return { items, storage: () => storage };
}

const CTX: NetStatsContext = { rttMs: 20, tickRate: 30, newestTick: 10, ackTick: 10 };

describe('the net stats panel', () => {
  it('starts hidden unless the page remembered it shown', () => {
    expect(new NetStatsPanel(new NetStats(), memoryStorage().storage).visible).toBe(false);
    const remembered = memoryStorage({ 'tickcast.netstats': '1' });
    expect(new NetStatsPanel(new NetStats(), remembered.storage).visible).toBe(true);
  });

  it('starts hidden when storage is unavailable, and showing it still works', () => {
    const broken = () => {
      throw new Error('SecurityError');
    };
    const panel = new NetStatsPanel(new NetStats(), broken);
    expect(panel.visible).toBe(false);
    expect(panel.setVisible(true)).toBe(true);
    expect(panel.visible).toBe(true);
  });

  it('remembers showing and hiding, and says whether anything changed', () => {
    const { items, storage } = memoryStorage();
    const panel = new NetStatsPanel(new NetStats(), storage);
    expect(panel.setVisible(true)).toBe(true);
    expect(items.get('tickcast.netstats')).toBe('1');
    expect(panel.view.visible).toBe(true);
    expect(panel.setVisible(true)).toBe(false);
    expect(panel.setVisible(false)).toBe(true);
    expect(items.has('tickcast.netstats')).toBe(false);
    expect(panel.view.visible).toBe(false);
  });

  it('recomputes the figures at most every 250 ms, asking for the context only then', () => {
    const stats = new NetStats();
    const panel = new NetStatsPanel(stats, memoryStorage().storage);
    let asked = 0;
    const context = () => (asked++, CTX);
    expect(panel.view.rttMs).toBeNull();
    panel.sample(1000, context);
    expect(panel.view.rttMs).toBe(20);
    const first = panel.view;
    panel.sample(1249, context);
    expect(panel.view).toBe(first);
    expect(asked).toBe(1);
    panel.sample(1250, context);
    expect(panel.view).not.toBe(first);
    expect(asked).toBe(2);
  });

  it('gives the renderer no overlay while hidden, and the figures and bars when shown', () => {
    const stats = new NetStats();
    const panel = new NetStatsPanel(stats, memoryStorage().storage);
    stats.snapshot(1000, 10, 'full', 300, 0);
    panel.sample(1000, () => CTX);
    const where = { roomId: 'lobby', tick: 10 };
    expect(panel.overlay(where)).toBeNull();
    panel.setVisible(true);
    const overlay = panel.overlay(where)!;
    expect(overlay.bars).toEqual([{ bytes: 300, kind: 'full', bad: false }]);
    expect(overlay.fullBytes).toBe(300);
    expect(overlay.rows[0]![0]).toEqual({ label: 'rtt', value: '20 ms', warn: false });
    // The rows are made once per sample.
    expect(panel.overlay(where)!.rows).toBe(overlay.rows);
  });

  it('carries the room id and the newest tick, which the player HUD no longer shows', () => {
    const panel = new NetStatsPanel(new NetStats(), memoryStorage().storage);
    panel.setVisible(true);
    expect(panel.overlay({ roomId: 'lobby', tick: 1234 })).toMatchObject({
      roomId: 'lobby',
      tick: 1234,
    });
  });
});
