// Validation of a safetensors JSON header, following the reference reader's rules (huggingface/
// safetensors `Metadata::validate`), a little stricter where the reference is lax (see below).
//
// Rules: the header is UTF-8 JSON, an object; `__metadata__` (optional, may be null) maps strings to
// strings; every other key is a tensor `{dtype, shape, data_offsets}` — no other fields, no key twice;
// shape is a list of non-negative integers; data_offsets is [begin, end], begin <= end; sorted by
// offsets, the tensors tile the data section from byte 0 with no gap and no overlap; each tensor's
// size is exactly its element count times its dtype size; the data section ends at the last tensor's
// end. Stricter than the reference, which ignores unknown fields and keeps the last of duplicate keys.

import { UserError } from '../../core/errors.ts';
import { DTYPE_BITS, DTYPES, isDtype, type Dtype } from './dtypes.ts';
import { JsonUnsafeNumber, JsonSyntaxError, parseStrictJson, type JsonValue } from './strictJson.ts';

/** The reference reader's cap on the header length: larger headers are refused before allocation. */
export const MAX_HEADER_BYTES = 100_000_000;

/** Where one tensor's bytes lie; begin/end are relative to the data section (after the header). */
export interface TensorInfo {
  readonly name: string;
  readonly dtype: Dtype;
  readonly shape: number[];
  readonly begin: number;
  readonly end: number;
}

export interface SafetensorsHeader {
  /** In order of data offset. */
  readonly tensors: readonly TensorInfo[];
  readonly metadata: Record<string, string> | undefined;
}

const TENSOR_FIELDS = ['dtype', 'shape', 'data_offsets'];

