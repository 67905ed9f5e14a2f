// Fit to the part: estimate the iCE40 logic cells of a layout, and when the fully spatial design does not
// fit, pick the least folded grid layout (fewest rows × lanes given up, ROM depth D > 1) that does.
//
// The estimates only rank layouts; synth_ice40 then counts the chosen one, and the run is refused (exit 2)
// if that count does not fit either. Coefficients from Yosys 0.23 synth_ice40 on the digits MLP:
//   spatial:  ~30,800 LUT4 for 1,646 hardwired cells (the figure reported in issue 13, not re-measured
//             here) → ~18.7 LUT4 per cell; a tiny 8-6-3 MLP measured 2,109 LUT4 for 53 cells (wide
//             accumulators dominate small nets), so small designs are underestimated and synthesis decides
//   grid (measured, accumulators 24 bits, without the pin wrapper):
//             rows 16 × lanes 2, D 128: 7,989 LUT4;  rows 8 × lanes 2, D 256: 5,995 LUT4
//             → ~1,000 per lane (the 24 × 15-bit requant multiplier, no DSPs), ~700 fixed (routing
//               mask, buffers, output mux), per cell ~124 + 0.32 × D (multiplier, adder tree, ROM as LUTs).
import type { QuantizedMlp } from '../model.ts';
import { defineGrid, type GridSpec } from '../grid/grid.ts';
import { checkFits } from '../grid/map.ts';

export const SPATIAL_LUTS_PER_CELL = 18.7;

/** Estimated LUT4 of the spatial design: hardwired cells × the measured cost per cell. */
export function spatialLutEstimate(cells: number): number {
  return Math.round(cells * SPATIAL_LUTS_PER_CELL);
}

/** Estimated LUT4 of a lane-array grid design (masks applied, flattened). */
export function gridLutEstimate(g: GridSpec): number {
  const cells = g.rows * g.lanes;
  const requantPerLane = 1000 * (g.accBits / 24);
  return Math.round(700 + g.lanes * requantPerLane + cells * (124 + 0.32 * g.romDepth));
}

/** Flip-flops of the pin wrapper that cannot share a logic cell with a LUT (the byte shift registers). */
export function wrapperLcs(inBits: number, outBits: number): number {
  return inBits + outBits + 32;
}

function nextPow2(n: number): number {
  return 2 ** Math.ceil(Math.log2(Math.max(2, n)));
}

/** The narrowest accumulator (of 16, 20, …, 48 bits) the model's exact bounds fit in, with its grid. */
function gridWithAcc(q: QuantizedMlp, base: Omit<Parameters<typeof defineGrid>[0], 'accBits'>): GridSpec | undefined {
  for (const accBits of [16, 20, 24, 28, 32, 40, 48]) {
    let g: GridSpec;
    try {
      g = defineGrid({ ...base, accBits });
      checkFits(q, g);
    } catch {
      continue;
    }
    return g;
  }
  return undefined;
}

/**
 * Folded layouts for the model, least folded first: for rows = 64, 32, …, 2 cells per lane, one lane per
 * layer, each layer's weights in ROM depth D (the next power of two that holds its output groups).
 */
export function foldedLayouts(q: QuantizedMlp, name: string): GridSpec[] {
  const maxFeatures = Math.max(...q.layers.flatMap((l) => [l.inFeatures, l.outFeatures]));
  const wb = Math.max(...q.layers.map((l) => l.weightBits));
  const out: GridSpec[] = [];
  for (const rows of [64, 32, 16, 8, 4, 2]) {
    const romDepth = nextPow2(Math.max(...q.layers.map((l) => Math.ceil(l.inFeatures / rows) * l.outFeatures)));
    if (romDepth > 1 << 16) continue;
    const g = gridWithAcc(q, { name: `${name}-r${rows}-d${romDepth}`, rows, lanes: q.layers.length, romDepth, weightBits: wb, actBits: q.actBits, regEvery: 2, maxFeatures, clockMHz: 12 });
    if (g) out.push(g);
  }
  return out;
}

/** The grid file that reproduces a chosen layout (written into the output so the user can rerun it). */
export function gridFileText(g: GridSpec, gridModule: string): string {
  return `// Folded layout chosen by gen-rtl --fpga to fit the part: ${g.lanes} lanes x ${g.rows} ROM multiplier cells, ROM depth ${g.romDepth}.
// Rerun it with: gen-rtl MODEL --grid THIS_FILE --fpga TARGET
import { defineGrid } from ${JSON.stringify(gridModule)};

export default defineGrid(${JSON.stringify({ name: g.name, rows: g.rows, lanes: g.lanes, romDepth: g.romDepth, weightBits: g.weightBits, actBits: g.actBits, accBits: g.accBits, regEvery: g.regEvery, maxFeatures: g.maxFeatures, clockMHz: g.clockMHz }, null, 2)});
`;
}
