// Icarus Verilog: a warning-free compile check, and a vector replay that cross-checks the Verilator harness.

import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import Handlebars from 'handlebars';
import { EXIT, ToolError, UserError } from '../core/errors.ts';
import { LintError } from './lint.ts';
import { findTool, runTool, tailLines, makeTempDir } from './tools.ts';
import { checkSimSpec, simLayout, type SimSpec } from './verilator.ts';

/** Module name of the generated testbench; RTL must not use it. */
const TB_NAME = 'hardwire_icarus_tb';

/** Compile with `iverilog -g2005 -Wall -s top -o out`; any output (warning or error) is a LintError. */
async function iverilog(files: readonly string[], top: string, out: string, reportTop = top): Promise<void> {
  const res = await runTool(findTool('iverilog'), ['-g2005', '-Wall', '-s', top, '-o', out, ...files], { timeoutMs: 600_000 });
  const output = `${res.stdout}${res.stderr}`;
  if (res.code === 0 && output.trim() === '') return;
  const lines = output.split('\n').map((l) => l.trimEnd()).filter((l) => l !== '');
  if (lines.length === 0) throw new ToolError(`iverilog exited with ${res.code} and no message`);
  throw new LintError('iverilog', reportTop, lines, output);
}

/** Compile `files` with `top` as the root under Icarus (Verilog-2005, all warnings); throws LintError on any message. */
export async function compileIcarus(files: readonly string[], top: string): Promise<void> {
  const tmp = await makeTempDir('icarus');
  const dir = tmp.dir;
  try {
    await iverilog(files, top, join(dir, 'a.vvp'));
  } finally {
    await tmp.remove();
  }
}

const templatesDir = fileURLToPath(new URL('../templates/', import.meta.url));
let tbTemplate: Promise<HandlebarsTemplateDelegate> | undefined;

/** A Verilog string literal body for a path (backslashes and quotes escaped). */
function verilogString(s: string): string {
  if (/[\n\r]/.test(s)) throw new UserError(`path with a line break cannot go into a Verilog string: ${JSON.stringify(s)}`);
  return s.replace(/\\/g, '\\\\').replace(/"/g, '\\"');
}

/** Where runIcarusVectors accepts X/Z on outputs (Icarus starts registers and memories at X). */
export interface IcarusRunOptions {
  /**
   * Outputs of the first `resetCycles` cycles may be X/Z and come back as null: Icarus registers
   * start at X and the outputs of a cycle are sampled before its clock edge, so even a reset in
   * cycle 0 shows X there (Verilator shows 0). Default 0: any X/Z is an error.
   */
  resetCycles?: number;
  /**
   * Outputs that may read X/Z on any cycle (null then): e.g. a debug read port of an SRAM whose rows
   * are not written yet (Icarus memories start at X, Verilator's at 0).
   */
  xAllowed?: readonly string[];
}

/**
 * Replay `cycles` (one bigint per non-clock input, spec order) on `spec` under Icarus with exactly
 * the Verilator harness's semantics, and return per cycle one unsigned bigint per output. Registers
 * start at X in Icarus, so the vectors must reset the design; an X or Z on an output after the first
 * `opts.resetCycles` cycles is an error naming the port and cycle.
 */
export function runIcarusVectors(spec: SimSpec, cycles: readonly (readonly bigint[])[]): Promise<bigint[][]>;
export function runIcarusVectors(spec: SimSpec, cycles: readonly (readonly bigint[])[], opts: IcarusRunOptions): Promise<(bigint | null)[][]>;
export async function runIcarusVectors(
  spec: SimSpec,
  cycles: readonly (readonly bigint[])[],
  opts: IcarusRunOptions = {},
): Promise<(bigint | null)[][]> {
  checkSimSpec(spec);
  const { inSlots, outSlots } = simLayout(spec);
  if (cycles.length === 0) return [];
  cycles.forEach((values, c) => {
    if (values.length !== inSlots.length) {
      throw new UserError(`cycle ${c}: ${values.length} input values given, the design has ${inSlots.length} (${inSlots.map((s) => s.name).join(', ')})`);
    }
  });
  tbTemplate ??= readFile(join(templatesDir, 'icarus_tb.v.hbs'), 'utf8').then((src) =>
    Handlebars.create().compile(src, { noEscape: true, strict: true }),
  );
  const tmpl = await tbTemplate;

  const tmp = await makeTempDir('icarus');
  const dir = tmp.dir;
  try {
    // One $readmemh image per input port: one hex word per line, one line per cycle.
    const inputs = await Promise.all(
      inSlots.map(async (slot, i) => {
        const file = join(dir, `in_${i}.hex`);
        const text = cycles.map((values) => BigInt.asUintN(slot.width, values[i]).toString(16)).join('\n') + '\n';
        await writeFile(file, text);
        return { name: slot.name, msb: slot.width - 1, file: verilogString(file) };
      }),
    );
    const outFile = join(dir, 'out.hex');
    const tb = tmpl({
      tbName: TB_NAME,
      top: spec.top,
      hasClock: spec.clock !== undefined,
      clock: spec.clock ?? '',
      inputs,
      outputs: outSlots.map((s) => ({ name: s.name, msb: s.width - 1 })), unobserved: [],
      connections: spec.ports.map((p) => ({ name: p.name })),
      cycles: cycles.length,
      lastCycle: cycles.length - 1,
      outFile: verilogString(outFile),
      format: outSlots.length > 0 ? outSlots.map(() => '%h').join(' ') : '.',
    });
    const tbFile = join(dir, `${TB_NAME}.v`);
    await writeFile(tbFile, tb);

    // The testbench goes last, so it inherits any `timescale of the RTL and -Wtimescale stays quiet.
    const vvpFile = join(dir, 'tb.vvp');
    await iverilog([...spec.files, tbFile], TB_NAME, vvpFile, spec.top);
    const res = await runTool(findTool('vvp'), ['-n', vvpFile], { cwd: dir, timeoutMs: 3_600_000 });
    const noisy = `${res.stdout}\n${res.stderr}`.split('\n').filter((l) => /warning|error/i.test(l));
    if (res.code !== 0 || noisy.length > 0) {
      throw new ToolError(`vvp ${spec.top}: ${noisy[0] ?? (tailLines(res.stdout + res.stderr, 3) || `exit ${res.code}`)}`);
    }

    const lines = (await readFile(outFile, 'utf8')).split('\n').filter((l) => l !== '');
    if (lines.length !== cycles.length) {
      throw new ToolError(`vvp ${spec.top}: wrote ${lines.length} output lines for ${cycles.length} cycles`);
    }
    return lines.map((line, c) => {
      const tokens = outSlots.length > 0 ? line.trim().split(/\s+/) : [];
      if (tokens.length !== outSlots.length) throw new ToolError(`vvp ${spec.top}: cycle ${c}: cannot parse output line ${JSON.stringify(line)}`);
      return tokens.map((tok, i) => {
        if (/[xz]/i.test(tok)) {
          if (c < (opts.resetCycles ?? 0) || opts.xAllowed?.includes(outSlots[i].name)) return null;
          throw new UserError(
            `icarus ${spec.top}: output ${outSlots[i].name} is ${tok} (X/Z bits) at cycle ${c}; are all registers reset by the vectors?`,
            EXIT.verifyFailed,
          );
        }
        return BigInt(`0x${tok}`);
      });
    });
  } finally {
    await tmp.remove();
  }
}
