// Yosys gate counts: generic-gate synthesis (DESIGN.md §4) and parsing of `stat` output.

import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { ToolError, UserError } from '../core/errors.ts';
import { findTool, runTool, tailLines, makeTempDir } from './tools.ts';

/** The generic gate library every hardware-per-weight figure is counted in. */
export const ABC_GATES = 'AND,NAND,OR,NOR,XOR,XNOR,ANDNOT,ORNOT,MUX';

/** Yosys's count of a design mapped to generic gates (yosysGateCount). */
export interface GateCount {
  /** Every cell type after synthesis and its count, e.g. { $_AND_: 75, $_SDFF_PP0_: 70 }. */
  cells: Record<string, number>;
  /** Combinational gate cells ($_AND_, $_NOT_, $_MUX_, ...): all $_..._ cells that are not storage. */
  totalGates: number;
  /** Flip-flops and latches ($_DFF*, $_SDFF*, $_DFFE*, $_ALDFF*, $_DLATCH*, $_SR_*), one per bit. */
  flops: number;
  /** `stat -tech cmos` estimate; a lower bound when `transistorsLowerBound` (cells it has no cost for, e.g. $_SDFF_). */
  transistors?: number;
  transistorsLowerBound?: boolean;
  /** Longest combinational path in gates (`ltp -noff`), when asked for. */
  logicDepth?: number;
  /** Yosys "Warning:" lines. */
  warnings: string[];
  /** Wall time of the Yosys run. */
  seconds: number;
}

const STORAGE_CELL = /^\$_(DFF|DFFE|SDFF|SDFFE|SDFFCE|ALDFF|ALDFFE|DFFSR|DFFSRE|DLATCH|DLATCHSR|SR)_/;

/** A Yosys script string literal (read_verilog strips the quotes, so paths may hold spaces). */
function ysString(s: string): string {
  if (/["\n\r]/.test(s)) throw new UserError(`path cannot go into a Yosys script: ${JSON.stringify(s)}`);
  return `"${s}"`;
}

/** Parse the last module block of `stat` output into cell counts and the transistor estimate. */
export function parseStat(text: string): Pick<GateCount, 'cells' | 'totalGates' | 'flops' | 'transistors' | 'transistorsLowerBound'> {
  const blockStart = text.lastIndexOf('=== ');
  const block = blockStart >= 0 ? text.slice(blockStart) : text;
  const lines = block.split('\n');
  const at = lines.findIndex((l) => /^\s*Number of cells:/.test(l));
  if (at < 0) throw new ToolError(`yosys stat: no "Number of cells" line in its output`);
  const cells: Record<string, number> = {};
  for (const line of lines.slice(at + 1)) {
    const m = /^\s+(\S+)\s+(\d+)\s*$/.exec(line);
    if (!m) break;
    cells[m[1]] = Number(m[2]);
  }
  let totalGates = 0;
  let flops = 0;
  for (const [type, n] of Object.entries(cells)) {
    if (STORAGE_CELL.test(type)) flops += n;
    else if (/^\$_.*_$/.test(type)) totalGates += n;
  }
  const t = /Estimated number of transistors:\s*(\d+)(\+?)/.exec(block);
  const result: ReturnType<typeof parseStat> = { cells, totalGates, flops };
  if (t) {
    result.transistors = Number(t[1]);
    result.transistorsLowerBound = t[2] === '+';
  }
  return result;
}

/**
 * Synthesize `top` to generic gates (`synth -flatten; abc -g AND,...,MUX; opt_clean; stat -tech cmos`)
 * and count its cells. `depth` also runs `ltp -noff` (slow on very large netlists).
 */
export async function yosysGateCount(
  files: readonly string[],
  top: string,
  opts: { timeoutMs?: number; depth?: boolean; flatten?: boolean } = {},
): Promise<GateCount> {
  const t0 = performance.now();
  const tmp = await makeTempDir('yosys');
  const dir = tmp.dir;
  try {
    // tee -o takes its file name literally (quotes included): use plain names in the run's folder.
    const statFile = join(dir, 'stat.txt');
    const ltpFile = join(dir, 'ltp.txt');
    const script = [
      ...files.map((f) => `read_verilog ${ysString(f)}`),
      // One abc pass below, to generic gates (synth's own abc would double the time). Hierarchical
      // synthesis maps each distinct module once and stat -top multiplies by instance counts; flatten
      // when constants must propagate across module boundaries (tie-off personalization).
      opts.flatten === false ? `synth -noabc -top ${top}` : `synth -flatten -noabc -top ${top}`,
      `abc -g ${ABC_GATES}`,
      'opt_clean',
      opts.flatten === false ? `tee -q -o stat.txt stat -tech cmos -top ${top}` : 'tee -q -o stat.txt stat -tech cmos',
      ...(opts.depth ? ['tee -q -o ltp.txt ltp -noff'] : []),
      '',
    ].join('\n');
    const scriptFile = join(dir, 'gates.ys');
    await writeFile(scriptFile, script);
    const res = await runTool(findTool('yosys'), ['-q', '-s', scriptFile], { cwd: dir, timeoutMs: opts.timeoutMs ?? 3_600_000 });
    const output = `${res.stdout}\n${res.stderr}`;
    if (res.code !== 0) {
      const err = output.split('\n').find((l) => l.startsWith('ERROR')) ?? tailLines(output, 2);
      throw new ToolError(`yosys ${top}: ${err || `exit ${res.code}`}`);
    }
    const stat = parseStat(await readFile(statFile, 'utf8'));
    const result: GateCount = { ...stat, warnings: output.split('\n').filter((l) => l.startsWith('Warning')), seconds: 0 };
    if (opts.depth) {
      const m = /length=(\d+)/.exec(await readFile(ltpFile, 'utf8'));
      if (m) result.logicDepth = Number(m[1]);
    }
    result.seconds = (performance.now() - t0) / 1000;
    return result;
  } finally {
    await tmp.remove();
  }
}
