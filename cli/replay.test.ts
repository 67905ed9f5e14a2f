// Replayable output: `bash OUT/replay.sh` reruns lint, the Icarus testbench on the run's vectors, the
// Verilator harness on its vectors file and Yosys by hand, and passes; a changed expected output fails it.
import { afterAll, describe, expect, it } from 'vitest';
import { execFile } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { writeSafetensors } from '../generators/load/safetensors.ts';
import { randomFloatMlp } from '../generators/mlp/testing.ts';
import { genRtl, scratch } from './testing.ts';

const tmp = scratch('hw-replay-');
afterAll(() => tmp.cleanup());

function bash(args: string[]): Promise<{ code: number; out: string }> {
  return new Promise((done) => execFile('bash', args, { maxBuffer: 1 << 24 }, (e, stdout, stderr) => done({ code: e ? Number(e.code) : 0, out: stdout + stderr })));
}

const f32 = (a: Float32Array): Uint8Array => new Uint8Array(a.buffer, a.byteOffset, a.byteLength);

describe('replay.sh', () => {
  it('digits: bash OUT/replay.sh --no-synth passes (lint, Icarus 370 cycles, Verilator 371 cycles)', async () => {
    const { out } = tmp.fresh();
    const r = await genRtl(['examples/digits-mlp/model.safetensors', '--no-synth', '--vectors', '20', '--out', out, '-q']);
    expect(r.code, r.stderr).toBe(0);
    const t0 = performance.now();
    const p = await bash([join(out, 'replay.sh'), '--no-synth']);
    console.log(`digits replay.sh --no-synth: ${((performance.now() - t0) / 1000).toFixed(1)} s`);
    expect(p.code, p.out).toBe(0);
    expect(p.out).toMatch(/lint clean/);
    expect(p.out).toMatch(/370 cycles identical/);
    expect(p.out).toMatch(/371 cycles identical/);
    expect(p.out).toMatch(/replay: all passed/);
    expect(readFileSync(join(out, 'synth.ys'), 'utf8')).toMatch(/^read_verilog rtl\/mlp_top\.v$/m);
    expect(readFileSync(join(out, 'report.md'), 'utf8')).toMatch(/bash replay\.sh/);
  }, 180_000);

  it('a small MLP: replay.sh with Yosys passes; a changed expected output makes it fail', async () => {
    const { dir, out } = tmp.fresh();
    const m = randomFloatMlp([6, 4, 3], 7);
    writeSafetensors(join(dir, 'model.safetensors'), m.layers.flatMap((l) => [
      { name: `${l.name}.weight`, dtype: 'F32' as const, shape: [l.outFeatures, l.inFeatures], data: f32(l.weight) },
      { name: `${l.name}.bias`, dtype: 'F32' as const, shape: [l.outFeatures], data: f32(l.bias!) },
    ]));
    writeSafetensors(join(dir, 'calib.safetensors'), [{ name: 'x', dtype: 'F32', shape: [16, 6], data: f32(Float32Array.from({ length: 96 }, (_, i) => Math.cos(i))) }]);
    const r = await genRtl([join(dir, 'model.safetensors'), '--no-synth', '--vectors', '30', '--out', out, '-q']);
    expect(r.code, r.stderr).toBe(0);
    const p = await bash([join(out, 'replay.sh')]);
    expect(p.code, p.out).toBe(0);
    expect(p.out).toMatch(/Number of cells/);
    expect(p.out).toMatch(/replay: all passed/);
    const exp = join(out, 'sim/icarus_expected.hex');
    const lines = readFileSync(exp, 'utf8').split('\n');
    lines[5] = lines[5].replace(/^./, (c) => (c === '0' ? '1' : '0'));
    writeFileSync(exp, lines.join('\n'));
    const bad = await bash([join(out, 'replay.sh'), '--no-synth']);
    expect(bad.code).not.toBe(0);
    expect(bad.out).toMatch(/Icarus outputs differ/);
  }, 120_000);
});
