// The Llama RTL on random models of other shapes than the example: every decoder step's token, the
// cycle it appears on and the KV cache read back from the SRAM equal the golden model / the plan.
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import type { LlamaDims } from '../llama-model.ts';
import { defineGrid } from '../grid/grid.ts';
import { quantizeLlama } from '../quantize/llama.ts';
import { buildLlamaDesign } from './design.ts';
import { cyclesPerToken } from './schedule.ts';
import { randomFloatLlama, randomTokens } from './testing.ts';
import { writeDesign, simSpecOf } from '../../verify/design.ts';
import { buildSim } from '../../verify/verilator.ts';
import { lintVerilog } from '../../verify/lint.ts';
import { cosimLlama } from '../../verify/cosimLlama.ts';
import { emitDesign } from '../../dsl/verilog.ts';

const base: Omit<LlamaDims, 'hidden' | 'intermediate' | 'layers' | 'heads' | 'kvHeads' | 'headDim' | 'vocab' | 'tied'> = { rmsNormEps: 1e-5, ropeTheta: 10000, maxPositions: 16 };

const CASES: { name: string; dims: LlamaDims; grid: Parameters<typeof defineGrid>[0]; context: number }[] = [
  {
    name: '1 layer, 4 query heads on 1 KV head (rep 4), tied embeddings, odd vocab, elementwise units 4 wide',
    dims: { ...base, hidden: 32, intermediate: 48, layers: 1, heads: 4, kvHeads: 1, headDim: 8, vocab: 21, tied: true },
    grid: { name: 'test-a', rows: 16, lanes: 8, romDepth: 64, weightBits: 4, accBits: 24, maxFeatures: 64, vector: 4, lut: { units: 7, entries: 1024, width: 16 }, sram: { banks: 2, words: 64, width: 256 }, engine: { heads: 4, headDim: 8, context: 16, vocab: 32, instrs: 64 } },
    context: 12,
  },
  {
    name: '3 layers, 2 heads on 2 KV heads (rep 1), intermediate not a multiple of the rows, int6, units 3 wide',
    dims: { ...base, hidden: 32, intermediate: 40, layers: 3, heads: 2, kvHeads: 2, headDim: 16, vocab: 37, tied: false },
    grid: { name: 'test-b', rows: 32, lanes: 4, romDepth: 256, weightBits: 6, accBits: 24, maxFeatures: 64, vector: 3, lut: { units: 6, entries: 1024, width: 16 }, sram: { banks: 2, words: 64, width: 256 }, engine: { heads: 2, headDim: 16, context: 16, vocab: 64, instrs: 96 } },
    context: 10,
  },
];

describe('hardwired Llama RTL on random models', () => {
  for (const [i, c] of CASES.entries()) {
    it(c.name, async () => {
      const model = randomFloatLlama(c.dims, 100 + i);
      const g = defineGrid(c.grid);
      const calib = [randomTokens(c.context, c.dims.vocab, 200 + i), randomTokens(c.context, c.dims.vocab, 300 + i)];
      const q = quantizeLlama(model, { weightBits: g.weightBits as 4 | 6, calib });
      const d = buildLlamaDesign(q, g, c.context);
      const dir = mkdtempSync(join(tmpdir(), 'hw-llama-'));
      const files = writeDesign(emitDesign(d.top), dir);
      await lintVerilog(files, d.top.name);
      const sim = await buildSim(simSpecOf(d.top, files));
      const prompts = [randomTokens(3, c.dims.vocab, 400 + i), randomTokens(1, c.dims.vocab, 500 + i)];
      const n = c.context - 3;
      const r = await cosimLlama(sim, q, d.program, c.context, prompts.map((prompt) => ({ prompt, tokens: n })));
      for (const run of r.runs) {
        expect(run.firstMismatch).toBeUndefined();
        expect(run.stepsEqual).toBe(run.steps);
        expect(run.kvRowsEqual).toBe(run.kvRows);
        expect(run.rtlTokens).toEqual(run.goldenTokens);
        for (const s of run.cycles) expect(s.measured).toBe(cyclesPerToken(d.program, s.pos));
      }
      // The second prompt restarts at position 0: its cache rows were rewritten, not appended.
      expect(r.runs[1].kvRows).toBe(2 * c.dims.layers * (prompts[1].length + n - 1));

      // The check has teeth: against a golden model whose k_proj requant multiplier of one channel is
      // halved, the same RTL run is reported as a mismatch (the KV rows differ, if nothing else).
      const k = q.layers[0].k;
      const M = Int32Array.from(k.M);
      M[0] >>= 1;
      const wrong = { ...q, layers: [{ ...q.layers[0], k: { ...k, M } }, ...q.layers.slice(1)] };
      const bad = await cosimLlama(sim, wrong, d.program, c.context, [{ prompt: prompts[0], tokens: n }]);
      expect(bad.runs[0].firstMismatch).toBeDefined();
      expect(bad.runs[0].kvRowsEqual).toBeLessThan(bad.runs[0].kvRows);
    });
  }
});
