import { mkdir } from 'node:fs/promises';
import { dirname, extname } from 'node:path';
import sharp, { type Sharp } from 'sharp';
import { StreetwatchError } from '../core/errors.js';
import type { Box, Detection } from './contract.js';

/**
 * Annotated images: detection boxes with their labels, zone outlines and a caption line, drawn by composing one
 * SVG overlay onto the picture with sharp. `streetwatch detect --draw` uses it on photos; evidence stills use it
 * on full-resolution frames (a highlighted offending object, the zone it stands in, a caption with camera, local
 * time and rule), which is why the overlay is built from normalised coordinates and works at any image size.
 */

/** A detection to draw. `colour`, `text` and `emphasis` let evidence stills single out the offending object. */
export interface DrawnDetection extends Pick<Detection, 'box' | 'label' | 'score' | 'semantic'> {
  /** CSS colour; default by semantic label. */
  colour?: string;
  /** Replaces the `label 87%` tag. */
  text?: string;
  /** Thicker outline, drawn last so nothing covers it. */
  emphasis?: boolean;
}

export interface DrawZone {
  /** Normalised polygon, ≥ 3 points. */
  points: readonly (readonly [number, number])[];
  label?: string;
  colour?: string;
}

export interface DrawOptions {
  zones?: readonly DrawZone[];
  /** Lines of text in a band at the top (camera, local time, rule). */
  caption?: string | readonly string[];
  /** Output encoding when rendering to a buffer; for files, the extension decides. Default png. */
  format?: 'png' | 'jpeg' | 'webp';
  /** JPEG/WebP quality. Default 90 (evidence is looked at closely). */
  quality?: number;
}

/** An image file, an encoded image in memory, or raw rgb24/rgba pixels (a decoded frame). */
export type ImageSource = string | Buffer | { data: Buffer; width: number; height: number; channels?: 3 | 4 };

const COLOURS: Record<string, string> = {
  person: '#2f80ed',
  vehicle: '#9b51e0',
  two_wheeler: '#bb6bd9',
  cart: '#eb5757',
  stall: '#eb5757',
  umbrella: '#f2994a',
  table: '#f2c94c',
  chair: '#f2c94c',
  bench: '#828282',
  goods: '#eb5757',
  plant: '#27ae60',
  static_object: '#ff2d95',
  animal: '#828282',
};
const ZONE_COLOUR = '#00e5ff';
// Fontconfig picks the first installed family; CJK families first so Chinese camera names and rule names render
// on servers that have them, DejaVu (present almost everywhere) for the rest.
const FONT = "'Noto Sans CJK SC','Source Han Sans SC','WenQuanYi Micro Hei','DejaVu Sans',sans-serif";

