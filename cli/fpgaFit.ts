// --fpga on a small part: keep the spatial design when its estimate fits, else choose the least folded
// grid layout that does; refuse (exit 2, one line) when no layout can fit.
import type { GridSpec } from '../generators/grid/grid.ts';
import { foldedLayouts, gridLutEstimate, spatialLutEstimate, wrapperLcs } from '../generators/fpga/fit.ts';
import type { FpgaTarget } from '../verify/fpga.ts';
import { EXIT, UserError } from '../core/errors.ts';
import { prepareModel, type GenMlpOptions } from './genMlp.ts';
import { Progress } from './progress.ts';

/** Headroom left for routing: a layout is chosen only when its estimate is within this share of the part. */
const FILL = 0.92;

export interface LayoutChoice {
  readonly grid?: GridSpec;
  /** One sentence for the progress line and the report. */
  readonly note: string;
}

export function chooseLayout(o: GenMlpOptions, t: FpgaTarget): LayoutChoice {
  const { q } = prepareModel(o, new Progress(1, true));
  const cells = q.layers.reduce((s, l) => s + l.weight.reduce((k, w) => k + (w !== 0 ? 1 : 0), 0), 0);
  const inBits = q.layers[0].inFeatures * q.actBits;
  const last = q.layers[q.layers.length - 1];
  const room = Math.floor(t.luts * FILL);
  const n = (v: number) => v.toLocaleString('en-US');
  const spatial = spatialLutEstimate(cells) + wrapperLcs(inBits, 8 + last.outFeatures * 16);
  if (spatial <= room) return { note: `Spatial layout kept: ~${n(spatial)} logic cells estimated for ${n(cells)} hardwired cells, within ${n(room)} of ${t.name}'s ${n(t.luts)}.` };
  const layouts = foldedLayouts(q, 'fit');
  let best: { g: GridSpec; est: number } | undefined;
  for (const g of layouts) {
    const est = gridLutEstimate(g) + wrapperLcs(g.maxFeatures * g.actBits, 8 + last.outFeatures * g.accBits);
    if (est <= room) return { grid: g, note: `The spatial design does not fit ${t.name} (~${n(spatial)} logic cells estimated, the part has ${n(t.luts)}): folded onto a grid of ${g.lanes} lanes x ${g.rows} ROM multiplier cells, ROM depth ${g.romDepth} (~${n(est)} estimated).` };
    if (!best || est < best.est) best = { g, est };
  }
  const most = best ? `; the smallest folded layout (${best.g.lanes} lanes x ${best.g.rows} cells, ROM depth ${best.g.romDepth}) ~${n(best.est)}` : '';
  throw new UserError(`${o.model}: does not fit ${t.name} in any layout: spatial ~${n(spatial)} logic cells${most}, the part has ${n(t.luts)}`, EXIT.badInput);
}
