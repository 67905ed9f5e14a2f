// The MLP with CMVM layers (--cmvm): lint clean, Icarus compiles, bit exact against the golden model in Verilator.
import { describe, expect, it } from 'vitest';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { buildMlpRtl } from './top.ts';
import { randomQuantizedMlp } from './testing.ts';
import { emitDesign } from '../../dsl/verilog.ts';
import { simSpecOf, writeDesign } from '../../verify/design.ts';
import { lintVerilog } from '../../verify/lint.ts';
import { compileIcarus } from '../../verify/icarus.ts';
import { buildSim } from '../../verify/verilator.ts';
import { streamMlp } from '../../verify/cosimMlp.ts';
import { goldenMlp } from '../../verify/golden/mlp.ts';
import { randomVectors } from '../../cli/genMlp.ts';
import type { WeightBits } from '../model.ts';

const CASES: { bits: WeightBits; regEvery: number; sizes: number[] }[] = [
  { bits: 3, regEvery: 1, sizes: [12, 7, 5] },
  { bits: 6, regEvery: 3, sizes: [9, 6, 6, 3] },
  { bits: 8, regEvery: 2, sizes: [16, 12, 11] },
];

describe('MLP with CMVM layers equals the golden model', () => {
  for (const c of CASES) {
    it(`int${c.bits} weights, ${c.sizes.join('-')}, register every ${c.regEvery} adder levels`, async () => {
      const { q } = randomQuantizedMlp(c.sizes, c.bits, c.bits * 100 + c.regEvery);
      const rtl = buildMlpRtl(q, { regEvery: c.regEvery, style: 'cmvm' });
      for (const l of rtl.layers) expect(l.cmvm!.adders).toBeLessThanOrEqual(l.cmvm!.csdAdders + 16);
      const dir = mkdtempSync(join(tmpdir(), 'hw-cmvm-'));
      const files = writeDesign(emitDesign(rtl.top), dir);
      await lintVerilog(files, rtl.top.name);
      await compileIcarus(files, rtl.top.name);
      const sim = await buildSim(simSpecOf(rtl.top, files));
      const xs = randomVectors(2000, c.sizes[0], q.actBits, 5);
      for (const stalls of [false, true]) {
        const run = await streamMlp(sim, rtl.plan, xs, q.actBits, { stalls, seed: 9 });
        expect(run.controlMismatches).toBe(0);
        expect(run.outputs.length).toBe(xs.length);
        const bad = xs.findIndex((x, i) => {
          const g = goldenMlp(q, x);
          return g.cls !== run.outputs[i].cls || g.logits.some((l, j) => l !== run.outputs[i].logits[j]);
        });
        expect(bad).toBe(-1);
        if (!stalls) expect(run.latency).toBe(rtl.plan.latency);
      }
    });
  }
});
