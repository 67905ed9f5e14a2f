// Long chains of layers. Verilator 5.006 orders conditional non-blocking assignments (`if (rst) q <= 0;
// else if (en) q <= d;`) in time quadratic in the length of a register chain: a 2,000-layer chain of
// 4x4 layers spent minutes in one scheduling pass. The printer writes registers as one mux assignment,
// whose ordering stays linear; a chain longer than the spatial flow's limit is refused before any work
// (exit 2, one line naming the limit and how to raise it); a chain within it verifies.
import { afterAll, describe, expect, it } from 'vitest';
import { existsSync, mkdirSync, readFileSync, readdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { writeSafetensors, type TensorToWrite } from '../generators/load/safetensors.ts';
import { ModuleBuilder } from '../dsl/module.ts';
import { emitDesign } from '../dsl/verilog.ts';
import { findTool, runTool } from '../verify/tools.ts';
import { mulberry32 } from '../verify/prng.ts';
import { EXIT } from '../core/errors.ts';
import { DEFAULT_MAX_LAYERS } from './genMlp.ts';
import { expectOneLineError, genRtl, scratch } from './testing.ts';

const { fresh, cleanup } = scratch('hw-chain-');
afterAll(cleanup);

/** An n-layer chain of 4x4 layers with near-identity weights (activations neither vanish nor blow up). */
function writeChain(dir: string, n: number): string {
  mkdirSync(dir, { recursive: true });
  const r = mulberry32(5);
  const f32 = (a: Float32Array): Uint8Array => new Uint8Array(a.buffer, a.byteOffset, a.byteLength);
  const tensors: TensorToWrite[] = [];
  for (let k = 0; k < n; k++) {
    const w = Float32Array.from({ length: 16 }, (_, i) => (i % 5 === 0 ? 0.9 : 0) + (r() * 2 - 1) * 0.1);
    const b = Float32Array.from({ length: 4 }, () => (r() * 2 - 1) * 0.05);
    tensors.push({ name: `fc${k + 1}.weight`, dtype: 'F32', shape: [4, 4], data: f32(w) });
    tensors.push({ name: `fc${k + 1}.bias`, dtype: 'F32', shape: [4], data: f32(b) });
  }
  writeSafetensors(join(dir, 'model.safetensors'), tensors);
  return join(dir, 'model.safetensors');
}

describe('a long chain of layers', () => {
  it(`more than ${DEFAULT_MAX_LAYERS} layers (here 2,000): refused before any work, exit 2, one line naming the limit and HARDWIRE_MAX_LAYERS`, async () => {
    const { dir, out } = fresh();
    const model = writeChain(join(dir, 'm'), 2000);
    const t0 = performance.now();
    const r = await genRtl([model, '--out', out, '-q']);
    expectOneLineError(r, EXIT.badInput, model, `2000 layers exceed the spatial flow's limit of ${DEFAULT_MAX_LAYERS}`, 'HARDWIRE_MAX_LAYERS=N');
    expect(performance.now() - t0).toBeLessThan(30_000);
    expect(readdirSync(dir)).toEqual(['m']); // no output, staging or lock
    // The limit is the user's to raise, and a bad value is a usage error.
    expectOneLineError(await genRtl([model, '--out', out, '-q'], undefined, { HARDWIRE_MAX_LAYERS: 'many' }), EXIT.usage, 'HARDWIRE_MAX_LAYERS="many"');
    expectOneLineError(await genRtl([model, '--out', out, '-q'], undefined, { HARDWIRE_MAX_LAYERS: '1999' }), EXIT.badInput, 'limit of 1999');
  }, 120_000);

  it('a 24-layer chain: generated, lint-clean, co-simulated bit-exact in Verilator and Icarus, exit 0', async () => {
    const { dir, out } = fresh();
    const model = writeChain(join(dir, 'm'), 24);
    const r = await genRtl([model, '--out', out, '--no-synth', '--vectors', '200', '-q']);
    expect(r.code, r.stderr).toBe(EXIT.ok);
    const rep = JSON.parse(readFileSync(join(out, 'report.json'), 'utf8'));
    expect(rep.cosim.randomEqual).toBe(200);
    expect(rep.cosim.icarusEqual).toBe(rep.cosim.icarusCycles);
    expect(existsSync(join(out, 'rtl', 'layer23.v'))).toBe(true);
  }, 600_000);

  it("a 3,000-register enabled, reset chain: Verilator's scheduling stays a small share of its lint time (quadratic before)", async () => {
    const m = new ModuleBuilder('reg_chain', { doc: 'a long enabled, reset register chain' });
    const clk = m.clock('clk');
    const rst = m.input('rst', 1);
    const en = m.input('en', 1);
    let v = m.input('d', 1);
    for (let k = 0; k < 3000; k++) v = m.delay(`v${k + 1}`, v, { clock: clk, reset: rst, resetValue: 0n, enable: en });
    m.output('q', v);
    const { files } = emitDesign(m.build());
    const text = files.get('reg_chain.v')!;
    expect(text).not.toMatch(/\bif \(/); // registers are one mux assignment each
    expect(text).toContain('always @(posedge clk) v2 <= rst ? 1\'b0 : (en ? v1 : v2);');
    const { dir } = fresh();
    writeFileSync(join(dir, 'reg_chain.v'), text);
    const res = await runTool(findTool('verilator'), ['--lint-only', '-Wall', '--stats', 'reg_chain.v'], { cwd: dir, timeoutMs: 300_000 });
    expect(`${res.stdout}${res.stderr}`).toBe('');
    // Shares of one run, so a loaded machine slows both alike. If-form: the scheduling pass was most
    // of the time (45 s of a 4,000-register chain); mux form: a few percent.
    const stats = readFileSync(join(dir, 'obj_dir', 'Vreg_chain__stats.txt'), 'utf8');
    const stage = (name: string): number => Number(new RegExp(`Elapsed time \\(sec\\), ${name}\\s+([\\d.]+)`).exec(stats)?.[1] ?? NaN);
    const total = stage('TOTAL');
    const sched = stage('\\d+_sched-create-nba');
    expect(total).toBeGreaterThan(0);
    expect(sched / total, `sched-create-nba ${sched} s of ${total} s`).toBeLessThan(0.25);
  }, 300_000);
});
