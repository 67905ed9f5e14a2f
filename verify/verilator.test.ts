// Tests for verify/verilator.ts: a hand-written design co-simulated against a TS model, the build cache, speed and VCD.

import { existsSync } from 'node:fs';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { UserError } from '../core/errors.ts';
import { LintError } from './lint.ts';
import { buildSim, layoutRecord, packRecords, unpackRecords, type SimSpec, type VerilatedSim } from './verilator.ts';

// Registered signed adder with enable and sync reset, a 70-bit register and combinational path, a 1-bit output.
const HW_ADDER = `// Test fixture: registered signed adder, a 70-bit registered and combinational path, a 1-bit output.
module hw_adder (
    input  wire              clk,
    input  wire              rst,
    input  wire              en,
    input  wire signed [7:0] a,
    input  wire signed [7:0] b,
    input  wire       [69:0] wide_in,
    output reg  signed [8:0] sum_q,
    output wire       [69:0] wide_out,
    output wire              parity,
    output reg        [69:0] wide_q
);
    assign wide_out = wide_in ^ wide_q;
    assign parity = ^a;
    always @(posedge clk) begin
        if (rst) begin
            sum_q <= 9'sd0;
            wide_q <= 70'd0;
        end else begin
            if (en) sum_q <= {a[7], a} + {b[7], b};
            wide_q <= wide_in + 70'd1;
        end
    end
endmodule
`;

// Tiny accumulator for the throughput measurement.
const HW_ACC = `// Test fixture: 16-bit accumulator.
module hw_acc (
    input  wire        clk,
    input  wire [15:0] x,
    output reg  [15:0] acc
);
    always @(posedge clk) acc <= acc + x;
endmodule
`;

// Purely combinational, no clock: a 1-bit and a 64-bit port, exercising QData.
const HW_COMB = `// Test fixture: combinational 64-bit add and a compare.
module hw_comb (
    input  wire [63:0] p,
    input  wire [63:0] q,
    output wire [63:0] s,
    output wire        lt
);
    assign s = p + q;
    assign lt = p < q;
endmodule
`;

// Width mismatch: Verilator -Wall must refuse to build it.
const HW_BADW = `// Test fixture: a deliberate WIDTH warning.
module hw_badw (
    input  wire [15:0] a,
    output wire [7:0]  y
);
    assign y = a;
endmodule
`;

const ADDER_PORTS: SimSpec['ports'] = [
  { name: 'clk', dir: 'input', width: 1 },
  { name: 'rst', dir: 'input', width: 1 },
  { name: 'en', dir: 'input', width: 1 },
  { name: 'a', dir: 'input', width: 8 },
  { name: 'b', dir: 'input', width: 8 },
  { name: 'wide_in', dir: 'input', width: 70 },
  { name: 'sum_q', dir: 'output', width: 9 },
  { name: 'wide_out', dir: 'output', width: 70 },
  { name: 'parity', dir: 'output', width: 1 },
  { name: 'wide_q', dir: 'output', width: 70 },
];

const M70 = (1n << 70n) - 1n;

/** TS model of hw_adder with the harness semantics: outputs before the edge, then the edge. */
function adderModel(cycles: bigint[][]): bigint[][] {
  let sumQ = 0n;
  let wideQ = 0n;
  return cycles.map(([rst, en, a, b, wideIn]) => {
    const a8 = BigInt.asIntN(8, a);
    let pop = 0n;
    for (let v = BigInt.asUintN(8, a); v; v >>= 1n) pop ^= v & 1n;
    const out = [sumQ, (BigInt.asUintN(70, wideIn) ^ wideQ) & M70, pop, wideQ];
    if (BigInt.asUintN(1, rst)) {
      sumQ = 0n;
      wideQ = 0n;
    } else {
      if (BigInt.asUintN(1, en)) sumQ = BigInt.asUintN(9, a8 + BigInt.asIntN(8, b));
      wideQ = (BigInt.asUintN(70, wideIn) + 1n) & M70;
    }
    return out;
  });
}

const cycleArb = fc.tuple(
  fc.constantFrom(0n, 0n, 0n, 0n, 1n), // reset now and then
  fc.bigInt({ min: 0n, max: 1n }),
  fc.bigInt({ min: -128n, max: 127n }),
  fc.bigInt({ min: -128n, max: 127n }),
  fc.bigInt({ min: 0n, max: M70 }),
);

