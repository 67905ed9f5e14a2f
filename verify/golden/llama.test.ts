// Tests of the integer golden Llama: each unit's arithmetic against the real value it stands for, the
// decoder on examples/tiny-llama (determinism, KV cache, reset, position 0 rebuilt from the units) and
// what quantization costs on held-out text.

import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import fc from 'fast-check';
import { beforeAll, describe, expect, it } from 'vitest';
import { recognizeLlama } from '../../generators/load/llama.ts';
import { withSafetensors, type SafetensorsFile } from '../../generators/load/safetensors.ts';
import type { FloatLlama } from '../../generators/llama-model.ts';
import { quantizeLlama, ropeIntTables, type QuantizedLlama } from '../../generators/quantize/llama.ts';
import { FloatLlamaRunner, ropeTables, windowedLoss } from './float-llama.ts';
import {
  IntLlamaRunner,
  IntLlamaStepper,
  bitLength,
  expInt,
  generateInt,
  matInt,
  normInt,
  recipOf,
  ropeInt,
  rq,
  rsqrtOf,
  sat,
} from './llama.ts';
import { quantCost } from './llamaCost.ts';

const EXAMPLE = fileURLToPath(new URL('../../examples/tiny-llama/', import.meta.url));

// A new seed every local run explores; CI uses a fixed one so that a landing is reproducible.
const seed = Number(process.env.HARDWIRE_SEED ?? (process.env.CI ? 20261126 : Date.now() % 2 ** 31));
const runs = (numRuns: number): { seed: number; numRuns: number } => ({ seed, numRuns });

function withFile<T>(file: string, read: (f: SafetensorsFile) => T): T {
  return withSafetensors(EXAMPLE + file, read);
}
const ints = (f: SafetensorsFile, name: string): number[] => Array.from(f.readBigInt64(name), Number);

let model: FloatLlama;
let q8: QuantizedLlama;
let q4: QuantizedLlama;
let prompt: number[];
let torchGreedy: number[];
let valTokens: number[];

beforeAll(() => {
  console.log(`property seed ${seed} (rerun with HARDWIRE_SEED=${seed})`);
  const config: unknown = JSON.parse(readFileSync(EXAMPLE + 'config.json', 'utf8'));
  model = withFile('model.safetensors', (f) => recognizeLlama(f, config, EXAMPLE + 'config.json'));
  ({ prompt, torchGreedy, valTokens } = withFile('reference.safetensors', (f) => ({ prompt: ints(f, 'tokens'), torchGreedy: ints(f, 'greedy'), valTokens: ints(f, 'val_tokens') })));
  const calib = withFile('calib.safetensors', (f) => {
    const tokens = ints(f, 'tokens');
    const window = Number(f.metadata?.window ?? 128);
    const windows: number[][] = [];
    for (let i = 0; i < tokens.length; i += window) windows.push(tokens.slice(i, i + window));
    return windows;
  });
  const t0 = performance.now();
  q8 = quantizeLlama(model, { weightBits: 8, calib });
  q4 = quantizeLlama(model, { weightBits: 4, calib });
  console.log(`tiny-llama quantized to int8 and int4 in ${((performance.now() - t0) / 1000).toFixed(1)} s`);
});

/** Numbers in [2^lo, 2^hi), log-uniform: every octave is sampled as often as every other. */
const logUniform = (lo: number, hi: number): fc.Arbitrary<number> =>
  fc.tuple(fc.integer({ min: lo, max: hi - 1 }), fc.double({ min: 0, max: 1, maxExcluded: true, noNaN: true })).map(([e, f]) => Math.floor(2 ** e * (1 + f)));

