import sharp from 'sharp';
import type { Box, Detection } from './contract.js';

/**
 * Draws detections (and optionally zone outlines and a caption line) over an image with sharp, by composing an
 * SVG overlay. Used by `streetwatch detect --draw` and, later, for annotated evidence stills.
 */
export interface DrawOptions {
  /** Normalised polygons to outline (zones), with a label. */
  zones?: { points: [number, number][]; label?: string; colour?: string }[];
  /** A line of text at the top (camera name, local time, rule). */
  caption?: string;
}

export type ImageInput = string | { data: Buffer; width: number; height: number };

const COLOURS: Record<string, string> = {
  person: '#2f80ed', vehicle: '#9b51e0', two_wheeler: '#bb6bd9', umbrella: '#f2994a', table: '#f2c94c', chair: '#f2c94c',
  goods: '#eb5757', static_object: '#eb5757', stall: '#eb5757', cart: '#eb5757', plant: '#27ae60', bench: '#828282', animal: '#828282',
};

const esc = (s: string) => s.replace(/[&<>"]/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;' })[c]!);

export function overlaySvg(width: number, height: number, detections: readonly Detection[], opts: DrawOptions = {}): string {
  const stroke = Math.max(2, Math.round(Math.min(width, height) / 300));
  const font = Math.max(12, Math.round(Math.min(width, height) / 40));
  const parts: string[] = [];
  for (const z of opts.zones ?? []) {
    const pts = z.points.map(([x, y]) => `${(x * width).toFixed(1)},${(y * height).toFixed(1)}`).join(' ');
    const c = z.colour ?? '#00e5ff';
    parts.push(`<polygon points="${pts}" fill="${c}" fill-opacity="0.12" stroke="${c}" stroke-width="${stroke}" stroke-dasharray="${stroke * 4},${stroke * 2}"/>`);
    if (z.label && z.points[0]) parts.push(`<text x="${z.points[0][0] * width + 4}" y="${z.points[0][1] * height + font}" font-size="${font}" fill="${c}" font-family="sans-serif">${esc(z.label)}</text>`);
  }
  for (const d of detections) {
    const [x1, y1, x2, y2] = d.box.map((v, i) => v * (i % 2 ? height : width)) as Box;
    const c = COLOURS[d.semantic ?? ''] ?? '#ffffff';
    const text = `${d.label} ${(d.score * 100).toFixed(0)}%`;
    parts.push(`<rect x="${x1.toFixed(1)}" y="${y1.toFixed(1)}" width="${(x2 - x1).toFixed(1)}" height="${(y2 - y1).toFixed(1)}" fill="none" stroke="${c}" stroke-width="${stroke}"/>`);
    const ty = Math.max(font, y1 - 3);
    parts.push(`<rect x="${x1.toFixed(1)}" y="${(ty - font).toFixed(1)}" width="${(text.length * font * 0.6).toFixed(1)}" height="${font + 2}" fill="${c}" fill-opacity="0.8"/>`);
    parts.push(`<text x="${(x1 + 2).toFixed(1)}" y="${(ty - 2).toFixed(1)}" font-size="${font}" fill="#000" font-family="sans-serif">${esc(text)}</text>`);
  }
  if (opts.caption) {
    parts.push(`<rect x="0" y="0" width="${width}" height="${font + 10}" fill="#000" fill-opacity="0.6"/>`);
    parts.push(`<text x="6" y="${font + 3}" font-size="${font}" fill="#fff" font-family="sans-serif">${esc(opts.caption)}</text>`);
  }
  return `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}">${parts.join('')}</svg>`;
}

/** Writes `out` (format from its extension: .png, .jpg, .webp): the image with the overlay drawn on it. */
export async function drawDetections(image: ImageInput, detections: readonly Detection[], out: string, opts: DrawOptions = {}): Promise<void> {
  const base = typeof image === 'string' ? sharp(image).rotate() : sharp(image.data, { raw: { width: image.width, height: image.height, channels: 3 } });
  const { width, height } = typeof image === 'string' ? await sharp(image).rotate().metadata().then((m) => ({ width: m.autoOrient?.width ?? m.width!, height: m.autoOrient?.height ?? m.height! })) : image;
  await base.composite([{ input: Buffer.from(overlaySvg(width, height, detections, opts)), top: 0, left: 0 }]).toFile(out);
}
