// hw_attn: attention over the KV cache, one head at a time (verify/golden/llama.ts):
//   scores   s_t = Σ_i q_i·K[t]_i for t ≤ p, running max, kept in a score SRAM      (p + 2 cycles)
//   exp·V    e_t = EXP2[z mod 64] >> ⌊z/64⌋, z = rq(max − s_t, expM, expS); Σ e_t, Σ e_t·V[t]  (p + 2)
//   1/Σ      R = RECIP[top 10 bits of Σ], shift from its leading one                    (1)
//   outputs  o_i = sat8(rq(num_i, R, e2 + 15)), one per cycle into U                    (headDim)
// Heads, head size and the query-head → KV-head table are tie-offs; tables come from mask layer A.
import { ModuleBuilder } from '../../../dsl/module.ts';
import type { IrModule } from '../../../dsl/ir/types.ts';
import { adderTree, ranged, requantBy } from '../../mlp/arith.ts';
import { SHIFT_BITS } from '../../grid/base.ts';
import { log2ceil } from '../../grid/grid.ts';
import { EXP_FRAC_BITS, EXP_RANGE, RECIP_INDEX_BITS } from '../../quantize/llama.ts';
import { bitsFor, type EngineCaps } from '../caps.ts';
import { elems, msbIndex, pick, sat } from './util.ts';

