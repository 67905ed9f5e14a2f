// The shipped tiny Llama, run as a user runs it (the "must show"): three prompts, 64 new tokens
// each, written by the RTL in Verilator with its own tokens fed back; every step equal to the golden
// model on the planned cycle, the KV cache read back equal, the quantization cost on held-out text.
import { describe, expect, it } from 'vitest';
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { CLI, listFiles, ROOT } from '../../cli/testing.ts';
import { mkdtempSync, readFileSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

const run = promisify(execFile);
const PROMPTS = ['This program is free software; ', 'You should have received a copy of the ', 'THE SOFTWARE IS PROVIDED '];


describe('examples/tiny-llama', () => {
  it('gen-rtl --prompt x3 --tokens 64: RTL text = golden text token for token, KV cache equal, cycles = plan', async () => {
    const out = join(mkdtempSync(join(tmpdir(), 'hw-llama-')), 'tiny-llama');
    const args = [CLI, join(ROOT, 'examples/tiny-llama/model.safetensors'), ...PROMPTS.flatMap((p) => ['--prompt', p]), '--tokens', '64', '--out', out, '-q'];
    const r = await run('node', args, { cwd: ROOT, maxBuffer: 1 << 24 });
    console.log(r.stdout);
    const rep = JSON.parse(readFileSync(join(out, 'report.json'), 'utf8'));
    expect(rep.verified).toBe(true);
    expect(rep.prompts).toHaveLength(3);
    for (const p of rep.prompts) {
      expect(p.rtl).toHaveLength(64);
      expect(p.rtl).toBe(p.golden);
      expect(p.stepsEqual).toBe(p.steps);
      expect(p.kvRowsEqual).toBe(p.kvRows);
      expect(p.kvRows).toBe(2 * 2 * p.steps); // K and V, 2 layers, one row per position
    }
    // The first prompt again until the KV cache is full: all 128 positions, every row of the cache.
    expect(rep.fullContext.steps).toBe(128);
    expect(rep.fullContext.stepsEqual).toBe(128);
    expect(rep.fullContext.kvRowsEqual).toBe(2 * 2 * 128);
    expect(rep.cyclesMeasuredEqualPlanned.equal).toBe(rep.cyclesMeasuredEqualPlanned.steps);
    expect(rep.cyclesVsContext.every((r: { measured?: number; planned: number }) => r.measured === r.planned)).toBe(true);
    expect(rep.icarus.equal).toBe(rep.icarus.cycles);
    // Cycles grow linearly with the position: 4 per position (2 layers x 2 sweeps; all heads at once).
    const t = rep.cyclesVsContext;
    expect(t[t.length - 1].planned - t[0].planned).toBe(4 * t[t.length - 1].position);
    // Quantization cost on the 2,048 held-out tokens: the float model repeats train.py's number, and
    // int4 costs about 0.05 nats (measured: float 1.1702, integer 1.2193, agreement 89.03%).
    const ref = readFileSync(join(ROOT, 'examples/tiny-llama/reference.safetensors'));
    const meta = JSON.parse(ref.subarray(8, 8 + Number(ref.readBigUInt64LE(0))).toString()).__metadata__;
    expect(rep.quantization.floatLoss).toBeCloseTo(Number(meta.val_tokens_loss), 3);
    expect(rep.quantization.intLoss - rep.quantization.floatLoss).toBeLessThan(0.1);
    expect(rep.quantization.agreement).toBeGreaterThan(0.85);
    for (const f of ['report.md', 'cycles.svg', 'top/chip_top.f', 'base/hw_grid.v', 'base/hw_engine.v', 'mask-weights/mask_weights.v', 'mask-routing/mask_routing.v']) {
      expect(statSync(join(out, f)).size).toBeGreaterThan(0);
    }

    // Deterministic: the same command from another directory (without co-simulation) writes the same
    // RTL byte for byte.
    const out2 = join(mkdtempSync(join(tmpdir(), 'hw-llama2-')), 'again');
    await run('node', [...args.slice(0, -3), '--out', out2, '--no-verify', '-q'], { cwd: tmpdir(), maxBuffer: 1 << 24 });
    // The design's folders (sim/ holds the replay testbench of the verified run only).
    const rtl = (d: string): string[] => listFiles(d).filter((f) => /\.(v|f)$/.test(f) && !f.startsWith('sim/'));
    expect(rtl(out2)).toEqual(rtl(out));
    for (const f of rtl(out)) expect(readFileSync(join(out2, f)).equals(readFileSync(join(out, f))), f).toBe(true);
  });
});
