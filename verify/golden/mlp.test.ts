// Tests of the integer golden MLP (the spec) and the float reference, including the digits accuracy report.

import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { recognizeMlp } from '../../generators/load/mlp.ts';
import { withSafetensors, type SafetensorsFile } from '../../generators/load/safetensors.ts';
import type { FloatMlp, QuantizedLinear, QuantizedMlp, WeightBits } from '../../generators/model.ts';
import { quantizeInput, quantizeMlp } from '../../generators/quantize/mlp.ts';
import { floatMlp } from './float-mlp.ts';
import {
  accumulatorBounds,
  argmaxLowest,
  goldenMlp,
  layerInputRange,
  requant,
  signedBitsFor,
} from './mlp.ts';

const EXAMPLE = fileURLToPath(new URL('../../examples/digits-mlp/', import.meta.url));

/** Opens an example's safetensors file, runs `read` on it, and closes it. */
function withFile<T>(file: string, read: (f: SafetensorsFile) => T): T {
  return withSafetensors(EXAMPLE + file, read);
}
const readF32 = (file: string, name: string): Float32Array => withFile(file, (f) => f.readFloat32(name));

function digitsModel(): FloatMlp {
  const config: unknown = JSON.parse(readFileSync(EXAMPLE + 'config.json', 'utf8'));
  return withFile('model.safetensors', (f) => recognizeMlp(f, config));
}

/** Floor division of bigints (BigInt `/` truncates toward zero). */
function floorDiv(a: bigint, b: bigint): bigint {
  const q = a / b;
  return q * b > a ? q - 1n : q;
}

/** Independent requant reference: acc·M / 2^S as an exact rational, rounded half up by comparing the remainder. */
function requantReference(acc: bigint, M: number, S: number, actBits: number): bigint {
  const num = acc * BigInt(M);
  const den = 2n ** BigInt(S);
  const q = floorDiv(num, den);
  const rem = num - q * den; // 0 <= rem < den
  const rounded = 2n * rem >= den ? q + 1n : q;
  const hi = 2n ** BigInt(actBits - 1) - 1n;
  const lo = -(2n ** BigInt(actBits - 1));
  return rounded > hi ? hi : rounded < lo ? lo : rounded;
}

/** Slow all-bigint golden model written straight from model.ts, to check the fast number path. */
function slowGolden(q: QuantizedMlp, x: readonly number[]): { outs: number[][]; logits: bigint[] } {
  let input = x.map(BigInt);
  const outs: number[][] = [];
  for (const [k, l] of q.layers.entries()) {
    const accs = Array.from({ length: l.outFeatures }, (_, c) =>
      input.reduce((s, v, i) => s + BigInt(l.weight[c * l.inFeatures + i]) * v, l.bias[c]),
    );
    if (k === q.layers.length - 1) return { outs, logits: accs };
    input = accs.map((a, c) => {
      const y = requant(a, l.M[c], l.S[c], q.actBits);
      return l.relu && y < 0n ? 0n : y;
    });
    outs.push(input.map(Number));
  }
  throw new Error('no layers');
}

/** A random integer layer with the shapes and ranges model.ts allows. */
function arbLayer(nIn: number, nOut: number, last: boolean): fc.Arbitrary<QuantizedLinear> {
  return fc
    .record({
      bits: fc.constantFrom<WeightBits>(3, 4, 6, 8),
      relu: last ? fc.constant(false) : fc.boolean(),
      seedW: fc.array(fc.integer({ min: -127, max: 127 }), { minLength: nIn * nOut, maxLength: nIn * nOut }),
      bias: fc.array(fc.bigInt({ min: -(2n ** 31n), max: 2n ** 31n - 1n }), { minLength: nOut, maxLength: nOut }),
      M: fc.array(fc.integer({ min: 0, max: 2 ** 15 - 1 }), { minLength: nOut, maxLength: nOut }),
      S: fc.array(fc.integer({ min: 1, max: 62 }), { minLength: nOut, maxLength: nOut }),
    })
    .map(({ bits, relu, seedW, bias, M, S }) => {
      const qmax = 2 ** (bits - 1) - 1;
      return {
        name: 'l',
        inFeatures: nIn,
        outFeatures: nOut,
        weightBits: bits,
        weight: Int32Array.from(seedW, (w) => Math.max(-qmax, Math.min(qmax, w))),
        bias,
        weightScale: new Float64Array(nOut).fill(1),
        inScale: 1,
        outScale: last ? NaN : 1,
        M: last ? [] : M,
        S: last ? [] : S,
        relu,
      };
    });
}

const arbModel: fc.Arbitrary<QuantizedMlp> = fc
  .array(fc.integer({ min: 1, max: 6 }), { minLength: 2, maxLength: 4 })
  .chain((dims) =>
    fc.tuple(...dims.slice(1).map((nOut, k) => arbLayer(dims[k], nOut, k === dims.length - 2))),
  )
  .map((layers) => ({ kind: 'mlp' as const, actBits: 8, inputScale: 1, layers }));

