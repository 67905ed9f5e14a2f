// safetensors dtypes: element sizes, the reference writer's sort order, and exact conversions of raw
// little-endian bytes to float32 / int64.

/** Every dtype the reference reader (huggingface/safetensors `Dtype`) accepts, in its enum order —
 *  the order the reference writer sorts by (descending), so keep it. */
export const DTYPES = [
  'BOOL', 'F4', 'F6_E2M3', 'F6_E3M2', 'U8', 'I8', 'F8_E5M2', 'F8_E4M3', 'F8_E8M0',
  'I16', 'U16', 'F16', 'BF16', 'I32', 'U32', 'F32', 'C64', 'F64', 'I64', 'U64',
] as const;
export type Dtype = (typeof DTYPES)[number];

/** Bits per element. F4 and F6 pack several elements per byte; a tensor of them must fill whole bytes. */
export const DTYPE_BITS: Readonly<Record<Dtype, number>> = {
  BOOL: 8, F4: 4, F6_E2M3: 6, F6_E3M2: 6, U8: 8, I8: 8, F8_E5M2: 8, F8_E4M3: 8, F8_E8M0: 8,
  I16: 16, U16: 16, F16: 16, BF16: 16, I32: 32, U32: 32, F32: 32, C64: 64, F64: 64, I64: 64, U64: 64,
};

export function isDtype(s: string): s is Dtype {
  return Object.prototype.hasOwnProperty.call(DTYPE_BITS, s);
}

/** The float dtypes a layer's weights may have. */
export const FLOAT_DTYPES: readonly Dtype[] = ['F64', 'F32', 'F16', 'BF16'];

/** Integer-valued dtypes that readBigInt64 accepts. */
export const INTEGER_DTYPES: readonly Dtype[] = ['BOOL', 'U8', 'I8', 'I16', 'U16', 'I32', 'U32', 'I64', 'U64'];

const HOST_IS_LE = new Uint8Array(new Uint16Array([1]).buffer)[0] === 1;

/** Turns little-endian element bytes into host order in place (no-op on little-endian hosts).
 *  `buf` must start at an offset aligned to `bytes`. */
function toHostOrder(buf: Buffer, bytes: number): Buffer {
  if (HOST_IS_LE || bytes === 1) return buf;
  if (bytes === 2) return buf.swap16();
  if (bytes === 4) return buf.swap32();
  return buf.swap64();
}

function view<T>(Ctor: new (b: ArrayBuffer, o: number, n: number) => T, buf: Buffer, bytes: number): T {
  const b = toHostOrder(buf, bytes);
  return new Ctor(b.buffer as ArrayBuffer, b.byteOffset, b.length / bytes);
}

let f16Table: Float32Array | undefined;
/** All 65536 half-precision values as float32 (every half is exactly a float32). */
function halfTable(): Float32Array {
  if (f16Table) return f16Table;
  const t = new Float32Array(65536);
  for (let h = 0; h < 65536; h++) {
    const sign = h & 0x8000 ? -1 : 1;
    const exp = (h >> 10) & 0x1f;
    const man = h & 0x3ff;
    if (exp === 0) t[h] = sign * man * 2 ** -24;
    else if (exp === 31) t[h] = man ? NaN : sign * Infinity;
    else t[h] = sign * (1024 + man) * 2 ** (exp - 25);
  }
  return (f16Table = t);
}

/** 256-entry table of an 8-bit float: `expBits` exponent bits, bias 2^(expBits-1)-1, subnormals. */
function fp8Table(expBits: number, special: (b: number) => number | undefined): Float32Array {
  const manBits = 7 - expBits;
  const bias = 2 ** (expBits - 1) - 1;
  const t = new Float32Array(256);
  for (let b = 0; b < 256; b++) {
    const s = special(b);
    if (s !== undefined) {
      t[b] = s;
      continue;
    }
    const sign = b & 0x80 ? -1 : 1;
    const exp = (b >> manBits) & ((1 << expBits) - 1);
    const man = b & ((1 << manBits) - 1);
    t[b] = exp === 0
      ? sign * man * 2 ** (1 - bias - manBits)
      : sign * ((1 << manBits) + man) * 2 ** (exp - bias - manBits);
  }
  return t;
}

const fp8Tables: Partial<Record<Dtype, Float32Array>> = {};
function fp8(dtype: 'F8_E4M3' | 'F8_E5M2' | 'F8_E8M0'): Float32Array {
  const cached = fp8Tables[dtype];
  if (cached) return cached;
  let t: Float32Array;
  if (dtype === 'F8_E4M3') {
    // E4M3FN (torch.float8_e4m3fn, OCP): no infinities; S.1111.111 is NaN; max 448.
    t = fp8Table(4, (b) => ((b & 0x7f) === 0x7f ? NaN : undefined));
  } else if (dtype === 'F8_E5M2') {
    // E5M2: IEEE-style; exponent 31 is Inf (mantissa 0) or NaN.
    t = fp8Table(5, (b) => ((b & 0x7c) === 0x7c ? (b & 3 ? NaN : b & 0x80 ? -Infinity : Infinity) : undefined));
  } else {
    // E8M0 (OCP MX scale): unsigned power of two 2^(b-127); 0xFF is NaN.
    t = new Float32Array(256);
    for (let b = 0; b < 256; b++) t[b] = b === 255 ? NaN : 2 ** (b - 127);
  }
  return (fp8Tables[dtype] = t);
}

