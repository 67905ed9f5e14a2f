// Quantizes a float MLP to the integer form of docs/ARCHITECTURE.md, "Numerics": per-channel symmetric weights, int8 activations, integer requant.

import { UserError } from '../../core/errors.ts';
import { floatForward } from '../../verify/golden/float-mlp.ts';
import type { FloatMlp, QuantizedLinear, QuantizedMlp, WeightBits } from '../model.ts';

export interface QuantizeMlpOptions {
  /** Weight bits for every layer, or one entry per layer (mixed precision). */
  readonly weightBits: WeightBits | readonly WeightBits[];
  /** Activation bits; only 8 is supported for now. */
  readonly actBits?: 8;
}

const WEIGHT_BITS: readonly number[] = [3, 4, 6, 8];
const INT32_MIN = -(2 ** 31);
const INT32_MAX = 2 ** 31 - 1;
/** Requant multipliers are normalized into [2^14, 2^15): 15 significant bits, a positive int16. */
const M_MIN = 2 ** 14;
const M_LIMIT = 2 ** 15;
const S_MIN = 1;
const S_MAX = 62;

/**
 * Round half away from zero: 2.5 → 3, -2.5 → -3. Math.round rounds half toward +∞, which on |x| is
 * exactly "half away"; the sign is put back afterwards. Used for weights, biases, inputs and M.
 */
export function roundHalfAway(x: number): number {
  const r = Math.round(Math.abs(x));
  return x < 0 ? 0 - r : r; // 0 - 0 is +0: never hand out -0
}

/** Largest magnitude of a signed, symmetric `bits`-bit integer: 2^(bits-1) - 1. */
export function symmetricMax(bits: number): number {
  return 2 ** (bits - 1) - 1;
}

/** Clamps to the signed `bits`-bit range [-2^(bits-1), 2^(bits-1) - 1]. */
export function saturate(v: number, bits: number): number {
  const hi = 2 ** (bits - 1) - 1;
  const lo = -(2 ** (bits - 1));
  return v > hi ? hi : v < lo ? lo : v;
}

/**
 * Symmetric per-output-channel weight quantization of a row-major [nOut, nIn] matrix:
 * scale_c = max|w_c| / (2^(B-1)-1), w_int = clamp(round_half_away(w / scale_c), ±(2^(B-1)-1)).
 * An all-zero channel gets scale 1 and all-zero weights.
 */
export function quantizeWeights(
  weight: Float32Array,
  nOut: number,
  nIn: number,
  bits: WeightBits,
): { weight: Int32Array; scale: Float64Array } {
  if (!WEIGHT_BITS.includes(bits)) throw new UserError(`weight bits must be one of 3, 4, 6, 8, got ${bits}`);
  if (weight.length !== nOut * nIn) {
    throw new Error(`quantizeWeights: ${weight.length} weights for a [${nOut}, ${nIn}] matrix`);
  }
  const qmax = symmetricMax(bits);
  const wInt = new Int32Array(nOut * nIn);
  const scale = new Float64Array(nOut);
  for (let c = 0; c < nOut; c++) {
    const row = c * nIn;
    let maxAbs = 0;
    for (let i = 0; i < nIn; i++) {
      const w = weight[row + i];
      if (!Number.isFinite(w)) throw new UserError(`weight [${c}, ${i}] is not finite (${w})`);
      maxAbs = Math.max(maxAbs, Math.abs(w));
    }
    if (maxAbs === 0) {
      scale[c] = 1;
      continue; // weights stay 0
    }
    const s = maxAbs / qmax;
    scale[c] = s;
    for (let i = 0; i < nIn; i++) {
      const q = roundHalfAway(weight[row + i] / s);
      wInt[row + i] = q > qmax ? qmax : q < -qmax ? -qmax : q;
    }
  }
  return { weight: wInt, scale };
}