describe('rq and bitLength', () => {
  const exact = (a: bigint, M: bigint, S: bigint): bigint => (a * M + (1n << (S - 1n))) >> S; // BigInt >> floors

  it('rq equals (a·M + 2^(S−1)) >> S in BigInt, or refuses when a·M is not exact in a double', () => {
    let checked = 0;
    let refused = 0;
    // |a| ≤ 2^36 keeps |a·M| < 2^52 (always exact); |a| ≤ 2^40 reaches 2^56 (often refused).
    const a = fc.oneof(fc.bigInt({ min: -(2n ** 36n), max: 2n ** 36n }), fc.bigInt({ min: -(2n ** 40n), max: 2n ** 40n }));
    fc.assert(
      fc.property(a, fc.integer({ min: 0, max: 2 ** 16 - 1 }), fc.integer({ min: 1, max: 40 }), (a, M, S) => {
        const want = exact(a, BigInt(M), BigInt(S));
        const p = a * BigInt(M);
        const abs = p < 0n ? -p : p;
        if (abs + 2n ** BigInt(S - 1) < 2n ** 53n) {
          expect(rq(Number(a), M, S)).toBe(Number(want));
          checked++;
        } else {
          let got: number | undefined;
          try {
            got = rq(Number(a), M, S);
          } catch (e) {
            expect((e as Error).message).toMatch(/not exact in a double/);
            refused++;
          }
          // Where a double still holds the sum, the answer must still be the exact one.
          if (got !== undefined) expect(got).toBe(Number(want));
        }
      }),
      runs(1000),
    );
    expect(checked).toBeGreaterThan(300);
    expect(refused).toBeGreaterThan(50);
  });

  it('rq rounds half up (toward +∞) and shifts with floor for negative products', () => {
    expect(rq(3, 1, 1)).toBe(2); // 1.5 → 2
    expect(rq(-3, 1, 1)).toBe(-1); // −1.5 → −1
    expect(rq(-1, 1, 1)).toBe(0); // −0.5 → 0
    expect(rq(-5, 1, 2)).toBe(-1); // −1.25 → −1
    expect(rq(-7, 1, 2)).toBe(-2); // −1.75 → −2
    expect(rq(0, 12345, 40)).toBe(0);
    expect(() => rq(2 ** 40, 2 ** 14, 1)).toThrow('not exact in a double');
  });

  it('bitLength: 2^(L−1) ≤ v < 2^L for every safe integer, exact at 2^k − 1, 2^k and 2^k + 1 up to 2^52', () => {
    fc.assert(
      fc.property(fc.oneof(fc.maxSafeNat(), logUniform(0, 53)), (v) => {
        const L = bitLength(v);
        if (v > 0) expect(L).toBe(BigInt(v).toString(2).length);
        if (v > 0) expect(2 ** (L - 1) <= v && v < 2 ** L).toBe(true);
        else expect(L).toBe(0);
      }),
      runs(1000),
    );
    expect(bitLength(0)).toBe(0);
    for (let k = 0; k <= 52; k++) {
      expect(bitLength(2 ** k), `2^${k}`).toBe(k + 1);
      if (k > 0) expect(bitLength(2 ** k - 1), `2^${k} − 1`).toBe(k);
      if (k > 0) expect(bitLength(2 ** k + 1), `2^${k} + 1`).toBe(k + 1);
    }
    expect(bitLength(Number.MAX_SAFE_INTEGER)).toBe(53);
  });

  it('sat clamps to [−2^(b−1), 2^(b−1) − 1]', () => {
    expect([sat(128, 8), sat(-129, 8), sat(127, 8), sat(-128, 8), sat(5, 8)]).toEqual([127, -128, 127, -128, 5]);
    expect([sat(40000, 16), sat(-40000, 16)]).toEqual([32767, -32768]);
  });
});

/**
 * Bounds on (table result) / (true result) of a unit with a floored table index: the floor makes the
 * looked-up argument at most the true one, so the result is too large by a factor in [1, `truncation`];
 * rounding the entry R to an integer adds ±0.5/R.
 */
function tableBounds(truncation: number, smallestEntry: number): { lo: number; hi: number } {
  const round = 0.5 / smallestEntry;
  return { lo: 1 - round - 1e-12, hi: truncation * (1 + round) + 1e-12 };
}

