// The decoder-step program of the hardwired Llama: which unit runs when, and how long each step takes.
//
// The sequencer (mask layer B) runs these instructions one after another for every token; the cycle
// count of each is a closed formula of the model's dimensions, the grid and the token's position p.
// The same numbers are the plan that Verilator's measurement is checked against.

import type { LlamaDims } from '../llama-model.ts';
import { laneLatency } from '../grid/base.ts';
import type { GridSpec } from '../grid/grid.ts';
import { settle } from './settle.ts';

export type Dest = 'q' | 'k' | 'v' | 'gate' | 'up' | 'x' | 'logits' | 'u';

/** What the schedule needs of a matrix: its shape (a QLinear, or just the numbers for a plan). */
export interface Shape { readonly rows: number; readonly cols: number }

/** The numbers of a config the schedule depends on. */
export type ScheduleDims = Pick<LlamaDims, 'hidden' | 'intermediate' | 'layers' | 'heads' | 'kvHeads' | 'headDim' | 'vocab'>;

/** A model as the schedule sees it: a QuantizedLlama, or shapes made from a config (shapesOf). */
export interface LlamaShapes<M extends Shape> {
  readonly dims: ScheduleDims;
  readonly layers: readonly { readonly q: M; readonly k: M; readonly v: M; readonly o: M; readonly gate: M; readonly up: M; readonly down: M }[];
  readonly lmHead: M;
}

/** The matrix shapes of a config, for planning without weights. */
export function shapesOf(d: ScheduleDims): LlamaShapes<Shape> {
  const H = d.hidden, A = d.heads * d.headDim, KV = d.kvHeads * d.headDim, I = d.intermediate;
  const layer = { q: { rows: A, cols: H }, k: { rows: KV, cols: H }, v: { rows: KV, cols: H }, o: { rows: H, cols: A }, gate: { rows: I, cols: H }, up: { rows: I, cols: H }, down: { rows: H, cols: I } };
  return { dims: d, layers: Array.from({ length: d.layers }, () => layer), lmHead: { rows: d.vocab, cols: H } };
}

export type Instr<M extends Shape = Shape> =
  | { readonly op: 'embed' }
  /** summed: Σx² was taken as the lanes wrote the residual (the last writer of x was a matmul), so no sum pass. */
  | { readonly op: 'norm'; readonly summed?: boolean }
  | {
      readonly op: 'matmul'; readonly name: string; readonly layer: number; readonly mat: M; readonly dest: Dest; readonly addr0: number; readonly pass0: number; readonly passes: number; readonly chunks: number;
      /** Input buffer (default U), ReLU at the lanes' requant, raw accumulators to the logit buffer (an MLP's last layer). */
      readonly src?: 'u' | 'gate'; readonly relu?: boolean; readonly raw?: boolean;
      /**
       * Cycles the word holds the sequencer after its first issue cycle (settle.ts): the issue itself runs on
       * in the background. Without it (a bare program), the word waits for its whole issue and writeback.
       */
      readonly drain?: number;
    }
  | { readonly op: 'rope' }
  | { readonly op: 'kvwrite'; readonly layer: number }
  | { readonly op: 'attn'; readonly layer: number }
  | { readonly op: 'silu' }
  | { readonly op: 'argmax' }
  | { readonly op: 'end' };

export const OPS = ['embed', 'norm', 'matmul', 'rope', 'kvwrite', 'attn', 'silu', 'argmax', 'end'] as const;

export interface LlamaProgram<M extends Shape = Shape> {
  readonly grid: GridSpec;
  readonly dims: ScheduleDims;
  readonly instrs: readonly Instr<M>[];
  /** Cell ROM words used (addresses 0 .. romUsed−1) and lane passes (rows of the per-lane M/S ROMs). */
  readonly romUsed: number;
  readonly passes: number;
  readonly laneLatency: number;
  /** Widest matrix input, rounded up to whole chunks of grid.rows: the length of the input buffer U. */
  readonly uLen: number;
}

