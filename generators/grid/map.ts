// Mapping a quantized MLP onto a grid: lanes per layer, steps, chips, microcode, cycle prediction.
import type { QuantizedMlp } from '../model.ts';
import { accumulatorBounds, layerInputRange } from '../../verify/golden/mlp.ts';
import { EXIT, UserError } from '../../core/errors.ts';
import { laneLatency, SHIFT_BITS } from './base.ts';
import type { GridSpec } from './grid.ts';

/** Where one layer lives: lanes [lane0, lane0 + lanes), `groups` output groups × `nib` input chunks. */
export interface LayerPlacement {
  readonly layer: number;
  readonly lane0: number;
  readonly lanes: number;
  readonly nib: number;
  readonly groups: number;
  /** ROM addresses (= issue steps) used: groups × nib ≤ romDepth. */
  readonly steps: number;
  /** Index of this layer's first output group in the chip's parameter ROMs. */
  readonly grp0: number;
}

export type EntryKind = 'issue' | 'nop' | 'swap' | 'done';
export interface Entry {
  readonly kind: EntryKind;
  readonly addr: number;
  readonly ib: number;
  readonly grp: number;
  readonly first: boolean;
  readonly last: boolean;
}

export interface ChipPlan {
  readonly index: number;
  readonly layers: readonly LayerPlacement[];
  /** True when this chip computes the model's last layer (outputs logits and the class). */
  readonly final: boolean;
  readonly microcode: readonly Entry[];
  readonly groups: number;
  /** Cycles from an accepted input to out_valid. */
  readonly latency: number;
  readonly lanesUsed: number;
}

export interface GridPlan {
  readonly grid: GridSpec;
  readonly chips: readonly ChipPlan[];
  /** Lane pipeline depth: issue → accumulator. */
  readonly laneLatency: number;
  readonly latency: number;
  readonly macs: number;
  readonly cellsPerChip: number;
  /** MACs / (cells × latency), over all chips. */
  readonly utilization: number;
  /** ceil(MACs / cells) + lane pipeline depth: the bound a perfectly packed schedule would reach. */
  readonly boundCycles: number;
}

function fail(msg: string): never {
  throw new UserError(msg, EXIT.badInput);
}

/** Check that the model's numbers fit the grid's fixed widths. */
export function checkFits(q: QuantizedMlp, g: GridSpec): void {
  if (q.actBits !== g.actBits) fail(`grid '${g.name}': model has int${q.actBits} activations, grid has ${g.actBits}`);
  q.layers.forEach((l, k) => {
    const where = `layer ${k} (${l.name.slice(0, 40)})`;
    if (l.weightBits > g.weightBits) fail(`grid '${g.name}': ${where} has int${l.weightBits} weights, grid cells hold ${g.weightBits} bits`);
    if (l.inFeatures > g.maxFeatures || l.outFeatures > g.maxFeatures) fail(`grid '${g.name}': ${where} is ${l.inFeatures} -> ${l.outFeatures}, grid buffers hold ${g.maxFeatures} features`);
    const b = accumulatorBounds(l, layerInputRange(q, k));
    const lim = 1n << BigInt(g.accBits - 1);
    for (let c = 0; c < l.outFeatures; c++) {
      if (b.min[c] < -lim || b.max[c] >= lim) fail(`grid '${g.name}': ${where} channel ${c} accumulates in [${b.min[c]}, ${b.max[c]}], beyond the grid's ${g.accBits}-bit accumulator`);
    }
    l.M.forEach((m, c) => { if (m >= 2 ** g.mBits) fail(`grid '${g.name}': ${where} channel ${c} requant multiplier ${m} needs more than ${g.mBits} bits`); });
    l.S.forEach((s, c) => { if (s > g.maxShift || s >= 2 ** SHIFT_BITS) fail(`grid '${g.name}': ${where} channel ${c} requant shift ${s} exceeds ${g.maxShift}`); });
  });
}