export function attnUnit(c: EngineCaps): IrModule {
  const { F, kvMax, hd, ctx } = c;
  const m = new ModuleBuilder('hw_attn', { doc: `attention unit: heads up to ${hd} wide over up to ${ctx} cached positions, ${hd} MACs per cycle`, params: { F, kvMax, hd, ctx } });
  const clk = m.clock('clk');
  const rst = m.input('rst', 1);
  const run = m.input('run', 1);
  const fin = m.input('fin', 1);
  const pos = m.input('pos', c.ctxBits + 1);
  const q = elems(m.input('q', F * 8), F, 8);
  const krow = elems(m.input('krow', kvMax * 8), kvMax, 8);
  const vrow = elems(m.input('vrow', kvMax * 8), kvMax, 8);
  const heads = m.input('heads', bitsFor(c.heads));
  const hdlog = m.input('hdlog', bitsFor(Math.log2(hd)));
  const kvhBits = bitsFor(c.kvHeadsMax - 1);
  const kvhTable = m.input('kv_head', c.heads * kvhBits);
  const expM = m.input('exp_m', 15);
  const expS = m.input('exp_s', SHIFT_BITS);
  const exp2 = m.input('lut_exp', c.lutEntries * 16);
  const recip = m.input('lut_recip', c.lutEntries * 16);
  const pB = c.ctxBits;
  const hB = bitsFor(c.heads - 1);
  const t = m.reg('t', { width: pB + 1, clock: clk, reset: rst, resetValue: 0n });
  const head = m.reg('head', { width: hB, clock: clk, reset: rst, resetValue: 0n });
  const ph = m.reg('phase', { width: 2, clock: clk, reset: rst, resetValue: 0n });
  const tEnd = t.eq(pos.add(1)); // t = p + 1: the last cycle of a cache sweep
  const kvHead = kvhTable.word(head, kvhBits).named('kv_head_sel');
  const iw = bitsFor(F + kvMax);
  const hdRt = m.const(1, iw).shlBy(hdlog.zext(5)).named('hd');
  const qBase = head.zext(iw).shlBy(hdlog.zext(5)).named('q_base');
  const kBase = kvHead.zext(iw).shlBy(hdlog.zext(5)).named('k_base');
  const qh = Array.from({ length: hd }, (_, i) => m.const(i, iw).lt(hdRt).select(pick(m, q, qBase.add(i)), m.const(0, 8, true)));
  const kh = Array.from({ length: hd }, (_, i) => pick(m, krow, kBase.add(i)));
  const vh = Array.from({ length: hd }, (_, i) => pick(m, vrow, kBase.add(i)));
  const dot = adderTree({ m, clk }, 'score', qh.map((x, i) => ranged(x.sext(16).mul(kh[i].sext(16)).trunc(16), -(127n * 128n), 128n * 128n)), 1000, 0).out.sig;
  const scoreBits = dot.width;
  const ph0 = run.and(ph.eq(0)), ph1 = run.and(ph.eq(1)), ph2 = run.and(ph.eq(2)), ph3 = run.and(ph.eq(3));
  const tPos = t.ne(0);
  const sram = m.ram('scores', scoreBits, pB);
  const sAddr = ph0.select(t.sub(1), t).trunc(pB);
  const sq = sram.port({ clock: clk, addr: sAddr, writeData: dot.asUnsigned(), writeEnable: ph0.and(tPos) }).asSigned();
  const smax = m.reg('max', { width: scoreBits, signed: true, clock: clk });
  smax.next(ph0.and(tPos).select(t.eq(1).or(dot.gt(smax)).select(dot, smax), smax));
  const dist = smax.subWide(sq).asUnsigned().trunc(scoreBits + 1).named('d');
  const z = requantBy(m, dist.zext(scoreBits + 2).asSigned(), expM, expS).named('z');
  const zMax = EXP_RANGE << EXP_FRAC_BITS;
  const zU = z.asUnsigned();
  const ex2 = exp2.word(zU.trunc(EXP_FRAC_BITS).zext(10), 16);
  const e = z.ge(m.const(zMax, z.width, true)).select(m.const(0, 16), ex2.shrBy(zU.slice(EXP_FRAC_BITS + 3, EXP_FRAC_BITS))).named('e');
  const sumBits = 16 + pB + 1;
  const sum = m.reg('sum', { width: sumBits, clock: clk });
  const acc1 = ph1.and(tPos);
  const restart = t.eq(1);
  sum.next(acc1.select(restart.select(e.zext(sumBits), sum.add(e.zext(sumBits))), sum));
  const numBits = 8 + 17 + pB + 1;
  const num = Array.from({ length: hd }, (_, i) => {
    const r = m.reg(`num${i}`, { width: numBits, signed: true, clock: clk });
    const v = e.zext(17).asSigned().mul(vh[i].sext(17)).trunc(25).sext(numBits);
    r.next(acc1.select(restart.select(v, r.add(v)), r));
    return r;
  });
  const e2 = msbIndex(m, sum).named('e2');
  const rb = RECIP_INDEX_BITS - 1;
  const ridx = sum.shrBy(e2.sub(rb)).trunc(rb);
  const rcp = recip.word(ridx.zext(10), 16);
  const R = m.reg('r', { width: 16, clock: clk });
  const S = m.reg('s', { width: SHIFT_BITS, clock: clk });
  R.next(ph2.select(rcp, R));
  S.next(ph2.select(e2.zext(SHIFT_BITS).add(24 - rb), S));
  const oI = t.trunc(log2ceil(hd)).named('o_i');
  const out = sat(m, requantBy(m, pick(m, num, oI), R, S), 8).named('out');
  const oEnd = ph3.and(oI.zext(iw).eq(hdRt.sub(1)));
  const lastHead = head.zext(bitsFor(c.heads)).eq(heads.sub(1));
  const sweepEnd = ph0.or(ph1).and(tEnd);
  t.next(fin.or(sweepEnd).or(ph2).or(oEnd).select(m.const(0, t.width), run.select(t.add(1), t)));
  ph.next(fin.select(m.const(0, 2), sweepEnd.or(ph2).or(oEnd).select(ph.add(1), ph)));
  head.next(fin.select(m.const(0, hB), oEnd.select(head.add(1), head)));
  m.output('t', t);
  m.output('done', oEnd.and(lastHead));
  m.output('out', out.asUnsigned());
  m.output('out_idx', qBase.or(oI.zext(iw)));
  m.output('out_we', ph3);
  return m.build();
}
