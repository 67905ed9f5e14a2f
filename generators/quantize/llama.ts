// Float Llama → the integer Llama of docs/ARCHITECTURE.md, "Numerics": int-B weights per output channel, int8 activations,
// an int16 residual stream, integer requant parameters and the lookup tables the golden model and the
// RTL share (verify/golden/llama.ts says exactly how each one is used).
//
// RMSNorm weights are folded into the columns of the projection that follows (q/k/v, gate/up, lm_head),
// so the norm unit only normalizes; the normalized vector u has one calibrated scale for all norms.

import type { FloatLlama, LlamaDims } from '../llama-model.ts';
import { FloatLlamaRunner, ropeTables, type FloatSite } from '../../verify/golden/float-llama.ts';
import { chooseRequant, quantizeWeights, roundHalfAway } from './mlp.ts';
import type { WeightBits } from '../model.ts';

/** A projection: int weights [rows, cols] row-major and per-row requant (acc·M + 2^(S−1)) >> S. */
export interface QLinear {
  readonly rows: number;
  readonly cols: number;
  readonly weight: Int32Array;
  readonly M: Int32Array;
  readonly S: Int32Array;
  /** Bits the requantized output saturates to: 8 (an activation) or 16 (residual, logits). */
  readonly outBits: 8 | 16;
}

export interface QLlamaLayer {
  readonly q: QLinear;
  readonly k: QLinear;
  readonly v: QLinear;
  readonly o: QLinear;
  readonly gate: QLinear;
  readonly up: QLinear;
  readonly down: QLinear;
}

/** The real value of one integer step of each tensor (value = int × scale). */
export interface LlamaScales {
  readonly residual: number;
  readonly normed: number;
  readonly q: number;
  readonly k: number;
  readonly v: number;
  readonly gate: number;
  readonly up: number;
  readonly act: number;
  readonly silu: number;
  readonly logits: number;
}

/** Index bits of the rsqrt table (even: the table covers [2^(bits-2), 2^bits), two octaves). */
export const RSQRT_INDEX_BITS = 10;
/** Index bits of the reciprocal table (covers [2^(bits-1), 2^bits), one octave). */
export const RECIP_INDEX_BITS = 10;
/** The exp unit works in base 2 with EXP_FRAC_BITS fraction bits: e = EXP2[z mod 64] >> (z / 64). */
export const EXP_FRAC_BITS = 6;
/** e is 0 from 2^-EXP_RANGE on: z ≥ EXP_RANGE · 2^EXP_FRAC_BITS. */
export const EXP_RANGE = 16;
/** Q-format of the RoPE cos/sin table. */
export const ROPE_FRAC_BITS = 14;
/** Fraction bits of the reciprocal table: RECIP[i] = round(2^RECIP_FRAC / (i + 2^(RECIP_INDEX_BITS−1))). */
export const RECIP_FRAC = 24;

export interface QuantizedLlama {
  readonly kind: 'llama';
  readonly dims: LlamaDims;
  readonly weightBits: WeightBits;
  /** Embedding rows at the residual scale, int16 [vocab, hidden]. */
  readonly embed: Int32Array;
  readonly layers: readonly QLlamaLayer[];
  readonly lmHead: QLinear;
  /** rsqrt table, 2^RSQRT_INDEX_BITS entries (unsigned 16-bit; 0 below 2^(bits−2)), and its fraction bits F. */
  readonly rsqrt: Int32Array;
  readonly rsqrtFrac: number;
  /** Exp argument requant: z = (d·M + 2^(S−1)) >> S, d = max score − score. */
  readonly expM: number;
  readonly expS: number;
  /** EXP2[f] = round(2^15 · 2^(−f/64)), f < 64. */
  readonly exp2: Int32Array;
  /** RECIP[i] = round(2^24 / (512 + i)), i < 512. */
  readonly recip: Int32Array;
  /** SiLU table: SILU[g + 128] = round(silu(g · gate scale) / silu scale), int16. */
  readonly silu: Int32Array;
  /** act = sat8((SILU[g] · up · actM + 2^(actS−1)) >> actS). */
  readonly actM: number;
  readonly actS: number;
  readonly scales: LlamaScales;
}