/** rsqrt: the index ss >> (2k − 8) is in [256, 1024), so sqrt(ss) is over-truncated by at most sqrt(1 + 1/256) ≈ 1 + 2^−9. */
const rsqrtBounds = (q: QuantizedLlama): { lo: number; hi: number } => tableBounds(Math.sqrt(1 + 1 / 256), Math.min(...q.rsqrt.subarray(256)));
/** The largest relative error of the rsqrt unit. */
const rsqrtDelta = (q: QuantizedLlama): number => {
  const { lo, hi } = rsqrtBounds(q);
  return Math.max(hi - 1, 1 - lo);
};

describe('rsqrtOf: the RMSNorm multiplier', () => {
  const cU = (): number => Math.sqrt(q8.dims.hidden) / q8.scales.normed;
  const ratio = (ss: number): number => {
    const { R, S } = rsqrtOf(q8, ss);
    return (R * 2 ** -S * Math.sqrt(ss)) / cU();
  };

  it('R·2^−S ≈ cU/sqrt(ss) within 2^−9 (index truncation) plus the rounding of R, ss in [1, 2^40]', () => {
    const { lo, hi } = rsqrtBounds(q8);
    expect(hi - 1).toBeLessThan(2 ** -9 + 2 ** -13);
    let worst = 0;
    fc.assert(
      fc.property(logUniform(0, 40), (ss) => {
        const r = ratio(ss);
        worst = Math.max(worst, Math.abs(r - 1));
        expect(r).toBeGreaterThanOrEqual(lo);
        expect(r).toBeLessThanOrEqual(hi);
      }),
      runs(1000),
    );
    // Every small ss (the index is then exact: only R's rounding), and the top of the range.
    for (let ss = 1; ss <= 4096; ss++) {
      const r = ratio(ss);
      expect(r).toBeGreaterThanOrEqual(lo);
      expect(r).toBeLessThanOrEqual(hi);
      if (ss < 256) expect(Math.abs(r - 1)).toBeLessThanOrEqual(1 - lo);
    }
    for (const ss of [2 ** 40, 2 ** 40 - 1, 2 ** 36 + 12345, 64 * 32768 ** 2]) expect(ratio(ss)).toBeLessThanOrEqual(hi);
    console.log(`rsqrt: worst relative error ${worst.toExponential(2)} (bound ${(hi - 1).toExponential(2)})`);
  });

  it('ss = 0 gives R = 0 (a zero vector stays zero); S is a valid shift everywhere', () => {
    expect(rsqrtOf(q8, 0).R).toBe(0);
    for (const ss of [0, 1, 255, 256, 2 ** 20, 2 ** 40]) {
      const { R, S } = rsqrtOf(q8, ss);
      expect(Number.isInteger(S) && S >= 1).toBe(true);
      expect(R >= 0 && R < 2 ** 16).toBe(true);
    }
  });
});

