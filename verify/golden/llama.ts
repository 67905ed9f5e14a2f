// The integer golden Llama decoder: THE SPEC the RTL matches bit for bit (docs/ARCHITECTURE.md, "Numerics").
//
// Every value is an integer; every operation below is what one hardware unit does:
//   rq(a, M, S)      = (a·M + 2^(S−1)) >> S, an arithmetic (floor) shift: round half up. sat_b clamps.
//   embed            x = EMB[token]                                  (int16 residual)
//   norm (RMSNorm)   ss = Σ x²; k = ⌊(bitlen(ss)−1)/2⌋ (0 if ss = 0); idx = ss >> (2k−8) (or << if 2k < 8);
//                    u_i = sat8(rq(x_i, RSQRT[idx], F + k − 4))     (γ is folded into the next matrix)
//   matmul           acc_r = Σ_c W[r][c]·in[c]; out_r = sat_b(rq(acc_r, M_r, S_r)), b = 8 or 16
//   rope             (a, b) = (q_i, q_{i+half}): q_i = sat8((a·C − b·S + 2^13) >> 14),
//                    q_{i+half} = sat8((b·C + a·S + 2^13) >> 14), C/S = COS/SIN[p][i]
//   attention        s_t = Σ_i q_i·K[t]_i; d_t = max_t s_t − s_t; z_t = rq(d_t, expM, expS);
//                    e_t = z_t ≥ 1024 ? 0 : EXP2[z_t mod 64] >> ⌊z_t / 64⌋; sum = Σ e_t; num_i = Σ e_t·V[t]_i;
//                    e2 = bitlen(sum) − 1; R = RECIP[(sum >> (e2 − 9)) − 512]; out_i = sat8(rq(num_i, R, e2 + 15))
//   residual add     x_i = sat16(x_i + o_i)
//   swiglu           act_i = sat8(rq(SILU[gate_i] · up_i, actM, actS))
//   next token       argmax over the int16 logits, lowest index on a tie.
// All intermediate values stay below 2^53, so plain numbers are exact (asserted where it could fail).

import type { LlamaDims } from '../../generators/llama-model.ts';
import { EXP_FRAC_BITS, EXP_RANGE, RECIP_INDEX_BITS, RSQRT_INDEX_BITS, ropeIntTables, type QLinear, type QuantizedLlama } from '../../generators/quantize/llama.ts';

/** (a·M + 2^(S−1)) >> S with a floor shift; exact while |a·M| < 2^52. */
export function rq(a: number, M: number, S: number): number {
  const p = a * M + 2 ** (S - 1);
  if (!Number.isSafeInteger(p)) throw new Error(`rq: ${a}·${M} is not exact in a double`);
  return Math.floor(p / 2 ** S);
}

export function sat(v: number, bits: number): number {
  const hi = 2 ** (bits - 1) - 1;
  return v > hi ? hi : v < -hi - 1 ? -hi - 1 : v;
}

/** Number of bits of a non-negative integer (0 for 0). */
export function bitLength(v: number): number {
  return v === 0 ? 0 : v.toString(2).length;
}

/** RMSNorm's rsqrt step: the multiplier and shift applied to every x_i, from ss = Σ x². */
export function rsqrtOf(q: QuantizedLlama, ss: number): { R: number; S: number } {
  const k = ss === 0 ? 0 : Math.floor((bitLength(ss) - 1) / 2);
  const sh = 2 * k - (RSQRT_INDEX_BITS - 2);
  const idx = sh >= 0 ? Math.floor(ss / 2 ** sh) : ss * 2 ** -sh;
  return { R: q.rsqrt[idx], S: q.rsqrtFrac + k - (RSQRT_INDEX_BITS - 2) / 2 };
}

export function normInt(q: QuantizedLlama, x: Int32Array): Int32Array {
  let ss = 0;
  for (let i = 0; i < x.length; i++) ss += x[i] * x[i];
  const { R, S } = rsqrtOf(q, ss);
  return Int32Array.from(x, (v) => sat(rq(v, R, S), 8));
}

/** Raw accumulators of a projection. */
export function matAcc(l: QLinear, x: Int32Array): number[] {
  const acc = new Array<number>(l.rows);
  for (let r = 0; r < l.rows; r++) {
    let a = 0;
    const base = r * l.cols;
    for (let c = 0; c < l.cols; c++) a += l.weight[base + c] * x[c];
    acc[r] = a;
  }
  return acc;
}

export function matInt(l: QLinear, x: Int32Array): Int32Array {
  return Int32Array.from(matAcc(l, x), (a, r) => sat(rq(a, l.M[r], l.S[r]), l.outBits));
}

export function ropeInt(v: Int32Array, headDim: number, cos: Int32Array, sin: Int32Array, p: number): void {
  const half = headDim / 2;
  for (let h = 0; h < v.length; h += headDim) {
    for (let i = 0; i < half; i++) {
      const C = cos[p * half + i];
      const S = sin[p * half + i];
      const a = v[h + i];
      const b = v[h + i + half];
      v[h + i] = sat(Math.floor((a * C - b * S + 8192) / 16384), 8);
      v[h + i + half] = sat(Math.floor((b * C + a * S + 8192) / 16384), 8);
    }
  }
}

/** The exp unit: e for a score distance d ≥ 0. */
export function expInt(q: QuantizedLlama, d: number): number {
  const z = rq(d, q.expM, q.expS);
  if (z >= EXP_RANGE << EXP_FRAC_BITS) return 0;
  return q.exp2[z & ((1 << EXP_FRAC_BITS) - 1)] >> (z >> EXP_FRAC_BITS);
}