let dir: string;
let cacheDir: string;
let adderSpec: SimSpec;
let adder: VerilatedSim;

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'hw-verilator-test-'));
  cacheDir = join(dir, 'cache');
  for (const [name, text] of Object.entries({ hw_adder: HW_ADDER, hw_acc: HW_ACC, hw_comb: HW_COMB, hw_badw: HW_BADW })) {
    await writeFile(join(dir, `${name}.v`), text);
  }
  adderSpec = { top: 'hw_adder', files: [join(dir, 'hw_adder.v')], ports: ADDER_PORTS, clock: 'clk', trace: true };
  const progress: string[] = [];
  adder = await buildSim(adderSpec, { cacheDir, onProgress: (m) => progress.push(m) });
  console.log(`hw_adder: first build ${adder.buildSeconds.toFixed(2)} s (cached=${adder.cached}; ${progress.join(', ')})`);
});

afterAll(async () => {
  if (dir) await rm(dir, { recursive: true, force: true });
});

describe('record layout', () => {
  it('packs ports back to back, little-endian, masked to width', () => {
    const { slots, bytes } = layoutRecord([
      { name: 'a', dir: 'input', width: 1 },
      { name: 'b', dir: 'input', width: 12 },
      { name: 'c', dir: 'input', width: 70 },
    ]);
    expect(bytes).toBe(1 + 2 + 9);
    const buf = packRecords(slots, bytes, [[3n, -1n, (1n << 70n) + 0x0102n]]);
    expect([...buf]).toEqual([1, 0xff, 0x0f, 0x02, 0x01, 0, 0, 0, 0, 0, 0, 0]);
    expect(unpackRecords(slots, bytes, buf)).toEqual([[1n, 0xfffn, 0x0102n]]);
  });

  it('round-trips random values of every width up to 130', () => {
    fc.assert(
      fc.property(fc.integer({ min: 1, max: 130 }), fc.bigInt({ min: -(1n << 140n), max: 1n << 140n }), (width, v) => {
        const { slots, bytes } = layoutRecord([{ name: 'p', dir: 'input', width }]);
        const back = unpackRecords(slots, bytes, packRecords(slots, bytes, [[v]]));
        expect(back).toEqual([[BigInt.asUintN(width, v)]]);
      }),
    );
  });
});

