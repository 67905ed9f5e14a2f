// Exactness of the dtype conversions beyond what the reference fixtures cover.

import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { rawToBigInt64, rawToFloat32 } from './dtypes.ts';

const f32 = new Float32Array(1);
const u32 = new Uint32Array(f32.buffer);
/** The float32 whose bit pattern is one step from `x` (towards +inf if up, for x > 0). */
function stepF32(x: number, delta: number): number {
  f32[0] = x;
  u32[0] += delta;
  return f32[0];
}

/** Nearest float32 to an integer with |v| >= 2^24, ties to even, found by brute comparison. */
function nearestF32(v: bigint): number {
  const f = Math.fround(Number(v));
  let best = f;
  let bestErr: bigint | undefined;
  for (const c of [stepF32(f, -1), f, stepF32(f, 1)]) {
    const err = BigInt(c) > v ? BigInt(c) - v : v - BigInt(c);
    f32[0] = c;
    const even = (u32[0] & 1) === 0;
    if (bestErr === undefined || err < bestErr || (err === bestErr && even)) {
      best = c;
      bestErr = err;
    }
  }
  return best;
}

function int64Bytes(values: bigint[]): Buffer {
  const b = Buffer.alloc(values.length * 8);
  values.forEach((v, i) => b.writeBigInt64LE(v, i * 8));
  return b;
}

describe('int64 → float32 rounds once, to nearest, ties to even', () => {
  const big = fc.bigInt({ min: -(2n ** 63n), max: 2n ** 63n - 1n }).filter((v) => v >= 2n ** 24n || v <= -(2n ** 24n));
  // Values at and right beside a float32 tie, where rounding twice (via a double) goes wrong.
  const nearTie = fc
    .tuple(fc.integer({ min: 25, max: 62 }), fc.bigInt({ min: 2n ** 23n, max: 2n ** 24n - 1n }), fc.integer({ min: -2, max: 2 }), fc.boolean())
    .map(([e, m, d, neg]) => {
      const shift = BigInt(e - 24);
      const v = (m << shift) + (1n << (shift - 1n)) + BigInt(d);
      return neg ? -v : v;
    })
    .filter((v) => v < 2n ** 63n && v >= -(2n ** 63n));

  it('matches a brute-force nearest search', () => {
    fc.assert(
      fc.property(fc.oneof(big, nearTie), (v) => {
        const got = rawToFloat32('I64', int64Bytes([v]))![0];
        expect(got).toBe(nearestF32(v));
      }),
      { numRuns: 2000 },
    );
  });

  it('handles the case that double rounding gets wrong', () => {
    const v = 2n ** 60n + 2n ** 36n + 1n; // just above a tie; via a double it would round down
    expect(rawToFloat32('I64', int64Bytes([v]))![0]).toBe(2 ** 60 + 2 ** 37);
  });
});

describe('F16 → float32', () => {
  const all = Buffer.alloc(65536 * 2);
  for (let h = 0; h < 65536; h++) all.writeUInt16LE(h, h * 2);
  const got = rawToFloat32('F16', all)!;

  it('matches the textbook formula for all 65536 halves', () => {
    const wrong: number[] = [];
    for (let h = 0; h < 65536; h++) {
      const s = h >> 15 ? -1 : 1;
      const e = (h >> 10) & 31;
      const m = h & 1023;
      const want = e === 31 ? (m ? NaN : s * Infinity) : e === 0 ? s * Math.pow(2, -14) * (m / 1024) : s * Math.pow(2, e - 15) * (1 + m / 1024);
      if (!Object.is(got[h], want) && !(Number.isNaN(got[h]) && Number.isNaN(want))) wrong.push(h);
    }
    expect(wrong).toEqual([]);
  });

  it('is strictly increasing over the non-negative halves', () => {
    let bad = -1;
    for (let h = 1; h <= 0x7c00 && bad < 0; h++) if (!(got[h] > got[h - 1])) bad = h;
    expect(bad).toBe(-1);
  });
});

describe('integer views', () => {
  it('U64 above 2^63-1 has no int64 form; the first such index is reported', () => {
    const b = Buffer.alloc(24);
    b.writeBigUInt64LE(1n, 0);
    b.writeBigUInt64LE(2n ** 63n, 8);
    b.writeBigUInt64LE(2n ** 64n - 1n, 16);
    expect(rawToBigInt64('U64', b)).toEqual({ badIndex: 1, value: 2n ** 63n });
  });

  it('BOOL bytes other than 0 and 1 read as 1 (true)', () => {
    expect(Array.from(rawToFloat32('BOOL', Buffer.from([0, 1, 2, 255]))!)).toEqual([0, 1, 1, 1]);
    expect(Array.from(rawToBigInt64('BOOL', Buffer.from([0, 7])) as BigInt64Array)).toEqual([0n, 1n]);
  });

  it('F8_E8M0 is a power-of-two scale', () => {
    expect(Array.from(rawToFloat32('F8_E8M0', Buffer.from([0, 127, 130, 254, 255]))!)).toEqual([2 ** -127, 1, 8, 2 ** 127, NaN]);
  });
});
