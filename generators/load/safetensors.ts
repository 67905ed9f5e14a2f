// Our safetensors reader (validated header, lazy positioned reads per tensor) and a small writer.
//
// The file is never read whole: open reads the 8-byte length and the header (after checking the
// length against the cap and the file size, so a lying length cannot make us allocate), and each
// read* call reads only that tensor's bytes. Files larger than memory work.

import { constants as bufferConstants } from 'node:buffer';
import * as fs from 'node:fs';
import { UserError } from '../../core/errors.ts';
import { DTYPE_BITS, DTYPES, FLOAT_DTYPES, INTEGER_DTYPES, isDtype, rawToBigInt64, rawToFloat32, type Dtype } from './dtypes.ts';
import { MAX_HEADER_BYTES, parseSafetensorsHeader, quoteName, type TensorInfo } from './safetensorsHeader.ts';

export type { Dtype } from './dtypes.ts';
export type { TensorInfo } from './safetensorsHeader.ts';
export { DTYPES } from './dtypes.ts';
export { MAX_HEADER_BYTES, quoteName } from './safetensorsHeader.ts';

/** An open, validated safetensors file. Tensor data is read on demand. */
export interface SafetensorsFile {
  readonly path: string;
  /** Every tensor, in order of data offset. */
  readonly tensors: ReadonlyMap<string, TensorInfo>;
  /** The `__metadata__` strings, if the header has them. */
  readonly metadata: Readonly<Record<string, string>> | undefined;
  /** File offset of the data section (8 + header length); TensorInfo offsets are relative to it. */
  readonly dataStart: number;
  /** The tensor's bytes as stored (little-endian, C order), in a fresh buffer aligned to 8. */
  readRaw(name: string): Buffer;
  /** The tensor as float32: exact for halves, bfloat16, fp8 and small integers; F64 and large
   *  integers round to nearest. Refuses C64 and the packed F4/F6 dtypes. */
  readFloat32(name: string): Float32Array;
  /** An integer (or BOOL) tensor as int64. Refuses float dtypes and U64 values above 2^63-1. */
  readBigInt64(name: string): BigInt64Array;
  /** Rows [first, first + count) of the tensor (a row: one index of the first dimension) as stored,
   *  by one positioned read: a tensor larger than memory is read, quantized and dropped a row block
   *  at a time. */
  readRawRows(name: string, first: number, count: number): Buffer;
  /** readRawRows as float32, converted like readFloat32. */
  readRowsFloat32(name: string, first: number, count: number): Float32Array;
  close(): void;
}

/**
 * A weight tensor as float32: refuses a non-float dtype and any NaN or infinity, naming the file, the
 * tensor and the flat index. Shared by the model recognizers.
 */
export function readWeights(file: SafetensorsFile, t: TensorInfo): Float32Array {
  if (!FLOAT_DTYPES.includes(t.dtype)) {
    throw new UserError(
      `${file.path}: tensor ${quoteName(t.name)}: dtype ${t.dtype} is not supported for weights ` +
        `(supported: ${FLOAT_DTYPES.join(', ')})`,
    );
  }
  const v = file.readFloat32(t.name);
  for (let i = 0; i < v.length; i++) {
    if (!Number.isFinite(v[i])) {
      const conv = t.dtype === 'F64' ? ' after conversion to float32' : '';
      throw new UserError(`${file.path}: tensor ${quoteName(t.name)}: value ${v[i]} at flat index ${i}${conv}`);
    }
  }
  return v;
}

/**
 * Rows [first, first + count) of a weight tensor as float32, checked like readWeights; a bad value is
 * named by its flat index in the whole tensor. Peak memory: the row block, not the tensor.
 */
export function readWeightRows(file: SafetensorsFile, t: TensorInfo, first: number, count: number): Float32Array {
  if (!FLOAT_DTYPES.includes(t.dtype)) {
    throw new UserError(
      `${file.path}: tensor ${quoteName(t.name)}: dtype ${t.dtype} is not supported for weights ` +
        `(supported: ${FLOAT_DTYPES.join(', ')})`,
    );
  }
  const v = file.readRowsFloat32(t.name, first, count);
  const base = first * (count === 0 ? 0 : v.length / count);
  for (let i = 0; i < v.length; i++) {
    if (!Number.isFinite(v[i])) {
      const conv = t.dtype === 'F64' ? ' after conversion to float32' : '';
      throw new UserError(`${file.path}: tensor ${quoteName(t.name)}: value ${v[i]} at flat index ${base + i}${conv}`);
    }
  }
  return v;
}

