// The float reference Llama decoder, one token at a time with a KV cache: what quantization is measured against.
//
// It computes what transformers' LlamaForCausalLM computes (and examples/tiny-llama/train.py, which is
// checked against it): RMSNorm normalizing then multiplying by the weight, RoPE with the half-split
// pairing (rotate_half) and positions 0.., grouped-query attention with scale 1/sqrt(head_dim) over the
// cached keys and values, SwiGLU, final norm, lm_head. Every dot product is summed in float64 and rounded
// once to float32 (Math.fround), and every stored vector is float32, so it differs from torch's float32
// only by torch's own summation rounding.

import type { FloatLlama, RopeScaling } from '../../generators/llama-model.ts';
import { argmaxFloat } from './float-mlp.ts';

/** y[r] = fround(Σ_c w[r·cols + c] · x[c]) for a row-major [rows, cols] matrix. */
function matVec(w: Float32Array, x: Float32Array, rows: number): Float32Array {
  const cols = x.length;
  const y = new Float32Array(rows);
  for (let r = 0; r < rows; r++) {
    let acc = 0;
    const base = r * cols;
    for (let c = 0; c < cols; c++) acc += w[base + c] * x[c];
    y[r] = acc;
  }
  return y;
}

/** HF LlamaRMSNorm: x · rsqrt(mean(x²) + eps), rounded to float32, then times the weight. */
function rmsNorm(x: Float32Array, weight: Float32Array, eps: number, seen?: (normed: Float32Array) => void): Float32Array {
  let ss = 0;
  for (let i = 0; i < x.length; i++) ss += x[i] * x[i];
  const r = Math.fround(1 / Math.sqrt(Math.fround(Math.fround(ss / x.length) + eps)));
  const n = new Float32Array(x.length);
  for (let i = 0; i < x.length; i++) n[i] = x[i] * r;
  seen?.(n);
  const y = new Float32Array(x.length);
  for (let i = 0; i < x.length; i++) y[i] = weight[i] * n[i];
  return y;
}

/** Where the float runner reports intermediates: what the integer model's scales are calibrated on. */
export type FloatSite = 'residual' | 'normed' | 'q' | 'k' | 'v' | 'gate' | 'up' | 'act' | 'logits';

/**
 * cos and sin [positions, headDim/2] as LlamaRotaryEmbedding computes them in float32:
 * inv_freq[i] = 1 / theta^(2i/headDim), angle = position · inv_freq[i]. (HF repeats the half: the
 * entries i and i + headDim/2 share one angle, so half the table is enough.)
 */
export function ropeTables(headDim: number, theta: number, positions: number, scaling?: RopeScaling): { cos: Float32Array; sin: Float32Array } {
  const half = headDim / 2;
  const cos = new Float32Array(positions * half);
  const sin = new Float32Array(positions * half);
  for (let i = 0; i < half; i++) {
    const base = Math.fround(1 / Math.fround(theta ** Math.fround((2 * i) / headDim)));
    const invFreq = scaling ? llama3InvFreq(base, scaling) : base;
    for (let p = 0; p < positions; p++) {
      const angle = Math.fround(p * invFreq);
      cos[p * half + i] = Math.cos(angle);
      sin[p * half + i] = Math.sin(angle);
    }
  }
  return { cos, sin };
}

/**
 * Llama 3.1's frequency scaling, step for step in float32 as transformers' _compute_llama3_parameters:
 * long wavelengths (> original context / low_freq_factor) slowed by `factor`, short ones
 * (< original context / high_freq_factor) kept, the band between interpolated smoothly.
 */
export function llama3InvFreq(invFreq: number, s: RopeScaling): number {
  const f = Math.fround;
  const lowWavelen = s.originalMaxPositions / s.lowFreqFactor;
  const highWavelen = s.originalMaxPositions / s.highFreqFactor;
  const wavelen = f((2 * Math.PI) / invFreq);
  let out = wavelen > lowWavelen ? f(invFreq / s.factor) : invFreq;
  const smooth = f(f(f(s.originalMaxPositions / wavelen) - s.lowFreqFactor) / (s.highFreqFactor - s.lowFreqFactor));
  const smoothed = f(f(f(f(1 - smooth) * out) / s.factor) + f(smooth * out));
  if (!(wavelen < highWavelen) && !(wavelen > lowWavelen)) out = smoothed;
  return out;
}

