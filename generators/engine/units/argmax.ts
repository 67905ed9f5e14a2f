// hw_argmax: the next token (or class) = argmax over the logit buffer, `E` per cycle, lowest index on a
// tie (verify/golden/llama.ts, verify/golden/mlp.ts). The vocabulary size is a tie-off.
import { ModuleBuilder } from '../../../dsl/module.ts';
import type { IrModule } from '../../../dsl/ir/types.ts';
import type { Signal } from '../../../dsl/signal.ts';
import { bitsFor, type EngineCaps } from '../caps.ts';
import { elems, lane, pick } from './util.ts';

export function argmaxUnit(c: EngineCaps): IrModule {
  const { E, vocab } = c;
  const A = c.g.accBits;
  const m = new ModuleBuilder('hw_argmax', { doc: `argmax unit: ${E} logits per cycle over up to ${vocab}`, params: { E, vocab } });
  const clk = m.clock('clk');
  const rst = m.input('rst', 1);
  const run = m.input('run', 1);
  const cnt = m.input('cnt', 16);
  const logits = elems(m.input('logits', vocab * A), vocab, A);
  const nv = m.input('vocab', bitsFor(vocab));
  const blk = cnt.trunc(bitsFor(Math.ceil(vocab / E) - 1)).named('blk');
  const iw = 16;
  const base = blk.zext(iw).mul(m.const(E, bitsFor(E))).trunc(iw).named('base');
  let cand: Signal = pick(m, lane(logits, 0, E), blk);
  let candJ: Signal = m.const(0, bitsFor(Math.max(1, E - 1)));
  for (let j = 1; j < E; j++) {
    // A lane past the end of the vocabulary never wins.
    const valid = base.add(j).lt(nv.zext(iw));
    const lj = pick(m, lane(logits, j, E), blk);
    const gt = valid.and(lj.gt(cand));
    cand = gt.select(lj, cand);
    candJ = gt.select(m.const(j, candJ.width), candJ);
  }
  const idx = base.add(candJ.zext(iw)).named('idx');
  const bestV = m.reg('best_logit', { width: A, signed: true, clock: clk });
  const best = m.reg('best', { width: c.tokBits, clock: clk, reset: rst, resetValue: 0n });
  const take = run.and(cnt.eq(0).or(cand.gt(bestV)));
  bestV.next(take.select(cand, bestV));
  best.next(take.select(idx.trunc(c.tokBits), best));
  m.output('best', best);
  return m.build();
}
