// hw_rope: rotary position embedding, one (a, b) pair per cycle over the Q heads, then the K heads
// (verify/golden/llama.ts ropeInt, HF half-split pairing): a' = sat8((a·C − b·S + 2^13) >> 14),
// b' = sat8((b·C + a·S + 2^13) >> 14). The head size and the Q length are tie-offs; cos/sin come from
// a table site of context × (headDim/2) words (mask layer A).
import { ModuleBuilder } from '../../../dsl/module.ts';
import type { IrModule } from '../../../dsl/ir/types.ts';
import type { Signal } from '../../../dsl/signal.ts';
import { ROPE_FRAC_BITS } from '../../quantize/llama.ts';
import { log2ceil } from '../../grid/grid.ts';
import { bitsFor, type EngineCaps } from '../caps.ts';
import { elems, pick, sat } from './util.ts';

export function ropeUnit(c: EngineCaps): IrModule {
  const { F, kvMax, half, ctx } = c;
  const m = new ModuleBuilder('hw_rope', { doc: `RoPE unit: one pair per cycle, heads up to ${c.hd} wide, ${ctx} positions`, params: { F, kvMax, ctx } });
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
  const ri = cnt.and(one.shlBy(halfLog).sub(one)).trunc(hb).named('i');
  const rh = cnt.shrBy(halfLog).named('h');
  const ea = rh.shlBy(hdlog.zext(5)).or(ri.zext(16)).trunc(iw).named('ea');
  const eb = ea.add(one.shlBy(halfLog).trunc(iw)).named('eb');
  const ql = qlen.zext(iw);
  const inQ = ea.lt(ql).named('in_q');
  const ka = ea.sub(ql).named('ka');
  const kb = eb.sub(ql).named('kb');
  const a = inQ.select(pick(m, q, ea), pick(m, k, ka)).named('a');
  const b = inQ.select(pick(m, q, eb), pick(m, k, kb)).named('b');
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
  m.output('a_out', rot(a, b, -1).asUnsigned());
  m.output('b_out', rot(b, a, 1).asUnsigned());
  m.output('in_q', inQ);
  m.output('ea', ea);
  m.output('eb', eb);
  m.output('ka', ka);
  m.output('kb', kb);
  return m.build();
}