describe('normInt: RMSNorm to int8', () => {
  const wide = fc.integer({ min: -32768, max: 32767 });
  const vec = (H: number): fc.Arbitrary<number[]> =>
    fc.oneof(
      fc.array(wide, { minLength: H, maxLength: H }),
      fc.array(fc.integer({ min: -50, max: 50 }), { minLength: H, maxLength: H }),
      // Mostly zeros with a few large entries: these saturate.
      fc.array(fc.oneof({ weight: 12, arbitrary: fc.constant(0) }, { weight: 1, arbitrary: wide }), { minLength: H, maxLength: H }),
    );

  it('u_i = sat8(x_i·cU/sqrt(Σx²)) within 1/2 LSB + the rsqrt table error; saturates exactly where the real value leaves int8', () => {
    const H = q8.dims.hidden;
    const cU = Math.sqrt(H) / q8.scales.normed;
    const delta = rsqrtDelta(q8);
    let saturated = 0;
    let unsaturated = 0;
    fc.assert(
      fc.property(vec(H), (xs) => {
        const x = Int32Array.from(xs);
        const u = normInt(q8, x);
        let ss = 0;
        for (const v of xs) ss += v * v;
        for (let i = 0; i < H; i++) {
          expect(Number.isInteger(u[i]) && u[i] >= -128 && u[i] <= 127).toBe(true);
          if (ss === 0) {
            expect(u[i]).toBe(0);
            continue;
          }
          const e = (xs[i] * cU) / Math.sqrt(ss);
          const clamped = Math.min(127, Math.max(-128, e));
          expect(Math.abs(u[i] - clamped), `x_${i} = ${xs[i]}, real ${e}`).toBeLessThanOrEqual(0.5 + Math.abs(e) * delta + 1e-9);
          if (e > 128) {
            expect(u[i]).toBe(127);
            saturated++;
          } else if (e < -129) {
            expect(u[i]).toBe(-128);
            saturated++;
          } else if (Math.abs(e) < 126) unsaturated++;
        }
      }),
      runs(300),
    );
    expect(saturated).toBeGreaterThan(0);
    expect(unsaturated).toBeGreaterThan(1000);
  });

  it('one-hot saturates (its real value is cU ≈ 220); equal entries give cU/sqrt(hidden) = 1/scale; zero stays zero', () => {
    const H = q8.dims.hidden;
    const cU = Math.sqrt(H) / q8.scales.normed;
    expect(cU).toBeGreaterThan(128); // so that a lone entry saturates
    for (const v of [1, 1000, 32767, -1, -32768]) {
      const x = new Int32Array(H);
      x[3] = v;
      const u = normInt(q8, x);
      expect(u[3]).toBe(v > 0 ? 127 : -128);
      expect(u.filter((_, i) => i !== 3).every((w) => w === 0)).toBe(true);
    }
    for (const v of [1, -7, 300, 32767, -32768]) {
      const u = normInt(q8, new Int32Array(H).fill(v));
      const e = Math.sign(v) / q8.scales.normed; // real normalized value ±1 at the normed scale
      for (const w of u) expect(Math.abs(w - e)).toBeLessThanOrEqual(0.5 + Math.abs(e) * rsqrtDelta(q8) + 1e-9);
    }
    expect(Array.from(normInt(q8, new Int32Array(H)))).toEqual(new Array(H).fill(0));
  });
});

