// The integer golden MLP: THE SPEC the RTL must match bit for bit (docs/ARCHITECTURE.md, "Numerics"), plus the helpers the RTL generator shares.

import type { QuantizedLinear, QuantizedMlp } from '../../generators/model.ts';

/** Signed `bits`-bit range as bigints: [-2^(bits-1), 2^(bits-1) - 1]. */
function signedRange(bits: number): { lo: bigint; hi: bigint } {
  const half = 1n << BigInt(bits - 1);
  return { lo: -half, hi: half - 1n };
}

/**
 * Requantization of one accumulator: y = sat_actBits((acc * M + 2^(S-1)) >> S).
 * `>>` is an arithmetic shift (floor), so this is acc * M / 2^S rounded half UP (toward +∞):
 * exact ties go up (-2.5 → -2, 2.5 → 3). Saturation clamps to [-2^(actBits-1), 2^(actBits-1) - 1].
 * ReLU, where a layer has one, comes after this. Requires 1 <= S <= 62 and 0 <= M < 2^15.
 */
export function requant(acc: bigint, M: number, S: number, actBits: number): bigint {
  const y = (acc * BigInt(M) + (1n << BigInt(S - 1))) >> BigInt(S);
  const { lo, hi } = signedRange(actBits);
  return y > hi ? hi : y < lo ? lo : y;
}

/** Index of the largest value; the lowest index wins a tie. */
export function argmaxLowest(values: readonly bigint[]): number {
  if (values.length === 0) throw new Error('argmaxLowest: no values');
  let best = 0;
  for (let i = 1; i < values.length; i++) if (values[i] > values[best]) best = i;
  return best;
}

/** An inclusive integer range of a layer's input activations. */
export interface IntRange {
  readonly min: number;
  readonly max: number;
}

/**
 * Range of layer k's inputs: the quantized input, [-2^(a-1), 2^(a-1)-1], for layer 0; the previous
 * layer's output after sat and ReLU, [0, 2^(a-1)-1], behind a ReLU layer; the full signed range otherwise.
 */
export function layerInputRange(q: QuantizedMlp, k: number): IntRange {
  const hi = 2 ** (q.actBits - 1) - 1;
  const lo = -(2 ** (q.actBits - 1));
  return k > 0 && q.layers[k - 1].relu ? { min: 0, max: hi } : { min: lo, max: hi };
}

/** Exact per-channel accumulator bounds of a layer, as bigints. */
export interface AccumulatorBounds {
  /** Smallest / largest bias + Σ w·x over all inputs in range: bounds of the final accumulator and of
   *  every partial sum that starts from the bias (each term's range contains 0, so a prefix stays inside). */
  readonly min: bigint[];
  readonly max: bigint[];
  /** Smallest / largest Σ w·x without the bias: bounds of partial sums when the bias is added last. */
  readonly productMin: bigint[];
  readonly productMax: bigint[];
}

/**
 * Exact accumulator bounds per output channel for inputs in `inRange` (see layerInputRange). Each
 * term w·x reaches its extremes at an end of the input range, independently of the other terms, so
 * these bounds are attained, not just safe. Requires inRange.min <= 0 <= inRange.max.
 */
export function accumulatorBounds(layer: QuantizedLinear, inRange: IntRange): AccumulatorBounds {
  if (!(inRange.min <= 0 && inRange.max >= 0)) throw new Error('accumulatorBounds: input range must contain 0');
  const lo = BigInt(inRange.min);
  const hi = BigInt(inRange.max);
  const out: AccumulatorBounds = { min: [], max: [], productMin: [], productMax: [] };
  for (let c = 0; c < layer.outFeatures; c++) {
    let pMin = 0n;
    let pMax = 0n;
    for (let i = 0; i < layer.inFeatures; i++) {
      const w = BigInt(layer.weight[c * layer.inFeatures + i]);
      const a = w * lo;
      const b = w * hi;
      pMin += a < b ? a : b;
      pMax += a < b ? b : a;
    }
    out.productMin.push(pMin);
    out.productMax.push(pMax);
    out.min.push(layer.bias[c] + pMin);
    out.max.push(layer.bias[c] + pMax);
  }
  return out;
}

/** Bits of the smallest two's complement register that holds every value in [min, max]. */
export function signedBitsFor(min: bigint, max: bigint): number {
  let bits = 1;
  for (;;) {
    const { lo, hi } = signedRange(bits);
    if (min >= lo && max <= hi) return bits;
    bits++;
  }
}

export interface GoldenResult {
  /** Each hidden layer's actBits-bit outputs after sat and ReLU. */
  readonly layerOutputs: Int32Array[];
  /** Last layer accumulators, bias included (not requantized). */
  readonly logits: bigint[];
  /** argmax of the logits, lowest index on ties. */
  readonly cls: number;
}

/** A layer with its per-channel constants turned into numbers once, for the hot loop. */
interface PreparedLayer {
  readonly layer: QuantizedLinear;
  readonly bias: Float64Array;
  /** 2^(S-1) and 2^S per channel (hidden layers). */
  readonly half: Float64Array;
  readonly div: Float64Array;
  /** Per channel: acc * M + 2^(S-1) stays below 2^53 for every reachable acc, so number math is exact. */
  readonly exact: Uint8Array;
}

