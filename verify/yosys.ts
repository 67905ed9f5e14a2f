// Yosys gate counts: generic-gate synthesis (docs/ARCHITECTURE.md) and parsing of `stat` output.

import { createHash } from 'node:crypto';
import { mkdir, readFile, rename, writeFile } from 'node:fs/promises';
import { homedir } from 'node:os';
import { basename, join } from 'node:path';
import { ToolError, UserError } from '../core/errors.ts';
import { findTool, runTool, tailLines, makeTempDir, toolVersion } from './tools.ts';

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
  /** Wall time of the Yosys run (of the run that filled the cache, on a cache hit). */
  seconds: number;
  /** True when the result came from the cache (`cache: true`) without running Yosys. */
  cached?: boolean;
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

/** Where Yosys results are cached: $HARDWIRE_CACHE/yosys, or $XDG_CACHE_HOME/hardwire/yosys. */
export function yosysCacheDir(): string {
  if (process.env.HARDWIRE_CACHE) return join(process.env.HARDWIRE_CACHE, 'yosys');
  return join(process.env.XDG_CACHE_HOME || join(homedir(), '.cache'), 'hardwire', 'yosys');
}

export interface GateCountOptions {
  timeoutMs?: number;
  /** Also the longest combinational path (`ltp -noff`); hierarchical runs flatten the mapped netlist first. */
  depth?: boolean;
  /** Flatten before synthesis (default) so constants propagate across modules; false maps each module once. */
  flatten?: boolean;
  /**
   * Keep the result by the sha256 of Yosys' version, the script and every file's name and text, and
   * reuse it (no Yosys run) when the same design comes again: a base die synthesized once serves every
   * model of its grid.
   */
  cache?: boolean;
}

/**
 * Synthesize `top` to generic gates (`synth -flatten; abc -g AND,...,MUX; opt_clean; stat -tech cmos`)
 * and count its cells. `depth` also runs `ltp -noff` (slow on very large netlists). With `flatten:
 * false` each module is mapped once and `stat -top` multiplies by instance counts; `depth` then flattens
 * the mapped netlist without further optimization, so the path is that of the gates as counted (a mask
 * module's constants are wires into the base's gates, not folded into them: the die's own timing).
 */
export async function yosysGateCount(files: readonly string[], top: string, opts: GateCountOptions = {}): Promise<GateCount> {
  if (!opts.cache) return runGateCount(files, top, opts);
  const script = gateScript(top, opts);
  const hash = createHash('sha256');
  const field = (x: string | Buffer): void => {
    hash.update(`${Buffer.byteLength(x)}:`);
    hash.update(x);
  };
  field(await toolVersion('yosys'));
  field(script.join('\n'));
  for (const f of files) {
    field(basename(f));
    field(await readFile(f));
  }
  const entry = join(yosysCacheDir(), `${hash.digest('hex')}.json`);
  try {
    return { ...(JSON.parse(await readFile(entry, 'utf8')) as GateCount), cached: true };
  } catch {
    // not cached (or unreadable): run it
  }
  const result = await runGateCount(files, top, opts);
  await mkdir(yosysCacheDir(), { recursive: true });
  const tmp = `${entry}.tmp-${process.pid}`;
  await writeFile(tmp, `${JSON.stringify(result)}\n`);
  await rename(tmp, entry);
  return result;
}

/** The synthesis commands after the read_verilog lines. */
function gateScript(top: string, opts: GateCountOptions): string[] {
  const hier = opts.flatten === false;
  return [
    // One abc pass below, to generic gates (synth's own abc would double the time). Hierarchical
    // synthesis maps each distinct module once and stat -top multiplies by instance counts; flatten
    // when constants must propagate across module boundaries (tie-off personalization).
    hier ? `synth -noabc -top ${top}` : `synth -flatten -noabc -top ${top}`,
    `abc -g ${ABC_GATES}`,
    'opt_clean',
    hier ? `tee -q -o stat.txt stat -tech cmos -top ${top}` : 'tee -q -o stat.txt stat -tech cmos',
    ...(opts.depth ? [...(hier ? ['flatten'] : []), 'tee -q -o ltp.txt ltp -noff'] : []),
  ];
}

async function runGateCount(files: readonly string[], top: string, opts: GateCountOptions): Promise<GateCount> {
  const t0 = performance.now();
  const tmp = await makeTempDir('yosys');
  const dir = tmp.dir;
  try {
    // tee -o takes its file name literally (quotes included): use plain names in the run's folder.
    const statFile = join(dir, 'stat.txt');
    const ltpFile = join(dir, 'ltp.txt');
    const script = [...files.map((f) => `read_verilog ${ysString(f)}`), ...gateScript(top, opts), ''].join('\n');
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
