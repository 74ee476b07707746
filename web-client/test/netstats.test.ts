import { describe, expect, it } from 'vitest';
import {
  formatBytes,
  formatRate,
  isNetStatsToggle,
  netStatsRows,
  type ToggleKey,
} from '../src/netstats';
import type { NetStatsSample } from 'tickcast-client';

/** A steady 30 Hz delta stream, as the SDK's `NetStats` measures it. */
const SAMPLE: NetStatsSample = {
  windowMs: 1000,
  rttMs: 12,
  tickRate: 30,
  snapshotRate: 30,
  downBytesPerSec: 1815,
  upBytesPerSec: 615,
  bytesPerSnapshot: 60,
  fullBytes: 350,
  deltaShare: 1,
  fullShare: 0,
  droppedTicks: 0,
  droppedTotal: 0,
  deltaErrors: 0,
  deltaErrorsTotal: 0,
  ackLag: 0,
  baseAge: 3,
  interpDelayMs: 110,
};

describe('net stats presentation', () => {
  it('formats rates and sizes', () => {
    expect(formatRate(null)).toBe('–');
    expect(formatRate(812.4)).toBe('812 B/s');
    expect(formatRate(2140)).toBe('2.14 kB/s');
    expect(formatRate(3_500_000)).toBe('3.50 MB/s');
    expect(formatBytes(68.4)).toBe('68 B');
    expect(formatBytes(1530)).toBe('1.53 kB');
  });

  it('lays the figures out in rows and flags what looks wrong', () => {
    const rows = netStatsRows(SAMPLE);
    const flat = Object.fromEntries(rows.flat().map((c) => [c.label, c]));
    expect(flat['rtt']!.value).toBe('12 ms');
    expect(flat['tick']!.value).toBe('30 Hz');
    expect(flat['delta']!.value).toBe('100 %');
    expect(flat['B/snap']!.value).toBe('60 B');
    expect(flat['base age']!.value).toBe('3 t 100 ms');
    expect(flat['ack lag']!.value).toBe('0 t 0 ms');
    expect(rows.flat().some((c) => c.warn)).toBe(false);

    const slow = netStatsRows({
      ...SAMPLE,
      rttMs: 400,
      snapshotRate: 12,
      deltaShare: 0.5,
    }).flat();
    const warned = slow.filter((c) => c.warn).map((c) => c.label);
    expect(warned).toEqual(['rtt', 'snap/s', 'delta']);
    const dropped = netStatsRows({ ...SAMPLE, droppedTicks: 3, droppedTotal: 6 });
    expect(dropped[5]![0]).toEqual({ label: 'dropped', value: '3 (6)', warn: true });
  });
});

describe('the overlay toggle key', () => {
  const key = (over: Partial<ToggleKey>): ToggleKey => ({
    key: 'n',
    code: 'KeyN',
    ctrlKey: false,
    altKey: false,
    metaKey: false,
    repeat: false,
    targetTag: 'BODY',
    ...over,
  });

  it('is N, with or without Shift (boost)', () => {
    expect(isNetStatsToggle(key({}))).toBe(true);
    expect(isNetStatsToggle(key({ key: 'N' }))).toBe(true);
  });

  it('is not a movement key, a shortcut, a repeat or typing', () => {
    for (const code of ['KeyW', 'KeyA', 'KeyS', 'KeyD', 'ArrowUp', 'ShiftLeft']) {
      expect(isNetStatsToggle(key({ key: code.replace('Key', '').toLowerCase(), code }))).toBe(
        false,
      );
    }
    expect(isNetStatsToggle(key({ ctrlKey: true }))).toBe(false);
    expect(isNetStatsToggle(key({ metaKey: true }))).toBe(false);
    expect(isNetStatsToggle(key({ altKey: true }))).toBe(false);
    expect(isNetStatsToggle(key({ repeat: true }))).toBe(false);
    expect(isNetStatsToggle(key({ targetTag: 'INPUT' }))).toBe(false);
    expect(isNetStatsToggle(key({ targetTag: 'textarea' }))).toBe(false);
    expect(isNetStatsToggle(key({ targetEditable: true }))).toBe(false);
  });

  it('follows the character, the key position only where the layout has no Latin letters', () => {
    // Dvorak: the key in QWERTY's N position types "b"; N is elsewhere.
    expect(isNetStatsToggle(key({ key: 'b', code: 'KeyN' }))).toBe(false);
    expect(isNetStatsToggle(key({ key: 'n', code: 'KeyL' }))).toBe(true);
    // Cyrillic: "т" on the N position.
    expect(isNetStatsToggle(key({ key: 'т', code: 'KeyN' }))).toBe(true);
    expect(isNetStatsToggle(key({ key: 'Unidentified', code: 'KeyN' }))).toBe(true);
  });
});