/** A tensor name or key as it appears in a one-line message: quoted, escaped, shortened. */
export function quoteName(name: string): string {
  const s = JSON.stringify(name).slice(1, -1).replace(/'/g, "\\'");
  return `'${s.length > 120 ? `${s.slice(0, 117)}...` : s}'`;
}

/** A JSON value as it appears in a one-line message, shortened. */
function show(v: JsonValue): string {
  const full = (x: JsonValue): string => {
    if (x instanceof JsonUnsafeNumber) return x.text;
    if (x instanceof Map) return x.size === 0 ? '{}' : '{...}';
    if (Array.isArray(x)) return `[${x.slice(0, 20).map(full).join(',')}${x.length > 20 ? ',...' : ''}]`;
    return JSON.stringify(x);
  };
  const s = full(v);
  return s.length > 80 ? `${s.slice(0, 77)}...` : s;
}

function isCount(v: JsonValue): v is number {
  return typeof v === 'number' && Number.isSafeInteger(v) && v >= 0;
}

/** Decodes, parses and validates the header bytes. `dataBytes` is the length of the data section. */
export function parseSafetensorsHeader(path: string, header: Buffer, dataBytes: number): SafetensorsHeader {
  const fail = (why: string): never => {
    throw new UserError(`${path}: ${why}`);
  };
  let text: string;
  try {
    // ignoreBOM keeps a leading BOM in the text, so that it is refused as JSON like the reference does.
    text = new TextDecoder('utf-8', { fatal: true, ignoreBOM: true }).decode(header);
  } catch {
    return fail('header is not valid UTF-8');
  }
  let root: JsonValue;
  try {
    root = parseStrictJson(text);
  } catch (e) {
    if (!(e instanceof JsonSyntaxError)) throw e;
    const at = `file byte ${8 + Buffer.byteLength(text.slice(0, e.at))}`;
    if (e.duplicate?.depth === 1) return fail(`header names tensor ${quoteName(e.duplicate.key)} twice (${at})`);
    return fail(`header is not valid JSON: ${e.message} (${at})`);
  }
  if (!(root instanceof Map)) return fail(`header is not a JSON object (got ${show(root)})`);

  let metadata: Record<string, string> | undefined;
  const tensors: TensorInfo[] = [];
  for (const [name, entry] of root) {
    if (name === '__metadata__') {
      metadata = readMetadata(entry, fail);
      continue;
    }
    const where = `tensor ${quoteName(name)}`;
    if (!(entry instanceof Map)) return fail(`${where}: entry must be an object, got ${show(entry)}`);
    for (const k of entry.keys()) {
      if (!TENSOR_FIELDS.includes(k)) {
        fail(`${where}: unknown field ${quoteName(k)} (allowed: ${TENSOR_FIELDS.join(', ')})`);
      }
    }
    for (const k of TENSOR_FIELDS) if (!entry.has(k)) fail(`${where}: missing field '${k}'`);
    const dtype = entry.get('dtype')!;
    if (typeof dtype !== 'string') return fail(`${where}: dtype must be a string, got ${show(dtype)}`);
    if (!isDtype(dtype)) return fail(`${where}: unknown dtype ${quoteName(dtype)} (known: ${DTYPES.join(', ')})`);
    const shape = entry.get('shape')!;
    if (!Array.isArray(shape) || !shape.every(isCount)) {
      return fail(`${where}: shape must be a list of non-negative integers, got ${show(shape)}`);
    }
    const offsets = entry.get('data_offsets')!;
    if (!Array.isArray(offsets) || offsets.length !== 2 || !offsets.every(isCount)) {
      return fail(`${where}: data_offsets must be [begin, end] of non-negative integers, got ${show(offsets)}`);
    }
    const [begin, end] = offsets as number[];
    if (begin > end) fail(`${where}: data_offsets [${begin},${end}] has begin > end`);
    tensors.push({ name, dtype, shape: shape as number[], begin, end });
  }

  // The reference sorts by (begin, end) and then demands an exact tiling from 0.
  tensors.sort((a, b) => a.begin - b.begin || a.end - b.end);
  let expected = 0;
  let prev: TensorInfo | undefined;
  for (const t of tensors) {
    const where = `tensor ${quoteName(t.name)}`;
    const span = `[${t.begin},${t.end}]`;
    if (prev === undefined && t.begin !== 0) fail(`${where}: data_offsets ${span} must begin at 0 (first tensor)`);
    if (prev !== undefined && t.begin < expected) {
      fail(`${where}: data_offsets ${span} overlap tensor ${quoteName(prev.name)} [${prev.begin},${prev.end}]`);
    }
    if (prev !== undefined && t.begin > expected) {
      fail(`${where}: data_offsets ${span} leave a gap of ${t.begin - expected} bytes after tensor ` +
        `${quoteName(prev.name)} [${prev.begin},${prev.end}]`);
    }
    const bytes = byteSize(t, where, fail);
    if (t.end - t.begin !== bytes) {
      fail(`${where}: data size ${t.end - t.begin} bytes does not match ${t.dtype} × [${t.shape}] = ${bytes} bytes`);
    }
    expected = t.end;
    prev = t;
  }
  if (dataBytes !== expected) {
    const last = prev === undefined ? 'the header lists no tensor data' : `tensors end at byte ${expected}`;
    const diff = Math.abs(dataBytes - expected);
    const bytes = `${diff} ${dataBytes > expected ? 'trailing ' : ''}byte${diff === 1 ? '' : 's'}`;
    fail(`data section is ${dataBytes} bytes but ${last} (${bytes}${dataBytes > expected ? '' : ' missing'})`);
  }
  return { tensors, metadata };
}

function readMetadata(entry: JsonValue, fail: (why: string) => never): Record<string, string> | undefined {
  if (entry === null) return undefined; // serde reads null as "no metadata"
  if (!(entry instanceof Map)) return fail(`field '__metadata__' must be an object of strings, got ${show(entry)}`);
  for (const [k, v] of entry) {
    if (typeof v !== 'string') {
      fail(`field '__metadata__': value of key ${quoteName(k)} must be a string, got ${show(v)}`);
    }
  }
  // fromEntries defines own properties, so a key like "__proto__" stays data.
  return Object.fromEntries(entry as Map<string, string>);
}

/** dtype size × element count, with the reference's overflow checks (left to right), capped at 2^53. */
function byteSize(t: TensorInfo, where: string, fail: (why: string) => never): number {
  let n = 1;
  for (const d of t.shape) {
    if (d !== 0 && n > Number.MAX_SAFE_INTEGER / d) fail(`${where}: shape [${t.shape}] has too many elements`);
    n *= d;
  }
  const bits = DTYPE_BITS[t.dtype];
  if (n > Math.floor(Number.MAX_SAFE_INTEGER / bits)) fail(`${where}: ${t.dtype} × [${t.shape}] is too many bytes`);
  if ((n * bits) % 8 !== 0) fail(`${where}: ${t.dtype} × [${t.shape}] is ${n * bits} bits, not whole bytes`);
  return (n * bits) / 8;
}
