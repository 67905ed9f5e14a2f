// The custom-cell example as a user would test it: the built-in evaluator against a plain-TS reference
// on random weights, vectors and stalls; then the emitted Verilog linted, compiled in Icarus and
// Verilated on the same stimulus as the evaluator (`npm test` only; `npm run test:unit` skips it).
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import fc from 'fast-check';
import { afterAll, describe, expect, it } from 'vitest';
import { buildSim, compileIcarus, emitDesign, Evaluator, lintEach, simSpecOf, writeDesign } from 'hardwire';
import { EXAMPLE, MacArraySim, macArray, macReference, runVectors, type MacArrayParams } from './custom-cell.ts';

const UNIT_TIER = process.env.HARDWIRE_TEST_TIER === 'unit';

const scratch: string[] = [];
afterAll(() => { for (const d of scratch) rmSync(d, { recursive: true, force: true }); });
/** A fresh temporary folder, removed after the tests. */
function tempDir(kind: string): string {
  const d = mkdtempSync(join(tmpdir(), `hw-custom-cell-${kind}-`));
  scratch.push(d);
  return d;
}

/** Random arrays: 1-4 lanes of 1, 2, 4 or 8 weights, narrow accumulators so that saturation happens. */
const arbParams: fc.Arbitrary<MacArrayParams> = fc
  .record({ xBits: fc.integer({ min: 2, max: 8 }), wBits: fc.integer({ min: 2, max: 6 }), accBits: fc.integer({ min: 4, max: 14 }), lanes: fc.integer({ min: 1, max: 4 }), depth: fc.constantFrom(1, 2, 4, 8) })
  .chain((s) => fc.record({
    xBits: fc.constant(s.xBits), wBits: fc.constant(s.wBits), accBits: fc.constant(s.accBits),
    weights: fc.array(fc.array(fc.integer({ min: -(2 ** (s.wBits - 1)), max: 2 ** (s.wBits - 1) - 1 }), { minLength: s.depth, maxLength: s.depth }), { minLength: s.lanes, maxLength: s.lanes }),
  }));

const arbVectors = (xBits: number): fc.Arbitrary<number[][]> =>
  fc.array(fc.array(fc.integer({ min: -(2 ** (xBits - 1)), max: 2 ** (xBits - 1) - 1 }), { minLength: 1, maxLength: 12 }), { minLength: 1, maxLength: 6 });

/** A repeating pattern of stalls on both sides of the array (always with some progress in it). */
const arbStalls = fc.array(fc.record({ inValid: fc.boolean(), outReady: fc.boolean() }), { minLength: 1, maxLength: 8 })
  .map((s) => [...s, { inValid: true, outReady: true }]);

describe('examples/custom-cell: a saturating MAC array written against the public API', () => {
  it('the evaluator equals the plain-TS reference on random weights, vectors and valid/ready stalls', () => {
    fc.assert(
      fc.property(arbParams.chain((p) => fc.record({ p: fc.constant(p), vectors: arbVectors(p.xBits), stalls: arbStalls })), ({ p, vectors, stalls }) => {
        let i = 0;
        const got = runVectors(new MacArraySim(p), vectors, () => stalls[i++ % stalls.length]);
        expect(got).toEqual(macReference(p, vectors));
      }),
      { numRuns: 100, seed: 20261202 },
    );
  });

  it('the comparison can fail: a reference that forgets to saturate disagrees with the evaluator', () => {
    const vectors = [[127, 127, 127, 127, 127, 127, 127, 127]];
    const wrapped = EXAMPLE.weights.map((row) => vectors[0].reduce((a, x, t) => a + x * row[t], 0));
    expect(runVectors(new MacArraySim(EXAMPLE), vectors, () => ({ inValid: true, outReady: true }))).not.toEqual([wrapped]);
  });

  it('a full pipe takes one beat per cycle: 4 vectors of 8 beats in 33 cycles after reset', () => {
    const sim = new MacArraySim(EXAMPLE);
    const vectors = Array.from({ length: 4 }, (_v, i) => Array.from({ length: 8 }, (_x, t) => i * 8 + t - 16));
    let cycles = 0;
    const got = runVectors(sim, vectors, () => { cycles++; return { inValid: true, outReady: true }; });
    expect(got).toEqual(macReference(EXAMPLE, vectors));
    expect(cycles).toBe(33);
  });

  it("the user's file imports only 'hardwire' and node built-ins (no deep imports into the repository)", () => {
    const text = readFileSync(new URL('./custom-cell.ts', import.meta.url), 'utf8');
    const specs = [...text.matchAll(/^import\s[^;]*?from\s+'([^']+)'/gms)].map((m) => m[1]);
    expect(specs.length).toBeGreaterThan(0);
    expect(specs.filter((s) => s !== 'hardwire' && !s.startsWith('node:'))).toEqual([]);
  });

  it('emits one file per module and a .f list, byte-identical on every run', () => {
    const a = emitDesign(macArray(EXAMPLE));
    const b = emitDesign(macArray(EXAMPLE));
    expect([...a.files.keys()]).toEqual(['mac_cell_0.v', 'mac_cell_1.v', 'mac_cell_2.v', 'mac_cell_3.v', 'mac_array.v', 'mac_array.f']);
    expect([...b.files.entries()]).toEqual([...a.files.entries()]);
    expect(a.files.get('mac_array.v')).toMatch(/^module mac_array \($/m);
  });

  it("runs as a script under tsx (`node --import tsx`, which resolves 'hardwire' too) and writes what emitDesign gives", () => {
    const out = tempDir('run');
    const script = fileURLToPath(new URL('./custom-cell.ts', import.meta.url));
    const stdout = execFileSync(process.execPath, ['--import', 'tsx', script, out], { cwd: fileURLToPath(new URL('../..', import.meta.url)), encoding: 'utf8' });
    expect(stdout).toContain('x = [10, 20, 30, 40] -> y = [-100, 700, -800, -20] (reference [-100, 700, -800, -20])');
    for (const [name, text] of emitDesign(macArray(EXAMPLE)).files) expect(readFileSync(join(out, name), 'utf8'), name).toBe(text);
  });

  it.skipIf(UNIT_TIER)('Verilog: verilator --lint-only -Wall clean, Icarus compiles, Verilator equals the evaluator cycle by cycle', async () => {
    const top = macArray(EXAMPLE);
    const files = writeDesign(emitDesign(top), tempDir('rtl'));
    await lintEach(files);
    await compileIcarus(files, top.name);
    // Random inputs on every port, reset in cycle 0 and now and then: any stall, any vector length.
    const ev = new Evaluator(top);
    const cycle = fc.tuple(...ev.inputs.map((port) => (port.name === 'rst' ? fc.constantFrom(...[1n, ...Array<bigint>(63).fill(0n)]) : fc.bigInt(0n, (1n << BigInt(port.width)) - 1n))));
    const stimulus = fc.sample(cycle, { numRuns: 2000, seed: 7 }).map((c, i) => (i === 0 ? c.map((v, k) => (ev.inputs[k].name === 'rst' ? 1n : v)) : c));
    const sim = await buildSim(simSpecOf(top, files));
    expect(await sim.run(stimulus)).toEqual(stimulus.map((cycle) => ev.step(cycle)));
  });
});