/**
 * Integer requant parameters for a positive real multiplier m: M / 2^S ≈ m with 2^14 <= M < 2^15
 * (15 significant bits) and 1 <= S <= 62. m = 0 gives M = 0, S = 1. A multiplier so small that
 * S would pass 62 keeps S = 62 and a smaller M (M = 0, S = 1 if it rounds to nothing); one so large
 * that S would drop below 1 keeps S = 1, and is an error if M no longer fits 15 bits.
 */
export function chooseRequant(m: number, where?: string): { M: number; S: number } {
  if (!Number.isFinite(m) || m < 0) throw new Error(`chooseRequant: multiplier must be finite and >= 0, got ${m}`);
  if (m === 0) return { M: 0, S: 1 };
  // S so that m * 2^S lands in [2^14, 2^15); log2 is only a first guess, the loops make it exact.
  let S = 14 - Math.floor(Math.log2(m));
  while (m * 2 ** S >= M_LIMIT) S--;
  while (m * 2 ** S < M_MIN) S++;
  S = Math.min(Math.max(S, S_MIN), S_MAX);
  let M = roundHalfAway(m * 2 ** S); // m * 2^S is exact (power-of-two scaling); only the rounding loses
  if (M >= M_LIMIT && S > S_MIN) {
    // m * 2^S was in [2^15 - 0.5, 2^15): one bit less precision keeps M in range.
    S--;
    M = roundHalfAway(m * 2 ** S);
  }
  if (M >= M_LIMIT) {
    const bits = Math.ceil(Math.log2(M + 1));
    throw new UserError(`${where ? `${where}: ` : ''}requant multiplier ${m.toPrecision(6)} needs a ${bits}-bit M; the requant units have 15 bits with shift >= 1 (the output's calibrated range is ${m.toPrecision(3)}x narrower than the input's) — calibrate on data that reaches this layer's real output range (--calib)`);
  }
  if (M === 0) return { M: 0, S: 1 };
  return { M, S };
}

/**
 * Integer input: x_int = sat(round_half_away(x / inputScale)) to signed actBits bits. Works on any
 * number of samples (row-major); values outside the calibrated range saturate.
 */
export function quantizeInput(x: Float32Array, inputScale: number, actBits = 8): Int32Array {
  const out = new Int32Array(x.length);
  for (let i = 0; i < x.length; i++) out[i] = saturate(roundHalfAway(x[i] / inputScale), actBits);
  return out;
}

/**
 * Activation scales from a calibration set (row-major [n, inFeatures]): the input scale is
 * max|x| / (2^(actBits-1)-1); each hidden layer's output scale is the largest |activation| of the
 * FLOAT model (after ReLU) over the set, divided the same way. A zero maximum gives scale 1.
 */
export function calibrateScales(
  model: FloatMlp,
  calib: Float32Array,
  actBits = 8,
): { inputScale: number; outScales: number[] } {
  const nIn = model.layers[0].inFeatures;
  if (calib.length === 0 || calib.length % nIn !== 0) {
    throw new UserError(`calibration data has ${calib.length} values, not a positive multiple of ${nIn} inputs`);
  }
  const qmax = symmetricMax(actBits);
  let inMax = 0;
  for (let i = 0; i < calib.length; i++) {
    const v = calib[i];
    if (!Number.isFinite(v)) throw new UserError(`calibration value ${i} is not finite (${v})`);
    inMax = Math.max(inMax, Math.abs(v));
  }
  const actMax = new Array<number>(model.layers.length).fill(0);
  for (let r = 0; r < calib.length / nIn; r++) {
    const outs = floatForward(model, calib.subarray(r * nIn, (r + 1) * nIn));
    for (let k = 0; k < outs.length; k++) {
      const o = outs[k];
      for (let c = 0; c < o.length; c++) actMax[k] = Math.max(actMax[k], Math.abs(o[c]));
    }
  }
  const toScale = (max: number): number => (max > 0 ? max / qmax : 1);
  return { inputScale: toScale(inMax), outScales: actMax.map(toScale) };
}

