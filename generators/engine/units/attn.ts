// hw_attn: attention over the KV cache, every head at once (verify/golden/llama.ts). One K row and one V
// row of the SRAM hold every KV head of a position, so each cycle feeds all query heads from one row:
//   scores   s_h,t = Σ_i q_h,i·K[t]_kv(h),i for t ≤ p, a running max per head, kept in a score SRAM  (p + 2 cycles)
//   exp·V    e_h,t = EXP2[z mod 64] >> ⌊z/64⌋, z = rq(max_h − s_h,t, expM, expS); Σ e, Σ e·V[t]        (p + 2)
//   outputs  head h per cycle: R, S = RECIP of Σ_h; o_h,i = sat8(rq(num_h,i, R, S)), headDim into U     (heads)
// Heads, head size and the query-head → KV-head table are tie-offs; tables come from mask layer A. The
// unit has heads × headDim multipliers for the scores and as many for exp·V (the grid's engine.heads and
// engine.headDim): the width the bound (bound.ts) divides the attention work by.
import { ModuleBuilder } from '../../../dsl/module.ts';
import type { IrModule } from '../../../dsl/ir/types.ts';
import type { Signal } from '../../../dsl/signal.ts';
import { adderTree, ranged, requantBy } from '../../mlp/arith.ts';
import { SHIFT_BITS } from '../../grid/base.ts';
import { EXP_FRAC_BITS, EXP_RANGE, RECIP_INDEX_BITS } from '../../quantize/llama.ts';
import { bitsFor, type EngineCaps } from '../caps.ts';
import { bus, elems, msbIndex, pick, sat } from './util.ts';

/** Attention MACs the unit does per cycle (scores; exp·V has as many multipliers): all head slots. */
export function attnMacsPerCycle(c: EngineCaps): number {
  return c.heads * c.hd;
}

