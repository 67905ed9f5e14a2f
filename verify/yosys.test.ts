// Tests for verify/yosys.ts: generic-gate counts of a small design and the stat parser.

import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ToolError } from '../core/errors.ts';
import { parseStat, yosysGateCount } from './yosys.ts';

const HW_CMUL = `// Test fixture: registered constant multiply (x * 13) with sync reset.
module hw_cmul (
    input  wire             clk,
    input  wire             rst,
    input  wire signed [7:0] x,
    output reg  signed [11:0] y
);
    wire [11:0] xs = {{4{x[7]}}, x};
    always @(posedge clk) begin
        if (rst) y <= 12'sd0;
        else y <= (xs << 3) + (xs << 2) + xs;
    end
endmodule
`;

let dir: string;

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'hw-yosys-test-'));
  await writeFile(join(dir, 'hw_cmul.v'), HW_CMUL);
  await writeFile(join(dir, 'hw_broken.v'), 'module hw_broken (input wire a, output wire y);\n  assign y = a +;\nendmodule\n');
});

afterAll(async () => {
  if (dir) await rm(dir, { recursive: true, force: true });
});

describe('yosysGateCount', () => {
  it('counts generic gates and flops of a small design', async () => {
    const r = await yosysGateCount([join(dir, 'hw_cmul.v')], 'hw_cmul', { depth: true });
    console.log(`hw_cmul: ${r.totalGates} gates, ${r.flops} flops, ~${r.transistors} transistors, depth ${r.logicDepth}, ${r.seconds.toFixed(2)} s`, r.cells);
    expect(r.flops).toBe(12);
    expect(r.totalGates).toBeGreaterThan(10);
    expect(r.totalGates).toBeLessThan(400);
    const gateTypes = Object.keys(r.cells).filter((t) => !/DFF/.test(t));
    for (const t of gateTypes) expect(['$_AND_', '$_NAND_', '$_OR_', '$_NOR_', '$_XOR_', '$_XNOR_', '$_ANDNOT_', '$_ORNOT_', '$_MUX_', '$_NOT_']).toContain(t);
    expect(r.transistors).toBeGreaterThan(r.totalGates);
    expect(r.logicDepth).toBeGreaterThan(1);
    expect(r.seconds).toBeGreaterThan(0);
  });

  it('hierarchical: the path crosses module boundaries after flattening; a cached result is reused, keyed by the text', async () => {
    // Two registered stages joined by combinational glue in the parent: the longest path runs through
    // a child's output adder and the parent's adder, so it is longer than either module alone.
    const top = `module hw_two (input wire clk, input wire [7:0] a, b, output reg [9:0] y);
  wire [8:0] s0, s1;
  hw_add u0 (.a(a), .b(b), .s(s0));
  hw_add u1 (.a(b), .b(a), .s(s1));
  always @(posedge clk) y <= {1'b0, s0} + {1'b0, s1};
endmodule
module hw_add (input wire [7:0] a, b, output wire [8:0] s);
  assign s = {1'b0, a} + {1'b0, b};
endmodule
`;
    await writeFile(join(dir, 'hw_two.v'), top);
    const prev = process.env.HARDWIRE_CACHE;
    process.env.HARDWIRE_CACHE = join(dir, 'cache');
    try {
      const flat = await yosysGateCount([join(dir, 'hw_two.v')], 'hw_two', { depth: true });
      const hier = await yosysGateCount([join(dir, 'hw_two.v')], 'hw_two', { depth: true, flatten: false, cache: true });
      expect(hier.cached).toBeUndefined();
      expect(hier.flops).toBe(10);
      // hierarchical counts (each module mapped once, multiplied by instances) equal a flat run here
      expect(hier.totalGates).toBeGreaterThanOrEqual(flat.totalGates);
      expect(hier.logicDepth).toBeGreaterThanOrEqual(flat.logicDepth ?? 0);
      const again = await yosysGateCount([join(dir, 'hw_two.v')], 'hw_two', { depth: true, flatten: false, cache: true });
      expect(again.cached).toBe(true);
      expect({ ...again, cached: undefined }).toEqual({ ...hier, cached: undefined });
      await writeFile(join(dir, 'hw_two.v'), top.replace('{1\'b0, s0} + {1\'b0, s1}', '{1\'b0, s0} - {1\'b0, s1}'));
      const changed = await yosysGateCount([join(dir, 'hw_two.v')], 'hw_two', { depth: true, flatten: false, cache: true });
      expect(changed.cached).toBeUndefined();
    } finally {
      if (prev === undefined) delete process.env.HARDWIRE_CACHE;
      else process.env.HARDWIRE_CACHE = prev;
    }
  });

  it('turns a Yosys error into a ToolError', async () => {
    await expect(yosysGateCount([join(dir, 'hw_broken.v')], 'hw_broken')).rejects.toThrow(ToolError);
  });
});

describe('parseStat', () => {
  it('reads cells and the transistor estimate of the last module block', () => {
    const text = `
=== hw_x ===

   Number of wires:                 12
   Number of cells:                  6
     $_AND_                          2
     $_DFF_P_                        3
     $_NOT_                          1

   Estimated number of transistors:         88+
`;
    expect(parseStat(text)).toEqual({
      cells: { $_AND_: 2, $_DFF_P_: 3, $_NOT_: 1 },
      totalGates: 3,
      flops: 3,
      transistors: 88,
      transistorsLowerBound: true,
    });
  });
});
