// Each unit of the engine, alone, against its unit of the golden model (verify/golden/llama.ts), run in
// the DSL's own cycle-accurate evaluator: RMSNorm, RoPE, SwiGLU and argmax on random vectors and the
// tables of a quantized random Llama. (Attention and the sequencer are checked in the whole-chip
// co-simulations: generators/llama/llama.test.ts, examples/*/…test.ts.)
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { Evaluator } from '../../../dsl/eval.ts';
import type { IrModule } from '../../../dsl/ir/types.ts';
import { defineGrid } from '../../grid/grid.ts';
import { quantizeLlama, RSQRT_INDEX_BITS, ropeIntTables, type QuantizedLlama } from '../../quantize/llama.ts';
import { randomFloatLlama, randomTokens } from '../../llama/testing.ts';
import { normInt, ropeInt, rq, sat } from '../../../verify/golden/llama.ts';
import { engineCaps } from '../caps.ts';
import { normUnit } from './norm.ts';
import { ropeUnit } from './rope.ts';
import { siluUnit } from './silu.ts';
import { argmaxUnit } from './argmax.ts';

// A base die smaller than tiny-llama's, with 4-wide elementwise units, for a model of hidden 40
// (not a multiple of the width: the last block is partial), 4 heads of 8.
const grid = defineGrid({
  name: 'unit-test', rows: 16, lanes: 8, romDepth: 64, weightBits: 4, accBits: 24, maxFeatures: 64, vector: 4,
  lut: { units: 7, entries: 1024, width: 16 }, sram: { banks: 2, words: 64, width: 256 },
  engine: { heads: 4, headDim: 16, context: 16, vocab: 64, instrs: 64 },
});
const caps = engineCaps(grid);
const dims = { hidden: 40, intermediate: 56, layers: 1, heads: 4, kvHeads: 2, headDim: 8, vocab: 50, tied: false, rmsNormEps: 1e-5, ropeTheta: 10000, maxPositions: 16 };
const q: QuantizedLlama = quantizeLlama(randomFloatLlama(dims, 7), { weightBits: 4, calib: [randomTokens(16, dims.vocab, 8)] });

/** Packs signed `bits`-bit elements, element 0 in the low bits (the units' bus layout). */
function pack(vals: ArrayLike<number>, bits: number, n = vals.length): bigint {
  let v = 0n;
  for (let i = n - 1; i >= 0; i--) v = (v << BigInt(bits)) | (BigInt(i < vals.length ? vals[i] : 0) & ((1n << BigInt(bits)) - 1n));
  return v;
}
function unpack(v: bigint, bits: number, n: number): number[] {
  return Array.from({ length: n }, (_, i) => Number(BigInt.asIntN(bits, v >> BigInt(bits * i))));
}

/** Drives a unit by port name; unnamed inputs are 0. */
class Unit {
  readonly ev: Evaluator;
  constructor(m: IrModule) {
    this.ev = new Evaluator(m);
  }
  step(ins: Record<string, bigint | number>): Record<string, bigint> {
    for (const k of Object.keys(ins)) if (!this.ev.inputs.some((p) => p.name === k)) throw new Error(`no input ${k}`);
    const out = this.ev.step(this.ev.inputs.map((p) => BigInt(ins[p.name] ?? 0)));
    return Object.fromEntries(this.ev.outputs.map((p, i) => [p.name, out[i]]));
  }
}

const int = (lo: number, hi: number, n: number): fc.Arbitrary<number[]> => fc.array(fc.integer({ min: lo, max: hi }), { minLength: n, maxLength: n });
const table = (a: Int32Array): bigint => pack(a, 16, caps.lutEntries);

