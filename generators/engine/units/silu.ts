// hw_silu: SwiGLU, `E` elements per cycle (verify/golden/llama.ts): act_i = sat8(rq(SILU[g_i] · up_i, actM, actS)),
// one SiLU lookup-table unit per element lane (the same table bits in each, from mask layer A).
import { ModuleBuilder } from '../../../dsl/module.ts';
import type { IrModule } from '../../../dsl/ir/types.ts';
import { requantBy } from '../../mlp/arith.ts';
import { SHIFT_BITS } from '../../grid/base.ts';
import { bitsFor, type EngineCaps } from '../caps.ts';
import { bus, elems, lane, pick, sat } from './util.ts';

export function siluUnit(c: EngineCaps): IrModule {
  const { F, E } = c;
  const m = new ModuleBuilder('hw_silu', { doc: `SwiGLU unit: ${E} elements per cycle, ${E} SiLU lookup-table units`, params: { F, E } });
  const cnt = m.input('cnt', 16);
  const g = elems(m.input('g', F * 8), F, 8);
  const up = elems(m.input('up', F * 8), F, 8);
  const M = m.input('act_m', 15);
  const S = m.input('act_s', SHIFT_BITS);
  const blk = cnt.trunc(bitsFor(F / E - 1)).named('blk');
  const acts = Array.from({ length: E }, (_, j) => {
    const lut = m.input(`lut${j}`, c.lutEntries * 16);
    const gi = pick(m, lane(g, j, E), blk);
    const ui = pick(m, lane(up, j, E), blk);
    const sv = lut.word(gi.asUnsigned().xor(m.const(0x80, 8)), 16).asSigned();
    return sat(m, requantBy(m, sv.sext(24).mul(ui.sext(24)).trunc(24), M, S), 8).named(`act${j}`);
  });
  m.output('act', bus(m, acts));
  m.output('blk', blk);
  return m.build();
}