/** Prepared models, keyed by identity: a QuantizedMlp is immutable (its fields are readonly). */
const prepared = new WeakMap<QuantizedMlp, PreparedLayer[]>();

function prepare(q: QuantizedMlp): PreparedLayer[] {
  let p = prepared.get(q);
  if (p) return p;
  if (q.layers.length === 0) throw new Error('goldenMlp: the model has no layers');
  p = q.layers.map((layer, k) => {
    const n = layer.outFeatures;
    if (layer.weight.length !== n * layer.inFeatures || layer.bias.length !== n) {
      throw new Error(`goldenMlp: layer ${k} has inconsistent shapes`);
    }
    if (k > 0 && layer.inFeatures !== q.layers[k - 1].outFeatures) {
      throw new Error(`goldenMlp: layer ${k} does not chain to layer ${k - 1}`);
    }
    const bounds = accumulatorBounds(layer, layerInputRange(q, k));
    const hidden = k < q.layers.length - 1;
    if (!hidden && layer.relu) throw new Error('goldenMlp: the last layer cannot have a ReLU: its accumulators are the logits');
    const out: PreparedLayer = {
      layer,
      bias: Float64Array.from(layer.bias, Number),
      half: new Float64Array(n),
      div: new Float64Array(n),
      exact: new Uint8Array(n),
    };
    for (let c = 0; c < n; c++) {
      const bound = -bounds.min[c] > bounds.max[c] ? -bounds.min[c] : bounds.max[c];
      // MACs on numbers are exact while every partial sum is a safe integer (the bounds cover them).
      if (bound >= 2n ** 53n) throw new Error(`goldenMlp: accumulator of layer ${k} channel ${c} exceeds 2^53`);
      if (!hidden) continue;
      const M = layer.M[c];
      const S = layer.S[c];
      if (!(Number.isInteger(M) && M >= 0 && M < 2 ** 15 && Number.isInteger(S) && S >= 1 && S <= 62)) {
        throw new Error(`goldenMlp: layer ${k} channel ${c} has M=${M}, S=${S} outside 0 <= M < 2^15, 1 <= S <= 62`);
      }
      out.half[c] = 2 ** (S - 1);
      out.div[c] = 2 ** S;
      out.exact[c] = bound * BigInt(M) + (1n << BigInt(S - 1)) < 2n ** 53n ? 1 : 0;
    }
    return out;
  });
  prepared.set(q, p);
  return p;
}

/**
 * Integer inference of one sample; follows `requant` and model.ts exactly. For speed the MACs and the
 * requant run on numbers where that is provably exact (from accumulatorBounds: every accumulator and
 * acc * M + 2^(S-1) below 2^53; dividing an exact integer by 2^S and flooring equals `>>`); channels
 * where it is not fall back to the bigint `requant`. Logits come back as bigints.
 */
export function goldenMlp(q: QuantizedMlp, xInt: Int32Array | readonly number[]): GoldenResult {
  const layers = prepare(q);
  const actBits = q.actBits;
  const hi = 2 ** (actBits - 1) - 1;
  const lo = -(2 ** (actBits - 1));
  const nIn0 = q.layers[0].inFeatures;
  if (xInt.length !== nIn0) throw new Error(`goldenMlp: ${nIn0} inputs expected, got ${xInt.length}`);
  for (let i = 0; i < nIn0; i++) {
    const v = xInt[i];
    if (!(Number.isInteger(v) && v >= lo && v <= hi)) {
      throw new Error(`goldenMlp: input ${i} = ${v} is not a signed ${actBits}-bit integer`);
    }
  }
  let input: Int32Array = xInt instanceof Int32Array ? xInt : Int32Array.from(xInt);
  const layerOutputs: Int32Array[] = [];
  const last = layers.length - 1;
  for (let k = 0; k < last; k++) {
    const { layer, bias, half, div, exact } = layers[k];
    const { inFeatures: nIn, outFeatures: nOut, weight, M, S, relu } = layer;
    const out = new Int32Array(nOut);
    for (let c = 0; c < nOut; c++) {
      let acc = bias[c];
      const row = c * nIn;
      for (let i = 0; i < nIn; i++) acc += weight[row + i] * input[i];
      let y: number;
      if (exact[c]) {
        y = Math.floor((acc * M[c] + half[c]) / div[c]);
        y = y > hi ? hi : y < lo ? lo : y;
      } else {
        y = Number(requant(BigInt(acc), M[c], S[c], actBits));
      }
      out[c] = relu && y < 0 ? 0 : y;
    }
    layerOutputs.push(out);
    input = out;
  }
  const { layer, bias } = layers[last];
  const { inFeatures: nIn, outFeatures: nOut, weight } = layer;
  const logits: bigint[] = new Array<bigint>(nOut);
  let best = 0;
  let bestAcc = -Infinity;
  for (let c = 0; c < nOut; c++) {
    let acc = bias[c];
    const row = c * nIn;
    for (let i = 0; i < nIn; i++) acc += weight[row + i] * input[i];
    logits[c] = BigInt(acc);
    if (acc > bestAcc) {
      best = c; // strict >: the lowest index keeps a tie, as argmaxLowest
      bestAcc = acc;
    }
  }
  return { layerOutputs, logits, cls: best };
}
