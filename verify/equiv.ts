// Formal proof (Yosys SAT) that each hardwired constant-multiplier cell computes exactly x * W.
//
// For every distinct weight W, the CSD cell from generators/mlp/cells.ts is emitted as the design
// emits it, wrapped so that its product p is sign-extended to a width that holds any product
// (xBits + wBits + 1), and compared by a miter with a reference module `$signed(x) * W` at that
// width (templates/equiv_ref.v.hbs). Proving sext(p) == x * W at the wider width, rather than
// comparing p with a truncated product, also catches a product port that is too narrow.
// All cells go into ONE Yosys run (one script; per cell a fresh design, a miter and a SAT proof):
// Yosys starts once and each 8-bit proof takes tens of milliseconds.

import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { ToolError } from '../core/errors.ts';
import { constMulCell, productRange } from '../generators/mlp/cells.ts';
import { emitDesign } from '../dsl/verilog.ts';
import type { IrModule } from '../dsl/ir/types.ts';
import { signedBitsFor } from './golden/mlp.ts';
import { render } from '../templates/render.ts';
import { findTool, runTool, tailLines, makeTempDir } from './tools.ts';

export interface EquivResult {
  /** Cells proved equal to x * W for every x. */
  proved: number;
  /** One line per cell that is not proved: its name and a counterexample or the reason. */
  failed: string[];
  /** Wall time of the whole check, Yosys included. */
  seconds: number;
}

export interface EquivOptions {
  /** The weight the reference multiplies by (default: the cell's own weight). Tests pass a wrong one. */
  reference?: (w: bigint) => bigint;
  timeoutMs?: number;
}

/** Marker line the script logs before each proof, so its verdict can be attributed to its cell. */
const MARK = '@@equiv ';

interface Check {
  cell: string;
  refWeight: bigint;
}

function port(m: IrModule, name: string, dir: 'input' | 'output') {
  const p = m.ports.find((q) => q.name === name && q.dir === dir);
  if (!p) throw new Error(`equiv: cell ${m.name} has no ${dir} port '${name}'`);
  return p;
}

/** A signed sized Verilog literal of `v` at `bits` bits, parenthesized. */
function signedLiteral(v: bigint, bits: number): string {
  return v < 0n ? `(-${bits}'sd${-v})` : `(${bits}'sd${v})`;
}

/** Two's-complement value of a `Bin` column of `sat -show-ports`. */
function fromBin(bin: string): bigint | undefined {
  if (!/^[01]+$/.test(bin)) return undefined;
  const u = BigInt(`0b${bin}`);
  return bin[0] === '1' ? u - (1n << BigInt(bin.length)) : u;
}

/** The verdict of one proof from its slice of the Yosys log. */
function verdict(c: Check, log: string): string | undefined {
  if (/SAT proof finished - no model found: SUCCESS!/.test(log)) return undefined;
  if (!/SAT proof finished - model found: FAIL!/.test(log)) return `${c.cell}: no verdict from yosys sat`;
  const val = (sig: string): bigint | undefined => {
    const m = new RegExp(`^\\s*\\\\${sig}\\s+\\S+\\s+\\S+\\s+(\\S+)\\s*$`, 'm').exec(log);
    return m ? fromBin(m[1]) : undefined;
  };
  const x = val('in_x');
  const got = val('gold_y');
  const want = val('gate_y');
  const cex = x === undefined ? 'counterexample not parsed' : `x = ${x} gives ${got}, reference gives ${want}`;
  return `${c.cell}: not equal to x * ${c.refWeight} (${cex})`;
}

/**
 * Proves, for each distinct non-zero weight in `weights`, that constMulCell('csd', xBits, w) equals
 * x * w for every signed xBits-bit x. Zero weights have no cell and are skipped.
 */
export async function proveConstMulCells(weights: bigint[], xBits: number, opts: EquivOptions = {}): Promise<EquivResult> {
  const t0 = performance.now();
  const distinct = [...new Set(weights.filter((w) => w !== 0n))].sort((a, b) => (a < b ? -1 : a > b ? 1 : 0));
  const tmp = await makeTempDir('equiv');
  const dir = tmp.dir;
  try {
    const checks: Check[] = [];
    const script: string[] = [];
    for (const w of distinct) {
      const cell = constMulCell('csd', xBits, w);
      const x = port(cell, 'x', 'input');
      const p = port(cell, 'p', 'output');
      if (x.width !== xBits) throw new Error(`equiv: cell ${cell.name} has x of ${x.width} bits, expected ${xBits}`);
      const refWeight = opts.reference ? opts.reference(w) : w;
      // Wide enough for any product of x and either weight, and at least one bit wider than p.
      const r = productRange(xBits, refWeight === 0n ? 1n : refWeight);
      const yBits = Math.max(p.width, signedBitsFor(r.min, r.max), xBits + signedBitsFor(w, w)) + 1;
      const design = emitDesign(cell);
      for (const f of design.order) await writeFile(join(dir, f), design.files.get(f)!);
      const pairFile = `eq_${cell.name}.v`;
      await writeFile(join(dir, pairFile), render('equiv_ref.v.hbs', {
        cell: cell.name,
        dut: `eq_dut_${cell.name}`,
        ref: `eq_ref_${cell.name}`,
        weight: String(refWeight),
        weightLiteral: signedLiteral(refWeight, yBits),
        xMsb: xBits - 1,
        pMsb: p.width - 1,
        yMsb: yBits - 1,
        yBits,
        extBits: yBits - p.width,
      }));
      checks.push({ cell: cell.name, refWeight });
      // A fresh design per cell: Yosys passes scan the whole design, so one shared design would make
      // the run quadratic in the number of cells.
      script.push(
        'design -reset',
        ...[...design.order, pairFile].map((f) => `read_verilog ${f}`),
        'hierarchy -check',
        'proc',
        'opt_clean',
        `log ${MARK}${cell.name}`,
        `miter -equiv -flatten -make_outputs -make_assert eq_dut_${cell.name} eq_ref_${cell.name} eq_miter`,
        'sat -prove-asserts -show-ports eq_miter',
      );
    }
    if (checks.length === 0) return { proved: 0, failed: [], seconds: (performance.now() - t0) / 1000 };

    await writeFile(join(dir, 'equiv.ys'), `${script.join('\n')}\n`);
    const res = await runTool(findTool('yosys'), ['-Q', '-T', '-s', 'equiv.ys'], { cwd: dir, timeoutMs: opts.timeoutMs ?? 600_000 });
    const output = `${res.stdout}\n${res.stderr}`;
    if (res.code !== 0) {
      const err = output.split('\n').find((l) => l.includes('ERROR:')) ?? tailLines(output, 2);
      throw new ToolError(`yosys equivalence check: ${err || `exit ${res.code}`}`);
    }
    const sections = output.split(new RegExp(`^${MARK}`, 'm')).slice(1);
    const byCell = new Map(sections.map((s) => [s.slice(0, s.indexOf('\n')).trim(), s]));
    const failed: string[] = [];
    for (const c of checks) {
      const why = verdict(c, byCell.get(c.cell) ?? '');
      if (why !== undefined) failed.push(why);
    }
    return { proved: checks.length - failed.length, failed, seconds: (performance.now() - t0) / 1000 };
  } finally {
    await tmp.remove();
  }
}
