// The float reference MLP: what quantization is measured against, and what calibration runs on.

import type { FloatMlp } from '../../generators/model.ts';

/**
 * Runs one sample through the float model and returns every layer's output after its activation.
 * Each dot product is summed in float64 and rounded once to float32 (Math.fround), so every layer
 * output is the correctly rounded float32 value; torch's float32 GEMM differs from it only by its own
 * summation rounding (a few ulp), far below the 1e-4 the tests allow.
 */
export function floatForward(model: FloatMlp, x: Float32Array): Float32Array[] {
  const outputs: Float32Array[] = [];
  let input = x;
  for (const layer of model.layers) {
    const { inFeatures: nIn, outFeatures: nOut, weight, bias } = layer;
    if (input.length !== nIn) {
      throw new Error(`floatForward: layer ${layer.name} wants ${nIn} inputs, got ${input.length}`);
    }
    const out = new Float32Array(nOut);
    for (let c = 0; c < nOut; c++) {
      let acc = bias ? bias[c] : 0;
      const row = c * nIn;
      for (let i = 0; i < nIn; i++) acc += weight[row + i] * input[i];
      const y = Math.fround(acc);
      out[c] = layer.activation === 'relu' && y < 0 ? 0 : y;
    }
    outputs.push(out);
    input = out;
  }
  return outputs;
}

/** Index of the largest value; the lowest index wins a tie (same rule as the integer golden model). */
export function argmaxFloat(values: ArrayLike<number>): number {
  let best = 0;
  for (let i = 1; i < values.length; i++) if (values[i] > values[best]) best = i;
  return best;
}

/** Float logits and predicted class of one sample. */
export function floatMlp(model: FloatMlp, x: Float32Array): { logits: Float32Array; cls: number } {
  const outputs = floatForward(model, x);
  const logits = outputs[outputs.length - 1];
  return { logits, cls: argmaxFloat(logits) };
}