/** Elements in one row (one index of the first dimension) of a tensor; 1 for a scalar. */
export function rowElements(t: TensorInfo): number {
  return t.shape.slice(1).reduce((a, d) => a * d, 1);
}

/** Opens `path`, runs `read` on it and closes it, whatever `read` does. */
export function withSafetensors<T>(path: string, read: (f: SafetensorsFile) => T): T {
  const f = openSafetensors(path);
  try {
    return read(f);
  } finally {
    f.close();
  }
}

/** Opens and validates `path`; throws UserError (one line, starting with the path) if it is bad. */
export function openSafetensors(path: string): SafetensorsFile {
  let fd: number;
  try {
    fd = fs.openSync(path, 'r');
  } catch (e) {
    // Node's message repeats the path ("ENOENT: no such file or directory, open '<path>'"): drop it.
    throw new UserError(`${path}: cannot open: ${(e as Error).message.replace(/, open '.*$/s, '')}`);
  }
  try {
    const stat = fs.fstatSync(fd);
    if (!stat.isFile()) throw new UserError(`${path}: not a regular file`);
    const size = stat.size;
    if (size < 8) throw new UserError(`${path}: file is ${size} bytes, too short for the 8-byte header length`);
    const lenBuf = readExact(path, fd, 0, 8, 'the header length');
    const n = lenBuf.readBigUInt64LE(0);
    if (n > BigInt(MAX_HEADER_BYTES)) {
      // A JSON or text file read as safetensors: say so rather than quote an absurd length.
      if (/^[\x09\x0a\x0d\x20-\x7e]{8}$/.test(String.fromCharCode(...lenBuf))) {
        const text = String.fromCharCode(...lenBuf);
        throw new UserError(`${path}: not a safetensors file: it starts with text (${JSON.stringify(text)}…) where the 8-byte header length should be${text.startsWith('{') ? ' (a JSON file?)' : ''}`);
      }
      throw new UserError(`${path}: header length ${n} bytes is over the ${MAX_HEADER_BYTES}-byte limit`);
    }
    const headerBytes = Number(n);
    if (8 + headerBytes > size) {
      throw new UserError(`${path}: header length ${headerBytes} bytes runs past the end of the ${size}-byte file`);
    }
    const header = readExact(path, fd, 8, headerBytes, 'the header');
    const dataStart = 8 + headerBytes;
    const parsed = parseSafetensorsHeader(path, header, size - dataStart);
    const tensors = new Map(parsed.tensors.map((t) => [t.name, t]));
    return new SafetensorsReader(path, fd, tensors, parsed.metadata, dataStart);
  } catch (e) {
    fs.closeSync(fd);
    throw e;
  }
}

/** Reads exactly `length` bytes at `position` into a fresh, unpooled (so 8-aligned) buffer. */
function readExact(path: string, fd: number, position: number, length: number, what: string): Buffer {
  let buf: Buffer;
  try {
    buf = Buffer.allocUnsafeSlow(length);
  } catch (e) {
    throw new UserError(`${path}: cannot allocate ${length} bytes for ${what}: ${(e as Error).message}`);
  }
  let done = 0;
  while (done < length) {
    let got: number;
    try {
      got = fs.readSync(fd, buf, done, length - done, position + done);
    } catch (e) {
      throw new UserError(`${path}: cannot read ${what}: ${(e as Error).message}`);
    }
    if (got === 0) throw new UserError(`${path}: file ended while reading ${what} (was it changed?)`);
    done += got;
  }
  return buf;
}

class SafetensorsReader implements SafetensorsFile {
  private fd: number | undefined;

  constructor(
    readonly path: string,
    fd: number,
    readonly tensors: ReadonlyMap<string, TensorInfo>,
    readonly metadata: Readonly<Record<string, string>> | undefined,
    readonly dataStart: number,
  ) {
    this.fd = fd;
  }

  private info(name: string): TensorInfo {
    const t = this.tensors.get(name);
    if (t === undefined) throw new UserError(`${this.path}: no tensor named ${quoteName(name)}`);
    return t;
  }

