// The grid flow: base/ is the same for every model of a grid; D = 1, 4, 16 and a 2-chip split are bit exact
// in Verilator with the cycle counts the plan predicts.
import { describe, expect, it } from 'vitest';
import { mkdirSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { openSafetensors } from '../load/safetensors.ts';
import { recognizeMlp } from '../load/mlp.ts';
import { quantizeInput, quantizeMlp } from '../quantize/mlp.ts';
import type { QuantizedMlp } from '../model.ts';
import { buildGridDesign, type GridDesign } from './design.ts';
import { defineGrid, loadGrid } from './grid.ts';
import { planOnGrid } from './map.ts';
import { randomQuantizedMlp } from '../mlp/testing.ts';
import { lintVerilog } from '../../verify/lint.ts';
import { compileIcarus } from '../../verify/icarus.ts';
import { buildSim } from '../../verify/verilator.ts';
import { runGrid } from '../../verify/cosimGrid.ts';
import { UserError } from '../../cli/errors.ts';

const EX = resolve(import.meta.dirname, '../../examples');

function digits(): { q: QuantizedMlp; test: Int32Array[] } {
  const dir = join(EX, 'digits-mlp');
  const f = openSafetensors(join(dir, 'model.safetensors'));
  const model = recognizeMlp(f, JSON.parse(readFileSync(join(dir, 'config.json'), 'utf8')));
  f.close();
  const c = openSafetensors(join(dir, 'calib.safetensors'));
  const q = quantizeMlp(model, c.readFloat32('x'), { weightBits: 4 });
  c.close();
  const t = openSafetensors(join(dir, 'test.safetensors'));
  const x = t.readFloat32('x');
  t.close();
  const test = Array.from({ length: x.length / 64 }, (_, i) => quantizeInput(x.subarray(i * 64, (i + 1) * 64), q.inputScale));
  return { q, test };
}

function folder(d: GridDesign, name: string): Map<string, string> {
  return new Map([...d.files].filter(([p]) => p.startsWith(`${name}/`)));
}

/** The same model with every row's weights reversed: other weights, same shapes, scales and requant. */
function permuted(q: QuantizedMlp): QuantizedMlp {
  return {
    ...q,
    layers: q.layers.map((l) => {
      const w = new Int32Array(l.weight.length);
      for (let o = 0; o < l.outFeatures; o++) for (let i = 0; i < l.inFeatures; i++) w[o * l.inFeatures + i] = l.weight[o * l.inFeatures + l.inFeatures - 1 - i];
      return { ...l, weight: w };
    }),
  };
}

describe('base gate grid and mask layers', () => {
  it('two models on one grid: base/ byte-identical, only mask-weights/ differs; a model of other shapes keeps base/ too', async () => {
    const grid = await loadGrid(join(EX, 'grids/digits-d4.ts'));
    const { q } = digits();
    const a = buildGridDesign(q, grid);
    const b = buildGridDesign(permuted(q), grid);
    expect(folder(b, 'base')).toEqual(folder(a, 'base'));
    expect(folder(b, 'mask-routing')).toEqual(folder(a, 'mask-routing'));
    expect(folder(b, 'top')).toEqual(folder(a, 'top'));
    expect(folder(b, 'mask-weights')).not.toEqual(folder(a, 'mask-weights'));
    const other = buildGridDesign(randomQuantizedMlp([40, 24, 12, 7], 4, 3).q, grid);
    expect(folder(other, 'base')).toEqual(folder(a, 'base'));
    expect(folder(other, 'mask-routing')).not.toEqual(folder(a, 'mask-routing'));
    expect([...folder(a, 'base').keys()].sort()).toEqual(['base/base.f', 'base/hw_cell.v', 'base/hw_grid.v', 'base/hw_lane.v']);
  });

  it('refuses what the grid cannot hold, with one clear line', () => {
    const { q } = digits();
    const tiny = defineGrid({ name: 'tiny', rows: 64, lanes: 8, romDepth: 1, weightBits: 4, accBits: 24 });
    expect(() => planOnGrid(q, tiny)).toThrow(UserError);
    expect(() => planOnGrid(q, tiny)).toThrow(/layer 0 needs 32 lanes at ROM depth 1, the grid has 8/);
    const narrow = defineGrid({ name: 'narrow', rows: 16, lanes: 48, romDepth: 2, weightBits: 4, accBits: 24 });
    expect(() => planOnGrid(q, narrow)).toThrow(/layer 0 has 64 inputs, more than rows × ROM depth = 16 × 2/);
    expect(() => planOnGrid(q, defineGrid({ name: 'g3', rows: 64, lanes: 48, romDepth: 4, weightBits: 3, accBits: 24 }))).toThrow(/int4 weights, grid cells hold 3 bits/);
    expect(() => defineGrid({ name: 'bad', rows: 64, lanes: 48, romDepth: 4, weightBits: 4, accBits: 12 })).toThrow(/field 'accBits' 12 is narrower/);
  });

  const cases: { D: number; chips?: number }[] = [{ D: 1 }, { D: 4 }, { D: 16 }, { D: 4, chips: 2 }];
  for (const c of cases) {
    it(`digits MLP, D = ${c.D}${c.chips ? `, ${c.chips} chips` : ''}: 360/360 bit exact, cycles = plan, lint clean, Icarus compiles`, async () => {
      const grid = await loadGrid(join(EX, `grids/digits-d${c.D}.ts`));
      const { q, test } = digits();
      const d = buildGridDesign(q, grid, { chips: c.chips });
      expect(d.plan.chips.length).toBe(c.chips ?? 1);
      const out = mkdtempSync(join(tmpdir(), `hw-grid-d${c.D}-`));
      for (const [p, text] of d.files) { mkdirSync(dirname(join(out, p)), { recursive: true }); writeFileSync(join(out, p), text); }
      const files = d.order.map((p) => join(out, p));
      await lintVerilog(files, d.top.name);
      await compileIcarus(files, d.top.name);
      const sim = await buildSim({ top: d.top.name, files, ports: d.top.ports.map((p) => ({ name: p.name, dir: p.dir, width: p.width })), clock: 'clk' });
      const run = await runGrid(sim, d.plan, q, test);
      console.log(`D=${c.D} chips=${d.plan.chips.length}: ${run.equal}/${run.total} equal, ${run.latency} cycles/inference (plan ${d.plan.latency}), utilization ${(100 * d.plan.utilization).toFixed(2)}% vs bound ${d.plan.boundCycles} cycles; lanes ${d.plan.chips.map((x) => x.lanesUsed).join('+')}`);
      expect(run.firstMismatch).toBeUndefined();
      expect(run.equal).toBe(360);
      expect(run.onTime).toBe(360);
      expect(run.latency).toBe(d.plan.latency);
    });
  }
});
