// Tests of Llama quantization on examples/tiny-llama: weight and requant ranges, what each M/S and table
// entry means, scales equal to the calibration maxima, determinism, and the integer RoPE tables.

import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { beforeAll, describe, expect, it } from 'vitest';
import { recognizeLlama } from '../load/llama.ts';
import { withSafetensors, type SafetensorsFile } from '../load/safetensors.ts';
import type { FloatLlama } from '../llama-model.ts';
import type { WeightBits } from '../model.ts';
import { FloatLlamaRunner, type FloatSite } from '../../verify/golden/float-llama.ts';
import { EXP_FRAC_BITS, RECIP_FRAC, RECIP_INDEX_BITS, ROPE_FRAC_BITS, RSQRT_INDEX_BITS, quantizeLlama, ropeIntTables, type QLinear, type QuantizedLlama } from './llama.ts';

const EXAMPLE = fileURLToPath(new URL('../../examples/tiny-llama/', import.meta.url));

function withFile<T>(file: string, read: (f: SafetensorsFile) => T): T {
  return withSafetensors(EXAMPLE + file, read);
}

let model: FloatLlama;
let calib: number[][];
const quantized = new Map<WeightBits, QuantizedLlama>();
const BITS: readonly WeightBits[] = [4, 8];

beforeAll(() => {
  const config: unknown = JSON.parse(readFileSync(EXAMPLE + 'config.json', 'utf8'));
  model = withFile('model.safetensors', (f) => recognizeLlama(f, config, EXAMPLE + 'config.json'));
  calib = withFile('calib.safetensors', (f) => {
    const tokens = Array.from(f.readBigInt64('tokens'), Number);
    const window = Number(f.metadata?.window ?? 128);
    const windows: number[][] = [];
    for (let i = 0; i < tokens.length; i += window) windows.push(tokens.slice(i, i + window));
    return windows;
  });
  expect(calib).toHaveLength(16);
  for (const bits of BITS) {
    const t0 = performance.now();
    quantized.set(bits, quantizeLlama(model, { weightBits: bits, calib }));
    console.log(`tiny-llama → int${bits}: ${((performance.now() - t0) / 1000).toFixed(2)} s`);
  }
});

/** A projection with the float matrix it came from, the RMSNorm weight folded into its columns (if any), and its scales. */
interface Projection {
  readonly name: string;
  readonly l: QLinear;
  readonly w: Float32Array;
  readonly fold?: Float32Array;
  readonly inScale: number;
  readonly outScale: number;
  readonly outBits: 8 | 16;
}

/** Every projection of `q`, layer by layer, then lm_head. */
function projections(q: QuantizedLlama): Projection[] {
  const s = q.scales;
  const out = model.layers.flatMap((f, n): Projection[] => {
    const l = q.layers[n];
    return [
      { name: `layer ${n} q`, l: l.q, w: f.qProj, fold: f.inputNorm, inScale: s.normed, outScale: s.q, outBits: 8 },
      { name: `layer ${n} k`, l: l.k, w: f.kProj, fold: f.inputNorm, inScale: s.normed, outScale: s.k, outBits: 8 },
      { name: `layer ${n} v`, l: l.v, w: f.vProj, fold: f.inputNorm, inScale: s.normed, outScale: s.v, outBits: 8 },
      { name: `layer ${n} o`, l: l.o, w: f.oProj, inScale: s.v, outScale: s.residual, outBits: 16 },
      { name: `layer ${n} gate`, l: l.gate, w: f.gateProj, fold: f.postAttentionNorm, inScale: s.normed, outScale: s.gate, outBits: 8 },
      { name: `layer ${n} up`, l: l.up, w: f.upProj, fold: f.postAttentionNorm, inScale: s.normed, outScale: s.up, outBits: 8 },
      { name: `layer ${n} down`, l: l.down, w: f.downProj, inScale: s.act, outScale: s.residual, outBits: 16 },
    ];
  });
  out.push({ name: 'lm_head', l: q.lmHead, w: model.lmHead, fold: model.norm, inScale: s.normed, outScale: s.logits, outBits: 16 });
  return out;
}