describe('buildSim / VerilatedSim', () => {
  it('exposes the record layout', () => {
    expect(adder.inputs.map((p) => p.name)).toEqual(['rst', 'en', 'a', 'b', 'wide_in']);
    expect(adder.outputs.map((p) => p.name)).toEqual(['sum_q', 'wide_out', 'parity', 'wide_q']);
    expect(adder.inRecordBytes).toBe(1 + 1 + 1 + 1 + 9);
    expect(adder.outRecordBytes).toBe(2 + 9 + 1 + 9);
  });

  it('matches the TS model on random vectors (narrow, 70-bit and 1-bit ports, signed values)', async () => {
    await fc.assert(
      fc.asyncProperty(fc.array(cycleArb, { minLength: 1, maxLength: 300 }), async (cycles) => {
        expect(await adder.run(cycles)).toEqual(adderModel(cycles));
      }),
      { numRuns: 25 },
    );
  });

  it('a second build is a cache hit that does not run Verilator', async () => {
    const progress: string[] = [];
    const again = await buildSim(adderSpec, { cacheDir, onProgress: (m) => progress.push(m) });
    expect(again.cached).toBe(true);
    expect(again.binary).toBe(adder.binary);
    expect(progress).toEqual(['cached']);
    console.log(`hw_adder: cache hit ${(again.buildSeconds * 1000).toFixed(1)} ms`);
  });

  it('rebuilds after the cache entry is deleted (ccache makes it fast)', async () => {
    await rm(join(adder.binary, '..'), { recursive: true, force: true });
    const rebuilt = await buildSim(adderSpec, { cacheDir });
    expect(rebuilt.cached).toBe(false);
    expect(existsSync(rebuilt.binary)).toBe(true);
    console.log(`hw_adder: rebuild after deleting the cache entry ${rebuilt.buildSeconds.toFixed(2)} s`);
    // ~0.5 s here with ccache; the bound is loose because test files build in parallel.
    expect(rebuilt.buildSeconds).toBeLessThan(10);
    const cycles = [[1n, 0n, 0n, 0n, 0n], [0n, 1n, -3n, 5n, M70], [0n, 0n, 1n, 1n, 0n]];
    expect(await rebuilt.run(cycles)).toEqual(adderModel(cycles));
  });

  it('writes a VCD when asked', async () => {
    const vcd = join(dir, 'adder.vcd');
    await adder.run([[1n, 0n, 0n, 0n, 0n], [0n, 1n, 7n, 9n, 123n], [0n, 0n, 0n, 0n, 0n]], { vcd });
    const text = await readFile(vcd, 'utf8');
    expect(text).toContain('$enddefinitions');
    expect(text).toMatch(/\$var wire\s+70 \S+ wide_q \[69:0\]/);
    expect(text).toContain('#25'); // three cycles of 10 time units, clock high at +5
  });

  it('rejects partial records and a VCD from an untraced build', async () => {
    await expect(adder.runRaw(Buffer.alloc(adder.inRecordBytes + 1))).rejects.toThrow(UserError);
    const comb = await buildSim(
      {
        top: 'hw_comb',
        files: [join(dir, 'hw_comb.v')],
        ports: [
          { name: 'p', dir: 'input', width: 64 },
          { name: 'q', dir: 'input', width: 64 },
          { name: 's', dir: 'output', width: 64 },
          { name: 'lt', dir: 'output', width: 1 },
        ],
      },
      { cacheDir },
    );
    await expect(comb.run([[1n, 2n]], { vcd: join(dir, 'x.vcd') })).rejects.toThrow(/trace/);
  });

  it('drives a combinational design without a clock (64-bit QData ports)', async () => {
    const comb = await buildSim(
      {
        top: 'hw_comb',
        files: [join(dir, 'hw_comb.v')],
        ports: [
          { name: 'p', dir: 'input', width: 64 },
          { name: 'q', dir: 'input', width: 64 },
          { name: 's', dir: 'output', width: 64 },
          { name: 'lt', dir: 'output', width: 1 },
        ],
      },
      { cacheDir },
    );
    await fc.assert(
      fc.asyncProperty(fc.array(fc.tuple(fc.bigInt({ min: 0n, max: (1n << 64n) - 1n }), fc.bigInt({ min: 0n, max: (1n << 64n) - 1n })), { minLength: 1, maxLength: 100 }), async (cycles) => {
        const expected = cycles.map(([p, q]) => [BigInt.asUintN(64, p + q), p < q ? 1n : 0n]);
        expect(await comb.run(cycles)).toEqual(expected);
      }),
      { numRuns: 10 },
    );
  });

  it('streams 1,000,000 records through runRaw', async () => {
    const acc = await buildSim(
      {
        top: 'hw_acc',
        files: [join(dir, 'hw_acc.v')],
        ports: [
          { name: 'clk', dir: 'input', width: 1 },
          { name: 'x', dir: 'input', width: 16 },
          { name: 'acc', dir: 'output', width: 16 },
        ],
        clock: 'clk',
      },
      { cacheDir },
    );
    const n = 1_000_000;
    const input = Buffer.alloc(n * 2);
    for (let i = 0; i < n; i++) input.writeUInt16LE((i * 2654435761) >>> 16, i * 2);
    const t0 = performance.now();
    const out = await acc.runRaw(input);
    const seconds = (performance.now() - t0) / 1000;
    console.log(`hw_acc: ${n} records in ${seconds.toFixed(3)} s = ${(n / seconds / 1e6).toFixed(2)} M records/s`);
    expect(out.length).toBe(n * 2);
    // Output i is the sum of inputs 0..i-1.
    let sum = 0;
    for (let i = 0; i < n; i++) {
      if (out.readUInt16LE(i * 2) !== sum) throw new Error(`record ${i}: got ${out.readUInt16LE(i * 2)}, want ${sum}`);
      sum = (sum + input.readUInt16LE(i * 2)) & 0xffff;
    }
  });

  it('refuses RTL with a lint warning (LintError), and bad specs', async () => {
    const spec: SimSpec = {
      top: 'hw_badw',
      files: [join(dir, 'hw_badw.v')],
      ports: [
        { name: 'a', dir: 'input', width: 16 },
        { name: 'y', dir: 'output', width: 8 },
      ],
    };
    const err = await buildSim(spec, { cacheDir }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(LintError);
    expect((err as LintError).warnings.join('\n')).toMatch(/%Warning-WIDTH/);
    await expect(buildSim({ ...spec, clock: 'a' }, { cacheDir })).rejects.toThrow(/1-bit input/);
    await expect(buildSim({ ...spec, ports: [{ name: 'a$b', dir: 'input', width: 1 }] }, { cacheDir })).rejects.toThrow(/identifier/);
  });
});
