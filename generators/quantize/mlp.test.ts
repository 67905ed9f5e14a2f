// Tests of MLP quantization: rounding, per-channel weights, requant parameters, calibration, the digits example.

import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { UserError } from '../../core/errors.ts';
import { recognizeMlp } from '../load/mlp.ts';
import { withSafetensors, type SafetensorsFile } from '../load/safetensors.ts';
import type { FloatMlp, WeightBits } from '../model.ts';
import {
  calibrateScales,
  chooseRequant,
  quantizeInput,
  quantizeMlp,
  quantizeWeights,
  roundHalfAway,
  symmetricMax,
} from './mlp.ts';

const EXAMPLE = fileURLToPath(new URL('../../examples/digits-mlp/', import.meta.url));
const BITS: readonly WeightBits[] = [3, 4, 6, 8];

/** Opens an example's safetensors file, runs `read` on it, and closes it. */
function withFile<T>(file: string, read: (f: SafetensorsFile) => T): T {
  return withSafetensors(EXAMPLE + file, read);
}
const readF32 = (file: string, name: string): Float32Array => withFile(file, (f) => f.readFloat32(name));

function digitsModel(): FloatMlp {
  const config: unknown = JSON.parse(readFileSync(EXAMPLE + 'config.json', 'utf8'));
  return withFile('model.safetensors', (f) => recognizeMlp(f, config));
}

describe('roundHalfAway', () => {
  const real = fc.double({ min: -1e9, max: 1e9, noNaN: true });

  it('is an integer within 1/2 of x', () => {
    fc.assert(
      fc.property(real, (x) => {
        const r = roundHalfAway(x);
        expect(Number.isInteger(r)).toBe(true);
        expect(Math.abs(r - x)).toBeLessThanOrEqual(0.5);
      }),
    );
  });

  it('is odd: round(-x) = -round(x)', () => {
    fc.assert(
      fc.property(real, (x) => {
        expect(roundHalfAway(-x)).toBe(-roundHalfAway(x) || 0);
        expect(Object.is(roundHalfAway(x), -0)).toBe(false);
      }),
    );
  });

  it('sends exact ties away from zero', () => {
    fc.assert(
      fc.property(fc.integer({ min: 0, max: 1e6 }), (k) => {
        expect(roundHalfAway(k + 0.5)).toBe(k + 1);
        expect(roundHalfAway(-k - 0.5)).toBe(-k - 1);
      }),
    );
    expect(roundHalfAway(0.49999999999999994)).toBe(0);
    expect(roundHalfAway(-0.5)).toBe(-1);
    expect(roundHalfAway(2.5)).toBe(3);
  });
});

describe('quantizeWeights', () => {
  const matrix = fc
    .record({ nOut: fc.integer({ min: 1, max: 6 }), nIn: fc.integer({ min: 1, max: 12 }) })
    .chain(({ nOut, nIn }) =>
      fc.record({
        nOut: fc.constant(nOut),
        nIn: fc.constant(nIn),
        w: fc.float32Array({ minLength: nOut * nIn, maxLength: nOut * nIn, noNaN: true, noDefaultInfinity: true, min: -1e6, max: 1e6 }),
        bits: fc.constantFrom(...BITS),
      }),
    );

  it('fits B bits, uses the full range per channel, and reconstructs within half a step', () => {
    fc.assert(
      fc.property(matrix, ({ nOut, nIn, w, bits }) => {
        const qmax = symmetricMax(bits);
        const { weight, scale } = quantizeWeights(w, nOut, nIn, bits);
        for (let c = 0; c < nOut; c++) {
          let maxAbsInt = 0;
          let maxAbs = 0;
          for (let i = 0; i < nIn; i++) {
            const q = weight[c * nIn + i];
            expect(Number.isInteger(q)).toBe(true);
            expect(Math.abs(q)).toBeLessThanOrEqual(qmax);
            maxAbsInt = Math.max(maxAbsInt, Math.abs(q));
            maxAbs = Math.max(maxAbs, Math.abs(w[c * nIn + i]));
            expect(Math.abs(q * scale[c] - w[c * nIn + i])).toBeLessThanOrEqual(scale[c] * 0.5 * (1 + 1e-12));
          }
          if (maxAbs === 0) {
            expect(scale[c]).toBe(1);
          } else {
            expect(maxAbsInt).toBe(qmax);
            expect(scale[c]).toBeCloseTo(maxAbs / qmax, 12);
          }
        }
      }),
    );
  });

  it('gives an all-zero channel scale 1 and zero weights', () => {
    const w = new Float32Array([0, 0, 0, 0.5, -1, 0.25]);
    const { weight, scale } = quantizeWeights(w, 2, 3, 4);
    expect(Array.from(weight)).toEqual([0, 0, 0, 4, -7, 2]); // 0.5/ (1/7) = 3.5 → 4 (half away)
    expect(Array.from(scale)).toEqual([1, 1 / 7]);
  });

  it('rejects other bit widths', () => {
    expect(() => quantizeWeights(new Float32Array(1), 1, 1, 5 as WeightBits)).toThrow(UserError);
  });
});

