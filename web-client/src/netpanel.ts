/**
 * The net stats overlay's state, for game.ts: whether it is shown (`N` or the toolbar button,
 * remembered in localStorage), its figures — a {@link NetStats} sample recomputed at most 4 times
 * a second whether shown or not (`window.tickcast.netStats`) — and the overlay for the renderer
 * (with the room id and tick, which belong here rather than in the player's HUD).
 * Time is an argument; the storage can be replaced.
 */
import type { NetStats, NetStatsContext } from 'tickcast-client';
import { isNetStatsToggle, netStatsRows } from './netstats';
import type { NetStatsOverlay } from './overlays';
import { EMPTY_NET_STATS, type TickcastNetStatsView } from './view';

/** How often the figures are recomputed, ms. */
const SAMPLE_EVERY_MS = 250;
/** localStorage key remembering whether the overlay is shown. */
const STORAGE_KEY = 'tickcast.netstats';

/** Where the shown/hidden choice is kept (the page's `localStorage` by default). */
export type PanelStorage = Pick<Storage, 'getItem' | 'setItem' | 'removeItem'>;

export class NetStatsPanel {
  private shown: boolean;
  private figures: TickcastNetStatsView = EMPTY_NET_STATS;
  private sampledAt = -Infinity;
  /** The overlay's rows of the current figures (made when first drawn). */
  private rows: NetStatsOverlay['rows'] | null = null;

  constructor(
    private readonly stats: NetStats,
    private readonly storage: () => PanelStorage = () => localStorage,
  ) {
    this.shown = this.load();
  }

  /** Whether the overlay is shown. */
  get visible(): boolean {
    return this.shown;
  }

  /** The figures as last sampled, with `visible`. */
  get view(): TickcastNetStatsView {
    return this.figures;
  }

  /** Shows or hides the overlay and remembers it; whether that changed anything. */
  setVisible(visible: boolean): boolean {
    if (visible === this.shown) return false;
    this.shown = visible;
    this.save(visible);
    this.figures = Object.freeze({ ...this.figures, visible });
    return true;
  }

  /** Recomputes the figures at `now` if they are due (`context` is only asked then). */
  sample(now: number, context: () => NetStatsContext): void {
    if (now - this.sampledAt < SAMPLE_EVERY_MS) return;
    this.sampledAt = now;
    this.figures = Object.freeze({ ...this.stats.sample(now, context()), visible: this.shown });
    this.rows = null;
  }

  /**
   * What the renderer draws: `null` while hidden. `where` is the room and the newest tick, which
   * the overlay shows in its head (the server's internals, kept out of the player's HUD).
   */
  overlay(where: { roomId: string | null; tick: number }): NetStatsOverlay | null {
    if (!this.shown) return null;
    return {
      rows: (this.rows ??= netStatsRows(this.figures)),
      bars: this.stats.graph(),
      fullBytes: this.figures.fullBytes,
      roomId: where.roomId,
      tick: where.tick,
    };
  }

  private load(): boolean {
    try {
      return this.storage().getItem(STORAGE_KEY) === '1';
    } catch {
      return false;
    }
  }

  private save(visible: boolean): void {
    try {
      if (visible) this.storage().setItem(STORAGE_KEY, '1');
      else this.storage().removeItem(STORAGE_KEY);
    } catch {
      // storage disabled: fine
    }
  }
}

/** Whether a key press in the page toggles the overlay (see `isNetStatsToggle`). */
export function isToggleEvent(e: KeyboardEvent): boolean {
  const target = e.target instanceof HTMLElement ? e.target : null;
  return isNetStatsToggle({
    key: e.key,
    code: e.code,
    ctrlKey: e.ctrlKey,
    altKey: e.altKey,
    metaKey: e.metaKey,
    repeat: e.repeat,
    targetTag: target?.tagName ?? null,
    targetEditable: target?.isContentEditable ?? false,
  });
}
