// The base gate grid RTL: cells, lanes and the lane array. Depends only on the GridSpec, never on a model.
import { ModuleBuilder } from '../../dsl/module.ts';
import type { IrModule } from '../../dsl/ir/types.ts';
import type { Signal } from '../../dsl/signal.ts';
import { adderTree, ranged, requantBy, stage, treeLevels, treeStages, type Pipe } from '../mlp/arith.ts';
import { log2ceil, type GridSpec } from './grid.ts';

/** Personalization layout of one cell, fixed by the grid. */
export interface CellFormat {
  /**
   * D = 1: canonical-signed-digit slots, each [en | neg | shift], tied off by mask layer A.
   * D > 1: one weight word of weightBits, the word mask layer A's ROM reads at the current address.
   */
  readonly kind: 'csd' | 'rom';
  readonly slots: number;
  readonly shiftBits: number;
  readonly slotBits: number;
  /** Personalization bits per cell. */
  readonly bits: number;
  /** ROM address bits (D > 1): the routing mask drives the address into mask layer A, not into the base. */
  readonly addrBits: number;
  readonly productBits: number;
}

/** The personalization layout of one cell of grid `g`: CSD slots when D = 1, one weight word when D > 1. */
export function cellFormat(g: GridSpec): CellFormat {
  const shiftBits = log2ceil(g.weightBits);
  const slots = Math.ceil(g.weightBits / 2);
  const slotBits = shiftBits + 2;
  const productBits = g.actBits + g.weightBits;
  if (g.romDepth === 1) return { kind: 'csd', slots, shiftBits, slotBits, bits: slots * slotBits, addrBits: 0, productBits };
  return { kind: 'rom', slots: 0, shiftBits: 0, slotBits: 0, bits: g.weightBits, addrBits: log2ceil(g.romDepth), productBits };
}

/** Register stages from a lane's inputs to its accumulator output. */
export function laneLatency(g: GridSpec): number {
  return treeStages(treeLevels(g.rows), g.regEvery) + 1;
}

export const SHIFT_BITS = 6;

/**
 * romMulCell: p = x · w. D = 1: w is given as CSD slots (tie-offs from the weights mask), so after
 * constant propagation the cell is the shift-and-add circuit of its weight. D > 1: w is the word that
 * the weights mask's ROM reads at the step address, feeding one generic multiplier; the cell itself
 * holds no ROM and no address, so the base stays a small array of multipliers however deep D is.
 */
export function romMulCell(g: GridSpec): IrModule {
  const f = cellFormat(g);
  const m = new ModuleBuilder('hw_cell', {
    doc: f.kind === 'csd' ? 'ROM multiplier cell, D = 1: shift-and-add over CSD slots tied off by the weights mask' : `ROM multiplier cell, D = ${g.romDepth}: one multiplier fed by the weights mask's ROM word`,
    params: { actBits: g.actBits, weightBits: g.weightBits, romDepth: g.romDepth },
  });
  const x = m.input('x', g.actBits, { signed: true });
  const pers = m.input('pers', f.bits);
  const P = f.productBits;
  let p: Signal;
  if (f.kind === 'csd') {
    const xw = x.sext(P);
    let acc: Signal | undefined;
    for (let k = 0; k < f.slots; k++) {
      const base = k * f.slotBits;
      const shift = pers.slice(base + f.shiftBits - 1, base);
      const neg = pers.bit(base + f.shiftBits);
      const en = pers.bit(base + f.shiftBits + 1);
      const t = xw.shlBy(shift);
      const term = en.select(neg.select(t.neg(), t), m.const(0, P, true)).named(`term${k}`);
      acc = acc === undefined ? term : acc.add(term);
    }
    p = acc!;
  } else {
    p = x.mul(pers.asSigned());
  }
  m.output('p', p);
  return m.build();
}

/**
 * One lane: `rows` cells on a broadcast activation chunk, a pipelined adder tree, an accumulator
 * (first step loads bias + sum) and a generic requant unit y = sat((acc·M + 2^(S−1)) >> S), ReLU optional.
 */
