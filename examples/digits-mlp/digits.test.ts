// The shipped digits example, run as a user runs it: gen-rtl on the checkpoint, then check the report,
// lint every emitted file, and check that a second run from another directory is byte-identical.
import { describe, expect, it } from 'vitest';
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { CLI, listFiles, ROOT } from '../../cli/testing.ts';
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { lintVerilog, readFileList } from '../../verify/lint.ts';
import { compileIcarus } from '../../verify/icarus.ts';

const run = promisify(execFile);


describe('examples/digits-mlp', () => {
  it('gen-rtl: 360/360 held-out and 10,000 random vectors bit exact, latency as planned, every file lint clean', async () => {
    const out = join(mkdtempSync(join(tmpdir(), 'hw-digits-')), 'digits');
    const r = await run('node', [CLI, 'examples/digits-mlp/model.safetensors', '--out', out, '--no-synth', '--vectors', '10000', '-q'], { cwd: ROOT, maxBuffer: 1 << 24 });
    console.log(r.stdout);
    const rep = JSON.parse(readFileSync(join(out, 'report.json'), 'utf8'));
    expect(rep.accuracy.n).toBe(360);
    expect(rep.cosim.testEqual).toBe(360);
    expect(rep.cosim.testTotal).toBe(360);
    expect(rep.cosim.randomEqual).toBe(10000);
    expect(rep.cosim.randomTotal).toBe(10000);
    expect(rep.cosim.controlMismatches).toBe(0);
    expect(rep.cosim.icarusEqual).toBe(rep.cosim.icarusCycles);
    expect(rep.cosim.latencyMeasured).toBe(rep.plan.latency);
    expect(rep.cosim.throughputMeasured).toBe(1);
    // Quantization costs a little accuracy, reported, not hidden.
    expect(rep.accuracy.goldenCorrect / 360).toBeGreaterThan(0.9);
    expect(readFileSync(join(out, 'report.md'), 'utf8')).toMatch(/\*\*360\/360\*\* equal/);

    // Every emitted Verilog file lints on its own with its dependencies, through the .f list.
    const files = await readFileList(join(out, 'rtl/mlp_top.f'));
    for (const f of files) {
      const top = f.replace(/^.*\//, '').replace(/\.v$/, '');
      await lintVerilog(files, top);
    }
    await compileIcarus(files, 'mlp_top');

    // Same inputs from another working directory (absolute paths): byte-identical output, timings aside.
    const out2 = join(mkdtempSync(join(tmpdir(), 'hw-digits2-')), 'digits');
    await run('node', [CLI, join(ROOT, 'examples/digits-mlp/model.safetensors'), '--out', out2, '--no-synth', '--vectors', '10000', '-q'], { cwd: tmpdir() });
    // timing.json and the marker (.hardwire-output.json: the run's time and command) differ per run.
    const a = listFiles(out).filter((f) => f !== 'timing.json' && f !== '.hardwire-output.json');
    const b = listFiles(out2).filter((f) => f !== 'timing.json' && f !== '.hardwire-output.json');
    expect(b).toEqual(a);
    for (const f of a) expect(readFileSync(join(out2, f)).equals(readFileSync(join(out, f))), f).toBe(true);
  });
});
