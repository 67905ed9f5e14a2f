// Random circuits for property tests: a fast-check recipe (shrinkable) → a DSL module with regs and ROMs.
import fc from 'fast-check';
import { ModuleBuilder, type Reg } from '../module.ts';
import type { Signal } from '../signal.ts';
import type { IrModule } from '../ir/types.ts';

const OPS = ['add', 'sub', 'mul', 'and', 'or', 'xor', 'not', 'neg', 'shl', 'shr', 'shlBy', 'shrBy', 'slice', 'cat', 'sext', 'zext',
  'trunc', 'eq', 'ne', 'lt', 'le', 'gt', 'ge', 'mux', 'redAnd', 'redOr', 'redXor', 'const', 'reg', 'rom', 'srom', 'sign', 'ram'] as const;
export type RandOp = (typeof OPS)[number];

export interface RandStep { op: RandOp; a: number; b: number; c: number; w: number; k: number; value: bigint; signed: boolean; words: bigint[] }
export interface RandInput { width: number; signed: boolean }
export interface CircuitRecipe { inputs: RandInput[]; steps: RandStep[]; outputs: number }

export const arbRecipe: fc.Arbitrary<CircuitRecipe> = fc.record({
  inputs: fc.array(fc.record({ width: fc.integer({ min: 1, max: 70 }), signed: fc.boolean() }), { minLength: 1, maxLength: 4 }),
  steps: fc.array(
    fc.record({
      op: fc.constantFrom(...OPS),
      a: fc.nat(1000), b: fc.nat(1000), c: fc.nat(1000),
      w: fc.integer({ min: 1, max: 70 }),
      k: fc.nat(75),
      value: fc.bigInt({ min: 0n, max: (1n << 70n) - 1n }),
      signed: fc.boolean(),
      words: fc.array(fc.bigInt({ min: 0n, max: (1n << 70n) - 1n }), { minLength: 1, maxLength: 8 }),
    }),
    { minLength: 3, maxLength: 30 },
  ),
  outputs: fc.integer({ min: 1, max: 4 }),
});

/** Coerce a signal to a type with explicit casts, truncation or extension. */
function fit(s: Signal, w: number, signed: boolean): Signal {
  let r = s;
  if (r.width > w) r = r.trunc(w);
  else if (r.width < w) r = r.ext(w);
  return signed ? r.asSigned() : r.asUnsigned();
}

/** Build the recipe as a module with ports clk, rst, i0..iN and outputs o0..oM. */
export function buildRandomCircuit(name: string, r: CircuitRecipe): IrModule {
  const m = new ModuleBuilder(name, { doc: 'random circuit for the DSL property test' });
  const clk = m.clock('clk', { unused: true });
  const rst = m.input('rst', 1, { unused: true });
  const pool: Signal[] = r.inputs.map((p, i) => m.input(`i${i}`, p.width, { signed: p.signed, unused: true }));
  const regs: { reg: Reg; src: number }[] = [];
  const pick = (i: number): Signal => pool[i % pool.length];
  for (const [si, s] of r.steps.entries()) {
    const A = pick(s.a);
    const B = fit(pick(s.b), A.width, A.signed);
    let out: Signal;
    switch (s.op) {
      case 'add': out = A.add(B); break;
      case 'sub': out = A.sub(B); break;
      case 'mul': {
        const x = A.width > 35 ? A.trunc(35) : A;
        out = x.mul(fit(pick(s.b), Math.min(pick(s.b).width, 35), x.signed));
        break;
      }
      case 'and': out = A.and(B); break;
      case 'or': out = A.or(B); break;
      case 'xor': out = A.xor(B); break;
      case 'not': out = A.not(); break;
      case 'neg': out = A.neg(); break;
      case 'shl': out = A.width + (s.k % 8) > 70 ? A.shl(0) : A.shl(s.k % 8); break;
      case 'shr': out = A.shr(s.k % A.width); break;
      case 'shlBy': out = A.shlBy(fit(pick(s.b), 1 + (s.k % 8), false)); break;
      case 'shrBy': out = A.shrBy(fit(pick(s.b), 1 + (s.k % 8), false)); break;
      case 'slice': { const lo = s.k % A.width; const hi = lo + (s.c % (A.width - lo)); out = A.slice(hi, lo); break; }
      case 'cat': { const C = pick(s.c); out = A.width + C.width <= 70 ? m.cat(A, C) : A.bit(0); break; }
      case 'sext': out = A.sext(Math.max(A.width, s.w)); break;
      case 'zext': out = A.zext(Math.max(A.width, s.w)); break;
      case 'trunc': out = A.trunc(1 + (s.k % A.width)); break;
      case 'eq': out = A.eq(B); break;
      case 'ne': out = A.ne(B); break;
      case 'lt': out = A.lt(B); break;
      case 'le': out = A.le(B); break;
      case 'gt': out = A.gt(B); break;
      case 'ge': out = A.ge(B); break;
      case 'mux': out = fit(pick(s.c), 1, false).select(A, B); break;
      case 'redAnd': out = A.redAnd(); break;
      case 'redOr': out = A.redOr(); break;
      case 'redXor': out = A.redXor(); break;
      case 'const': {
        const v = s.value & ((1n << BigInt(s.w)) - 1n);
        out = m.const(s.signed && v >> BigInt(s.w - 1) ? v - (1n << BigInt(s.w)) : v, s.w, s.signed);
        break;
      }
      case 'sign': out = A.signed ? A.asUnsigned() : A.asSigned(); break;
      case 'reg': {
        const reg = m.reg(`r${si}`, { width: s.w, signed: s.signed, clock: clk, reset: s.k % 2 ? rst : undefined, resetValue: s.value & ((1n << BigInt(s.w)) - 1n), enable: s.k % 3 === 0 ? fit(pick(s.c), 1, false) : undefined });
        regs.push({ reg, src: s.b });
        out = reg;
        break;
      }
      case 'ram': {
        // Single- or dual-port SRAM, read-first; a later port's write wins a same-address conflict.
        const aw = 1 + (s.k % 3);
        const ram = m.ram(`ram${si}`, s.w, aw);
        const ports = 1 + (s.c % 2);
        let q: Signal | undefined;
        for (let k = 0; k < ports; k++) {
          const rd = ram.port({
            clock: clk,
            addr: fit(pick(s.a + k), aw, false),
            writeData: fit(pick(s.b + k), s.w, false),
            writeEnable: fit(pick(s.c + k), 1, false),
          });
          q = rd;
          pool.push(rd);
        }
        out = q!;
        break;
      }
      case 'rom': case 'srom': {
        const aw = Math.max(1, Math.ceil(Math.log2(s.words.length)));
        const width = s.w;
        const words = s.words.map((x) => x & ((1n << BigInt(width)) - 1n));
        out = m.rom(`rom${si}`, width, words).read(fit(A, aw, false), s.op === 'srom' ? clk : undefined);
        break;
      }
    }
    pool.push(out);
  }
  // Register inputs are chosen at the end so loops through flops occur.
  for (const { reg, src } of regs) reg.next(fit(pick(src), reg.width, reg.signed));
  for (let i = 0; i < r.outputs; i++) m.output(`o${i}`, pool[pool.length - 1 - (i * 7) % pool.length]);
  return m.build();
}