/** Rotates each head of `v` (heads × headDim, in place) by position `p`: HF's q·cos + rotate_half(q)·sin. */
function applyRope(v: Float32Array, headDim: number, p: number, cos: Float32Array, sin: Float32Array): void {
  const half = headDim / 2;
  for (let h = 0; h < v.length; h += headDim) {
    for (let i = 0; i < half; i++) {
      const c = cos[p * half + i];
      const s = sin[p * half + i];
      const a = v[h + i];
      const b = v[h + i + half];
      v[h + i] = a * c - b * s;
      v[h + i + half] = b * c + a * s;
    }
  }
}

/** Runs the decoder one token at a time; position = number of tokens stepped since the last reset. */
export class FloatLlamaRunner {
  /** How many positions the KV cache holds. */
  readonly context: number;
  private pos = 0;
  private readonly keys: Float32Array[];
  private readonly values: Float32Array[];
  private readonly cos: Float32Array;
  private readonly sin: Float32Array;

  /** Called with every intermediate vector (calibration): the residual, norm outputs, projections. */
  observer?: (site: FloatSite, layer: number, values: Float32Array) => void;

  constructor(readonly model: FloatLlama, context = model.dims.maxPositions) {
    const d = model.dims;
    this.context = context;
    const kv = d.kvHeads * d.headDim;
    this.keys = model.layers.map(() => new Float32Array(context * kv));
    this.values = model.layers.map(() => new Float32Array(context * kv));
    ({ cos: this.cos, sin: this.sin } = ropeTables(d.headDim, d.ropeTheta, context, d.ropeScaling));
  }

  /** Tokens stepped since the last reset (the position the next token takes). */
  get position(): number {
    return this.pos;
  }

  /** Empties the KV cache: the next token is at position 0. */
  reset(): void {
    this.pos = 0;
  }

