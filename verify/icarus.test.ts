// Tests for verify/icarus.ts: compile checks, and Icarus replaying the same vectors as Verilator.

import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { EXIT, UserError } from '../core/errors.ts';
import { compileIcarus, runIcarusVectors } from './icarus.ts';
import { LintError } from './lint.ts';
import { buildSim, type SimSpec } from './verilator.ts';

const FIXTURES: Record<string, string> = {
  // Signed multiply-accumulate with sync reset, a 70-bit combinational port and a 1-bit output.
  hw_mac: `// Test fixture: signed 8x8 multiply-accumulate into 20 bits.
module hw_mac (
    input  wire               clk,
    input  wire               rst,
    input  wire signed  [7:0] x,
    input  wire signed  [7:0] w,
    input  wire        [69:0] k,
    output reg  signed [19:0] acc,
    output wire        [69:0] kx,
    output wire               neg
);
    wire [15:0] prod = {{8{x[7]}}, x} * {{8{w[7]}}, w};
    always @(posedge clk) begin
        if (rst) acc <= 20'sd0;
        else acc <= acc + {{4{prod[15]}}, prod};
    end
    assign kx = k ^ {{50{acc[19]}}, acc};
    assign neg = acc[19];
endmodule
`,
  // Combinational only: no clock in the spec.
  hw_mux: `// Test fixture: combinational 2:1 mux of 12-bit words.
module hw_mux (
    input  wire        s,
    input  wire [11:0] a,
    input  wire [11:0] b,
    output wire [11:0] y
);
    assign y = s ? b : a;
endmodule
`,
  // Out-of-range part select: Icarus -Wall warns.
  hw_sel: `// Test fixture: a part select past the end of the vector.
module hw_sel (
    input  wire [7:0] a,
    output wire [7:0] y
);
    assign y = a[9:2];
endmodule
`,
};

const MAC_PORTS: SimSpec['ports'] = [
  { name: 'clk', dir: 'input', width: 1 },
  { name: 'rst', dir: 'input', width: 1 },
  { name: 'x', dir: 'input', width: 8 },
  { name: 'w', dir: 'input', width: 8 },
  { name: 'k', dir: 'input', width: 70 },
  { name: 'acc', dir: 'output', width: 20 },
  { name: 'kx', dir: 'output', width: 70 },
  { name: 'neg', dir: 'output', width: 1 },
];

/** TS model of hw_mac (outputs before the clock edge). */
function macModel(cycles: readonly (readonly bigint[])[]): bigint[][] {
  let acc = 0n;
  return cycles.map(([rst, x, w, k]) => {
    const out = [BigInt.asUintN(20, acc), BigInt.asUintN(70, k) ^ BigInt.asUintN(70, acc), acc < 0n ? 1n : 0n];
    acc = BigInt.asUintN(1, rst) ? 0n : BigInt.asIntN(20, acc + BigInt.asIntN(8, x) * BigInt.asIntN(8, w));
    return out;
  });
}

let dir: string;
let macSpec: SimSpec;
const file = (name: string) => join(dir, `${name}.v`);

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'hw-icarus-test-'));
  for (const [name, text] of Object.entries(FIXTURES)) await writeFile(file(name), text);
  macSpec = { top: 'hw_mac', files: [file('hw_mac')], ports: MAC_PORTS, clock: 'clk' };
});

afterAll(async () => {
  if (dir) await rm(dir, { recursive: true, force: true });
});

const macCycle = fc.tuple(
  fc.constantFrom(0n, 0n, 0n, 0n, 0n, 0n, 0n, 1n),
  fc.bigInt({ min: -128n, max: 127n }),
  fc.bigInt({ min: -128n, max: 127n }),
  fc.bigInt({ min: 0n, max: (1n << 70n) - 1n }),
);
/** Vectors that start with a reset cycle, as Icarus registers start at X. */
const macVectors = fc
  .array(macCycle, { minLength: 1, maxLength: 200 })
  .map((cycles) => [[1n, 0n, 0n, 0n] as const, ...cycles].map((c) => [...c]));

describe('compileIcarus', () => {
  it('compiles clean RTL silently', async () => {
    await compileIcarus([file('hw_mac')], 'hw_mac');
  });

  it('throws LintError on a warning', async () => {
    const err = await compileIcarus([file('hw_sel')], 'hw_sel').catch((e: unknown) => e);
    expect(err).toBeInstanceOf(LintError);
    expect((err as LintError).warnings.join('\n')).toMatch(/warning: Part select/);
  });
});

describe('runIcarusVectors', () => {
  it('agrees with the TS model and with Verilator on the same vectors', async () => {
    const sim = await buildSim(macSpec, { cacheDir: join(dir, 'cache') });
    const samples = fc.sample(macVectors, { numRuns: 3, seed: 42 });
    samples.push(fc.sample(fc.array(macCycle, { minLength: 2000, maxLength: 2000 }), { numRuns: 1, seed: 7 })[0].map((c) => [...c]));
    samples[3][0] = [1n, 0n, 0n, 0n];
    for (const cycles of samples) {
      const [icarus, verilator] = await Promise.all([runIcarusVectors(macSpec, cycles, { resetCycles: 1 }), sim.run(cycles)]);
      // Cycle 0 is sampled before the first edge: Icarus registers are still X there, Verilator's are 0.
      expect(icarus[0][0]).toBeNull();
      expect(verilator[0][0]).toBe(0n);
      expect(icarus.slice(1)).toEqual(verilator.slice(1));
      expect(verilator).toEqual(macModel(cycles));
    }
  });

  it('runs a combinational design without a clock', async () => {
    const spec: SimSpec = {
      top: 'hw_mux',
      files: [file('hw_mux')],
      ports: [
        { name: 's', dir: 'input', width: 1 },
        { name: 'a', dir: 'input', width: 12 },
        { name: 'b', dir: 'input', width: 12 },
        { name: 'y', dir: 'output', width: 12 },
      ],
    };
    expect(await runIcarusVectors(spec, [[0n, 5n, 9n], [1n, 5n, 9n], [1n, -1n, -2n]])).toEqual([[5n], [9n], [0xffen]]);
  });

  it('reports X on an output with the port and cycle', async () => {
    const err = await runIcarusVectors(macSpec, [[1n, 1n, 1n, 0n], [0n, 1n, 1n, 0n]]).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(UserError);
    expect((err as UserError).code).toBe(EXIT.verifyFailed);
    expect((err as Error).message).toMatch(/output acc .* at cycle 0/);
    // Without a reset, X persists past the allowed reset cycles.
    const noReset = await runIcarusVectors(macSpec, [[0n, 1n, 1n, 0n], [0n, 1n, 1n, 0n]], { resetCycles: 1 }).catch((e: unknown) => e);
    expect((noReset as Error).message).toMatch(/output acc .* at cycle 1/);
  });
});
