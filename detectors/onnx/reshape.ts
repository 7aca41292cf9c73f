import { StreetwatchError } from '../../core/errors.js';

/**
 * Rewrites the declared tensor shapes of an ONNX model (the bytes of a ModelProto), so that a fully
 * convolutional detector can be opened for another input size than the one it was exported with — YOLOX-Nano
 * exported at 416×416 runs on 416×256 when every frame is 16:9 (manifest `input.fit`). onnxruntime takes the
 * declared input shape as a hard limit, so the file's own declaration must change; the graph itself does not.
 *
 * Only three things change, by protobuf field numbers of onnx.proto (ModelProto.graph = 7; GraphProto.input
 * = 11, output = 12, value_info = 13; ValueInfoProto.name = 1, type = 2; TypeProto.tensor_type = 1;
 * TypeProto.Tensor.shape = 2; TensorShapeProto.dim = 1; Dimension.dim_value = 1):
 *   - the named input's dims are replaced;
 *   - each named output's dims are replaced;
 *   - every graph.value_info entry (optional shape hints for intermediate tensors, all derived from the old
 *     input size) is dropped: onnxruntime infers them again from the new input.
 * Every other byte is copied as it is. Pure: bytes in, bytes out.
 */

const WIRE_VARINT = 0;
const WIRE_I64 = 1;
const WIRE_LEN = 2;
const WIRE_I32 = 5;

interface Field {
  no: number;
  wire: number;
  /** The whole field (key and value), as it was in the input. */
  raw: Uint8Array;
  /** Length-delimited fields only: the payload. */
  body?: Uint8Array;
}

function readVarint(b: Uint8Array, p: number): [number, number] {
  let v = 0;
  let mul = 1;
  for (let i = 0; i < 10; i++) {
    if (p >= b.length) throw new RangeError('varint runs past the end');
    const x = b[p++]!;
    v += (x & 0x7f) * mul;
    if (x < 0x80) return [v, p];
    mul *= 128;
  }
  throw new RangeError('varint longer than 10 bytes');
}

function writeVarint(v: number): number[] {
  if (!Number.isSafeInteger(v) || v < 0) throw new RangeError(`cannot encode ${v} as a varint`);
  const out: number[] = [];
  while (v >= 0x80) {
    out.push((v % 128) | 0x80);
    v = Math.floor(v / 128);
  }
  out.push(v);
  return out;
}

function fields(b: Uint8Array): Field[] {
  const out: Field[] = [];
  let p = 0;
  while (p < b.length) {
    const start = p;
    const [key, q] = readVarint(b, p);
    p = q;
    const no = Math.floor(key / 8);
    const wire = key & 7;
    let body: Uint8Array | undefined;
    if (wire === WIRE_VARINT) p = readVarint(b, p)[1];
    else if (wire === WIRE_I64) p += 8;
    else if (wire === WIRE_I32) p += 4;
    else if (wire === WIRE_LEN) {
      const [len, r] = readVarint(b, p);
      body = b.subarray(r, r + len);
      p = r + len;
    } else throw new RangeError(`unsupported protobuf wire type ${wire} at byte ${start}`);
    if (p > b.length) throw new RangeError(`field ${no} at byte ${start} runs past the end`);
    out.push({ no, wire, raw: b.subarray(start, p), ...(body ? { body } : {}) });
  }
  return out;
}

function lenField(no: number, body: Uint8Array): Uint8Array {
  const head = [...writeVarint(no * 8 + WIRE_LEN), ...writeVarint(body.length)];
  const out = new Uint8Array(head.length + body.length);
  out.set(head, 0);
  out.set(body, head.length);
  return out;
}

function concat(parts: Uint8Array[]): Uint8Array {
  const out = new Uint8Array(parts.reduce((n, x) => n + x.length, 0));
  let p = 0;
  for (const x of parts) {
    out.set(x, p);
    p += x.length;
  }
  return out;
}

/** The payload of the first length-delimited field `no`, or undefined. */
function sub(b: Uint8Array, no: number): Uint8Array | undefined {
  return fields(b).find((f) => f.no === no && f.body)?.body;
}

/** Replaces every length-delimited field `no` by `edit(body)` (undefined drops it). */
function editFields(b: Uint8Array, no: number, edit: (body: Uint8Array) => Uint8Array | undefined): Uint8Array {
  return concat(
    fields(b).flatMap((f) => {
      if (f.no !== no || !f.body) return [f.raw];
      const next = edit(f.body);
      return next ? [lenField(no, next)] : [];
    }),
  );
}

function valueInfoName(vi: Uint8Array): string | undefined {
  const name = sub(vi, 1);
  return name ? new TextDecoder().decode(name) : undefined;
}

/** A Dimension: `dim_value` (1) for a number, `dim_param` (2, a symbolic name) for null (dynamic). */
function dimension(d: number | null, i: number): Uint8Array {
  if (d === null) return lenField(1, lenField(2, new TextEncoder().encode(`dynamic_${i}`)));
  return lenField(1, Uint8Array.from([(1 << 3) | WIRE_VARINT, ...writeVarint(d)]));
}

/** A ValueInfoProto with its tensor shape replaced by `dims`. */
function withDims(vi: Uint8Array, dims: readonly (number | null)[]): Uint8Array {
  const shape = concat(dims.map(dimension));
  return editFields(vi, 2, (type) => editFields(type, 1, (tensor) => concat([...fields(tensor).filter((f) => f.no !== 2).map((f) => f.raw), lenField(2, shape)])));
}

export interface TensorDims {
  name: string;
  /** null: a dynamic dimension. */
  dims: readonly (number | null)[];
}

/**
 * The model with `input`'s and each of `outputs`' declared dims replaced and graph.value_info dropped. Throws
 * MODEL_LOAD_FAILED when the bytes are not a model with such tensors.
 */
export function reshapeModel(model: Uint8Array, input: TensorDims, outputs: readonly TensorDims[]): Uint8Array {
  const wanted = new Map<string, TensorDims['dims']>([[input.name, input.dims], ...outputs.map((o): [string, TensorDims['dims']] => [o.name, o.dims])]);
  const found = new Set<string>();
  let result: Uint8Array;
  try {
    if (!sub(model, 7)) throw new RangeError('no graph');
    result = editFields(model, 7, (graph) => {
      const ios = (no: number, g: Uint8Array) =>
        editFields(g, no, (vi) => {
          const name = valueInfoName(vi);
          const dims = name === undefined ? undefined : wanted.get(name);
          if (!dims) return vi;
          found.add(name!);
          return withDims(vi, dims);
        });
      return editFields(ios(12, ios(11, graph)), 13, () => undefined);
    });
  } catch (e) {
    throw new StreetwatchError('MODEL_LOAD_FAILED', `cannot rewrite the tensor shapes of the model: it is not a readable ONNX file (${(e as Error).message})`, { cause: e });
  }
  const missing = [...wanted.keys()].filter((n) => !found.has(n));
  if (missing.length) throw new StreetwatchError('MODEL_LOAD_FAILED', `cannot rewrite the tensor shapes of the model: it has no input or output named ${missing.join(', ')}`);
  return result;
}