export function laneModule(g: GridSpec, cell: IrModule): IrModule {
  const f = cellFormat(g);
  const m = new ModuleBuilder('hw_lane', { doc: `lane of ${g.rows} ROM multiplier cells, adder tree, accumulator, requant`, params: { rows: g.rows, accBits: g.accBits, regEvery: g.regEvery } });
  const clk = m.clock('clk');
  const x = m.input('x', g.rows * g.actBits);
  const pers = m.input('pers', g.rows * f.bits);
  const first = m.input('first', 1);
  const bias = m.input('bias', g.accBits, { signed: true });
  const M = m.input('m', g.mBits);
  const S = m.input('s', SHIFT_BITS);
  const relu = m.input('relu', 1);
  const p: Pipe = { m, clk };
  const pmin = -(1n << BigInt(g.actBits - 1)) * ((1n << BigInt(g.weightBits - 1)) - 1n);
  const pmax = (1n << BigInt(g.actBits - 1)) * (1n << BigInt(g.weightBits - 1));
  const leaves = Array.from({ length: g.rows }, (_, r) => {
    const o = m.instance(`u_cell${r}`, cell, {
      x: x.slice(r * g.actBits + g.actBits - 1, r * g.actBits).asSigned(),
      pers: pers.slice(r * f.bits + f.bits - 1, r * f.bits),
    });
    return ranged(o.p, pmin, pmax);
  });
  const ts = treeStages(treeLevels(g.rows), g.regEvery);
  const sum = adderTree(p, 'tree', leaves, g.regEvery, ts).out.sig.sext(g.accBits);
  let firstD: Signal = first;
  let biasD: Signal = bias;
  for (let k = 0; k < ts; k++) {
    firstD = stage(p, `first_d${k + 1}`, firstD);
    biasD = stage(p, `bias_d${k + 1}`, biasD);
  }
  const acc = m.reg('acc', { width: g.accBits, signed: true, clock: clk });
  acc.next(firstD.select(biasD.add(sum), acc.add(sum)));
  // Requant: exact product, round half up, arithmetic shift, saturate (ReLU moves the low bound to 0).
  const W = g.accBits + g.mBits + 2;
  const q = requantBy(m, acc, M, S).named('q');
  const hi = m.const((1n << BigInt(g.actBits - 1)) - 1n, W, true);
  const lo = relu.select(m.const(0, W, true), m.const(-(1n << BigInt(g.actBits - 1)), W, true));
  const sat = q.gt(hi).select(hi, q.lt(lo).select(lo, q));
  m.output('acc', acc);
  m.output('y', sat.trunc(g.actBits));
  return m.build();
}

/** The lane array: a broadcast activation chunk and first flag; per-lane personalization (from mask A) and params. */
export function gridModule(g: GridSpec): { grid: IrModule; cell: IrModule; lane: IrModule } {
  const f = cellFormat(g);
  const cell = romMulCell(g);
  const lane = laneModule(g, cell);
  const m = new ModuleBuilder('hw_grid', { doc: `base gate grid '${g.name}': ${g.lanes} lanes x ${g.rows} cells, ROM depth ${g.romDepth}`, params: { lanes: g.lanes, rows: g.rows, romDepth: g.romDepth } });
  const clk = m.clock('clk');
  const x = m.input('x', g.rows * g.actBits);
  const first = m.input('first', 1);
  for (let c = 0; c < g.lanes; c++) {
    const conn: Record<string, Signal> = {
      clk, x, first,
      pers: m.input(`pers_l${c}`, g.rows * f.bits),
      bias: m.input(`bias_l${c}`, g.accBits, { signed: true }),
      m: m.input(`m_l${c}`, g.mBits),
      s: m.input(`s_l${c}`, SHIFT_BITS),
      relu: m.input(`relu_l${c}`, 1),
    };
    const o = m.instance(`u_lane${c}`, lane, conn);
    m.output(`acc_l${c}`, o.acc);
    m.output(`y_l${c}`, o.y);
  }
  return { grid: m.build(), cell, lane };
}
