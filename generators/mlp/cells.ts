// Multiplier cells: the hardwired constant multiplier (CSD shift-and-add) and the two baselines.
import { ModuleBuilder } from '../../dsl/module.ts';
import type { IrModule } from '../../dsl/ir/types.ts';
import { signedBitsFor } from '../../verify/golden/mlp.ts';
import { csd } from './csd.ts';
import { csdMul, fitSigned } from './arith.ts';

/**
 * How products are built. 'csd': every weight is a hardwired shift-and-add cell (the product);
 * 'naive': `x * CONST` left to synthesis (baseline 1); 'memory': generic multipliers whose weights
 * come from a loadable weight memory (baseline 2); 'cmvm': each layer is one shared adder graph
 * (generators/cmvm/: common subexpressions across all outputs, no per-weight cells).
 */
export type MulStyle = 'csd' | 'naive' | 'memory' | 'cmvm';

const cache = new Map<string, IrModule>();

/** Exact range of w·x for a signed xBits-bit x. */
export function productRange(xBits: number, w: bigint): { min: bigint; max: bigint } {
  const lo = -(1n << BigInt(xBits - 1));
  const hi = (1n << BigInt(xBits - 1)) - 1n;
  const a = w * lo;
  const b = w * hi;
  return a < b ? { min: a, max: b } : { min: b, max: a };
}

export function cellName(style: 'csd' | 'naive', xBits: number, w: bigint): string {
  return `${style === 'csd' ? 'cmul' : 'nmul'}_s${xBits}_${w < 0n ? 'n' : 'p'}${w < 0n ? -w : w}`;
}

/** A constant multiplier cell p = x · w (w ≠ 0); one module per distinct (style, xBits, w). */
export function constMulCell(style: 'csd' | 'naive', xBits: number, w: bigint): IrModule {
  const name = cellName(style, xBits, w);
  const hit = cache.get(name);
  if (hit) return hit;
  if (w === 0n) throw new Error('constMulCell: a zero weight has no cell');
  const { min, max } = productRange(xBits, w);
  const P = signedBitsFor(min, max);
  const m = new ModuleBuilder(name, {
    doc: style === 'csd' ? `hardwired multiply by ${w}: ${csd(w).length} signed-digit term(s), shift-and-add` : `naive multiply by constant ${w} (baseline)`,
    params: { xBits, weight: Number(w) },
  });
  const x = m.input('x', xBits, { signed: true });
  let p;
  if (style === 'csd') {
    p = csdMul({ sig: x, min: -(1n << BigInt(xBits - 1)), max: (1n << BigInt(xBits - 1)) - 1n }, w).sig;
  } else {
    const wb = signedBitsFor(w, w);
    p = fitSigned(x.mul(m.const(w, wb, true)), P);
  }
  m.output('p', p);
  const ir = m.build();
  cache.set(name, ir);
  return ir;
}

/** A generic signed multiplier p = x · w, w an input (the weights-in-memory baseline). */
export function genericMulCell(xBits: number, wBits: number): IrModule {
  const name = `gmul_s${xBits}_w${wBits}`;
  const hit = cache.get(name);
  if (hit) return hit;
  const m = new ModuleBuilder(name, { doc: 'generic signed multiplier (weights-in-memory baseline)', params: { xBits, wBits } });
  const x = m.input('x', xBits, { signed: true });
  const w = m.input('w', wBits, { signed: true });
  m.output('p', x.mul(w));
  const ir = m.build();
  cache.set(name, ir);
  return ir;
}