/** The reciprocal unit: multiplier and shift with num·R >> S ≈ num / sum (sum ≥ 2^15). */
export function recipOf(q: QuantizedLlama, sum: number): { R: number; S: number } {
  const e2 = bitLength(sum) - 1;
  const idx = Math.floor(sum / 2 ** (e2 - (RECIP_INDEX_BITS - 1)));
  return { R: q.recip[idx - 2 ** (RECIP_INDEX_BITS - 1)], S: e2 + 24 - (RECIP_INDEX_BITS - 1) };
}

/** Everything one decoder step computed that a test may want to compare. */
export interface IntStep {
  readonly logits: Int32Array;
  readonly next: number;
}

/** The integer decoder, one token at a time; the KV cache is int8 [layer][position · kvHeads · headDim]. */
export class IntLlamaRunner {
  private pos = 0;
  readonly keys: Int32Array[];
  readonly values: Int32Array[];
  private readonly cos: Int32Array;
  private readonly sin: Int32Array;
  readonly dims: LlamaDims;

  constructor(readonly model: QuantizedLlama, readonly context: number) {
    const d = (this.dims = model.dims);
    const kv = d.kvHeads * d.headDim;
    this.keys = model.layers.map(() => new Int32Array(context * kv));
    this.values = model.layers.map(() => new Int32Array(context * kv));
    ({ cos: this.cos, sin: this.sin } = ropeIntTables(d, context));
  }

  get position(): number {
    return this.pos;
  }

  /** Starts a new text: the next token is at position 0 (old cache rows are simply overwritten). */
  reset(): void {
    this.pos = 0;
  }

  step(token: number): IntStep {
    const q = this.model;
    const d = this.dims;
    if (!Number.isInteger(token) || token < 0 || token >= d.vocab) throw new Error(`IntLlamaRunner.step: token ${token} is outside the vocabulary of ${d.vocab}`);
    if (this.pos >= this.context) throw new Error(`IntLlamaRunner.step: the KV cache holds ${this.context} positions`);
    const p = this.pos;
    const hd = d.headDim;
    const kvw = d.kvHeads * hd;
    const rep = d.heads / d.kvHeads;
    const x = q.embed.slice(token * d.hidden, (token + 1) * d.hidden);
    const addResidual = (o: Int32Array): void => {
      for (let i = 0; i < x.length; i++) x[i] = sat(x[i] + o[i], 16);
    };
    const scores = new Array<number>(p + 1);
    q.layers.forEach((l, n) => {
      const u = normInt(q, x);
      const qv = matInt(l.q, u);
      const k = matInt(l.k, u);
      const v = matInt(l.v, u);
      ropeInt(qv, hd, this.cos, this.sin, p);
      ropeInt(k, hd, this.cos, this.sin, p);
      this.keys[n].set(k, p * kvw);
      this.values[n].set(v, p * kvw);
      const K = this.keys[n];
      const V = this.values[n];
      const att = new Int32Array(d.heads * hd);
      for (let h = 0; h < d.heads; h++) {
        const g = Math.floor(h / rep) * hd;
        let max = -Infinity;
        for (let t = 0; t <= p; t++) {
          let s = 0;
          for (let i = 0; i < hd; i++) s += qv[h * hd + i] * K[t * kvw + g + i];
          scores[t] = s;
          if (s > max) max = s;
        }
        let sum = 0;
        const num = new Array<number>(hd).fill(0);
        for (let t = 0; t <= p; t++) {
          const e = expInt(q, max - scores[t]);
          sum += e;
          for (let i = 0; i < hd; i++) num[i] += e * V[t * kvw + g + i];
        }
        const { R, S } = recipOf(q, sum);
        for (let i = 0; i < hd; i++) att[h * hd + i] = sat(rq(num[i], R, S), 8);
      }
      addResidual(matInt(l.o, att));
      const u2 = normInt(q, x);
      const gate = matInt(l.gate, u2);
      const up = matInt(l.up, u2);
      const act = Int32Array.from(gate, (g, i) => sat(rq(q.silu[g + 128] * up[i], q.actM, q.actS), 8));
      addResidual(matInt(l.down, act));
    });
    const logits = matInt(q.lmHead, normInt(q, x));
    let next = 0;
    for (let i = 1; i < logits.length; i++) if (logits[i] > logits[next]) next = i;
    this.pos++;
    return { logits, next };
  }
}

/** Float logits of the integer model (int × logit scale), for losses beside the float model's. */
export class IntLlamaStepper {
  private readonly runner: IntLlamaRunner;
  constructor(model: QuantizedLlama, context: number) {
    this.runner = new IntLlamaRunner(model, context);
  }
  reset(): void {
    this.runner.reset();
  }
  step(token: number): Float64Array {
    const s = this.runner.model.scales.logits;
    return Float64Array.from(this.runner.step(token).logits, (v) => v * s);
  }
}

/** `prompt` then `n` greedy tokens from the integer model; returns the runner (for its KV cache) and the tokens. */
/** Greedy generation of up to `n` tokens; it stops after a token of `stop` (the model's eos), if given. */
export function generateInt(model: QuantizedLlama, prompt: readonly number[], n: number, context: number, stop: readonly number[] = []): { tokens: number[]; runner: IntLlamaRunner } {
  if (prompt.length === 0) throw new Error('generateInt: the prompt is empty');
  const runner = new IntLlamaRunner(model, context);
  let next = 0;
  for (const t of prompt) next = runner.step(t).next;
  const tokens: number[] = [];
  for (let i = 0; i < n; i++) {
    tokens.push(next);
    if (stop.includes(next)) break;
    if (i + 1 < n) next = runner.step(next).next;
  }
  return { tokens, runner };
}
