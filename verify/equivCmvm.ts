// Formal proof (Yosys SAT) that an emitted CMVM adder graph computes exactly y = W·x (+ offset) for every input.
//
// The DUT is the graph as the layer emits it (generators/cmvm/emit.ts), with every adder level in one
// pipeline stage, so its outputs are registered once; the reference is Σ x_i·W[o][i] by binary
// shift-and-add over W's two's complement bits, also registered once, both at a common output width wider than any value. Both registers
// start at zero (`sat -set-init-zero`), so the two-step proof `sat -seq 2 -prove-asserts` covers every
// input: step 2 shows the registered results of an arbitrary step-1 input. Inputs behind a ReLU
// (range 0..2^(a−1)−1) are a−1 bits wide on the port and zero-extended: the graph's widths assume it.
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ToolError } from '../core/errors.ts';
import { ModuleBuilder } from '../dsl/module.ts';
import type { Signal } from '../dsl/signal.ts';
import { emitDesign } from '../dsl/verilog.ts';
import { optimizeCmvm } from '../generators/cmvm/optimize.ts';
import { emitCmvm } from '../generators/cmvm/emit.ts';
import type { IntRange } from './golden/mlp.ts';
import { findTool, runTool, tailLines } from './tools.ts';

export interface CmvmEquivResult {
  proved: boolean;
  /** Yosys's verdict lines when not proved. */
  why?: string;
  adders: number;
  seconds: number;
}

/** Inputs as the port carries them: the full signed range, or the non-negative half zero-extended. */
function inputsOf(m: ModuleBuilder, n: number, actBits: number, nonNegative: boolean): Signal[] {
  const b = nonNegative ? actBits - 1 : actBits;
  const bus = m.input('x', n * b);
  return Array.from({ length: n }, (_, i) => {
    const s = bus.slice(i * b + b - 1, i * b);
    return nonNegative ? s.zext(actBits).asSigned() : s.asSigned();
  });
}

/**
 * Prove the emitted graph of `w` equal to W·x + offset for all inputs in `inRange` (either the full
 * signed actBits range or 0..2^(actBits−1)−1). `reference` replaces W in the reference (tests pass a wrong one).
 */
export async function proveCmvm(w: number[][], actBits: number, inRange: IntRange, opts: { offset?: bigint[]; reference?: number[][]; timeoutMs?: number } = {}): Promise<CmvmEquivResult> {
  const t0 = performance.now();
  const nIn = w[0].length;
  const nonNegative = inRange.min === 0;
  const g = optimizeCmvm(w);
  let Y = 0;

  const dut = new ModuleBuilder('cmvm_dut', { doc: 'CMVM graph under proof' });
  {
    const clk = dut.clock('clk');
    const xs = inputsOf(dut, nIn, actBits, nonNegative);
    const e = emitCmvm({ m: dut, clk }, 'g', g, xs, inRange, 1 << 20, opts.offset ?? []);
    Y = Math.max(...e.outs.map((r) => r.sig.width)) + 1; // one bit wider than any output: a too-narrow output shows
    if (e.stages !== 1) throw new Error(`proveCmvm: expected one stage, got ${e.stages}`);
    dut.output('y', dut.cat(...e.outs.map((r) => r.sig.sext(Y)).reverse()));
  }
  const ref = new ModuleBuilder('cmvm_ref', { doc: 'reference: y = W·x + offset, binary shift-and-add' });
  {
    const clk = ref.clock('clk');
    const xs = inputsOf(ref, nIn, actBits, nonNegative).map((x) => x.sext(Y));
    const rw = opts.reference ?? w;
    const ys = rw.map((row, o) => {
      let s = ref.const(opts.offset?.[o] ?? 0n, Y, true);
      // x·W by W's two's complement bits (a formulation independent of CSD and of the graph; SAT
      // solvers choke on generic multipliers): W = −b_{B−1}·2^(B−1) + Σ b_k·2^k.
      row.forEach((v, i) => {
        const B = 16;
        const u = BigInt.asUintN(B, BigInt(v));
        for (let k = 0; k < B; k++) {
          if (((u >> BigInt(k)) & 1n) === 0n) continue;
          const t = xs[i].shl(k).trunc(Y);
          s = k === B - 1 ? s.sub(t) : s.add(t);
        }
      });
      return ref.delay(`y${o}_q`, s, { clock: clk });
    });
    ref.output('y', ref.cat(...ys.reverse()));
  }
  const dir = await mkdtemp(join(tmpdir(), 'hardwire-equiv-cmvm-'));
  try {
    const files: string[] = [];
    for (const d of [emitDesign(dut.build()), emitDesign(ref.build())]) {
      for (const f of d.order) { await writeFile(join(dir, f), d.files.get(f)!); files.push(f); }
    }
    await writeFile(join(dir, 'equiv.ys'), [
      ...[...new Set(files)].map((f) => `read_verilog ${f}`),
      'hierarchy -check', 'proc', 'opt_clean',
      'miter -equiv -flatten -make_outputs -make_assert -ignore_gold_x cmvm_ref cmvm_dut miter',
      'hierarchy -top miter', 'flatten', 'opt -fast',
      'sat -verify -prove-asserts -set-init-zero -seq 2 miter',
      '',
    ].join('\n'));
    const res = await runTool(findTool('yosys'), ['-Q', '-T', '-s', 'equiv.ys'], { cwd: dir, timeoutMs: opts.timeoutMs ?? 600_000 });
    const out = `${res.stdout}\n${res.stderr}`;
    const seconds = (performance.now() - t0) / 1000;
    if (/SAT proof finished - no model found: SUCCESS!/.test(out) && res.code === 0) return { proved: true, adders: g.adders, seconds };
    if (/SAT proof finished - model found: FAIL!|proof did fail/i.test(out)) return { proved: false, why: out.split('\n').filter((l) => /FAIL|ERROR/.test(l)).slice(0, 3).join(' / '), adders: g.adders, seconds };
    throw new ToolError(`yosys CMVM equivalence: ${out.split('\n').find((l) => l.includes('ERROR')) ?? tailLines(out, 3)}`);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}