describe('recipOf and expInt: the softmax units', () => {
  it('recipOf: R·2^−S ≈ 1/sum within 2^−9 (index truncation) plus the rounding of R, sum in [2^15, 2^30]', () => {
    const { lo, hi } = tableBounds(1 + 1 / 512, Math.min(...q8.recip));
    expect(hi - 1).toBeLessThan(2 ** -9 + 2 ** -13);
    const ratio = (sum: number): number => {
      const { R, S } = recipOf(q8, sum);
      return R * 2 ** -S * sum;
    };
    fc.assert(
      fc.property(logUniform(15, 30), (sum) => {
        expect(ratio(sum), `sum ${sum}`).toBeGreaterThanOrEqual(lo);
        expect(ratio(sum), `sum ${sum}`).toBeLessThanOrEqual(hi);
      }),
      runs(1000),
    );
    // Every sum of the first two octaves (every table entry, each at several truncations), and the top.
    let min = Infinity;
    let max = 0;
    for (let sum = 2 ** 15; sum < 2 ** 17; sum++) {
      const r = ratio(sum);
      min = Math.min(min, r);
      max = Math.max(max, r);
    }
    expect(min).toBeGreaterThanOrEqual(lo);
    expect(max).toBeLessThanOrEqual(hi);
    expect(ratio(2 ** 30)).toBeLessThanOrEqual(hi);
    expect(recipOf(q8, 2 ** 15)).toEqual({ R: 32768, S: 30 }); // exactly 2^−15
  });

  it('one position: e = sum = 32768 and rq(e·v, R, S) gives v back exactly', () => {
    const e = expInt(q8, 0);
    expect(e).toBe(32768);
    const { R, S } = recipOf(q8, e);
    for (let v = -128; v <= 127; v++) expect(rq(e * v, R, S)).toBe(v);
  });

  it('expInt(d) ≈ 2^15·exp(−d·α), α = s_q·s_k/sqrt(headDim): within the bound from z rounding, M and the table', () => {
    const alpha = (q8.scales.q * q8.scales.k) / Math.sqrt(q8.dims.headDim);
    const want = alpha * Math.LOG2E * 64; // z per unit of d
    const eps = Math.abs(q8.expM / 2 ** q8.expS / want - 1);
    expect(eps).toBeLessThan(2 ** -14);
    const rho = 0.5 / Math.min(...q8.exp2); // EXP2 rounding, relative
    let worst = 0;
    const check = (d: number): void => {
      const e = expInt(q8, d);
      const ideal = 2 ** 15 * Math.exp(-d * alpha);
      const t = d * want;
      const zErr = (0.5 + t * eps) / 64; // |z − t| in octaves
      expect(Number.isInteger(e) && e >= 0 && e <= 32768).toBe(true);
      // Multiplied out: ideal underflows to 0 for large d.
      expect(e, `d ${d}`).toBeLessThanOrEqual(ideal * (2 ** zErr * (1 + rho) + 1e-12));
      // The shift floors: e is up to 1 below.
      expect(e + 1, `d ${d}`).toBeGreaterThanOrEqual(ideal * (2 ** -zErr * (1 - rho) - 1e-12));
      if (e >= 256) {
        worst = Math.max(worst, Math.abs(e / ideal - 1));
        expect(Math.abs(e / ideal - 1), `d ${d}`).toBeLessThan(0.01);
      }
    };
    // Scores are int8·int8 dot products over headDim: d < 2 · headDim · 2^14.
    const dMax = 2 * q8.dims.headDim * 2 ** 14;
    fc.assert(fc.property(fc.integer({ min: 0, max: dMax }), check), runs(1000));
    const zeroFrom = Math.ceil((1024 - 0.5) / (q8.expM / 2 ** q8.expS)); // z ≥ 1024 from here
    for (let d = 0; d <= zeroFrom + 64; d++) check(d);
    console.log(`exp: worst relative error where e ≥ 256: ${worst.toExponential(2)}; e = 0 from d = ${zeroFrom}`);
  });

  it('expInt is monotone non-increasing, 32768 at d = 0 and 0 for large d', () => {
    expect(expInt(q8, 0)).toBe(32768);
    let prev = 32768;
    let d = 0;
    for (; prev > 0; d++) {
      const e = expInt(q8, d);
      expect(e, `d ${d}`).toBeLessThanOrEqual(prev);
      prev = e;
    }
    expect(d).toBeGreaterThan(1000); // it decays over many steps, not at once
    for (const big of [d, d + 1, 2 ** 19, 2 ** 25, 2 ** 30]) expect(expInt(q8, big)).toBe(0);
  });
});