export interface QuantizeLlamaOptions {
  readonly weightBits: WeightBits;
  /** Calibration token windows; each runs from position 0. */
  readonly calib: readonly (readonly number[])[];
}

function maxAbs(v: ArrayLike<number>): number {
  let m = 0;
  for (let i = 0; i < v.length; i++) m = Math.max(m, Math.abs(v[i]));
  return m;
}

/** Largest |(v[i], v[i + half])| over the RoPE pairs of every head: bounds q and k before and after rotation. */
function maxPairNorm(v: Float32Array, headDim: number): number {
  const half = headDim / 2;
  let m = 0;
  for (let h = 0; h < v.length; h += headDim) for (let i = 0; i < half; i++) m = Math.max(m, Math.hypot(v[h + i], v[h + i + half]));
  return m;
}

/** Per-site maxima of the float model over the calibration windows. */
function calibrate(model: FloatLlama, calib: readonly (readonly number[])[]): Record<FloatSite, number> {
  const seen: Record<FloatSite, number> = { residual: 0, normed: 0, q: 0, k: 0, v: 0, gate: 0, up: 0, act: 0, logits: 0 };
  const hd = model.dims.headDim;
  const longest = Math.max(1, ...calib.map((w) => w.length));
  const runner = new FloatLlamaRunner(model, Math.max(longest, model.dims.maxPositions));
  runner.observer = (site, _layer, values): void => {
    const m = site === 'q' || site === 'k' ? maxPairNorm(values, hd) : maxAbs(values);
    if (m > seen[site]) seen[site] = m;
  };
  for (const w of calib) {
    runner.reset();
    for (const t of w) runner.step(t);
  }
  seen.residual = Math.max(seen.residual, maxAbs(model.embedTokens));
  return seen;
}

/** w[r][c] · g[c]: an RMSNorm weight folded into the matrix that reads the norm's output. */
function foldColumns(w: Float32Array, rows: number, g: Float32Array): Float32Array {
  const cols = g.length;
  const out = new Float32Array(rows * cols);
  for (let r = 0; r < rows; r++) for (let c = 0; c < cols; c++) out[r * cols + c] = w[r * cols + c] * g[c];
  return out;
}

function linear(w: Float32Array, rows: number, cols: number, bits: WeightBits, inScale: number, outScale: number, outBits: 8 | 16): QLinear {
  const q = quantizeWeights(w, rows, cols, bits);
  const M = new Int32Array(rows);
  const S = new Int32Array(rows);
  for (let r = 0; r < rows; r++) ({ M: M[r], S: S[r] } = chooseRequant((q.scale[r] * inScale) / outScale));
  return { rows, cols, weight: q.weight, M, S, outBits };
}

const silu = (x: number): number => x / (1 + Math.exp(-x));