describe('engine units = golden units (DSL evaluator)', () => {
  it('hw_norm: RMSNorm of an int16 vector, 4 per cycle over a partial last block', () => {
    const u = new Unit(normUnit(caps));
    const hblk = Math.ceil(dims.hidden / caps.E);
    const s0 = q.rsqrtFrac - (RSQRT_INDEX_BITS - 2) / 2;
    fc.assert(fc.property(fc.oneof(int(-32768, 32767, dims.hidden), int(-300, 300, dims.hidden), int(-3, 3, dims.hidden)), (x) => {
      const bus = pack(x, 16, caps.F);
      const common = { run: 1, x: bus, hblk, s0, lut: table(q.rsqrt) };
      for (let cnt = 0; cnt <= hblk; cnt++) u.step({ ...common, cnt });
      const got: number[] = [];
      for (let b = 0; b < hblk; b++) {
        const o = u.step({ ...common, cnt: hblk + 1 + b });
        expect(o.we).toBe(1n);
        expect(o.blk).toBe(BigInt(b));
        got.push(...unpack(o.u, 8, caps.E));
      }
      expect(got.slice(0, dims.hidden)).toEqual([...normInt(q, Int32Array.from(x))]);
    }), { numRuns: 60, seed: 11 });
  });

  it('hw_norm with pre = 1: Σx² from the writeback (ssw), rsqrt at cnt 0, the scale pass right after', () => {
    const u = new Unit(normUnit(caps));
    const hblk = Math.ceil(dims.hidden / caps.E);
    const s0 = q.rsqrtFrac - (RSQRT_INDEX_BITS - 2) / 2;
    fc.assert(fc.property(fc.oneof(int(-32768, 32767, dims.hidden), int(-300, 300, dims.hidden), int(-3, 3, dims.hidden)), (x) => {
      const ssw = x.reduce((a, v) => a + BigInt(v) * BigInt(v), 0n);
      const common = { run: 1, x: pack(x, 16, caps.F), hblk, s0, lut: table(q.rsqrt), pre: 1, ssw };
      u.step({ ...common, cnt: 0 });
      const got: number[] = [];
      for (let b = 0; b < hblk; b++) {
        const o = u.step({ ...common, cnt: 1 + b });
        expect(o.we).toBe(1n);
        expect(o.blk).toBe(BigInt(b));
        got.push(...unpack(o.u, 8, caps.E));
      }
      expect(got.slice(0, dims.hidden)).toEqual([...normInt(q, Int32Array.from(x))]);
    }), { numRuns: 60, seed: 15 });
  });

  it('hw_rope: every (a, b) pair of the Q heads, then the K heads, E pairs a cycle, at any position', () => {
    const u = new Unit(ropeUnit(caps));
    const { cos, sin } = ropeIntTables(dims, caps.ctx);
    const half = dims.headDim / 2;
    const words: number[] = [];
    for (let p = 0; p < caps.ctx; p++) for (let i = 0; i < caps.half; i++) words.push(i < half ? ((cos[p * half + i] & 0xffff) << 16) | (sin[p * half + i] & 0xffff) : 0);
    let lut = 0n;
    for (let i = words.length - 1; i >= 0; i--) lut = (lut << 32n) | BigInt(words[i] >>> 0);
    const qlen = dims.heads * dims.headDim;
    const klen = dims.kvHeads * dims.headDim;
    fc.assert(fc.property(int(-128, 127, qlen), int(-128, 127, klen), fc.integer({ min: 0, max: caps.ctx - 1 }), (qv, kv, p) => {
      const want = [Int32Array.from(qv), Int32Array.from(kv)];
      for (const v of want) ropeInt(v, dims.headDim, cos, sin, p);
      const got = [Int32Array.from(qv), Int32Array.from(kv)];
      const pairs = (qlen + klen) / 2;
      const iw = Math.ceil(Math.log2(caps.F + caps.kvMax + 1));
      const at = (bus: bigint, j: number, bits: number): bigint => (bus >> BigInt(j * bits)) & ((1n << BigInt(bits)) - 1n);
      for (let cnt = 0; cnt < Math.ceil(pairs / caps.E); cnt++) {
        // E pairs a cycle, each rotated from the buffers as they were before the cycle.
        const o = u.step({ cnt, p, q: pack(got[0], 8, caps.F), k: pack(got[1], 8, caps.kvMax), hdlog: Math.log2(dims.headDim), qlen, lut });
        for (let j = 0; j < caps.E && cnt * caps.E + j < pairs; j++) {
          const inQ = at(o.in_q, j, 1) === 1n;
          const [ia, ib] = inQ ? [Number(at(o.ea, j, iw)), Number(at(o.eb, j, iw))] : [Number(at(o.ka, j, iw)), Number(at(o.kb, j, iw))];
          const v = got[inQ ? 0 : 1];
          v[ia] = Number(BigInt.asIntN(8, at(o.a_out, j, 8)));
          v[ib] = Number(BigInt.asIntN(8, at(o.b_out, j, 8)));
        }
      }
      expect([...got[0]]).toEqual([...want[0]]);
      expect([...got[1]]).toEqual([...want[1]]);
    }), { numRuns: 40, seed: 12 });
  });

  it('hw_silu: SwiGLU act = sat8(rq(SILU[g]·up, actM, actS)), 4 lookup-table units', () => {
    const u = new Unit(siluUnit(caps));
    const n = dims.intermediate;
    const luts = Object.fromEntries(Array.from({ length: caps.E }, (_, j) => [`lut${j}`, table(q.silu)]));
    fc.assert(fc.property(int(-128, 127, n), int(-128, 127, n), (g, up) => {
      const got: number[] = [];
      for (let cnt = 0; cnt < Math.ceil(n / caps.E); cnt++) {
        const o = u.step({ cnt, g: pack(g, 8, caps.F), up: pack(up, 8, caps.F), act_m: q.actM, act_s: q.actS, ...luts });
        got.push(...unpack(o.act, 8, caps.E));
      }
      expect(got.slice(0, n)).toEqual(g.map((gi, i) => sat(rq(q.silu[gi + 128] * up[i], q.actM, q.actS), 8)));
    }), { numRuns: 60, seed: 13 });
  });

  it('hw_argmax: the lowest index of the largest logit, over a vocabulary not a multiple of 4', () => {
    const u = new Unit(argmaxUnit(caps));
    const A = grid.accBits;
    fc.assert(fc.property(fc.integer({ min: 1, max: caps.vocab }).chain((nv) => fc.tuple(fc.constant(nv), fc.oneof(int(-(2 ** 23), 2 ** 23 - 1, nv), int(-2, 2, nv)))), ([nv, logits]) => {
      const bus = pack(logits, A, caps.vocab);
      u.step({ rst: 1 });
      for (let cnt = 0; cnt < Math.ceil(nv / caps.E); cnt++) u.step({ run: 1, cnt, logits: bus, vocab: nv });
      const best = u.step({ logits: bus, vocab: nv }).best;
      expect(Number(best)).toBe(logits.indexOf(Math.max(...logits)));
    }), { numRuns: 200, seed: 14 });
  });
});
