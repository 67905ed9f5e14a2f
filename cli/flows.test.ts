// The three user-facing flows end to end through the CLI: spatial with Yosys baselines, grid, plan.
import { describe, expect, it } from 'vitest';
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { existsSync, mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { writeSafetensors } from '../generators/load/safetensors.ts';
import { randomFloatMlp } from '../generators/mlp/testing.ts';

const run = promisify(execFile);
const ROOT = resolve(import.meta.dirname, '..');
const CLI = join(ROOT, 'bin/gen-rtl.mjs');
const f32 = (a: Float32Array): Uint8Array => new Uint8Array(a.buffer, a.byteOffset, a.byteLength);

describe('gen-rtl flows', () => {
  it('spatial flow with --baselines: hardware per weight beside both baselines, in report.md, report.json and gates.svg', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'hw-synth-'));
    const m = randomFloatMlp([8, 6, 3], 21);
    writeSafetensors(join(dir, 'model.safetensors'), m.layers.flatMap((l) => [
      { name: `${l.name}.weight`, dtype: 'F32' as const, shape: [l.outFeatures, l.inFeatures], data: f32(l.weight) },
      { name: `${l.name}.bias`, dtype: 'F32' as const, shape: [l.outFeatures], data: f32(l.bias!) },
    ]));
    const calib = Float32Array.from({ length: 32 * 8 }, (_, i) => Math.sin(i * 1.7) * 2);
    writeSafetensors(join(dir, 'calib.safetensors'), [{ name: 'x', dtype: 'F32', shape: [32, 8], data: f32(calib) }]);
    const out = join(dir, 'out');
    const r = await run('node', [CLI, join(dir, 'model.safetensors'), '--out', out, '--vectors', '500', '--baselines', '-q'], { cwd: ROOT });
    console.log(r.stdout);
    const rep = JSON.parse(readFileSync(join(out, 'report.json'), 'utf8'));
    expect(rep.synth.map((s: { style: string }) => s.style)).toEqual(['csd', 'naive', 'memory']);
    const [csd, , memory] = rep.synth as { gates: number; flops: number; weights: number }[];
    expect(csd.weights).toBe(8 * 6 + 6 * 3);
    expect(csd.gates).toBeGreaterThan(0);
    // Weights in memory pay for the storage and generic multipliers: far more than hardwired cells.
    expect(memory.gates + memory.flops).toBeGreaterThan(2 * (csd.gates + csd.flops));
    const md = readFileSync(join(out, 'report.md'), 'utf8');
    expect(md).toMatch(/## Hardware per weight/);
    expect(md).toMatch(/\| hardwired CSD shift-and-add \(hardwire\) \|/);
    expect(readFileSync(join(out, 'gates.svg'), 'utf8')).toMatch(/^<svg/);
    expect(r.stdout).toMatch(/csd +[\d.]+ gates\+flops\/weight/);
    expect(existsSync(join(out, 'baselines/naive/mlp_top.v'))).toBe(true);
    expect(existsSync(join(out, 'baselines/memory/mlp_top.v'))).toBe(true);
  });

  it('grid flow: --grid writes base/ mask-weights/ mask-routing/ top/ with file lists, floorplan, cycles measured = plan', async () => {
    const out = join(mkdtempSync(join(tmpdir(), 'hw-gridcli-')), 'out');
    const r = await run('node', [CLI, 'examples/digits-mlp/model.safetensors', '--grid', 'examples/grids/digits-d16.ts', '--no-synth', '--vectors', '300', '-q', '--out', out], { cwd: ROOT });
    console.log(r.stdout);
    const rep = JSON.parse(readFileSync(join(out, 'report.json'), 'utf8'));
    expect(rep.cosim.testEqual).toBe(360);
    expect(rep.cosim.randomEqual).toBe(300);
    expect(rep.cosim.latencyMeasured).toBe(rep.latency);
    expect(rep.cosim.icarusEqual).toBe(rep.cosim.icarusCycles);
    for (const f of ['base/base.f', 'base/hw_grid.v', 'mask-weights/mask_weights.f', 'mask-weights/mask_weights_c0.v', 'mask-routing/mask_routing.f', 'mask-routing/mask_routing_c0.v', 'top/chip0_top.v', 'top/chip0_top.f', 'floorplan.svg']) {
      expect(existsSync(join(out, f)), f).toBe(true);
    }
    expect(readFileSync(join(out, 'report.md'), 'utf8')).toMatch(/utilization MACs \/ \(cells × cycles\)/);
  });

  it('plan: Llama 3.1 8B from its config alone, with the assumptions stated', async () => {
    const r = await run('node', [CLI, 'plan', '--config', 'examples/llama-3.1-8b/config.json', '--grid', 'examples/grids/hc1-like.ts'], { cwd: ROOT });
    expect(r.stdout).toMatch(/weights +7,504,658,432 in matrices/);
    expect(r.stdout).toMatch(/chips +\d+/);
    expect(r.stdout).toMatch(/tokens\/s +[\d,]+ at 1000 MHz \(Taalas HC1 published: 17,000 tokens\/s/);
    expect(r.stdout).toMatch(/KV cache/);
    expect(r.stdout).toMatch(/assumptions\n +- batch 1/);
    const bad = await run('node', [CLI, 'plan', '--config', 'examples/digits-mlp/config.json']).catch((e: { code: number; stderr: string }) => e);
    expect((bad as { code: number }).code).toBe(2);
    expect((bad as { stderr: string }).stderr).toMatch(/^gen-rtl: error: examples\/digits-mlp\/config.json: model_type 'mlp' is not a Llama\n$/);
  });
});
