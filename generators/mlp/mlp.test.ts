// The MLP generator across weight widths and pipelining: lint clean, Icarus compiles, bit exact in Verilator.
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

const CASES: { bits: WeightBits; regEvery: number; sizes: number[]; split?: { flatMaxWeights: number; groupWeights: number } }[] = [
  { bits: 3, regEvery: 1, sizes: [12, 7, 5] },
  { bits: 6, regEvery: 3, sizes: [9, 6, 6, 3] },
  { bits: 8, regEvery: 2, sizes: [16, 4, 11] },
  // Large layers split into channel-group modules (thresholds made small): groups of 3, 2 and 1 channels.
  { bits: 4, regEvery: 2, sizes: [10, 7, 13, 5], split: { flatMaxWeights: 40, groupWeights: 30 } },
];

describe('MLP RTL equals the golden model', () => {
  for (const c of CASES) {
    it(`int${c.bits} weights, ${c.sizes.join('-')}, register every ${c.regEvery} adder levels${c.split ? ', layers split into channel groups' : ''}`, async () => {
      const { q } = randomQuantizedMlp(c.sizes, c.bits, c.bits * 100 + c.regEvery);
      const rtl = buildMlpRtl(q, { regEvery: c.regEvery, split: c.split });
      if (c.split) expect([...emitDesign(rtl.top).files.keys()]).toEqual(expect.arrayContaining(['layer0_o0_2.v', 'layer0_o6_6.v', 'layer1_o0_3.v', 'layer1_o12_12.v', 'layer2_o0_1.v', 'layer2_o4_4.v']));
      const dir = mkdtempSync(join(tmpdir(), 'hw-mlp-'));
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
        if (!stalls) {
          expect(run.latency).toBe(rtl.plan.latency);
          expect(run.throughputPerCycle).toBe(1);
        }
      }
    });
  }

  it('zero weights cost no cell, an all-zero layer is allowed', () => {
    const { q } = randomQuantizedMlp([6, 4, 3], 4, 11);
    const zeroed = { ...q, layers: [{ ...q.layers[0], weight: new Int32Array(q.layers[0].weight.length) }, q.layers[1]] };
    const rtl = buildMlpRtl(zeroed);
    expect(rtl.layers[0].cells).toBe(0);
    expect(rtl.plan.cells).toBe(q.layers[1].weight.filter((w) => w !== 0).length);
  });

  it('emitting the same design twice gives byte-identical files', () => {
    const { q } = randomQuantizedMlp([10, 6, 4], 4, 3);
    const a = emitDesign(buildMlpRtl(q).top);
    const b = emitDesign(buildMlpRtl(randomQuantizedMlp([10, 6, 4], 4, 3).q).top);
    expect([...a.files.keys()]).toEqual([...b.files.keys()]);
    for (const [k, v] of a.files) expect(b.files.get(k)).toBe(v);
  });
});
