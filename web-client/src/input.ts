/**
 * Player controls: keyboard (WASD and arrow keys, Shift = boost) and a touch/drag virtual stick
 * (a second finger = boost). `read()` gives the control state held right now.
 */
import { BUTTON_BOOST, type Controls } from './arena';

const KEY_DIRS: Record<string, [number, number]> = {
  KeyW: [0, -1],
  ArrowUp: [0, -1],
  KeyS: [0, 1],
  ArrowDown: [0, 1],
  KeyA: [-1, 0],
  ArrowLeft: [-1, 0],
  KeyD: [1, 0],
  ArrowRight: [1, 0],
};
// `key` fallbacks for keyboards/automation that do not set `code` as expected.
const KEY_ALIASES: Record<string, string> = {
  w: 'KeyW',
  a: 'KeyA',
  s: 'KeyS',
  d: 'KeyD',
  W: 'KeyW',
  A: 'KeyA',
  S: 'KeyS',
  D: 'KeyD',
};

/** Drag distance (CSS px) for a full-strength stick. */
export const STICK_RADIUS = 64;

export interface StickView {
  originX: number;
  originY: number;
  x: number;
  y: number;
}

export class InputState {
  private keys = new Set<string>();
  private shift = false;
  private pointers = new Map<number, { x: number; y: number }>();
  private stickPointer: number | null = null;
  private stickOrigin = { x: 0, y: 0 };
  private detach: Array<() => void> = [];

  attach(target: HTMLElement): void {
    const on = <K extends keyof WindowEventMap>(
      el: Window | HTMLElement,
      type: K,
      fn: (e: WindowEventMap[K]) => void,
      opts?: AddEventListenerOptions,
    ) => {
      el.addEventListener(type, fn as EventListener, opts);
      this.detach.push(() => el.removeEventListener(type, fn as EventListener, opts));
    };
    on(window, 'keydown', (e) => this.onKey(e, true));
    on(window, 'keyup', (e) => this.onKey(e, false));
    on(window, 'blur', () => this.reset());
    on(target, 'pointerdown', (e) => this.onPointerDown(e, target));
    on(window, 'pointermove', (e) => this.onPointerMove(e));
    on(window, 'pointerup', (e) => this.onPointerUp(e));
    on(window, 'pointercancel', (e) => this.onPointerUp(e));
  }

  dispose(): void {
    for (const d of this.detach) d();
    this.detach = [];
  }

  reset(): void {
    this.keys.clear();
    this.shift = false;
    this.pointers.clear();
    this.stickPointer = null;
  }

  /** The controls held now: a direction of length ≤ 1 and the boost bit. */
  read(): Controls {
    let x = 0;
    let y = 0;
    for (const k of this.keys) {
      const d = KEY_DIRS[k];
      if (d) {
        x += d[0];
        y += d[1];
      }
    }
    x = Math.max(-1, Math.min(1, x));
    y = Math.max(-1, Math.min(1, y));
    const stick = this.stickVector();
    if (stick && x === 0 && y === 0) {
      x = stick.x;
      y = stick.y;
    }
    const len = Math.hypot(x, y);
    if (len > 1) {
      x /= len;
      y /= len;
    }
    const boost = this.shift || this.pointers.size >= 2;
    return { x, y, buttons: boost ? BUTTON_BOOST : 0 };
  }

  /** The on-screen stick to draw, if a finger (or mouse) is dragging. */
  stick(): StickView | null {
    if (this.stickPointer === null) return null;
    const p = this.pointers.get(this.stickPointer);
    if (!p) return null;
    return { originX: this.stickOrigin.x, originY: this.stickOrigin.y, x: p.x, y: p.y };
  }

  private stickVector(): { x: number; y: number } | null {
    const s = this.stick();
    if (!s) return null;
    const dx = (s.x - s.originX) / STICK_RADIUS;
    const dy = (s.y - s.originY) / STICK_RADIUS;
    const len = Math.hypot(dx, dy);
    if (len < 0.12) return { x: 0, y: 0 }; // dead zone
    return len > 1 ? { x: dx / len, y: dy / len } : { x: dx, y: dy };
  }

  private onKey(e: KeyboardEvent, down: boolean): void {
    const t = e.target as HTMLElement | null;
    if (t && (t.tagName === 'INPUT' || t.tagName === 'TEXTAREA')) return;
    this.shift = e.shiftKey || (down && e.key === 'Shift');
    if (!down && e.key === 'Shift') this.shift = false;
    const code = KEY_DIRS[e.code] ? e.code : (KEY_ALIASES[e.key] ?? e.key);
    if (!KEY_DIRS[code]) return;
    e.preventDefault();
    if (down) this.keys.add(code);
    else this.keys.delete(code);
  }

  private onPointerDown(e: PointerEvent, target: HTMLElement): void {
    if (e.button !== 0 && e.pointerType === 'mouse') return;
    this.pointers.set(e.pointerId, { x: e.clientX, y: e.clientY });
    if (this.stickPointer === null) {
      this.stickPointer = e.pointerId;
      this.stickOrigin = { x: e.clientX, y: e.clientY };
    }
    target.setPointerCapture?.(e.pointerId);
    e.preventDefault();
  }

  private onPointerMove(e: PointerEvent): void {
    const p = this.pointers.get(e.pointerId);
    if (!p) return;
    p.x = e.clientX;
    p.y = e.clientY;
    // A stick dragged past its rim drags its origin along (feels like a floating stick).
    if (e.pointerId === this.stickPointer) {
      const dx = p.x - this.stickOrigin.x;
      const dy = p.y - this.stickOrigin.y;
      const len = Math.hypot(dx, dy);
      if (len > STICK_RADIUS * 1.5) {
        const k = (len - STICK_RADIUS * 1.5) / len;
        this.stickOrigin.x += dx * k;
        this.stickOrigin.y += dy * k;
      }
    }
  }

  private onPointerUp(e: PointerEvent): void {
    this.pointers.delete(e.pointerId);
    if (e.pointerId === this.stickPointer) this.stickPointer = null;
  }
}