/** Fewest lanes that hold a layer at the grid's ROM depth. */
function placeLayer(q: QuantizedMlp, g: GridSpec, k: number): { lanes: number; nib: number; groups: number } {
  const l = q.layers[k];
  const nib = Math.ceil(l.inFeatures / g.rows);
  const perLane = Math.floor(g.romDepth / nib);
  if (perLane < 1) fail(`grid '${g.name}': layer ${k} has ${l.inFeatures} inputs, more than rows × ROM depth = ${g.rows} × ${g.romDepth}`);
  const lanes = Math.ceil(l.outFeatures / perLane);
  return { lanes, nib, groups: Math.ceil(l.outFeatures / lanes) };
}

export function planOnGrid(q: QuantizedMlp, g: GridSpec, opts: { chips?: number } = {}): GridPlan {
  checkFits(q, g);
  const need = q.layers.map((_, k) => placeLayer(q, g, k));
  need.forEach((n, k) => { if (n.lanes > g.lanes) fail(`grid '${g.name}': layer ${k} needs ${n.lanes} lanes at ROM depth ${g.romDepth}, the grid has ${g.lanes}; a layer is never split across chips`); });
  // Greedy: consecutive layers per chip while the lanes last.
  let groups: number[][] = [[]];
  let used = 0;
  need.forEach((n, k) => {
    if (used + n.lanes > g.lanes) { groups.push([]); used = 0; }
    groups[groups.length - 1].push(k);
    used += n.lanes;
  });
  const want = opts.chips;
  if (want !== undefined) {
    if (!Number.isInteger(want) || want < 1) throw new UserError(`--chips must be a positive integer, got ${want}`, EXIT.usage);
    if (want < groups.length) fail(`the model needs ${groups.length} chips of grid '${g.name}', --chips ${want} is too few`);
    if (want > q.layers.length) fail(`--chips ${want}: the model has only ${q.layers.length} layers (layers are split across chips, never within)`);
    // Spread layers over exactly `want` chips: cut where the lanes run out, else balance the count.
    while (groups.length < want) {
      const i = groups.findIndex((gr) => gr.length > 1);
      const gr = groups[i];
      groups = [...groups.slice(0, i), gr.slice(0, Math.ceil(gr.length / 2)), gr.slice(Math.ceil(gr.length / 2)), ...groups.slice(i + 1)];
    }
  }
  const P = laneLatency(g);
  const chips: ChipPlan[] = groups.map((layers, ci) => {
    let lane0 = 0;
    let grp0 = 0;
    const placed: LayerPlacement[] = layers.map((k) => {
      const n = need[k];
      const pl = { layer: k, lane0, lanes: n.lanes, nib: n.nib, groups: n.groups, steps: n.groups * n.nib, grp0 };
      lane0 += n.lanes;
      grp0 += n.groups;
      return pl;
    });
    const ucode: Entry[] = [];
    placed.forEach((pl, i) => {
      for (let og = 0; og < pl.groups; og++) {
        for (let ib = 0; ib < pl.nib; ib++) {
          ucode.push({ kind: 'issue', addr: og * pl.nib + ib, ib, grp: pl.grp0 + og, first: ib === 0, last: ib === pl.nib - 1 });
        }
      }
      for (let d = 0; d < P; d++) ucode.push({ kind: 'nop', addr: 0, ib: 0, grp: 0, first: false, last: false });
      ucode.push({ kind: i === placed.length - 1 ? 'done' : 'swap', addr: 0, ib: 0, grp: 0, first: false, last: false });
    });
    return { index: ci, layers: placed, final: ci === groups.length - 1, microcode: ucode, groups: grp0, latency: ucode.length + 1, lanesUsed: lane0 };
  });
  const macs = q.layers.reduce((s, l) => s + l.inFeatures * l.outFeatures, 0);
  const cellsPerChip = g.rows * g.lanes;
  const latency = chips.reduce((s, c) => s + c.latency, 0);
  return {
    grid: g, chips, laneLatency: P, latency, macs, cellsPerChip,
    utilization: macs / (cellsPerChip * chips.length * latency),
    boundCycles: Math.ceil(macs / (cellsPerChip * chips.length)) + P,
  };
}
