/**
 * The demo's presentation of the net-stats figures (the SDK's `NetStats` computes them): the
 * overlay's rows of labelled cells with warnings, the number formats, and the `N` toggle key.
 * netpanel.ts and overlays.ts use it. Pure: strings and plain key objects, no DOM.
 */
import type { NetStatsSample } from 'tickcast-client';

export type {
  GraphBar,
  NetStats,
  NetStatsContext,
  NetStatsSample,
  NetTotals,
  SnapshotKind,
} from 'tickcast-client';

// ---------------------------------------------------------------------------------------------
// Presentation helpers (still pure: strings only)

/** `1234` → `1.23 kB/s`; bytes per second in decimal units. */
export function formatRate(bytesPerSec: number | null): string {
  if (bytesPerSec === null) return '–';
  if (bytesPerSec < 1000) return `${Math.round(bytesPerSec)} B/s`;
  if (bytesPerSec < 1e6) return `${(bytesPerSec / 1000).toFixed(2)} kB/s`;
  return `${(bytesPerSec / 1e6).toFixed(2)} MB/s`;
}

export function formatBytes(bytes: number | null): string {
  if (bytes === null) return '–';
  if (bytes < 1000) return `${Math.round(bytes)} B`;
  return `${(bytes / 1000).toFixed(2)} kB`;
}

/** One figure of the overlay: a label, its value, and whether it looks wrong. */
export interface NetStatsCell {
  label: string;
  value: string;
  warn: boolean;
}

/**
 * The overlay's figures as rows of two cells each (left, right), in the order they are drawn.
 * Warnings: snapshot rate under 90 % of the tick rate, any dropped tick or apply error in the
 * window, fewer than 90 % deltas, a round trip over 150 ms, an ack lag over 2 ticks.
 */
export function netStatsRows(s: NetStatsSample): [NetStatsCell, NetStatsCell][] {
  const ms = (v: number | null) => (v === null ? '–' : `${Math.round(v)} ms`);
  const pct = (v: number | null) => (v === null ? '–' : `${Math.round(v * 100)} %`);
  const cell = (label: string, value: string, warn = false): NetStatsCell => ({
    label,
    value,
    warn,
  });
  const tickMs = s.tickRate ? 1000 / s.tickRate : null;
  const ticks = (v: number | null) =>
    v === null ? '–' : tickMs === null ? `${v} t` : `${v} t ${Math.round(v * tickMs)} ms`;
  return [
    [
      cell('rtt', ms(s.rttMs), s.rttMs !== null && s.rttMs > 150),
      cell('interp', ms(s.interpDelayMs)),
    ],
    [
      cell(
        'snap/s',
        s.snapshotRate === null ? '–' : s.snapshotRate.toFixed(1),
        s.snapshotRate !== null && !!s.tickRate && s.snapshotRate < s.tickRate * 0.9,
      ),
      cell('tick', s.tickRate === null ? '–' : `${s.tickRate} Hz`),
    ],
    [cell('down', formatRate(s.downBytesPerSec)), cell('up', formatRate(s.upBytesPerSec))],
    [cell('B/snap', formatBytes(s.bytesPerSnapshot)), cell('full size', formatBytes(s.fullBytes))],
    [
      cell('delta', pct(s.deltaShare), s.deltaShare !== null && s.deltaShare < 0.9),
      cell('full', pct(s.fullShare)),
    ],
    [
      cell('dropped', `${s.droppedTicks} (${s.droppedTotal})`, s.droppedTicks > 0),
      cell('errors', `${s.deltaErrors} (${s.deltaErrorsTotal})`, s.deltaErrors > 0),
    ],
    [
      cell('ack lag', ticks(s.ackLag), s.ackLag !== null && s.ackLag > 2),
      cell('base age', ticks(s.baseAge)),
    ],
  ];
}

/** A key event, as far as the toggle cares (a plain object: testable without a DOM). */
export interface ToggleKey {
  key: string;
  code: string;
  ctrlKey: boolean;
  altKey: boolean;
  metaKey: boolean;
  repeat: boolean;
  /** The event target's tag name (`INPUT`, `TEXTAREA` …), if any. */
  targetTag?: string | null;
  /** Whether the target is editable (`contenteditable`). */
  targetEditable?: boolean;
}

/**
 * Whether a key press toggles the overlay: `N` by character (so Dvorak's N is N), or the key in
 * N's position where the layout gives no Latin letter there (Cyrillic, Greek …); without
 * Ctrl/Alt/Meta (Ctrl+N opens a window), not auto-repeated, and not typed into a text field.
 */
export function isNetStatsToggle(e: ToggleKey): boolean {
  if (e.ctrlKey || e.altKey || e.metaKey || e.repeat) return false;
  const tag = (e.targetTag ?? '').toUpperCase();
  if (tag === 'INPUT' || tag === 'TEXTAREA' || tag === 'SELECT' || e.targetEditable) return false;
  if (e.key === 'n' || e.key === 'N') return true;
  return e.code === 'KeyN' && !/^[a-z]$/i.test(e.key);
}
