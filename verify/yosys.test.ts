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
