// hw_norm: RMSNorm, `E` elements per cycle (verify/golden/llama.ts normInt):
//   ss = Σ x² over ⌈H/E⌉ cycles; k = ⌊msb(ss)/2⌋; R = RSQRT[ss >> (2k − 8)]; u_i = sat8(rq(x_i, R, S0 + k)).
// H arrives as a tie-off (hblk = ⌈H/E⌉); elements past H are zero in the residual buffer and add nothing.
// pre = 1: Σx² was summed as the lanes wrote the residual (ssw), so the rsqrt is at cnt 0 and the scale
// pass follows at once (hblk + 1 cycles instead of 2·hblk + 1).
import { ModuleBuilder } from '../../../dsl/module.ts';
import type { IrModule } from '../../../dsl/ir/types.ts';
import { requantBy } from '../../mlp/arith.ts';
import { RSQRT_INDEX_BITS } from '../../quantize/llama.ts';
import { SHIFT_BITS } from '../../grid/base.ts';
import { bitsFor, type EngineCaps } from '../caps.ts';
import { bus, elems, lane, msbIndex, pick, sat } from './util.ts';

export function normUnit(c: EngineCaps): IrModule {
  const { F, E } = c;
  const m = new ModuleBuilder('hw_norm', { doc: `RMSNorm unit: ${E} elements per cycle over a ${F}-element int16 vector; rsqrt from a lookup-table unit`, params: { F, E } });
  const clk = m.clock('clk');
  const run = m.input('run', 1);
  const cnt = m.input('cnt', 16);
  const x = elems(m.input('x', F * 16), F, 16);
  const hblk = m.input('hblk', bitsFor(F / E));
  const s0 = m.input('s0', SHIFT_BITS);
  const lut = m.input('lut', c.lutEntries * 16);
  const pre = m.input('pre', 1);
  const ssBits = 32 + bitsFor(F);
  const ssw = m.input('ssw', ssBits);
  const blkBits = bitsFor(F / E - 1);
  const nA = pre.select(m.const(0, 16), hblk.zext(16)).named('n_a');
  const inSum = run.and(cnt.lt(nA)).named('in_sum');
  const inScale = run.and(cnt.gt(nA)).named('in_scale');
  const blk = inSum.select(cnt, cnt.sub(nA.add(1))).trunc(blkBits).named('blk');
  const xs = Array.from({ length: E }, (_, j) => pick(m, lane(x, j, E), blk).named(`x${j}`));
  const ssOwn = m.reg('ss', { width: ssBits, clock: clk });
  const sq = xs.map((v) => v.mul(v).asUnsigned().zext(ssBits)).reduce((a, b) => a.add(b));
  ssOwn.next(inSum.select(cnt.eq(0).select(sq, ssOwn.add(sq)), ssOwn));
  const ss = pre.select(ssw, ssOwn).named('ss_sel');
  const msb = msbIndex(m, ss);
  const k2 = msb.shr(1).shl(1).trunc(msb.width).named('k2'); // 2k: the msb rounded down to even
  const base = RSQRT_INDEX_BITS - 2;
  const down = k2.ge(base);
  const idx = down.select(ss.shrBy(k2.sub(base)), ss.shlBy(m.const(base, k2.width).sub(k2))).trunc(RSQRT_INDEX_BITS);
  const rs = lut.word(idx, 16).named('rsqrt');
  const R = m.reg('r', { width: 16, clock: clk });
  const S = m.reg('s', { width: SHIFT_BITS, clock: clk });
  const at = run.and(cnt.eq(nA));
  R.next(at.select(rs, R));
  S.next(at.select(s0.add(k2.shr(1).zext(SHIFT_BITS)), S));
  m.output('u', bus(m, xs.map((v) => sat(m, requantBy(m, v, R, S), 8))));
  m.output('blk', blk);
  m.output('we', inScale);
  return m.build();
}
