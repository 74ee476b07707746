/**
 * Small 2D canvas helpers shared by the world (`render.ts`) and the overlays (`overlays.ts`):
 * fonts, rounded rectangles, the overlays' panel, text that fits or wraps, colour tweaks. Stateless.
 */
import palette from '../../assets/web/palette.json';

export const FONT = `system-ui, -apple-system, "Segoe UI", Roboto, "Helvetica Neue", Arial, sans-serif`;
export const MONO = `ui-monospace, "SF Mono", Menlo, Consolas, "DejaVu Sans Mono", monospace`;

/** The overlays' background: a translucent rounded panel with a thin border. */
export function panel(
  ctx: CanvasRenderingContext2D,
  x: number,
  y: number,
  w: number,
  h: number,
): void {
  ctx.save();
  roundRect(ctx, x, y, w, h, 10);
  ctx.fillStyle = palette.panel;
  ctx.fill();
  ctx.strokeStyle = palette.panelBorder;
  ctx.lineWidth = 1;
  ctx.stroke();
  ctx.restore();
}

/** Begins a new path: a rectangle with corners of radius `r` (fill or stroke it after). */
export function roundRect(
  ctx: CanvasRenderingContext2D,
  x: number,
  y: number,
  w: number,
  h: number,
  r: number,
): void {
  ctx.beginPath();
  ctx.moveTo(x + r, y);
  ctx.arcTo(x + w, y, x + w, y + h, r);
  ctx.arcTo(x + w, y + h, x, y + h, r);
  ctx.arcTo(x, y + h, x, y, r);
  ctx.arcTo(x, y, x + w, y, r);
  ctx.closePath();
}

/** Truncates `text` with an ellipsis to fit `maxWidth` in the current font. */
export function fitText(ctx: CanvasRenderingContext2D, text: string, maxWidth: number): string {
  if (ctx.measureText(text).width <= maxWidth) return text;
  const chars = [...text];
  while (chars.length > 1 && ctx.measureText(chars.join('') + '…').width > maxWidth) chars.pop();
  return chars.join('') + '…';
}

export function withAlpha(hex: string, alpha: number): string {
  const m = /^#([0-9a-f]{6})$/i.exec(hex);
  if (!m) return hex;
  const n = parseInt(m[1]!, 16);
  return `rgba(${(n >> 16) & 255}, ${(n >> 8) & 255}, ${n & 255}, ${alpha})`;
}

export function lighten(hex: string, amount: number): string {
  const m = /^#([0-9a-f]{6})$/i.exec(hex);
  if (!m) return hex;
  const n = parseInt(m[1]!, 16);
  const mix = (c: number) => Math.round(c + (255 - c) * amount);
  return `rgb(${mix((n >> 16) & 255)}, ${mix((n >> 8) & 255)}, ${mix(n & 255)})`;
}

/**
 * Breaks `text` into lines that fit `maxWidth` in the current font, at spaces; a word longer
 * than a line is cut to fit with an ellipsis. Nothing is dropped otherwise.
 */
export function wrapText(ctx: CanvasRenderingContext2D, text: string, maxWidth: number): string[] {
  const lines: string[] = [];
  let line = '';
  for (const word of text.split(/\s+/).filter((w) => w !== '')) {
    const candidate = line ? `${line} ${word}` : word;
    if (ctx.measureText(candidate).width <= maxWidth) {
      line = candidate;
      continue;
    }
    if (line) lines.push(line);
    line = fitText(ctx, word, maxWidth);
  }
  if (line) lines.push(line);
  return lines;
}

/**
 * Like {@link wrapText}, in as few lines, but as even as they can be (the narrowest width that
 * needs no more lines), so a message does not end on a lone word or two.
 */
export function wrapBalanced(
  ctx: CanvasRenderingContext2D,
  text: string,
  maxWidth: number,
): string[] {
  const lines = wrapText(ctx, text, maxWidth);
  if (lines.length < 2) return lines;
  let lo = 0;
  let hi = maxWidth;
  while (hi - lo > 1) {
    const mid = (lo + hi) / 2;
    if (wrapText(ctx, text, mid).length <= lines.length) hi = mid;
    else lo = mid;
  }
  return wrapText(ctx, text, hi);
}