describe('quantizeLlama on examples/tiny-llama', () => {
  it('projections: shapes, output widths, weights in ±(2^(B−1) − 1) and every row reaching the end of the range', () => {
    const d = model.dims;
    for (const bits of BITS) {
      const q = quantized.get(bits)!;
      expect(q.kind).toBe('llama');
      expect(q.weightBits).toBe(bits);
      expect(q.layers).toHaveLength(d.layers);
      const qmax = 2 ** (bits - 1) - 1;
      for (const { name, l, w, outBits } of projections(q)) {
        expect(l.rows * l.cols, name).toBe(w.length);
        expect(l.weight).toHaveLength(w.length);
        expect(l.M).toHaveLength(l.rows);
        expect(l.S).toHaveLength(l.rows);
        expect(l.outBits, name).toBe(outBits);
        for (let r = 0; r < l.rows; r++) {
          let m = 0;
          for (let c = 0; c < l.cols; c++) m = Math.max(m, Math.abs(l.weight[r * l.cols + c]));
          // Symmetric per output channel: the largest |w| of a row maps to qmax.
          expect(m, `int${bits} ${name} row ${r}`).toBe(qmax);
        }
      }
      const [q0, k0, v0, o0, g0, u0, dn0] = projections(q).map((p) => [p.l.rows, p.l.cols]);
      expect([q0, k0, v0, o0, g0, u0, dn0]).toEqual([
        [d.heads * d.headDim, d.hidden], [d.kvHeads * d.headDim, d.hidden], [d.kvHeads * d.headDim, d.hidden], [d.hidden, d.heads * d.headDim],
        [d.intermediate, d.hidden], [d.intermediate, d.hidden], [d.hidden, d.intermediate],
      ]);
      expect([q.lmHead.rows, q.lmHead.cols]).toEqual([d.vocab, d.hidden]);
    }
  });

  it('dequantized weights are within half a step of the float weights with the RMSNorm weight folded in', () => {
    for (const bits of BITS) {
      const q = quantized.get(bits)!;
      const qmax = 2 ** (bits - 1) - 1;
      for (const { name, l, w, fold } of projections(q)) {
        for (let r = 0; r < l.rows; r++) {
          const folded = (c: number): number => w[r * l.cols + c] * (fold ? fold[c] : 1);
          let maxAbs = 0;
          for (let c = 0; c < l.cols; c++) maxAbs = Math.max(maxAbs, Math.abs(folded(c)));
          const step = maxAbs / qmax;
          let worst = 0; // in steps
          for (let c = 0; c < l.cols; c++) worst = Math.max(worst, Math.abs(l.weight[r * l.cols + c] * step - folded(c)) / step);
          expect(worst, `int${bits} ${name} row ${r}`).toBeLessThanOrEqual(0.5 + 1e-6);
        }
      }
    }
  });

  it('requant: M in [0, 2^15), S in [1, 62], and M·2^−S = step · in scale / out scale within 2^−15', () => {
    for (const bits of BITS) {
      const q = quantized.get(bits)!;
      const qmax = 2 ** (bits - 1) - 1;
      for (const { name, l, w, fold, inScale, outScale } of projections(q)) {
        for (let r = 0; r < l.rows; r++) {
          const M = l.M[r];
          const S = l.S[r];
          expect(Number.isInteger(M) && M >= 0 && M < 2 ** 15, `int${bits} ${name} M[${r}] = ${M}`).toBe(true);
          expect(Number.isInteger(S) && S >= 1 && S <= 62, `int${bits} ${name} S[${r}] = ${S}`).toBe(true);
          let maxAbs = 0;
          for (let c = 0; c < l.cols; c++) maxAbs = Math.max(maxAbs, Math.abs(w[r * l.cols + c] * (fold ? fold[c] : 1)));
          const m = ((maxAbs / qmax) * inScale) / outScale;
          expect(M, `int${bits} ${name} row ${r}: 15 significant bits`).toBeGreaterThanOrEqual(2 ** 14);
          expect(Math.abs(M / 2 ** S / m - 1), `int${bits} ${name} row ${r}`).toBeLessThanOrEqual(2 ** -15 + 1e-9);
        }
      }
      for (const [M, S] of [[q.expM, q.expS], [q.actM, q.actS]]) {
        expect(M >= 2 ** 14 && M < 2 ** 15 && S >= 1 && S <= 62).toBe(true);
      }
      const alpha = (q.scales.q * q.scales.k) / Math.sqrt(model.dims.headDim);
      expect(Math.abs(q.expM / 2 ** q.expS / (alpha * Math.LOG2E * 2 ** EXP_FRAC_BITS) - 1)).toBeLessThanOrEqual(2 ** -15);
      expect(Math.abs(q.actM / 2 ** q.actS / ((q.scales.silu * q.scales.up) / q.scales.act) - 1)).toBeLessThanOrEqual(2 ** -15);
    }
  });

  it('the embedding is int16 at the residual scale, within half a step', () => {
    for (const bits of BITS) {
      const q = quantized.get(bits)!;
      const s = q.scales.residual;
      expect(q.embed).toHaveLength(model.embedTokens.length);
      let max = 0;
      let worst = 0; // in steps
      q.embed.forEach((v, i) => {
        worst = Math.max(worst, Math.abs(v * s - model.embedTokens[i]) / s);
        max = Math.max(max, Math.abs(v));
      });
      expect(worst).toBeLessThanOrEqual(0.5 + 1e-6);
      expect(max).toBeLessThanOrEqual(32767);
      expect(q.embed.every((v) => Number.isInteger(v))).toBe(true);
    }
  });

  it('scales are the calibration maxima: 127 steps for int8 sites (q, k: largest RoPE pair), 32767 for the residual and logits', () => {
    const seen: Record<FloatSite, number> = { residual: 0, normed: 0, q: 0, k: 0, v: 0, gate: 0, up: 0, act: 0, logits: 0 };
    const half = model.dims.headDim / 2;
    const runner = new FloatLlamaRunner(model, 128);
    runner.observer = (site, _layer, v): void => {
      for (let i = 0; i < v.length; i++) {
        // q and k are rotated by RoPE later: a rotated pair can reach the pair's norm in either element.
        const h = i % model.dims.headDim;
        const m = site === 'q' || site === 'k' ? (h < half ? Math.hypot(v[i], v[i + half]) : 0) : Math.abs(v[i]);
        seen[site] = Math.max(seen[site], m);
      }
    };
    for (const w of calib) {
      runner.reset();
      for (const t of w) runner.step(t);
    }
    for (const v of model.embedTokens) seen.residual = Math.max(seen.residual, Math.abs(v));
    const s = quantized.get(8)!.scales;
    for (const site of ['normed', 'q', 'k', 'v', 'gate', 'up', 'act'] as const) expect(s[site] * 127, site).toBeCloseTo(seen[site], 12);
    expect(s.residual * 32767).toBeCloseTo(seen.residual, 12);
    expect(s.logits * 32767).toBeCloseTo(seen.logits, 12);
    // Nothing depends on the weight bits but the weights themselves.
    const q4 = quantized.get(4)!;
    const q8 = quantized.get(8)!;
    expect(q4.scales).toEqual(s);
    for (const t of ['rsqrt', 'exp2', 'recip', 'silu', 'embed', 'rsqrtFrac', 'expM', 'expS', 'actM', 'actS'] as const) expect(q4[t], t).toEqual(q8[t]);
  });

  it('tables: sizes and formulas of rsqrt, exp2, recip and silu', () => {
    const q = quantized.get(8)!;
    // rsqrt: 1024 entries, 0 below 256, round(cU·2^F/sqrt(i)) above; F is the largest that keeps 16 bits.
    expect(q.rsqrt).toHaveLength(2 ** RSQRT_INDEX_BITS);
    const lo = 2 ** (RSQRT_INDEX_BITS - 2);
    expect(q.rsqrt.subarray(0, lo).every((v) => v === 0)).toBe(true);
    const cU = Math.sqrt(model.dims.hidden) / q.scales.normed;
    for (let i = lo; i < q.rsqrt.length; i++) {
      expect(Math.abs(q.rsqrt[i] - (cU * 2 ** q.rsqrtFrac) / Math.sqrt(i)), `rsqrt[${i}]`).toBeLessThanOrEqual(0.5);
      if (i > lo) expect(q.rsqrt[i]).toBeLessThanOrEqual(q.rsqrt[i - 1]);
    }
    expect(q.rsqrt[lo]).toBeLessThanOrEqual(65535);
    expect((cU * 2 ** (q.rsqrtFrac + 1)) / Math.sqrt(lo)).toBeGreaterThan(65535);

    // exp2: 64 entries, 2^15·2^(−f/64), from 32768 down to just above 2^14.
    expect(q.exp2).toHaveLength(2 ** EXP_FRAC_BITS);
    expect(q.exp2[0]).toBe(32768);
    q.exp2.forEach((v, f) => expect(Math.abs(v - 2 ** 15 * 2 ** (-f / 64)), `exp2[${f}]`).toBeLessThanOrEqual(0.5));
    expect(Math.min(...q.exp2)).toBeGreaterThan(2 ** 14);

    // recip: 512 entries, 2^24 / (512 + i).
    expect(q.recip).toHaveLength(2 ** (RECIP_INDEX_BITS - 1));
    expect(q.recip[0]).toBe(32768);
    q.recip.forEach((v, i) => expect(Math.abs(v - 2 ** RECIP_FRAC / (512 + i)), `recip[${i}]`).toBeLessThanOrEqual(0.5));
    expect(q.recip[511]).toBe(Math.round(2 ** 24 / 1023));

    // silu: 256 entries, int16, silu(g·s_gate)/s_silu; 0 at g = 0, increasing for g ≥ 0, the minimum −0.2785 near g·s ≈ −1.28.
    const silu = (x: number): number => x / (1 + Math.exp(-x));
    expect(q.silu).toHaveLength(256);
    for (let g = -128; g < 128; g++) {
      const v = q.silu[g + 128];
      expect(Math.abs(v - silu(g * q.scales.gate) / q.scales.silu), `silu[${g}]`).toBeLessThanOrEqual(0.5 + 1e-9);
      expect(v >= -32768 && v <= 32767).toBe(true);
      if (g > 0) expect(v, `silu[${g}]`).toBeGreaterThan(q.silu[g + 127]);
      if (g < 0) expect(v).toBeLessThanOrEqual(0);
    }
    expect(q.silu[128]).toBe(0);
    expect(Math.max(...q.silu.map(Math.abs))).toBe(32767);
    expect(Math.min(...q.silu) * q.scales.silu).toBeGreaterThanOrEqual(-0.278465 - q.scales.silu / 2); // min of x·σ(x) is −0.278464…
  });

  it('is deterministic: a second run gives identical arrays', () => {
    const again = quantizeLlama(model, { weightBits: 4, calib });
    expect(again).toEqual(quantized.get(4));
  });
});