/** Quantize a float Llama with scales calibrated on `opts.calib`. Deterministic. */
export function quantizeLlama(model: FloatLlama, opts: QuantizeLlamaOptions): QuantizedLlama {
  const d = model.dims;
  const bits = opts.weightBits;
  const seen = calibrate(model, opts.calib);
  const positive = (v: number): number => (v > 0 ? v : 1);
  const s8 = (site: FloatSite): number => positive(seen[site]) / 127;
  const scales: LlamaScales = {
    residual: positive(seen.residual) / 32767,
    normed: s8('normed'),
    q: s8('q'),
    k: s8('k'),
    v: s8('v'),
    gate: s8('gate'),
    up: s8('up'),
    act: s8('act'),
    silu: 0, // set below
    logits: positive(seen.logits) / 32767,
  };
  const sx = scales.residual;
  const su = scales.normed;

  const embed = new Int32Array(model.embedTokens.length);
  for (let i = 0; i < embed.length; i++) embed[i] = Math.max(-32768, Math.min(32767, roundHalfAway(model.embedTokens[i] / sx)));

  const H = d.hidden;
  const kvw = d.kvHeads * d.headDim;
  const layers = model.layers.map((l) => ({
    q: linear(foldColumns(l.qProj, d.heads * d.headDim, l.inputNorm), d.heads * d.headDim, H, bits, su, scales.q, 8),
    k: linear(foldColumns(l.kProj, kvw, l.inputNorm), kvw, H, bits, su, scales.k, 8),
    v: linear(foldColumns(l.vProj, kvw, l.inputNorm), kvw, H, bits, su, scales.v, 8),
    o: linear(l.oProj, H, d.heads * d.headDim, bits, scales.v, sx, 16),
    gate: linear(foldColumns(l.gateProj, d.intermediate, l.postAttentionNorm), d.intermediate, H, bits, su, scales.gate, 8),
    up: linear(foldColumns(l.upProj, d.intermediate, l.postAttentionNorm), d.intermediate, H, bits, su, scales.up, 8),
    down: linear(l.downProj, H, d.intermediate, bits, scales.act, sx, 16),
  }));
  const lmHead = linear(foldColumns(model.lmHead, d.vocab, model.norm), d.vocab, H, bits, su, scales.logits, 16);

  // rsqrt: u = x·cU/sqrt(ss) with cU = sqrt(hidden)/su (x·r = x_int·sqrt(n)/sqrt(ss) in real terms).
  const cU = Math.sqrt(H) / su;
  const lo = 2 ** (RSQRT_INDEX_BITS - 2);
  const rsqrtFrac = Math.floor(Math.log2((65535 * Math.sqrt(lo)) / cU));
  const rsqrt = new Int32Array(2 ** RSQRT_INDEX_BITS);
  for (let i = lo; i < rsqrt.length; i++) rsqrt[i] = roundHalfAway((cU * 2 ** rsqrtFrac) / Math.sqrt(i));

  // exp: z = d · α · log2(e) · 2^EXP_FRAC_BITS, α = sq·sk/sqrt(headDim).
  const alpha = (scales.q * scales.k) / Math.sqrt(d.headDim);
  const { M: expM, S: expS } = chooseRequant(alpha * Math.LOG2E * 2 ** EXP_FRAC_BITS);
  const exp2 = new Int32Array(2 ** EXP_FRAC_BITS);
  for (let f = 0; f < exp2.length; f++) exp2[f] = roundHalfAway(2 ** 15 * 2 ** (-f / 2 ** EXP_FRAC_BITS));
  const recip = new Int32Array(2 ** (RECIP_INDEX_BITS - 1));
  for (let i = 0; i < recip.length; i++) recip[i] = roundHalfAway(2 ** RECIP_FRAC / (i + 2 ** (RECIP_INDEX_BITS - 1)));

  let siluMax = 0;
  for (let g = -128; g < 128; g++) siluMax = Math.max(siluMax, Math.abs(silu(g * scales.gate)));
  const siluScale = positive(siluMax) / 32767;
  const siluT = new Int32Array(256);
  for (let g = -128; g < 128; g++) siluT[g + 128] = roundHalfAway(silu(g * scales.gate) / siluScale);
  const { M: actM, S: actS } = chooseRequant((siluScale * scales.up) / scales.act);

  return {
    kind: 'llama', dims: d, weightBits: bits, embed, layers, lmHead, rsqrt, rsqrtFrac, expM, expS, exp2, recip,
    silu: siluT, actM, actS, scales: { ...scales, silu: siluScale },
  };
}

/** RoPE as integers: COS/SIN[p·half + i] = round(cos/sin · 2^14) for positions < `positions`. */
export function ropeIntTables(d: LlamaDims, positions: number): { cos: Int32Array; sin: Int32Array } {
  const { cos, sin } = ropeTables(d.headDim, d.ropeTheta, positions, d.ropeScaling);
  const q = (v: Float32Array): Int32Array => Int32Array.from(v, (x) => roundHalfAway(x * 2 ** ROPE_FRAC_BITS));
  return { cos: q(cos), sin: q(sin) };
}