const TWO_53 = 2n ** 53n;

/** Rounds an integer to the nearest float32 (ties to even) in one step. Number(v) then fround would
 *  round twice above 2^53 and can land on the wrong side of a float32 tie; so keep the top 26 bits
 *  with a sticky bit (round to odd), which makes the final rounding exact. */
function bigintToFloat32(v: bigint): number {
  if (v < TWO_53 && v > -TWO_53) return Number(v);
  const neg = v < 0n;
  const a = neg ? -v : v;
  const shift = BigInt(a.toString(2).length - 26);
  const sticky = (a & ((1n << shift) - 1n)) !== 0n ? 1n : 0n;
  const r = Number((a >> shift) | sticky) * 2 ** Number(shift);
  return neg ? -r : r;
}

/** Converts a tensor's raw bytes to float32, exactly where float32 can hold the value (halves,
 *  bfloat16, fp8, 8/16-bit integers) and rounded to nearest otherwise (F64, large 32/64-bit ints).
 *  `raw` must be aligned to the element size; the result may share its memory. Returns undefined
 *  for dtypes that have no float32 meaning here (C64, packed F4/F6). */
export function rawToFloat32(dtype: Dtype, raw: Buffer): Float32Array | undefined {
  switch (dtype) {
    case 'F32': return view(Float32Array, raw, 4);
    case 'F64': return Float32Array.from(view(Float64Array, raw, 8));
    case 'F16': {
      const h = view(Uint16Array, raw, 2);
      const t = halfTable();
      const out = new Float32Array(h.length);
      for (let i = 0; i < h.length; i++) out[i] = t[h[i]];
      return out;
    }
    case 'BF16': {
      // bfloat16 is the top half of a float32: shift the bits up, NaN payloads included.
      const h = view(Uint16Array, raw, 2);
      const bits = new Uint32Array(h.length);
      for (let i = 0; i < h.length; i++) bits[i] = h[i] << 16;
      return new Float32Array(bits.buffer);
    }
    case 'F8_E4M3': case 'F8_E5M2': case 'F8_E8M0': {
      const t = fp8(dtype);
      const out = new Float32Array(raw.length);
      for (let i = 0; i < raw.length; i++) out[i] = t[raw[i]];
      return out;
    }
    case 'BOOL': {
      const out = new Float32Array(raw.length);
      for (let i = 0; i < raw.length; i++) out[i] = raw[i] ? 1 : 0;
      return out;
    }
    case 'U8': return Float32Array.from(raw);
    case 'I8': return Float32Array.from(view(Int8Array, raw, 1));
    case 'I16': return Float32Array.from(view(Int16Array, raw, 2));
    case 'U16': return Float32Array.from(view(Uint16Array, raw, 2));
    case 'I32': return Float32Array.from(view(Int32Array, raw, 4));
    case 'U32': return Float32Array.from(view(Uint32Array, raw, 4));
    case 'I64': case 'U64': {
      const v = dtype === 'I64' ? view(BigInt64Array, raw, 8) : view(BigUint64Array, raw, 8);
      const out = new Float32Array(v.length);
      for (let i = 0; i < v.length; i++) out[i] = bigintToFloat32(v[i]);
      return out;
    }
    default: return undefined;
  }
}

/** Converts an integer tensor's raw bytes to int64. Returns the flat index of the first U64 value
 *  above 2^63-1 instead, since it has no int64 form. `raw` must be aligned to the element size;
 *  the result may share its memory. */
export function rawToBigInt64(dtype: Dtype, raw: Buffer): BigInt64Array | { badIndex: number; value: bigint } {
  if (dtype === 'I64') return view(BigInt64Array, raw, 8);
  if (dtype === 'U64') {
    const v = view(BigUint64Array, raw, 8);
    for (let i = 0; i < v.length; i++) if (v[i] > 0x7fffffffffffffffn) return { badIndex: i, value: v[i] };
    return new BigInt64Array(v.buffer.slice(v.byteOffset, v.byteOffset + v.byteLength));
  }
  let small: ArrayLike<number>;
  switch (dtype) {
    case 'BOOL': small = Uint8Array.from(raw, (b) => (b ? 1 : 0)); break;
    case 'U8': small = raw; break;
    case 'I8': small = view(Int8Array, raw, 1); break;
    case 'I16': small = view(Int16Array, raw, 2); break;
    case 'U16': small = view(Uint16Array, raw, 2); break;
    case 'I32': small = view(Int32Array, raw, 4); break;
    case 'U32': small = view(Uint32Array, raw, 4); break;
    default: throw new Error(`rawToBigInt64: ${dtype} is not an integer dtype`);
  }
  const out = new BigInt64Array(small.length);
  for (let i = 0; i < small.length; i++) out[i] = BigInt(small[i]);
  return out;
}
