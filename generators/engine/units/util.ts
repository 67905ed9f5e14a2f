// Small circuit helpers shared by the engine's units (muxes, saturation, leading-one index, buses).
import type { ModuleBuilder } from '../../../dsl/module.ts';
import type { Signal } from '../../../dsl/signal.ts';

/** vals[idx] by a balanced mux tree; an index past the end reads zero. */
export function pick(m: ModuleBuilder, vals: readonly Signal[], idx: Signal): Signal {
  const zero = m.const(0, vals[0].width, vals[0].signed);
  if (vals.length === 1) return idx.eq(0).select(vals[0], zero);
  let level: Signal[] = [...vals];
  for (let b = 0; level.length > 1; b++) {
    const next: Signal[] = [];
    for (let i = 0; i < level.length; i += 2) next.push(b < idx.width ? idx.bit(b).select(level[i + 1] ?? zero, level[i]) : level[i]);
    level = next;
  }
  // Index bits above the tree: any set one means past the end.
  const k = Math.ceil(Math.log2(vals.length));
  return idx.width > k ? idx.slice(idx.width - 1, k).ne(0).select(zero, level[0]) : level[0];
}

function bitsOf(n: number): number {
  return Math.max(1, Math.ceil(Math.log2(n + 1)));
}

/** Saturate a signed value to `bits` bits. */
export function sat(m: ModuleBuilder, v: Signal, bits: number): Signal {
  if (v.width <= bits) return v.sext(bits);
  const hi = m.const((1n << BigInt(bits - 1)) - 1n, v.width, true);
  const lo = m.const(-(1n << BigInt(bits - 1)), v.width, true);
  return v.gt(hi).select(hi, v.lt(lo).select(lo, v)).trunc(bits);
}

/** Index of the highest set bit (0 for 0). */
export function msbIndex(m: ModuleBuilder, v: Signal): Signal {
  const w = bitsOf(v.width - 1);
  let r: Signal = m.const(0, w);
  for (let b = 1; b < v.width; b++) r = v.bit(b).select(m.const(b, w), r);
  return r;
}

/** The n elements of a bus of `bits`-bit words (element 0 in the low bits). */
export function elems(bus: Signal, n: number, bits: number, signed = true): Signal[] {
  return Array.from({ length: n }, (_, i) => {
    const s = bus.slice(bits * i + bits - 1, bits * i);
    return signed ? s.asSigned() : s;
  });
}

/** Pack elements into a bus, element 0 in the low bits. */
export function bus(m: ModuleBuilder, vals: readonly Signal[]): Signal {
  return m.cat(...[...vals].reverse());
}

/** Elements j, j+E, j+2E, … of a vector: lane j of the E-wide block port. */
export function lane<T>(vec: readonly T[], j: number, E: number): T[] {
  const out: T[] = [];
  for (let i = j; i < vec.length; i += E) out.push(vec[i]);
  return out;
}