export function attnUnit(c: EngineCaps): IrModule {
  const { F, kvMax, hd, ctx } = c;
  const NH = c.heads;
  const m = new ModuleBuilder('hw_attn', { doc: `attention unit: ${NH} heads at once, up to ${hd} wide, over up to ${ctx} cached positions, ${NH * hd} MACs per cycle`, params: { F, kvMax, hd, ctx, NH } });
  const clk = m.clock('clk');
  const rst = m.input('rst', 1);
  const run = m.input('run', 1);
  const fin = m.input('fin', 1);
  const pos = m.input('pos', c.ctxBits + 1);
  const q = elems(m.input('q', F * 8), F, 8);
  const krowBus = m.input('krow', kvMax * 8);
  const vrowBus = m.input('vrow', kvMax * 8);
  const heads = m.input('heads', bitsFor(c.heads));
  const hdlog = m.input('hdlog', bitsFor(Math.log2(hd)));
  const kvhBits = bitsFor(c.kvHeadsMax - 1);
  const kvhTable = m.input('kv_head', c.heads * kvhBits);
  const expM = m.input('exp_m', 15);
  const expS = m.input('exp_s', SHIFT_BITS);
  const exp2 = m.input('lut_exp', c.lutEntries * 16);
  const recip = m.input('lut_recip', c.lutEntries * 16);
  const pB = c.ctxBits;
  const hB = bitsFor(NH - 1);
  const tW = Math.max(pB + 1, bitsFor(NH));
  const t = m.reg('t', { width: tW, clock: clk, reset: rst, resetValue: 0n });
  const ph = m.reg('phase', { width: 2, clock: clk, reset: rst, resetValue: 0n });
  const tEnd = t.eq(pos.zext(tW).add(1)); // t = p + 1: the last cycle of a cache sweep
  // The head size is a tie-off: 2^k for one k (heads are at least 4 wide: generators/llama/design.ts);
  // slot (h, i) reads q[h·2^k + i] and K/V[kv(h)·2^k + i].
  const kMin = Math.min(2, Math.log2(hd));
  const hdLogs = Array.from({ length: Math.log2(hd) + 1 - kMin }, (_, j) => kMin + j);
  const z8 = m.const(0, 8, true);
  const bySize = (f: (k: number) => Signal): Signal => hdLogs.reduce<Signal>((acc, k) => hdlog.eq(k).select(f(k), acc), z8);
  const kvh = Array.from({ length: NH }, (_, h) => kvhTable.slice((h + 1) * kvhBits - 1, h * kvhBits).named(`kvh${h}`));
  // KV head kv(h) of a row: an indexed part-select of 2^k elements where the row holds a power-of-two
  // number of such heads, else a mux over the heads.
  const headOf = (rowBus: Signal, h: number, k: number): Signal[] => {
    const n = kvMax >> k;
    if (n >= 1 && (n & (n - 1)) === 0 && kvMax % 2 ** k === 0) return elems(rowBus.word(kvh[h], 8 * 2 ** k), 2 ** k, 8);
    const row = elems(rowBus, kvMax, 8);
    return Array.from({ length: 2 ** k }, (_, i) => pick(m, Array.from({ length: c.kvHeadsMax }, (_, j) => ((j << k) + i < kvMax ? row[(j << k) + i] : z8)), kvh[h]));
  };
  const rowSlots = (rowBus: Signal): Signal[][] => Array.from({ length: NH }, (_, h) => {
    const byK = new Map(hdLogs.map((k) => [k, headOf(rowBus, h, k)]));
    return Array.from({ length: hd }, (_, i) => bySize((k) => (i < 2 ** k ? byK.get(k)![i] : z8)));
  });
  const qh = Array.from({ length: NH }, (_, h) => Array.from({ length: hd }, (_, i) => bySize((k) => (i < 2 ** k && (h << k) + i < F ? q[(h << k) + i] : z8)).named(`q_h${h}_${i}`)));
  const kh = rowSlots(krowBus).map((s, h) => s.map((v, i) => v.named(`k_h${h}_${i}`)));
  const vh = rowSlots(vrowBus).map((s, h) => s.map((v, i) => v.named(`v_h${h}_${i}`)));
  const dots = qh.map((qs, h) => adderTree({ m, clk }, `score_h${h}`, qs.map((x, i) => ranged(x.sext(16).mul(kh[h][i].sext(16)).trunc(16), -(127n * 128n), 128n * 128n)), 1000, 0).out.sig);
  const scoreBits = dots[0].width;
  const ph0 = run.and(ph.eq(0)), ph1 = run.and(ph.eq(1)), ph2 = run.and(ph.eq(2));
  const tPos = t.ne(0);
  const restart = t.eq(1);
  const sram = m.ram('scores', NH * scoreBits, pB);
  const sAddr = ph0.select(t.sub(1), t).trunc(pB);
  const sqAll = sram.port({ clock: clk, addr: sAddr, writeData: bus(m, dots.map((d) => d.asUnsigned())), writeEnable: ph0.and(tPos) });
  const sq = elems(sqAll, NH, scoreBits);
  const zMax = EXP_RANGE << EXP_FRAC_BITS;
  const sumBits = 16 + pB + 1;
  const numBits = 8 + 17 + pB + 1;
  const acc1 = ph1.and(tPos);
  const sums: Signal[] = [];
  const nums: Signal[][] = [];
  for (let h = 0; h < NH; h++) {
    const smax = m.reg(`max_h${h}`, { width: scoreBits, signed: true, clock: clk });
    smax.next(ph0.and(tPos).select(restart.or(dots[h].gt(smax)).select(dots[h], smax), smax));
    const dist = smax.subWide(sq[h]).asUnsigned().trunc(scoreBits + 1).named(`d_h${h}`);
    const z = requantBy(m, dist.zext(scoreBits + 2).asSigned(), expM, expS).named(`z_h${h}`);
    const zU = z.asUnsigned();
    const ex2 = exp2.word(zU.trunc(EXP_FRAC_BITS), 16);
    const e = z.ge(m.const(zMax, z.width, true)).select(m.const(0, 16), ex2.shrBy(zU.slice(EXP_FRAC_BITS + 3, EXP_FRAC_BITS))).named(`e_h${h}`);
    const sum = m.reg(`sum_h${h}`, { width: sumBits, clock: clk });
    sum.next(acc1.select(restart.select(e.zext(sumBits), sum.add(e.zext(sumBits))), sum));
    sums.push(sum);
    nums.push(Array.from({ length: hd }, (_, i) => {
      const r = m.reg(`num_h${h}_${i}`, { width: numBits, signed: true, clock: clk });
      const v = e.zext(17).asSigned().mul(vh[h][i].sext(17)).trunc(25).sext(numBits);
      r.next(acc1.select(restart.select(v, r.add(v)), r));
      return r;
    }));
  }
  // Outputs: head t of the output phase, its reciprocal looked up in the same cycle.
  const head = t.trunc(hB).named('out_head');
  const sum = pick(m, sums, head).named('sum_sel');
  const e2 = msbIndex(m, sum).named('e2');
  const rb = RECIP_INDEX_BITS - 1;
  const ridx = sum.shrBy(e2.sub(rb)).trunc(rb);
  const R = recip.word(ridx, 16).named('r');
  const S = e2.zext(SHIFT_BITS).add(24 - rb).named('s');
  const out = Array.from({ length: hd }, (_, i) => sat(m, requantBy(m, pick(m, nums.map((n) => n[i]), head), R, S), 8).named(`out${i}`));
  const outVec: Signal[] = [];
  const outWe: Signal[] = [];
  for (let e = 0; e < F; e++) {
    let v: Signal = z8;
    let we: Signal = m.const(0, 1);
    for (const k of hdLogs) {
      const hk = e >> k;
      if (hk >= NH) continue;
      const at = hdlog.eq(k).and(head.eq(hk));
      v = hdlog.eq(k).select(out[e & (2 ** k - 1)], v);
      we = at.select(m.const(1, 1), we);
    }
    outVec.push(v);
    outWe.push(ph2.and(we));
  }
  const lastHead = t.eq(heads.zext(tW).sub(1));
  const oEnd = ph2.and(lastHead);
  const sweepEnd = ph0.or(ph1).and(tEnd);
  t.next(fin.or(sweepEnd).or(oEnd).select(m.const(0, tW), run.select(t.add(1), t)));
  ph.next(fin.select(m.const(0, 2), sweepEnd.or(oEnd).select(ph.add(1), ph)));
  m.output('t', t.trunc(pB + 1));
  m.output('done', oEnd);
  m.output('out', bus(m, outVec).asUnsigned());
  m.output('out_we', bus(m, outWe));
  return m.build();
}
