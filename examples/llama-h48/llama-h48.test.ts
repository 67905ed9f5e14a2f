// One base die, a family of models (issue 10's must-show): on the one grid file examples/grids/tiny-llama.ts,
// this second Llama (hidden 48, 3 layers, 6 heads on 2 KV heads of 8, vocabulary 80 with bos/eos), the
// digits MLP and examples/tiny-llama get byte-identical base/ and top/ folders; only the two masks differ,
// and each mask alone has 0 cells in Yosys. The second Llama and the MLP are co-simulated bit-exact in
// Verilator with Icarus agreeing (tiny-llama's own test co-simulates it).
import { describe, expect, it } from 'vitest';
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { mkdtempSync, readFileSync, readdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { CLI, ROOT } from '../../cli/testing.ts';

const run = promisify(execFile);
const GRID = join(ROOT, 'examples/grids/tiny-llama.ts');
const PROMPTS = ['Permission is hereby granted, ', 'This program is free software; '];

async function genRtl(args: string[]): Promise<{ out: string; rep: Record<string, any> }> {
  const out = join(mkdtempSync(join(tmpdir(), 'hw-family-')), 'out');
  const r = await run('node', [CLI, ...args, '--grid', GRID, '--out', out, '-q'], { cwd: ROOT, maxBuffer: 1 << 24 });
  console.log(r.stdout);
  return { out, rep: JSON.parse(readFileSync(join(out, 'report.json'), 'utf8')) };
}

/** Every file of one output subfolder, by name. */
function folder(out: string, sub: string): Map<string, string> {
  return new Map(readdirSync(join(out, sub)).sort().map((f) => [f, readFileSync(join(out, sub, f), 'utf8')]));
}

type Out = Awaited<ReturnType<typeof genRtl>>;
let h48: Out | undefined;
let mlp: Out | undefined;

// Each run in its own case (each has the whole test timeout: a Verilator build is ~1-2 minutes on 2 cores).
describe('one base die for three models (grid tiny-llama)', () => {
  it('llama-h48: RTL text = golden, every KV row equal, cycles = plan, Icarus agrees', async () => {
    h48 = await genRtl([join(ROOT, 'examples/llama-h48/model.safetensors'), ...PROMPTS.flatMap((p) => ['--prompt', p]), '--tokens', '40']);
    const r = h48.rep;
    expect(r.dims).toMatchObject({ hidden: 48, layers: 3, heads: 6, kvHeads: 2, headDim: 8, vocab: 80, bos: 78, eos: [79] });
    expect(r.verified).toBe(true);
    for (const p of r.prompts) {
      expect(p.rtl).toBe(p.golden);
      expect(p.stepsEqual).toBe(p.steps);
      expect(p.kvRowsEqual).toBe(p.kvRows);
    }
    expect(r.fullContext.stepsEqual).toBe(r.fullContext.steps);
    expect(r.fullContext.kvRowsEqual).toBe(r.fullContext.kvRows);
    expect(r.cyclesMeasuredEqualPlanned.equal).toBe(r.cyclesMeasuredEqualPlanned.steps);
    expect(r.icarus.equal).toBe(r.icarus.cycles);
    expect(r.quantization.intLoss - r.quantization.floatLoss).toBeLessThan(0.2);
  });

  it('the digits MLP as a program on the same engine: 360/360 held-out vectors, Icarus agrees, cycles = plan', async () => {
    mlp = await genRtl([join(ROOT, 'examples/digits-mlp/model.safetensors'), '--weight-bits', '4']);
    expect(mlp.rep.kind).toBe('engine-mlp');
    expect(mlp.rep.cosim.testEqual).toBe(mlp.rep.cosim.testTotal);
    expect(mlp.rep.cosim.testTotal).toBe(360);
    expect(mlp.rep.cosim.randomEqual).toBe(mlp.rep.cosim.randomTotal);
    expect(mlp.rep.cosim.icarusEqual).toBe(mlp.rep.cosim.icarusCycles);
    expect(mlp.rep.cycles.measured).toBe(mlp.rep.cycles.planned);
    // replay.sh reruns lint, Icarus, Verilator and the mask check by hand, and passes.
    const replay = await run('bash', [join(mlp.out, 'replay.sh')], { maxBuffer: 1 << 24 });
    expect(replay.stdout).toMatch(/2 mask modules, 0 cells each\nreplay: all passed\n$/);
  });

  it("base/ and top/ byte-identical to tiny-llama's; each mask 0 cells; the masks differ model to model", async () => {
    if (!h48 || !mlp) throw new Error('the two runs above failed');
    const tiny = await genRtl([join(ROOT, 'examples/tiny-llama/model.safetensors'), '--prompt', 'The ', '--tokens', '2', '--no-verify']);

    for (const o of [h48, mlp, tiny]) {
      expect(o.rep.chip.maskCells).toEqual({ mask_weights: 0, mask_routing: 0 });
      expect(o.rep.chip.baseSha256).toBe(tiny.rep.chip.baseSha256);
    }
    for (const sub of ['base', 'top']) for (const o of [h48, mlp]) expect(folder(o.out, sub)).toEqual(folder(tiny.out, sub));
    // The models live in the masks: each pair of models differs in both.
    for (const [a, b] of [[h48, mlp], [h48, tiny], [mlp, tiny]]) {
      for (const sub of ['mask-weights', 'mask-routing']) expect(folder(a.out, sub)).not.toEqual(folder(b.out, sub));
    }
  });
});