describe('ropeIntTables', () => {
  it('[positions · headDim/2] entries of round(cos/sin · 2^14): identity at position 0, on the circle within rounding', () => {
    const d = model.dims;
    const half = d.headDim / 2;
    const P = 128;
    const { cos, sin } = ropeIntTables(d, P);
    expect(cos).toHaveLength(P * half);
    expect(sin).toHaveLength(P * half);
    const one = 2 ** ROPE_FRAC_BITS;
    expect(Array.from(cos.subarray(0, half))).toEqual(new Array(half).fill(one));
    expect(Array.from(sin.subarray(0, half))).toEqual(new Array(half).fill(0));
    let worst = 0;
    for (let p = 0; p < P; p++) {
      for (let i = 0; i < half; i++) {
        const C = cos[p * half + i];
        const S = sin[p * half + i];
        expect(Math.abs(C) <= one && Math.abs(S) <= one).toBe(true);
        // The float tables are float32 (angle = fround(p · fround(inv_freq))): up to ~1e-5 rad at p = 127.
        const angle = p * d.ropeTheta ** (-(2 * i) / d.headDim);
        const err = Math.max(Math.abs(C - Math.cos(angle) * one), Math.abs(S - Math.sin(angle) * one));
        worst = Math.max(worst, err);
        const e = 0.5 + one * (p + 1) * 2 ** -23;
        expect(err, `p ${p} pair ${i}`).toBeLessThanOrEqual(e);
        // (c·2^14 + ε_c)² + (s·2^14 + ε_s)² − 2^28 = 2^15(c·ε_c + s·ε_s) + ε_c² + ε_s², and |c| + |s| ≤ √2.
        expect(Math.abs(C * C + S * S - one * one)).toBeLessThanOrEqual(2 * Math.SQRT2 * one * e + 2 * e * e);
      }
    }
    console.log(`ropeIntTables: worst |table − real·2^14| over ${P} positions: ${worst.toFixed(3)}`);
    // A longer table starts with the shorter one.
    const longer = ropeIntTables(d, 2 * P);
    expect(longer.cos.subarray(0, P * half)).toEqual(cos);
    expect(longer.sin.subarray(0, P * half)).toEqual(sin);
  });
});