describe('ropeInt', () => {
  const P = 1024;
  const hd = (): number => q8.dims.headDim;

  it('each pair is the real rotation within 0.51 (½ rounding + table rounding), clamped to int8; the norm is kept within 0.75', () => {
    const d = q8.dims;
    const half = d.headDim / 2;
    const { cos, sin } = ropeIntTables(d, P);
    const real = ropeTables(d.headDim, d.ropeTheta, P);
    const clamp8 = (v: number): number => Math.min(127, Math.max(-128, v));
    let kept = 0;
    fc.assert(
      fc.property(fc.integer({ min: 0, max: P - 1 }), fc.array(fc.integer({ min: -128, max: 127 }), { minLength: d.heads * d.headDim, maxLength: d.heads * d.headDim }), (p, xs) => {
        const v = Int32Array.from(xs);
        ropeInt(v, d.headDim, cos, sin, p);
        for (let h = 0; h < xs.length; h += d.headDim) {
          for (let i = 0; i < half; i++) {
            const a = xs[h + i];
            const b = xs[h + i + half];
            const c = real.cos[p * half + i];
            const s = real.sin[p * half + i];
            // |a·ΔC − b·ΔS|/2^14 ≤ 128/2^14 < 0.008 from the table's rounding, + ½ from the final rounding.
            expect(Math.abs(v[h + i] - clamp8(a * c - b * s))).toBeLessThanOrEqual(0.51);
            expect(Math.abs(v[h + i + half] - clamp8(b * c + a * s))).toBeLessThanOrEqual(0.51);
            if (Math.hypot(a, b) <= 126) {
              expect(Math.abs(Math.hypot(v[h + i], v[h + i + half]) - Math.hypot(a, b))).toBeLessThanOrEqual(0.75);
              kept++;
            }
          }
        }
      }),
      runs(300),
    );
    expect(kept).toBeGreaterThan(1000);
  });

  it('position 0 is the identity, saturation included', () => {
    const d = q8.dims;
    const { cos, sin } = ropeIntTables(d, 4);
    fc.assert(
      fc.property(fc.array(fc.integer({ min: -128, max: 127 }), { minLength: d.heads * hd(), maxLength: d.heads * hd() }), (xs) => {
        const v = Int32Array.from(xs);
        ropeInt(v, hd(), cos, sin, 0);
        expect(Array.from(v)).toEqual(xs);
      }),
      runs(200),
    );
    const extremes = Int32Array.from({ length: d.heads * hd() }, (_, i) => (i % 2 ? -128 : 127));
    const v = extremes.slice();
    ropeInt(v, hd(), cos, sin, 0);
    expect(v).toEqual(extremes);
  });

  it('a pair beyond the int8 circle saturates: (127, 127) turned by ~45° clamps to 127', () => {
    const d = q8.dims;
    const half = d.headDim / 2;
    const { cos, sin } = ropeIntTables(d, 8);
    // Pair 0 turns by p radians; p = 7 ≈ 2π + 0.72 ≈ 41°: a·cos − b·sin is small, b·cos + a·sin ≈ 179.
    const v = new Int32Array(d.headDim);
    v[0] = 127;
    v[half] = 127;
    ropeInt(v, d.headDim, cos, sin, 7);
    expect(v[half]).toBe(127);
    expect(Math.abs(v[0] - 127 * (Math.cos(7) - Math.sin(7)))).toBeLessThanOrEqual(0.51);
  });
});

/** The decoder step at position 0, built from the units: attention over one position returns V itself. */
function stepAtZero(q: QuantizedLlama, token: number): Int32Array {
  const d = q.dims;
  const hd = d.headDim;
  const rep = d.heads / d.kvHeads;
  const x = q.embed.slice(token * d.hidden, (token + 1) * d.hidden);
  const add = (o: Int32Array): void => {
    for (let i = 0; i < x.length; i++) x[i] = sat(x[i] + o[i], 16);
  };
  for (const l of q.layers) {
    const v = matInt(l.v, normInt(q, x));
    // Query head h reads KV head ⌊h / rep⌋; q and k (and RoPE) do not matter for a single position.
    const att = Int32Array.from({ length: d.heads * hd }, (_, j) => v[Math.floor(Math.floor(j / hd) / rep) * hd + (j % hd)]);
    add(matInt(l.o, att));
    const u2 = normInt(q, x);
    const gate = matInt(l.gate, u2);
    const up = matInt(l.up, u2);
    add(matInt(l.down, Int32Array.from(gate, (g, i) => sat(rq(q.silu[g + 128] * up[i], q.actM, q.actS), 8))));
  }
  return matInt(q.lmHead, normInt(q, x));
}