describe('requant', () => {
  it('equals the exact rational round-half-up reference, then saturates', () => {
    fc.assert(
      fc.property(
        fc.bigInt({ min: -(2n ** 48n), max: 2n ** 48n }),
        fc.integer({ min: 0, max: 2 ** 15 - 1 }),
        fc.integer({ min: 1, max: 62 }),
        fc.constantFrom(8, 16),
        (acc, M, S, actBits) => {
          expect(requant(acc, M, S, actBits)).toBe(requantReference(acc, M, S, actBits));
        },
      ),
      { numRuns: 5000 },
    );
  });

  it('rounds exact ties up (toward +infinity) and saturates both ways', () => {
    // acc·M / 2^S = k + 1/2 for acc·M = (2k+1)·2^(S-1).
    expect(requant(5n, 1, 1, 8)).toBe(3n); // 2.5 → 3
    expect(requant(-5n, 1, 1, 8)).toBe(-2n); // -2.5 → -2
    expect(requant(-3n, 1, 1, 8)).toBe(-1n); // -1.5 → -1
    expect(requant(-7n, 1, 2, 8)).toBe(-2n); // -1.75 → -2
    expect(requant(10_000n, 1, 1, 8)).toBe(127n);
    expect(requant(-10_000n, 1, 1, 8)).toBe(-128n);
    expect(requant(123n, 0, 1, 8)).toBe(0n);
  });
});

describe('argmaxLowest', () => {
  it('picks the first of equal maxima', () => {
    expect(argmaxLowest([1n, 5n, 5n, -2n])).toBe(1);
    expect(argmaxLowest([-3n, -3n])).toBe(0);
    expect(argmaxLowest([0n, 1n, 2n, 3n])).toBe(3);
  });
});

describe('accumulatorBounds', () => {
  it('holds every accumulator and is attained at the range ends', () => {
    fc.assert(
      fc.property(
        arbLayer(8, 3, false),
        fc.constantFrom({ min: -128, max: 127 }, { min: 0, max: 127 }),
        fc.array(fc.double({ min: 0, max: 1, noNaN: true }), { minLength: 8, maxLength: 8 }),
        (layer, range, u) => {
          const b = accumulatorBounds(layer, range);
          const x = u.map((t) => Math.round(range.min + t * (range.max - range.min)));
          for (let c = 0; c < 3; c++) {
            const w = Array.from(layer.weight.subarray(c * 8, c * 8 + 8));
            const dot = (xs: number[]): bigint => xs.reduce((s, v, i) => s + BigInt(w[i] * v), 0n);
            const acc = layer.bias[c] + dot(x);
            expect(acc >= b.min[c] && acc <= b.max[c]).toBe(true);
            const xMin = w.map((wi) => (wi > 0 ? range.min : range.max));
            const xMax = w.map((wi) => (wi > 0 ? range.max : range.min));
            expect(layer.bias[c] + dot(xMin)).toBe(b.min[c]);
            expect(layer.bias[c] + dot(xMax)).toBe(b.max[c]);
            expect(dot(xMin)).toBe(b.productMin[c]);
            expect(dot(xMax)).toBe(b.productMax[c]);
          }
        },
      ),
    );
  });

  it('sizes registers with signedBitsFor', () => {
    expect(signedBitsFor(0n, 0n)).toBe(1);
    expect(signedBitsFor(-1n, 0n)).toBe(1);
    expect(signedBitsFor(0n, 1n)).toBe(2);
    expect(signedBitsFor(-128n, 127n)).toBe(8);
    expect(signedBitsFor(-129n, 127n)).toBe(9);
    expect(signedBitsFor(0n, 128n)).toBe(9);
  });
});

describe('goldenMlp', () => {
  it('matches an all-bigint model of the spec on random integer models', () => {
    fc.assert(
      fc.property(
        arbModel.chain((q) =>
          fc.tuple(fc.constant(q), fc.array(fc.integer({ min: -128, max: 127 }), { minLength: q.layers[0].inFeatures, maxLength: q.layers[0].inFeatures })),
        ),
        ([q, x]) => {
          const g = goldenMlp(q, x);
          const ref = slowGolden(q, x);
          expect(g.layerOutputs.map((o) => Array.from(o))).toEqual(ref.outs);
          expect(g.logits).toEqual(ref.logits);
          expect(g.cls).toBe(argmaxLowest(ref.logits));
        },
      ),
      { numRuns: 2000 },
    );
  });

  it('rejects inputs that are not signed actBits-bit integers', () => {
    const q = quantizeMlp(digitsModel(), readF32('calib.safetensors', 'x'), { weightBits: 8 });
    expect(() => goldenMlp(q, new Array(63).fill(0))).toThrow();
    expect(() => goldenMlp(q, [128, ...new Array(63).fill(0)])).toThrow();
    expect(() => goldenMlp(q, [0.5, ...new Array(63).fill(0)])).toThrow();
  });

  it('rejects a ReLU on the last layer (its accumulators are the logits)', () => {
    const q = quantizeMlp(digitsModel(), readF32('calib.safetensors', 'x'), { weightBits: 8 });
    const bad: QuantizedMlp = { ...q, layers: [q.layers[0], { ...q.layers[1], relu: true }] };
    expect(() => goldenMlp(bad, new Array(64).fill(0))).toThrow(/last layer/);
  });
});

