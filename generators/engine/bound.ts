// The speed bound of one decoder step on a base die: for each resource, the work of one token divided by
// what the resource does per cycle; the bound is the largest of them plus one pipeline fill. No schedule
// can beat it on this die (batch 1): it assumes every unit runs in parallel with every other, all the
// time. The measured cycles over the bound say how much the schedule leaves on the table.
import type { LlamaProgram } from '../llama/schedule.ts';
import { engineCaps } from './caps.ts';
import { attnMacsPerCycle } from './units/attn.ts';

export interface Bound {
  /** max(terms) + fill. */
  readonly cycles: number;
  /** The resource that sets it. */
  readonly limiter: string;
  /** Cycles each resource needs for one token, if it were the only limit. */
  readonly terms: Readonly<Record<string, number>>;
  readonly fill: number;
  /** The work behind each term, and the rate it is divided by (for the report's "how"). */
  readonly work: Readonly<Record<string, { readonly ops: number; readonly perCycle: number; readonly unit: string }>>;
}

/** The bound of the Llama step at position p (0-based) on the program's grid. */
export function boundPerToken(prog: LlamaProgram, p: number): Bound {
  const g = prog.grid;
  const d = prog.dims;
  const n = p + 1;
  let macs = 0;
  for (const ins of prog.instrs) if (ins.op === 'matmul') macs += ins.mat.rows * ins.mat.cols;
  const kvRow = d.kvHeads * d.headDim;
  // Norms: a scale pass each, and a sum pass only for the first (the embedding's row); the others' Σx²
  // is taken by the lanes' writeback squarers as the residual is written (g.lanes per cycle).
  const norms = 2 * d.layers + 1;
  const elementwise = norms * d.hidden + d.hidden + d.layers * d.intermediate + d.vocab;
  const work: Bound['work'] = {
    matmul: { ops: macs, perCycle: g.lanes * g.rows, unit: 'weight MACs / ROM cells' },
    attention: { ops: 2 * d.heads * d.headDim * n * d.layers, perCycle: attnMacsPerCycle(engineCaps(g)), unit: 'attention MACs / MACs of the attention unit' },
    kvRead: { ops: 2 * d.layers * n * kvRow, perCycle: (g.sram.banks * g.sram.width) / 8, unit: 'KV-cache bytes read / SRAM bytes per cycle' },
    elementwise: { ops: elementwise, perCycle: g.vector, unit: 'norm (scale; sum of the first), SiLU, argmax elements / vector width' },
    normSums: { ops: (norms - 1) * d.hidden, perCycle: g.lanes, unit: 'residual squares summed at the writeback / lanes' },
    rope: { ops: d.layers * (d.heads + d.kvHeads) * (d.headDim / 2), perCycle: g.vector, unit: 'RoPE pairs / pairs per cycle (vector width)' },
  };
  const terms: Record<string, number> = {};
  for (const [k, w] of Object.entries(work)) terms[k] = Math.ceil(w.ops / w.perCycle);
  const [limiter, top] = Object.entries(terms).reduce((a, b) => (b[1] > a[1] ? b : a));
  const fill = prog.laneLatency + 1;
  return { cycles: top + fill, limiter, terms, fill, work };
}