/** The per-token program: embed, per layer (norm, q, k, v, rope, kv write, attention, o, norm, gate, up, silu, down), norm, lm_head, argmax. */
export function buildProgram<M extends Shape>(q: LlamaShapes<M>, g: GridSpec): LlamaProgram<M> {
  const d = q.dims;
  const instrs: Instr<M>[] = [];
  let addr = 0;
  let pass = 0;
  const mm = (name: string, layer: number, mat: M, dest: Dest, src?: 'gate'): void => {
    const passes = Math.ceil(mat.rows / g.lanes);
    const chunks = Math.ceil(mat.cols / g.rows);
    instrs.push({ op: 'matmul', name, layer, mat, dest, addr0: addr, pass0: pass, passes, chunks, ...(src ? { src } : {}) });
    addr += passes * chunks;
    pass += passes;
  };
  instrs.push({ op: 'embed' });
  q.layers.forEach((l, n) => {
    instrs.push({ op: 'norm', summed: n > 0 });
    mm('q_proj', n, l.q, 'q');
    mm('k_proj', n, l.k, 'k');
    mm('v_proj', n, l.v, 'v');
    instrs.push({ op: 'rope' }, { op: 'kvwrite', layer: n }, { op: 'attn', layer: n });
    mm('o_proj', n, l.o, 'x');
    instrs.push({ op: 'norm', summed: true });
    mm('gate_proj', n, l.gate, 'gate');
    mm('up_proj', n, l.up, 'up');
    instrs.push({ op: 'silu' });
    mm('down_proj', n, l.down, 'x', 'gate'); // SwiGLU leaves its result in place in the gate buffer
  });
  instrs.push({ op: 'norm', summed: d.layers > 0 });
  mm('lm_head', d.layers, q.lmHead, 'logits');
  instrs.push({ op: 'argmax' }, { op: 'end' });
  const widest = Math.max(d.hidden, d.intermediate, d.heads * d.headDim);
  const prog = { grid: g, dims: d, instrs, romUsed: addr, passes: pass, laneLatency: laneLatency(g), uLen: Math.ceil(widest / g.rows) * g.rows };
  return { ...prog, instrs: settle(prog, (ins) => instrCycles(prog, ins, 0)) };
}

/** Cycles one instruction takes at position p (0-based). */
export function instrCycles(prog: LlamaProgram, ins: Instr, p: number): number {
  const d = prog.dims;
  switch (ins.op) {
    case 'embed': return 1;
    case 'norm': return (ins.summed ? 1 : 2) * Math.ceil(d.hidden / prog.grid.vector) + 1; // Σx² (unless summed at the writeback) and scale, `vector` elements per cycle; rsqrt (1)
    case 'matmul': return ins.drain === undefined ? ins.passes * ins.chunks + prog.laneLatency : 1 + ins.drain;
    case 'rope': return Math.ceil(((d.heads + d.kvHeads) * (d.headDim / 2)) / prog.grid.vector); // `vector` pairs per cycle
    case 'kvwrite': return 1;
    case 'attn': return 2 * (p + 2) + d.heads; // every head at once: scores (p+2), exp·V (p+2); then one head's outputs per cycle
    case 'silu': return Math.ceil(d.intermediate / prog.grid.vector);
    case 'argmax': return Math.ceil(d.vocab / prog.grid.vector);
    case 'end': return 1;
  }
}

/**
 * Cycles from accepting a token at position p to presenting its successor (out_valid): every
 * instruction, plus the cycle in which the token is accepted.
 */
export function cyclesPerToken(prog: LlamaProgram, p: number): number {
  return 1 + prog.instrs.reduce((s, ins) => s + instrCycles(prog, ins, p), 0);
}

/** Cycles by unit at position p, for the report. */
export function cyclesByOp(prog: LlamaProgram, p: number): Record<string, number> {
  const out: Record<string, number> = {};
  for (const ins of prog.instrs) {
    const k = ins.op === 'matmul' ? 'matmul' : ins.op;
    out[k] = (out[k] ?? 0) + instrCycles(prog, ins, p);
  }
  return out;
}