describe('digits example', () => {
  const model = digitsModel();
  const calib = readF32('calib.safetensors', 'x');
  const xTest = readF32('test.safetensors', 'x');
  const yTest = Array.from(withFile('test.safetensors', (f) => f.readBigInt64('y')), Number);
  const n = yTest.length;
  const row = (x: Float32Array, r: number): Float32Array => x.subarray(r * 64, (r + 1) * 64);

  it('float model matches the torch logits within 1e-4', () => {
    const torchLogits = readF32('float_logits.safetensors', 'logits');
    expect(torchLogits.length).toBe(n * 10);
    let maxDiff = 0;
    for (let r = 0; r < n; r++) {
      const { logits } = floatMlp(model, row(xTest, r));
      for (let c = 0; c < 10; c++) maxDiff = Math.max(maxDiff, Math.abs(logits[c] - torchLogits[r * 10 + c]));
    }
    console.log(`float vs torch logits: max |diff| = ${maxDiff.toExponential(2)}`);
    expect(maxDiff).toBeLessThan(1e-4);
  });

  it('reports float vs golden accuracy on the held-out set', () => {
    const floatCls = Array.from({ length: n }, (_, r) => floatMlp(model, row(xTest, r)).cls);
    const acc = (cls: number[]): number => cls.filter((c, r) => c === yTest[r]).length / n;
    const floatAcc = acc(floatCls);
    const lines = [`digits (${n} held-out): float accuracy ${(100 * floatAcc).toFixed(2)}%`];
    const results = new Map<string, number>();
    const configs: [string, WeightBits | WeightBits[]][] = [['int8', 8], ['int6', 6], ['int4', 4], ['int3', 3], ['int3/int6', [3, 6]]];
    for (const [label, bits] of configs) {
      const q = quantizeMlp(model, calib, { weightBits: bits });
      const xInt = quantizeInput(xTest, q.inputScale, q.actBits);
      const cls = Array.from({ length: n }, (_, r) => goldenMlp(q, xInt.subarray(r * 64, (r + 1) * 64)).cls);
      const a = acc(cls);
      const agree = cls.filter((c, r) => c === floatCls[r]).length / n;
      results.set(label, a);
      lines.push(`  golden ${label.padEnd(9)} accuracy ${(100 * a).toFixed(2)}%, top-1 agreement with float ${(100 * agree).toFixed(2)}%`);
    }
    console.log(lines.join('\n'));
    expect(floatAcc).toBeGreaterThan(0.95);
    expect(results.get('int8')!).toBeGreaterThanOrEqual(floatAcc - 0.02);
    expect(results.get('int6')!).toBeGreaterThanOrEqual(floatAcc - 0.02);
    expect(results.get('int4')!).toBeGreaterThanOrEqual(floatAcc - 0.05);
    expect(results.get('int3')!).toBeGreaterThanOrEqual(floatAcc - 0.15);
  });

  it('accumulators of the quantized digits model stay inside accumulatorBounds', () => {
    const q = quantizeMlp(model, calib, { weightBits: 8 });
    const bounds = q.layers.map((l, k) => accumulatorBounds(l, layerInputRange(q, k)));
    expect(layerInputRange(q, 0)).toEqual({ min: -128, max: 127 });
    expect(layerInputRange(q, 1)).toEqual({ min: 0, max: 127 });
    const xInt = quantizeInput(xTest, q.inputScale, q.actBits);
    for (let r = 0; r < n; r++) {
      const g = goldenMlp(q, xInt.subarray(r * 64, (r + 1) * 64));
      g.logits.forEach((l, c) => expect(l >= bounds[1].min[c] && l <= bounds[1].max[c]).toBe(true));
    }
    const widths = bounds.map((b) => Math.max(...b.min.map((lo, c) => signedBitsFor(lo, b.max[c]))));
    console.log(`digits int8 accumulator widths per layer: ${widths.join(', ')} bits`);
    expect(widths[0]).toBeLessThanOrEqual(8 + 8 + 6 + 1);
  });

  it('runs 10,000+ vectors quickly', () => {
    const q = quantizeMlp(model, calib, { weightBits: 8 });
    const xInt = quantizeInput(xTest, q.inputScale, q.actBits);
    const reps = Math.ceil(10_000 / n);
    const t0 = performance.now();
    let checksum = 0;
    for (let k = 0; k < reps; k++) {
      for (let r = 0; r < n; r++) checksum += goldenMlp(q, xInt.subarray(r * 64, (r + 1) * 64)).cls;
    }
    const ms = performance.now() - t0;
    console.log(`golden digits: ${reps * n} vectors in ${ms.toFixed(0)} ms (${Math.round((reps * n * 1000) / ms)} vectors/s)`);
    expect(checksum).toBeGreaterThan(0);
    expect(ms).toBeLessThan(3000);
  });
});