describe('IntLlamaRunner on examples/tiny-llama', () => {
  const N = 64;

  it('position 0 of every token equals the step rebuilt from the units (single-position attention = V)', () => {
    for (const q of [q8, q4]) {
      const runner = new IntLlamaRunner(q, 4);
      for (let t = 0; t < q.dims.vocab; t++) {
        runner.reset();
        const got = runner.step(t);
        const want = stepAtZero(q, t);
        expect(got.logits, `int${q.weightBits} token ${t}`).toEqual(want);
        let best = 0;
        for (let j = 1; j < want.length; j++) if (want[j] > want[best]) best = j;
        expect(got.next).toBe(best);
      }
    }
  });

  it(`${N}-token greedy text is deterministic, logits are int16, next is the lowest argmax`, () => {
    const t0 = performance.now();
    const a = generateInt(q8, prompt, N, model.dims.maxPositions);
    const ms = (performance.now() - t0) / (prompt.length + N - 1);
    const b = generateInt(q8, prompt, N, model.dims.maxPositions);
    expect(a.tokens).toHaveLength(N);
    expect(b.tokens).toEqual(a.tokens);
    expect(a.runner.position).toBe(prompt.length + N - 1);

    // The same text stepped by hand: every logit an int16, next = first index of the maximum.
    const r = new IntLlamaRunner(q8, model.dims.maxPositions);
    let next = 0;
    for (const t of prompt) next = r.step(t).next;
    const mine: number[] = [];
    for (let i = 0; i < N; i++) {
      mine.push(next);
      if (i + 1 === N) break;
      const { logits, next: n } = r.step(next);
      expect(logits).toHaveLength(q8.dims.vocab);
      for (const v of logits) expect(Number.isInteger(v) && v >= -32768 && v <= 32767).toBe(true);
      expect(n).toBe(logits.indexOf(Math.max(...logits)));
      next = n;
    }
    expect(mine).toEqual(a.tokens);
    const same = a.tokens.filter((t, i) => t === torchGreedy[i]).length;
    let prefix = 0;
    while (prefix < N && a.tokens[prefix] === torchGreedy[prefix]) prefix++;
    console.log(`int8 greedy: ${ms.toFixed(1)} ms/token; ${same}/${N} tokens equal torch's float greedy, first ${prefix} in a row`);
    // IntLlamaStepper: the same logits times the logit scale.
    const s = new IntLlamaStepper(q8, 8);
    const r2 = new IntLlamaRunner(q8, 8);
    for (const t of prompt.slice(0, 8)) {
      const f = s.step(t);
      const i = r2.step(t).logits;
      expect(Array.from(f)).toEqual(Array.from(i, (v) => v * q8.scales.logits));
    }
  });

  it('the KV cache after generation equals a second runner fed the same tokens; layer 0 rows are the units of each token', () => {
    const ctx = model.dims.maxPositions;
    const { tokens, runner } = generateInt(q4, prompt, N, ctx);
    const fed = [...prompt, ...tokens.slice(0, -1)];
    const second = new IntLlamaRunner(q4, ctx);
    const nexts = fed.map((t) => second.step(t).next);
    expect(nexts.slice(prompt.length - 1)).toEqual(tokens);
    const d = q4.dims;
    const kvw = d.kvHeads * d.headDim;
    for (let n = 0; n < d.layers; n++) {
      expect(second.keys[n]).toEqual(runner.keys[n]);
      expect(second.values[n]).toEqual(runner.values[n]);
      // Rows past the last position were never written.
      expect(runner.keys[n].subarray(fed.length * kvw).every((v) => v === 0)).toBe(true);
      for (const v of runner.keys[n]) expect(v >= -128 && v <= 127).toBe(true);
    }
    // Layer 0 reads only the token's embedding: its K row is rope(k(norm(embed))) at that position, V row v(norm(embed)).
    const { cos, sin } = ropeIntTables(d, ctx);
    const l0 = q4.layers[0];
    fed.forEach((t, p) => {
      const u = normInt(q4, q4.embed.slice(t * d.hidden, (t + 1) * d.hidden));
      const k = matInt(l0.k, u);
      ropeInt(k, d.headDim, cos, sin, p);
      expect(runner.keys[0].subarray(p * kvw, (p + 1) * kvw), `K row ${p}`).toEqual(k);
      expect(runner.values[0].subarray(p * kvw, (p + 1) * kvw), `V row ${p}`).toEqual(matInt(l0.v, u));
    });
  });

  it('reset() restarts at position 0: after another text, the same prompt gives the same tokens and logits', () => {
    const ctx = model.dims.maxPositions;
    const fresh = generateInt(q8, prompt, N, ctx).tokens;
    const r = new IntLlamaRunner(q8, ctx);
    // Fill the cache with other text, longer than prompt + N, so that stale rows lie past the new positions too.
    for (const t of valTokens.slice(200, 200 + ctx)) r.step(t);
    expect(r.position).toBe(ctx);
    expect(() => r.step(0)).toThrow(`holds ${ctx} positions`);
    r.reset();
    expect(r.position).toBe(0);
    let next = 0;
    for (const t of prompt) next = r.step(t).next;
    const again: number[] = [];
    for (let i = 0; i < N; i++) {
      again.push(next);
      if (i + 1 < N) next = r.step(next).next;
    }
    expect(again).toEqual(fresh);
    // The first step after a reset equals a fresh runner's first step exactly.
    r.reset();
    expect(r.step(prompt[0]).logits).toEqual(new IntLlamaRunner(q8, ctx).step(prompt[0]).logits);
  });

  it('refuses tokens outside the vocabulary and an empty prompt', () => {
    const r = new IntLlamaRunner(q8, 4);
    for (const t of [-1, q8.dims.vocab, 1.5, Number.NaN]) expect(() => r.step(t)).toThrow('outside the vocabulary');
    expect(r.position).toBe(0);
    expect(() => generateInt(q8, [], 4, 4)).toThrow('prompt is empty');
  });
});

