// Small random MLPs for tests: a float model with seeded weights, and its quantized form.
import type { FloatMlp, QuantizedMlp, WeightBits } from '../model.ts';
import { quantizeMlp } from '../quantize/mlp.ts';
import { mulberry32 } from '../../verify/prng.ts';


/** A float MLP with the given sizes; `zeroFraction` of the weights are exactly zero. */
export function randomFloatMlp(sizes: number[], seed: number, zeroFraction = 0.2): FloatMlp {
  const r = mulberry32(seed);
  return {
    kind: 'mlp',
    layers: sizes.slice(1).map((out, k) => {
      const inF = sizes[k];
      const weight = Float32Array.from({ length: out * inF }, () => (r() < zeroFraction ? 0 : (r() * 2 - 1) / Math.sqrt(inF)));
      const bias = Float32Array.from({ length: out }, () => (r() * 2 - 1) * 0.1);
      return { name: `fc${k + 1}`, inFeatures: inF, outFeatures: out, weight, bias, activation: k < sizes.length - 2 ? 'relu' as const : 'none' as const };
    }),
  };
}

export function randomQuantizedMlp(sizes: number[], bits: WeightBits, seed: number): { model: FloatMlp; q: QuantizedMlp } {
  const model = randomFloatMlp(sizes, seed);
  const r = mulberry32(seed + 7);
  const calib = Float32Array.from({ length: 64 * sizes[0] }, () => r() * 4 - 2);
  return { model, q: quantizeMlp(model, calib, { weightBits: bits }) };
}