const esc = (s: string) => s.replace(/[&<>"']/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[c]!);
// No text measurement in SVG-by-string: estimate (CJK glyphs are about 1 em wide, Latin about 0.6 em).
const textWidth = (s: string, font: number) => [...s].reduce((w, ch) => w + (ch.charCodeAt(0) > 0x2e80 ? 1 : 0.6), 0) * font;
const clamp01 = (v: number) => Math.min(1, Math.max(0, v));

/** The overlay alone, as an SVG document of `width`×`height` pixels. */
export function overlaySvg(width: number, height: number, detections: readonly DrawnDetection[], opts: Pick<DrawOptions, 'zones' | 'caption'> = {}): string {
  const short = Math.min(width, height);
  const stroke = Math.max(2, Math.round(short / 320));
  const font = Math.max(12, Math.round(short / 42));
  const px = (v: number, side: number) => (clamp01(v) * side).toFixed(1);
  const parts: string[] = [];
  const lines = typeof opts.caption === 'string' ? [opts.caption] : [...(opts.caption ?? [])];
  const lh = Math.round(font * 1.35);
  // The band goes under everything: a box near the top of the picture stays visible through it, and tags are
  // kept below it so none is hidden.
  const band = lines.length ? lh * lines.length + 8 : 0;
  if (band) parts.push(`<rect x="0" y="0" width="${width}" height="${band}" fill="#000" fill-opacity="0.6"/>`);

  for (const z of opts.zones ?? []) {
    if (z.points.length < 3) continue;
    const c = z.colour ?? ZONE_COLOUR;
    const pts = z.points.map(([x, y]) => `${px(x, width)},${px(y, height)}`).join(' ');
    parts.push(`<polygon points="${pts}" fill="${c}" fill-opacity="0.12" stroke="${c}" stroke-width="${stroke}" stroke-dasharray="${stroke * 4},${stroke * 2}"/>`);
    if (z.label) {
      // Label at the zone's top-left-most point, where it is least likely to sit on the objects inside.
      const [lx, ly] = [...z.points].sort((a, b) => a[1] + a[0] - (b[1] + b[0]))[0]!;
      parts.push(label(clamp01(lx) * width + stroke, Math.max(band, clamp01(ly) * height + stroke), z.label, c, font, width, height));
    }
  }

  // Emphasised boxes last: they are the point of an evidence still and must not be covered.
  const ordered = [...detections].sort((a, b) => Number(a.emphasis ?? false) - Number(b.emphasis ?? false));
  for (const d of ordered) {
    const [x1, y1, x2, y2] = d.box.map((v, i) => clamp01(v) * (i % 2 ? height : width)) as Box;
    const c = d.colour ?? COLOURS[d.semantic ?? ''] ?? '#ffffff';
    const sw = d.emphasis ? stroke * 2 : stroke;
    parts.push(`<rect x="${x1.toFixed(1)}" y="${y1.toFixed(1)}" width="${(x2 - x1).toFixed(1)}" height="${(y2 - y1).toFixed(1)}" fill="none" stroke="${c}" stroke-width="${sw}"/>`);
    const text = d.text ?? `${d.label} ${Math.round(d.score * 100)}%`;
    // The tag sits above the box, or inside its top edge when the box touches the top of the picture.
    const tagTop = y1 - font - 4 >= band ? y1 - font - 4 : Math.max(y1, band);
    parts.push(label(x1, tagTop, text, c, font, width, height));
  }

  // Caption text last, over any box line crossing the band, so it always reads.
  lines.forEach((l, i) => parts.push(`<text x="8" y="${4 + lh * i + font}" font-size="${font}" fill="#fff" font-family="${FONT}">${esc(l)}</text>`));
  return `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" viewBox="0 0 ${width} ${height}">${parts.join('')}</svg>`;
}

/** A filled tag with dark text, kept inside the picture. */
function label(x: number, top: number, text: string, colour: string, font: number, width: number, height: number): string {
  const w = textWidth(text, font) + 6;
  const h = font + 4;
  const lx = Math.max(0, Math.min(x, width - w));
  const ly = Math.max(0, Math.min(top, height - h));
  return (
    `<rect x="${lx.toFixed(1)}" y="${ly.toFixed(1)}" width="${w.toFixed(1)}" height="${h}" fill="${colour}" fill-opacity="0.85"/>` +
    `<text x="${(lx + 3).toFixed(1)}" y="${(ly + font).toFixed(1)}" font-size="${font}" fill="#000" font-family="${FONT}">${esc(text)}</text>`
  );
}

async function openImage(image: ImageSource): Promise<{ img: Sharp; width: number; height: number }> {
  const name = typeof image === 'string' ? image : Buffer.isBuffer(image) ? 'image buffer' : 'raw frame';
  try {
    if (typeof image === 'string' || Buffer.isBuffer(image)) {
      // EXIF orientation is applied, as loadImageFrame does, so boxes found on the frame land on the same pixels.
      const img = sharp(image).rotate();
      const m = await img.metadata();
      const width = m.autoOrient?.width ?? m.width;
      const height = m.autoOrient?.height ?? m.height;
      if (!width || !height) throw new Error('no image size');
      return { img, width, height };
    }
    const channels = image.channels ?? 3;
    if (image.data.length !== image.width * image.height * channels) {
      throw new Error(`${image.data.length} bytes is not ${image.width}×${image.height}×${channels}`);
    }
    return { img: sharp(image.data, { raw: { width: image.width, height: image.height, channels } }), width: image.width, height: image.height };
  } catch (e) {
    throw new StreetwatchError('IMAGE_INVALID', `cannot draw on ${name}: ${(e as Error).message}`, { cause: e, details: { image: name } });
  }
}

function encode(img: Sharp, format: NonNullable<DrawOptions['format']>, quality: number): Sharp {
  if (format === 'jpeg') return img.jpeg({ quality, mozjpeg: true });
  if (format === 'webp') return img.webp({ quality });
  return img.png();
}

function formatOf(path: string): NonNullable<DrawOptions['format']> {
  const ext = extname(path).toLowerCase();
  if (ext === '.jpg' || ext === '.jpeg') return 'jpeg';
  if (ext === '.webp') return 'webp';
  if (ext === '.png') return 'png';
  throw new StreetwatchError('USAGE', `cannot write '${path}': use a .png, .jpg or .webp file name`);
}

/** The annotated image, encoded (`opts.format`, default PNG), at the image's own size. */
export async function renderDetections(image: ImageSource, detections: readonly DrawnDetection[], opts: DrawOptions = {}): Promise<{ data: Buffer; width: number; height: number; format: string }> {
  const { img, width, height } = await openImage(image);
  const format = opts.format ?? 'png';
  const data = await encode(img.composite([{ input: Buffer.from(overlaySvg(width, height, detections, opts)), top: 0, left: 0 }]), format, opts.quality ?? 90).toBuffer();
  return { data, width, height, format };
}

/** Writes the annotated image to `out` (format from its extension: .png, .jpg, .webp), creating its folder. */
export async function drawDetections(image: ImageSource, detections: readonly DrawnDetection[], out: string, opts: Omit<DrawOptions, 'format'> = {}): Promise<{ path: string; width: number; height: number }> {
  const format = formatOf(out);
  const { img, width, height } = await openImage(image);
  await mkdir(dirname(out), { recursive: true });
  await encode(img.composite([{ input: Buffer.from(overlaySvg(width, height, detections, opts)), top: 0, left: 0 }]), format, opts.quality ?? 90).toFile(out);
  return { path: out, width, height };
}