describe('what quantization costs (llamaCost) on the first 512 val_tokens, windows of 128', () => {
  // Measured here on these 512 tokens (508 scored): float 1.2222 nats/char; int8 1.2307 (+0.0085),
  // 482/508 = 94.9% argmax agreement; int4 1.2691 (+0.047), 454/508 = 89.4%. On all 2048 val_tokens:
  // float 1.1702, int8 1.1715 / 95.92%, int4 1.2193 / 89.03%. The bounds leave about 3× margin on the loss.
  const N = 512;
  const W = 128;

  it('int8: ≥ 90% agreement with the float argmax, loss within 0.03 nats of float', () => {
    const c = quantCost(model, q8, valTokens.slice(0, N), W);
    console.log(`int8: float ${c.floatLoss.toFixed(4)}, int ${c.intLoss.toFixed(4)} nats/char, agree ${c.agree}/${c.n}`);
    expect(c.n).toBe((N / W) * (W - 1));
    expect(c.window).toBe(W);
    // The float side is train.py's protocol: the same number as windowedLoss.
    expect(c.floatLoss).toBeCloseTo(windowedLoss(new FloatLlamaRunner(model, W), valTokens.slice(0, N), W), 9);
    expect(c.agree / c.n).toBeGreaterThanOrEqual(0.9);
    expect(Math.abs(c.intLoss - c.floatLoss)).toBeLessThan(0.03);
  });

  it('int4: loss within 0.15 nats of float (but above it), ≥ 80% agreement', () => {
    const c4 = quantCost(model, q4, valTokens.slice(0, N), W);
    console.log(`int4: float ${c4.floatLoss.toFixed(4)}, int ${c4.intLoss.toFixed(4)} nats/char, agree ${c4.agree}/${c4.n}`);
    expect(c4.intLoss - c4.floatLoss).toBeLessThan(0.15);
    expect(c4.intLoss - c4.floatLoss).toBeGreaterThan(0); // 4-bit weights do cost something
    expect(c4.agree / c4.n).toBeGreaterThanOrEqual(0.8);
  });
});
