import type { Frame } from '../../core/types.js';
import type { OnnxModelManifest } from './manifest.js';

/**
 * Frame → model input, written straight into a preallocated Float32Array (NCHW): bilinear resize (letterbox
 * or stretch), colour order, scale/mean/std — in one pass over the destination pixels, with the resize
 * tables cached per source size. This is the per-frame hot path: no allocation, no sharp.
 */
export type InputSpec = OnnxModelManifest['input'];

/** How the frame sits in the model input; maps model-pixel boxes back to normalised frame boxes. */
export interface Placement {
  srcW: number;
  srcH: number;
  /** Scale from source pixels to model pixels, per axis (equal for letterbox). */
  rx: number;
  ry: number;
  padX: number;
  padY: number;
  nw: number;
  nh: number;
}

export function placement(srcW: number, srcH: number, spec: InputSpec): Placement {
  if (spec.resize === 'stretch') {
    return { srcW, srcH, rx: spec.width / srcW, ry: spec.height / srcH, padX: 0, padY: 0, nw: spec.width, nh: spec.height };
  }
  const r = Math.min(spec.width / srcW, spec.height / srcH);
  const nw = Math.round(srcW * r);
  const nh = Math.round(srcH * r);
  const centre = spec.resize === 'letterbox-centre';
  return {
    srcW,
    srcH,
    rx: r,
    ry: r,
    padX: centre ? Math.floor((spec.width - nw) / 2) : 0,
    padY: centre ? Math.floor((spec.height - nh) / 2) : 0,
    nw,
    nh,
  };
}

/** Model-pixel x → normalised frame x (clipped to 0..1). */
export function toNormX(p: Placement, x: number): number {
  return Math.min(1, Math.max(0, (x - p.padX) / p.rx / p.srcW));
}
export function toNormY(p: Placement, y: number): number {
  return Math.min(1, Math.max(0, (y - p.padY) / p.ry / p.srcH));
}

interface Tables {
  p: Placement;
  x0: Int32Array;
  x1: Int32Array;
  fx: Float32Array;
  y0: Int32Array;
  y1: Int32Array;
  fy: Float32Array;
}

/** Half-pixel-centre bilinear sampling positions (as OpenCV/PIL resize). */
function axis(n: number, src: number, scale: number): { i0: Int32Array; i1: Int32Array; f: Float32Array } {
  const i0 = new Int32Array(n);
  const i1 = new Int32Array(n);
  const f = new Float32Array(n);
  for (let d = 0; d < n; d++) {
    let s = (d + 0.5) / scale - 0.5;
    if (s < 0) s = 0;
    const a = Math.min(src - 1, Math.floor(s));
    i0[d] = a;
    i1[d] = Math.min(src - 1, a + 1);
    f[d] = s - a;
  }
  return { i0, i1, f };
}

export class Preprocessor {
  private tables: Tables | undefined;
  private readonly mul: Float32Array;
  private readonly add: Float32Array;
  private readonly padValue: Float32Array;
  /** Source channel (in rgb24) feeding each tensor channel. */
  private readonly srcChannel: readonly number[];

  constructor(private readonly spec: InputSpec) {
    this.mul = Float32Array.from(spec.std.map((s) => spec.scale / s));
    this.add = Float32Array.from(spec.mean.map((m, c) => -m / spec.std[c]!));
    this.padValue = Float32Array.from([0, 1, 2].map((c) => spec.pad * this.mul[c]! + this.add[c]!));
    this.srcChannel = spec.colour === 'BGR' ? [2, 1, 0] : [0, 1, 2];
  }

  /** Elements of one image in the tensor. */
  get imageSize(): number {
    return 3 * this.spec.width * this.spec.height;
  }

  /** Writes `frame` into `dst` at image slot `slot` and returns its placement. */
  write(frame: Frame, dst: Float32Array, slot = 0): Placement {
    const t = this.tablesFor(frame.width, frame.height);
    const { p } = t;
    const W = this.spec.width;
    const H = this.spec.height;
    const plane = W * H;
    const base = slot * 3 * plane;
    const src = frame.data;
    const stride = frame.width * 3;
    if (p.nw !== W || p.nh !== H) {
      for (let c = 0; c < 3; c++) dst.fill(this.padValue[c]!, base + c * plane, base + (c + 1) * plane);
    }
    const s0 = this.srcChannel[0]!, s1 = this.srcChannel[1]!, s2 = this.srcChannel[2]!;
    const m0 = this.mul[0]!, m1 = this.mul[1]!, m2 = this.mul[2]!;
    const a0 = this.add[0]!, a1 = this.add[1]!, a2 = this.add[2]!;
    for (let y = 0; y < p.nh; y++) {
      const r0 = t.y0[y]! * stride;
      const r1 = t.y1[y]! * stride;
      const fy = t.fy[y]!;
      let o = base + (y + p.padY) * W + p.padX;
      for (let x = 0; x < p.nw; x++, o++) {
        const c0 = t.x0[x]! * 3;
        const c1 = t.x1[x]! * 3;
        const fx = t.fx[x]!;
        const w00 = (1 - fx) * (1 - fy), w01 = fx * (1 - fy), w10 = (1 - fx) * fy, w11 = fx * fy;
        const i00 = r0 + c0, i01 = r0 + c1, i10 = r1 + c0, i11 = r1 + c1;
        dst[o] = (src[i00 + s0]! * w00 + src[i01 + s0]! * w01 + src[i10 + s0]! * w10 + src[i11 + s0]! * w11) * m0 + a0;
        dst[o + plane] = (src[i00 + s1]! * w00 + src[i01 + s1]! * w01 + src[i10 + s1]! * w10 + src[i11 + s1]! * w11) * m1 + a1;
        dst[o + 2 * plane] = (src[i00 + s2]! * w00 + src[i01 + s2]! * w01 + src[i10 + s2]! * w10 + src[i11 + s2]! * w11) * m2 + a2;
      }
    }
    return p;
  }

  private tablesFor(srcW: number, srcH: number): Tables {
    const t = this.tables;
    if (t && t.p.srcW === srcW && t.p.srcH === srcH) return t;
    const p = placement(srcW, srcH, this.spec);
    const ax = axis(p.nw, srcW, p.rx);
    const ay = axis(p.nh, srcH, p.ry);
    this.tables = { p, x0: ax.i0, x1: ax.i1, fx: ax.f, y0: ay.i0, y1: ay.i1, fy: ay.f };
    return this.tables;
  }
}
