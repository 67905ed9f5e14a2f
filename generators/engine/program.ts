// Programs for the engine: the Llama decoder step (generators/llama/schedule.ts) and an MLP inference,
// both as the same instruction list that mask layer B's microcode holds and the plan counts cycles of.
import type { GridSpec } from '../grid/grid.ts';
import { laneLatency } from '../grid/base.ts';
import type { QuantizedMlp } from '../model.ts';
import { instrCycles, type Instr, type LlamaProgram, type Shape } from '../llama/schedule.ts';
import { settle } from '../llama/settle.ts';

/** An MLP layer as the engine's lanes see it: weights, per-row bias and requant (hidden layers). */
export interface MlpMat extends Shape {
  readonly weight: Int32Array;
  readonly bias: readonly bigint[];
  readonly M: readonly number[];
  readonly S: readonly number[];
}

/**
 * One inference: the request's input vector is in U (loaded on accept); layer k reads U or G and writes
 * the other (ReLU and requant at the lanes); the last layer's raw accumulators go to the logit buffer;
 * argmax gives the class.
 */
export function buildMlpProgram(q: QuantizedMlp, g: GridSpec): LlamaProgram<MlpMat> {
  const instrs: Instr<MlpMat>[] = [];
  let addr = 0, pass = 0;
  const last = q.layers.length - 1;
  q.layers.forEach((l, k) => {
    const passes = Math.ceil(l.outFeatures / g.lanes);
    const chunks = Math.ceil(l.inFeatures / g.rows);
    const mat: MlpMat = { rows: l.outFeatures, cols: l.inFeatures, weight: l.weight, bias: l.bias, M: l.M, S: l.S };
    const src = k % 2 === 0 ? 'u' : 'gate';
    const dest = k === last ? 'logits' : k % 2 === 0 ? 'gate' : 'u';
    instrs.push({ op: 'matmul', name: l.name, layer: 0, mat, dest, src, relu: k !== last && l.relu, raw: k === last, addr0: addr, pass0: pass, passes, chunks });
    addr += passes * chunks;
    pass += passes;
  });
  instrs.push({ op: 'argmax' }, { op: 'end' });
  const classes = q.layers[last].outFeatures;
  const widest = Math.max(...q.layers.map((l) => Math.max(l.inFeatures, l.outFeatures)));
  const prog = {
    grid: g, dims: { hidden: 0, intermediate: 0, layers: 0, heads: 0, kvHeads: 0, headDim: 0, vocab: classes },
    instrs, romUsed: addr, passes: pass, laneLatency: laneLatency(g), uLen: Math.ceil(widest / g.rows) * g.rows,
  };
  return { ...prog, instrs: settle(prog, (ins) => instrCycles(prog, ins, 0)) };
}