/** Checks that a float MLP's layers chain and have the shapes they claim. */
function checkFloatMlp(model: FloatMlp): void {
  if (model.layers.length === 0) throw new UserError('the MLP has no layers');
  model.layers.forEach((l, k) => {
    if (l.weight.length !== l.outFeatures * l.inFeatures) {
      throw new UserError(`layer ${k}: weight has ${l.weight.length} values, expected ${l.outFeatures}x${l.inFeatures}`);
    }
    if (l.bias && l.bias.length !== l.outFeatures) {
      throw new UserError(`layer ${k}: bias has ${l.bias.length} values, expected ${l.outFeatures}`);
    }
    if (k > 0 && l.inFeatures !== model.layers[k - 1].outFeatures) {
      throw new UserError(`layer ${k} takes ${l.inFeatures} inputs but layer ${k - 1} gives ${model.layers[k - 1].outFeatures}`);
    }
  });
  if (model.layers[model.layers.length - 1].activation !== 'none') {
    // The logits are the raw last-layer accumulators (model.ts); a ReLU there would only change ties.
    throw new UserError('the last layer must have no activation: its accumulators are the logits');
  }
}

/**
 * Quantizes a float MLP with a calibration set (row-major Float32Array [n, inFeatures]).
 *
 * Hidden layer k computes y = sat8((acc * M + 2^(S-1)) >> S) then ReLU, where acc is in units of
 * inScale * weightScale[c] and M / 2^S ≈ inScale * weightScale[c] / outScale. The `>>` is an
 * arithmetic (floor) shift, so the requant rounds half UP (toward +∞): -2.5 → -2, 2.5 → 3. We chose
 * half up over half away from zero because it is one adder and a wire shift in hardware; the golden
 * model (verify/golden/mlp.ts `requant`) is the single definition. Weight, bias, input and M
 * rounding are offline and use round half away from zero.
 */
export function quantizeMlp(model: FloatMlp, calib: Float32Array, opts: QuantizeMlpOptions): QuantizedMlp {
  checkFloatMlp(model);
  const actBits = opts.actBits ?? 8;
  if (actBits !== 8) throw new UserError(`only 8-bit activations are supported, got ${actBits}`);
  const n = model.layers.length;
  const bitsPerLayer: readonly WeightBits[] = Array.isArray(opts.weightBits)
    ? (opts.weightBits as readonly WeightBits[])
    : new Array<WeightBits>(n).fill(opts.weightBits as WeightBits);
  if (bitsPerLayer.length !== n) {
    throw new UserError(`weight bits given for ${bitsPerLayer.length} layers, the MLP has ${n}`);
  }

  const { inputScale, outScales } = calibrateScales(model, calib, actBits);
  const layers: QuantizedLinear[] = [];
  let inScale = inputScale;
  model.layers.forEach((l, k) => {
    const last = k === n - 1;
    const { weight, scale } = quantizeWeights(l.weight, l.outFeatures, l.inFeatures, bitsPerLayer[k]);
    const bias: bigint[] = [];
    for (let c = 0; c < l.outFeatures; c++) {
      const b = l.bias ? l.bias[c] : 0;
      if (!Number.isFinite(b)) throw new UserError(`layer ${k}: bias ${c} is not finite (${b})`);
      const q = roundHalfAway(b / (inScale * scale[c]));
      bias.push(BigInt(Math.min(Math.max(q, INT32_MIN), INT32_MAX)));
    }
    const outScale = last ? NaN : outScales[k];
    const M: number[] = [];
    const S: number[] = [];
    if (!last) {
      for (let c = 0; c < l.outFeatures; c++) {
        const r = chooseRequant((inScale * scale[c]) / outScale, `layer ${k} ('${l.name}') output ${c}`);
        M.push(r.M);
        S.push(r.S);
      }
    }
    layers.push({
      name: l.name,
      inFeatures: l.inFeatures,
      outFeatures: l.outFeatures,
      weightBits: bitsPerLayer[k],
      weight,
      bias,
      weightScale: scale,
      inScale,
      outScale,
      M,
      S,
      relu: l.activation === 'relu',
    });
    inScale = outScale;
  });
  return { kind: 'mlp', actBits, inputScale, layers };
}