  readRaw(name: string): Buffer {
    const t = this.info(name);
    if (this.fd === undefined) throw new Error(`${this.path}: read after close`);
    const bytes = t.end - t.begin;
    if (bytes > bufferConstants.MAX_LENGTH) {
      throw new UserError(`${this.path}: tensor ${quoteName(name)}: ${bytes} bytes is too large to hold in memory`);
    }
    return readExact(this.path, this.fd, this.dataStart + t.begin, bytes, `tensor ${quoteName(name)}`);
  }

  readRawRows(name: string, first: number, count: number): Buffer {
    const t = this.info(name);
    if (this.fd === undefined) throw new Error(`${this.path}: read after close`);
    const rows = t.shape.length === 0 ? 1 : t.shape[0];
    if (!Number.isSafeInteger(first) || !Number.isSafeInteger(count) || first < 0 || count < 0 || first + count > rows) {
      throw new UserError(`${this.path}: tensor ${quoteName(name)}: rows [${first}, ${first + count}) are outside its ${rows} rows`);
    }
    const bits = rowElements(t) * DTYPE_BITS[t.dtype];
    if (bits % 8 !== 0) {
      throw new UserError(`${this.path}: tensor ${quoteName(name)}: a row of ${t.dtype} × [${t.shape.slice(1)}] is not whole bytes; read it whole`);
    }
    const bytes = (bits / 8) * count;
    if (bytes > bufferConstants.MAX_LENGTH) {
      throw new UserError(`${this.path}: tensor ${quoteName(name)}: ${count} rows are ${bytes} bytes, too large to hold in memory`);
    }
    return readExact(this.path, this.fd, this.dataStart + t.begin + (bits / 8) * first, bytes, `tensor ${quoteName(name)} rows [${first}, ${first + count})`);
  }

  readRowsFloat32(name: string, first: number, count: number): Float32Array {
    const t = this.info(name);
    const out = rawToFloat32(t.dtype, this.readRawRows(name, first, count));
    if (out === undefined) {
      throw new UserError(`${this.path}: tensor ${quoteName(name)}: dtype ${t.dtype} cannot be read as float32`);
    }
    return out;
  }

  readFloat32(name: string): Float32Array {
    const t = this.info(name);
    const out = rawToFloat32(t.dtype, this.readRaw(name));
    if (out === undefined) {
      throw new UserError(`${this.path}: tensor ${quoteName(name)}: dtype ${t.dtype} cannot be read as float32`);
    }
    return out;
  }

  readBigInt64(name: string): BigInt64Array {
    const t = this.info(name);
    if (!INTEGER_DTYPES.includes(t.dtype)) {
      throw new UserError(`${this.path}: tensor ${quoteName(name)}: dtype ${t.dtype} is not an integer dtype`);
    }
    const out = rawToBigInt64(t.dtype, this.readRaw(name));
    if (out instanceof BigInt64Array) return out;
    throw new UserError(
      `${this.path}: tensor ${quoteName(name)}: U64 value ${out.value} at flat index ${out.badIndex} does not fit int64`,
    );
  }

  close(): void {
    if (this.fd !== undefined) fs.closeSync(this.fd);
    this.fd = undefined;
  }
}

/** One tensor to write: raw little-endian bytes in C order. */
export interface TensorToWrite {
  readonly name: string;
  readonly dtype: Dtype;
  readonly shape: readonly number[];
  readonly data: Uint8Array;
}