describe('chooseRequant', () => {
  it('normalizes M into [2^14, 2^15) with M / 2^S within half an ulp of m', () => {
    fc.assert(
      fc.property(fc.double({ min: 2 ** -40, max: 2 ** 10, noNaN: true }), (m) => {
        const { M, S } = chooseRequant(m);
        expect(Number.isInteger(M) && Number.isInteger(S)).toBe(true);
        expect(S).toBeGreaterThanOrEqual(1);
        expect(S).toBeLessThanOrEqual(62);
        expect(M).toBeGreaterThanOrEqual(2 ** 14);
        expect(M).toBeLessThan(2 ** 15);
        expect(Math.abs(M - m * 2 ** S)).toBeLessThanOrEqual(0.5);
      }),
    );
  });

  it('handles the edges: zero, rounding up to 2^15, tiny and huge multipliers', () => {
    expect(chooseRequant(0)).toEqual({ M: 0, S: 1 });
    // m * 2^20 = 2^15 - 0.25 would round to 2^15: one shift less keeps M in range.
    expect(chooseRequant((2 ** 15 - 0.25) / 2 ** 20)).toEqual({ M: 2 ** 14, S: 19 });
    expect(chooseRequant(2 ** -50)).toEqual({ M: 2 ** 12, S: 62 });
    expect(chooseRequant(2 ** -70)).toEqual({ M: 0, S: 1 });
    expect(chooseRequant(2 ** 13)).toEqual({ M: 2 ** 14, S: 1 });
    expect(() => chooseRequant(2 ** 15)).toThrow(UserError);
    expect(() => chooseRequant(2 ** 16, "layer 3 ('fc3') output 0")).toThrow(/^layer 3 \('fc3'\) output 0: requant multiplier 65536\.0 needs a 18-bit M; the requant units have 15 bits .*\(--calib\)$/);
    expect(() => chooseRequant(-1)).toThrow();
  });
});

describe('quantizeInput', () => {
  it('rounds half away and saturates to signed 8 bits', () => {
    const x = new Float32Array([0, 0.5, -0.5, 1.49, 126.5, 127.5, 300, -127.5, -128.6, -1000]);
    expect(Array.from(quantizeInput(x, 1))).toEqual([0, 1, -1, 1, 127, 127, 127, -128, -128, -128]);
    expect(Array.from(quantizeInput(new Float32Array([16, 8, 1]), 16 / 127))).toEqual([127, 64, 8]);
  });

  it('stays within half a step of x inside the calibrated range', () => {
    fc.assert(
      fc.property(
        fc.float32Array({ minLength: 1, maxLength: 50, noNaN: true, noDefaultInfinity: true, min: -100, max: 100 }),
        (x) => {
          let max = 0;
          for (const v of x) max = Math.max(max, Math.abs(v));
          const scale = max > 0 ? max / 127 : 1;
          const q = quantizeInput(x, scale);
          q.forEach((v, i) => {
            expect(v).toBeGreaterThanOrEqual(-127);
            expect(v).toBeLessThanOrEqual(127);
            expect(Math.abs(v * scale - x[i])).toBeLessThanOrEqual(scale * 0.5 * (1 + 1e-9));
          });
        },
      ),
    );
  });
});

describe('quantizeMlp on the digits example', () => {
  const model = digitsModel();
  const calib = readF32('calib.safetensors', 'x');

  it('calibrates the input scale from the pixel range and hidden scales from float activations', () => {
    const { inputScale, outScales } = calibrateScales(model, calib);
    expect(inputScale).toBe(16 / 127); // pixels are 0..16
    expect(outScales).toHaveLength(2);
    expect(outScales[0]).toBeGreaterThan(0);
  });

  it.each(BITS)('produces a well-formed %i-bit model', (bits) => {
    const q = quantizeMlp(model, calib, { weightBits: bits });
    expect(q.actBits).toBe(8);
    expect(q.inputScale).toBe(16 / 127);
    expect(q.layers.map((l) => l.name)).toEqual(['fc1', 'fc2']);
    const qmax = symmetricMax(bits);
    q.layers.forEach((l, k) => {
      expect(l.weightBits).toBe(bits);
      expect(l.weight).toHaveLength(l.inFeatures * l.outFeatures);
      for (const w of l.weight) expect(Math.abs(w)).toBeLessThanOrEqual(qmax);
      expect(l.bias).toHaveLength(l.outFeatures);
      for (const b of l.bias) {
        expect(typeof b).toBe('bigint');
        expect(b >= -(2n ** 31n) && b < 2n ** 31n).toBe(true);
      }
      expect(l.inScale).toBe(k === 0 ? q.inputScale : q.layers[k - 1].outScale);
      expect(l.relu).toBe(k === 0);
    });
    const [h, o] = q.layers;
    expect(h.M).toHaveLength(32);
    h.M.forEach((M, c) => {
      expect(M).toBeGreaterThanOrEqual(2 ** 14);
      expect(M).toBeLessThan(2 ** 15);
      const m = (h.inScale * h.weightScale[c]) / h.outScale;
      expect(Math.abs(M / 2 ** h.S[c] - m) / m).toBeLessThanOrEqual(2 ** -14);
    });
    expect(o.M).toEqual([]);
    expect(o.S).toEqual([]);
    expect(Number.isNaN(o.outScale)).toBe(true);
  });

  it('takes per-layer bit widths', () => {
    const q = quantizeMlp(model, calib, { weightBits: [3, 6] });
    expect(q.layers.map((l) => l.weightBits)).toEqual([3, 6]);
    expect(() => quantizeMlp(model, calib, { weightBits: [3] })).toThrow(UserError);
  });

  it('rejects bad calibration data and a ReLU on the last layer', () => {
    expect(() => quantizeMlp(model, new Float32Array(65), { weightBits: 8 })).toThrow(UserError);
    expect(() => quantizeMlp(model, new Float32Array(0), { weightBits: 8 })).toThrow(UserError);
    const reluLast: FloatMlp = { kind: 'mlp', layers: [model.layers[0], { ...model.layers[1], activation: 'relu' }] };
    expect(() => quantizeMlp(reluLast, calib, { weightBits: 8 })).toThrow(UserError);
  });
});
