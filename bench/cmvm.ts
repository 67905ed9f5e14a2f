// node --import tsx bench/cmvm.ts [filter]: per-weight CSD cells vs CMVM shared adder graphs, in one run:
// adders/weight and LUT/weight (Yosys synth_xilinx -family xcup -flatten, pipeline registers included),
// on random 16-64-32-32-5 networks (fixed seed, default calibration) and on examples/digits-mlp.
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { randomFloatMlp } from '../generators/mlp/testing.ts';
import { quantizeMlp } from '../generators/quantize/mlp.ts';
import { buildMlpRtl } from '../generators/mlp/top.ts';
import type { MulStyle } from '../generators/mlp/cells.ts';
import type { QuantizedMlp, WeightBits } from '../generators/model.ts';
import { emitDesign } from '../dsl/verilog.ts';
import { writeDesign } from '../verify/design.ts';
import { findTool, runTool } from '../verify/tools.ts';
import { mulberry32 } from '../verify/prng.ts';
import { prepareModel } from '../cli/genMlp.ts';
import { Progress } from '../cli/progress.ts';

/** LUTs after synth_xilinx (LUT1..LUT6 cells of the flattened top). */
async function xilinxLuts(q: QuantizedMlp, style: MulStyle): Promise<{ luts: number; ffs: number; adders?: number; csdAdders?: number; seconds: number }> {
  const t0 = performance.now();
  const rtl = buildMlpRtl(q, { style });
  const dir = mkdtempSync(join(tmpdir(), 'hw-bench-cmvm-'));
  try {
    const files = writeDesign(emitDesign(rtl.top), dir);
    writeFileSync(join(dir, 's.ys'), [...files.map((f) => `read_verilog ${f}`), `synth_xilinx -family xcup -flatten -top ${rtl.top.name}`, 'tee -q -o stat.txt stat', ''].join('\n'));
    const r = await runTool(findTool('yosys'), ['-q', '-s', 's.ys'], { cwd: dir, timeoutMs: 3_600_000 });
    if (r.code !== 0) throw new Error(`yosys: ${r.stderr.slice(-400)}`);
    const stat = readFileSync(join(dir, 'stat.txt'), 'utf8');
    const count = (re: RegExp): number => [...stat.matchAll(re)].reduce((s, m) => s + Number(m[1]), 0);
    const cm = rtl.layers.every((l) => l.cmvm) ? rtl.layers.reduce((s, l) => ({ a: s.a + l.cmvm!.adders, c: s.c + l.cmvm!.csdAdders }), { a: 0, c: 0 }) : undefined;
    return { luts: count(/^\s+LUT\d\s+(\d+)\s*$/gm), ffs: count(/^\s+FD\w*\s+(\d+)\s*$/gm), adders: cm?.a, csdAdders: cm?.c, seconds: (performance.now() - t0) / 1000 };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

function randomNet(bits: WeightBits, zeros: number, sizes = [16, 64, 32, 32, 5]): QuantizedMlp {
  const model = randomFloatMlp(sizes, 2026 + bits, zeros);
  const r = mulberry32(77);
  const calib = Float32Array.from({ length: 256 * sizes[0] }, () => r() * 4 - 2);
  return quantizeMlp(model, calib, { weightBits: bits });
}

const cases: { name: string; q: () => QuantizedMlp }[] = [
  // A small one first: synth_xilinx of the full network takes > 15 min per design on a loaded 2-core machine.
  { name: '16-16-5 int4 0% zeros', q: () => randomNet(4, 0, [16, 16, 5]) },
  ...([3, 4, 6] as WeightBits[]).flatMap((b) => [0, 0.5].map((z) => ({ name: `16-64-32-32-5 int${b} ${z * 100}% zeros`, q: () => randomNet(b, z) }))),
  { name: 'examples/digits-mlp int4', q: () => prepareModel({ model: join(import.meta.dirname, '..', 'examples', 'digits-mlp', 'model.safetensors'), weightBits: 4 } as Parameters<typeof prepareModel>[0], new Progress(1, true)).q },
];
const filter = process.argv[2] ?? '';
console.log('| network | weights | adders/w CSD | adders/w CMVM | LUT/w CSD | LUT/w CMVM | CMVM/CSD LUT | FF CSD | FF CMVM |');
console.log('|---|---|---|---|---|---|---|---|---|');
for (const c of cases) {
  if (!c.name.includes(filter)) continue;
  const q = c.q();
  const weights = q.layers.reduce((s, l) => s + l.weight.length, 0);
  const [a, b] = await Promise.all([xilinxLuts(q, 'csd'), xilinxLuts(q, 'cmvm')]);
  const f = (x: number): string => (x / weights).toFixed(2);
  console.log(`| ${c.name} | ${weights} | ${f(b.csdAdders!)} | ${f(b.adders!)} | ${f(a.luts)} | ${f(b.luts)} | ${(b.luts / a.luts).toFixed(2)} | ${a.ffs} | ${b.ffs} |`);
}