  /** Feeds `token` at the next position; returns the logits [vocab] for the token after it. */
  step(token: number): Float32Array {
    const m = this.model;
    const d = m.dims;
    if (!Number.isInteger(token) || token < 0 || token >= d.vocab) {
      throw new Error(`FloatLlamaRunner.step: token ${token} is outside the vocabulary of ${d.vocab}`);
    }
    if (this.pos >= this.context) throw new Error(`FloatLlamaRunner.step: the KV cache holds ${this.context} positions`);
    const p = this.pos;
    const hd = d.headDim;
    const kvw = d.kvHeads * hd;
    const rep = d.heads / d.kvHeads;
    const scale = hd ** -0.5;

    const obs = this.observer;
    let x: Float32Array = m.embedTokens.slice(token * d.hidden, (token + 1) * d.hidden);
    obs?.('residual', -1, x);
    const scores = new Float64Array(p + 1);
    m.layers.forEach((layer, n) => {
      const h = rmsNorm(x, layer.inputNorm, d.rmsNormEps, obs && ((u) => obs('normed', n, u)));
      const q = matVec(layer.qProj, h, d.heads * hd);
      const k = matVec(layer.kProj, h, kvw);
      const v = matVec(layer.vProj, h, kvw);
      obs?.('q', n, q);
      obs?.('k', n, k);
      obs?.('v', n, v);
      applyRope(q, hd, p, this.cos, this.sin);
      applyRope(k, hd, p, this.cos, this.sin);
      const K = this.keys[n];
      const V = this.values[n];
      K.set(k, p * kvw);
      V.set(v, p * kvw);

      const attn = new Float32Array(d.heads * hd);
      for (let head = 0; head < d.heads; head++) {
        const g = Math.floor(head / rep) * hd; // repeat_kv: query head → its KV head
        const qo = head * hd;
        let max = -Infinity;
        for (let t = 0; t <= p; t++) {
          let dot = 0;
          for (let i = 0; i < hd; i++) dot += q[qo + i] * K[t * kvw + g + i];
          scores[t] = Math.fround(Math.fround(dot) * scale);
          if (scores[t] > max) max = scores[t];
        }
        let sum = 0;
        for (let t = 0; t <= p; t++) {
          scores[t] = Math.exp(scores[t] - max);
          sum += scores[t];
        }
        for (let i = 0; i < hd; i++) {
          let acc = 0;
          for (let t = 0; t <= p; t++) acc += Math.fround(scores[t] / sum) * V[t * kvw + g + i];
          attn[qo + i] = acc;
        }
      }
      const o = matVec(layer.oProj, attn, d.hidden);
      for (let i = 0; i < d.hidden; i++) x[i] += o[i];
      obs?.('residual', n, x);

      const h2 = rmsNorm(x, layer.postAttentionNorm, d.rmsNormEps, obs && ((u) => obs('normed', n, u)));
      const gate = matVec(layer.gateProj, h2, d.intermediate);
      const up = matVec(layer.upProj, h2, d.intermediate);
      const act = new Float32Array(d.intermediate);
      for (let i = 0; i < d.intermediate; i++) act[i] = Math.fround(gate[i] / (1 + Math.exp(-gate[i]))) * up[i];
      obs?.('gate', n, gate);
      obs?.('up', n, up);
      obs?.('act', n, act);
      const down = matVec(layer.downProj, act, d.hidden);
      for (let i = 0; i < d.hidden; i++) x[i] += down[i];
      obs?.('residual', n, x);
    });
    x = rmsNorm(x, m.norm, d.rmsNormEps, obs && ((u) => obs('normed', d.layers, u)));
    this.pos++;
    const logits = matVec(m.lmHead, x, d.vocab);
    obs?.('logits', d.layers, logits);
    return logits;
  }
}

/** `prompt` then `n` greedy tokens (argmax, lowest id on a tie); returns the n new tokens. */
export function generateGreedy(model: FloatLlama, prompt: readonly number[], n: number, stop: readonly number[] = []): number[] {
  if (prompt.length === 0) throw new Error('generateGreedy: the prompt is empty');
  const runner = new FloatLlamaRunner(model, Math.max(model.dims.maxPositions, prompt.length + n));
  let logits: Float32Array = new Float32Array(0);
  for (const t of prompt) logits = runner.step(t);
  const out: number[] = [];
  for (let i = 0; i < n; i++) {
    const next = argmaxFloat(logits);
    out.push(next);
    if (stop.includes(next)) break;
    if (i + 1 < n) logits = runner.step(next);
  }
  return out;
}

/** Anything that steps tokens and gives next-token logits: the float runner, later the integer golden model. */
export interface TokenStepper {
  reset(): void;
  step(token: number): ArrayLike<number>;
}

/**
 * Mean next-token loss in nats per token (natural log, softmax over float64 logits), the protocol of
 * examples/tiny-llama/train.py: `tokens` is cut into windows of `window` tokens (the last may be
 * shorter), each window runs from position 0, and tokens 1.. of each window are scored.
 */
export function windowedLoss(runner: TokenStepper, tokens: ArrayLike<number>, window: number): number {
  let total = 0;
  let count = 0;
  for (let start = 0; start + 1 < tokens.length; start += window) {
    const end = Math.min(start + window, tokens.length);
    runner.reset();
    for (let i = start; i + 1 < end; i++) {
      const logits = runner.step(tokens[i]);
      let max = -Infinity;
      for (let j = 0; j < logits.length; j++) max = Math.max(max, logits[j]);
      let sum = 0;
      for (let j = 0; j < logits.length; j++) sum += Math.exp(logits[j] - max);
      total += Math.log(sum) + max - logits[tokens[i + 1]];
      count++;
    }
  }
  return total / count;
}
