// The rule that makes the masks real (docs/ARCHITECTURE.md, "Flow 2"): a mask module holds constants and wires, nothing
// else. Each mask module is synthesized on its own by Yosys; any cell (gate, flop, mux, memory) fails.
import { writeFile, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { EXIT, ToolError, UserError } from '../core/errors.ts';
import { findTool, runTool, tailLines, makeTempDir } from './tools.ts';
import { parseStat } from './yosys.ts';

export interface MaskPurity {
  /** Module name → Yosys cells after `synth` of that module alone (all must be 0). */
  readonly cells: Record<string, number>;
  readonly seconds: number;
}

/** Synthesize each mask module alone and count its cells; throws (exit 4) when any has one. */
export async function checkMaskPurity(masks: readonly { file: string; module: string }[], opts: { timeoutMs?: number } = {}): Promise<MaskPurity> {
  const t0 = performance.now();
  const tmp = await makeTempDir('mask');
  const dir = tmp.dir;
  try {
    const cells: Record<string, number> = {};
    const kinds: Record<string, string> = {};
    for (const { file, module } of masks) {
      const script = [`read_verilog "${file.replace(/"/g, '')}"`, `hierarchy -top ${module}`, 'proc', 'opt_clean', 'tee -q -o stat.txt stat', ''].join('\n');
      await writeFile(join(dir, 'mask.ys'), script);
      const res = await runTool(findTool('yosys'), ['-q', '-s', 'mask.ys'], { cwd: dir, timeoutMs: opts.timeoutMs ?? 600_000 });
      if (res.code !== 0) throw new ToolError(`yosys ${module}: ${tailLines(`${res.stdout}\n${res.stderr}`, 2)}`);
      const st = parseStat(await readFile(join(dir, 'stat.txt'), 'utf8'));
      cells[module] = Object.values(st.cells).reduce((s, n) => s + n, 0);
      kinds[module] = Object.entries(st.cells).map(([k, n]) => `${n} ${k}`).join(', ');
    }
    const bad = Object.entries(cells).filter(([, n]) => n > 0);
    if (bad.length) {
      throw new UserError(`mask module${bad.length > 1 ? 's' : ''} ${bad.map(([m, n]) => `'${m}' has ${n} cell${n > 1 ? 's' : ''} (${kinds[m]})`).join('; ')}: a mask may hold only constants and wires (docs/ARCHITECTURE.md, "Flow 2")`, EXIT.verifyFailed);
    }
    return { cells, seconds: (performance.now() - t0) / 1000 };
  } finally {
    await tmp.remove();
  }
}