const LONE_SURROGATE = /[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/;

/** A tensor's place in a file being written: name, dtype and shape, without its bytes. */
export interface TensorLayout {
  readonly name: string;
  readonly dtype: Dtype;
  readonly shape: readonly number[];
}

/** Bytes of a `dtype` × `shape` tensor. */
export function tensorBytes(t: TensorLayout): number {
  return t.shape.reduce((a, d) => a * d, DTYPE_BITS[t.dtype]) / 8;
}

/** The 8-byte length and the space-padded header, tensors placed like the reference writer does:
 *  by dtype in descending reference enum order (widest first), then by name (UTF-8 byte order).
 *  `order` gives each tensor's file offset, so a streaming writer can fill the data by positioned
 *  writes. Throws Error (a bug in the caller, not bad user input) on bad input. */
export function layoutSafetensors<T extends TensorLayout>(
  tensors: readonly T[],
  metadata?: Readonly<Record<string, string>>,
): { head: Buffer; order: { tensor: T; offset: number; bytes: number }[] } {
  const names = new Set<string>();
  for (const t of tensors) {
    const where = `writeSafetensors: tensor ${quoteName(t.name)}`;
    if (names.has(t.name) || t.name === '__metadata__') throw new Error(`${where}: duplicate or reserved name`);
    if (LONE_SURROGATE.test(t.name)) throw new Error(`${where}: name is not valid Unicode`);
    names.add(t.name);
    if (!isDtype(t.dtype)) throw new Error(`${where}: unknown dtype ${String(t.dtype)}`);
    if (!t.shape.every((d) => Number.isSafeInteger(d) && d >= 0)) throw new Error(`${where}: bad shape`);
    if (!Number.isSafeInteger(tensorBytes(t))) throw new Error(`${where}: ${t.dtype} × [${t.shape}] is not whole bytes`);
  }
  const rank = (d: Dtype): number => DTYPES.indexOf(d);
  const sorted = [...tensors].sort(
    (a, b) => rank(b.dtype) - rank(a.dtype) || Buffer.compare(Buffer.from(a.name), Buffer.from(b.name)),
  );
  const entries: string[] = [];
  if (metadata !== undefined) {
    for (const [k, v] of Object.entries(metadata)) {
      if (typeof v !== 'string' || LONE_SURROGATE.test(k + v)) throw new Error(`writeSafetensors: bad metadata ${k}`);
    }
    entries.push(`"__metadata__":${JSON.stringify(metadata)}`);
  }
  let offset = 0;
  const placed: { tensor: T; offset: number; bytes: number }[] = [];
  for (const t of sorted) {
    const bytes = tensorBytes(t);
    entries.push(`${JSON.stringify(t.name)}:{"dtype":"${t.dtype}","shape":[${t.shape}],"data_offsets":[${offset},${offset + bytes}]}`);
    placed.push({ tensor: t, offset, bytes });
    offset += bytes;
  }
  const json = Buffer.from(`{${entries.join(',')}}`);
  const padded = Math.ceil(json.length / 8) * 8; // data then starts 8-aligned, as in the reference
  const head = Buffer.alloc(8 + padded, 0x20);
  head.writeBigUInt64LE(BigInt(padded), 0);
  json.copy(head, 8);
  return { head, order: placed.map((p) => ({ ...p, offset: head.length + p.offset })) };
}

/** layoutSafetensors for tensors with their bytes, checking each one's length. */
function prepare(
  tensors: readonly TensorToWrite[],
  metadata?: Readonly<Record<string, string>>,
): { head: Buffer; order: TensorToWrite[] } {
  for (const t of tensors) {
    if (!isDtype(t.dtype) || !t.shape.every((d) => Number.isSafeInteger(d) && d >= 0)) continue; // layout says why
    const bytes = tensorBytes(t);
    if (bytes !== t.data.length) {
      throw new Error(`writeSafetensors: tensor ${quoteName(t.name)}: ${t.data.length} bytes of data, but ${t.dtype} × [${t.shape}] needs ${bytes}`);
    }
  }
  const { head, order } = layoutSafetensors(tensors, metadata);
  return { head, order: order.map((p) => p.tensor) };
}

/** The whole file in memory (for tests and small models). */
export function serializeSafetensors(
  tensors: readonly TensorToWrite[],
  metadata?: Readonly<Record<string, string>>,
): Buffer {
  const { head, order } = prepare(tensors, metadata);
  return Buffer.concat([head, ...order.map((t) => t.data)]);
}

/** Writes a valid safetensors file, streaming each tensor's bytes after the header. */
export function writeSafetensors(
  path: string,
  tensors: readonly TensorToWrite[],
  metadata?: Readonly<Record<string, string>>,
): void {
  const { head, order } = prepare(tensors, metadata);
  const fd = fs.openSync(path, 'w');
  try {
    for (const chunk of [head, ...order.map((t) => t.data)]) {
      for (let done = 0; done < chunk.length; ) done += fs.writeSync(fd, chunk, done, chunk.length - done);
    }
  } finally {
    fs.closeSync(fd);
  }
}
