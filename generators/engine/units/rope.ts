// hw_rope: rotary position embedding, `E` (a, b) pairs per cycle over the Q heads, then the K heads
// (verify/golden/llama.ts ropeInt, HF half-split pairing): a' = sat8((a·C − b·S + 2^13) >> 14),
// b' = sat8((b·C + a·S + 2^13) >> 14). The head size and the Q length are tie-offs; cos/sin come from
// a table site of context × (headDim/2) words (mask layer A).
import { ModuleBuilder } from '../../../dsl/module.ts';
import type { IrModule } from '../../../dsl/ir/types.ts';
import type { Signal } from '../../../dsl/signal.ts';
import { ROPE_FRAC_BITS } from '../../quantize/llama.ts';
import { log2ceil } from '../../grid/grid.ts';
import { bitsFor, type EngineCaps } from '../caps.ts';
import { bus, elems, pick, sat } from './util.ts';

export function ropeUnit(c: EngineCaps): IrModule {
  const { F, kvMax, half, ctx, E } = c;
  const m = new ModuleBuilder('hw_rope', { doc: `RoPE unit: ${E} pairs per cycle, heads up to ${c.hd} wide, ${ctx} positions`, params: { F, kvMax, ctx, E } });
  const cnt = m.input('cnt', 16);
  const p = m.input('p', c.ctxBits);
  const q = elems(m.input('q', F * 8), F, 8);
  const k = elems(m.input('k', kvMax * 8), kvMax, 8);
  const hdlog = m.input('hdlog', bitsFor(Math.log2(c.hd)));
  const qlen = m.input('qlen', bitsFor(F));
  const table = m.input('lut', ctx * half * 32);
  const hb = Math.max(1, log2ceil(half));
  const iw = bitsFor(F + kvMax);
  const one = m.const(1, 16);
  const halfLog = hdlog.zext(16).sub(one).trunc(5).named('half_log');
  const ql = qlen.zext(iw);
  const eBits = bitsFor(E);
  const outs: Record<string, Signal[]> = { a_out: [], b_out: [], in_q: [], ea: [], eb: [], ka: [], kb: [] };
  // Pair n = cnt·E + j. Past the last pair of K, a lane rotates elements beyond the model's K length,
  // which are zero (reset, or zero rows of the K matmul) and stay zero: no tie-off needed for the count.
  for (let j = 0; j < E; j++) {
    const n = cnt.mul(m.const(E, eBits)).trunc(16).add(j).named(`n${j}`);
    const ri = n.and(one.shlBy(halfLog).sub(one)).trunc(hb).named(`i${j}`);
    const rh = n.shrBy(halfLog).named(`h${j}`);
    const ea = rh.shlBy(hdlog.zext(5)).or(ri.zext(16)).trunc(iw).named(`ea${j}`);
    const eb = ea.add(one.shlBy(halfLog).trunc(iw)).named(`eb${j}`);
    const inQ = ea.lt(ql).named(`in_q${j}`);
    const ka = ea.sub(ql).named(`ka${j}`);
    const kb = eb.sub(ql).named(`kb${j}`);
    const a = inQ.select(pick(m, q, ea), pick(m, k, ka)).named(`a${j}`);
    const b = inQ.select(pick(m, q, eb), pick(m, k, kb)).named(`b${j}`);
    const cs = table.word(m.cat(p, ri), 32);
    const C = cs.slice(31, 16).asSigned();
    const Sn = cs.slice(15, 0).asSigned();
    const rot = (x: Signal, y: Signal, sign: 1 | -1): Signal => {
      const W = 8 + 16 + 2;
      const t1 = x.sext(W).mul(C.sext(W)).trunc(W);
      const t2 = y.sext(W).mul(Sn.sext(W)).trunc(W);
      const s = (sign < 0 ? t1.sub(t2) : t1.add(t2)).add(m.const(1 << (ROPE_FRAC_BITS - 1), W, true)).shr(ROPE_FRAC_BITS);
      return sat(m, s, 8);
    };
    outs.a_out.push(rot(a, b, -1).asUnsigned());
    outs.b_out.push(rot(b, a, 1).asUnsigned());
    outs.in_q.push(inQ);
    outs.ea.push(ea);
    outs.eb.push(eb);
    outs.ka.push(ka);
    outs.kb.push(kb);
  }
  for (const [name, v] of Object.entries(outs)) m.output(name, bus(m, v));
  return m.build();
}
