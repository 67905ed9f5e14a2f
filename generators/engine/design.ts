// A chip on the engine as files: base/ (hw_engine and its units: the grid alone decides them),
// mask-weights/ and mask-routing/ (constants: the model alone decides them), top/ (the plug).
import type { IrModule } from '../../dsl/ir/types.ts';
import { EXIT, UserError } from '../../core/errors.ts';
import type { GridSpec } from '../grid/grid.ts';
import { splitIntoFolders } from '../grid/design.ts';
import type { QuantizedMlp } from '../model.ts';
import { RSQRT_INDEX_BITS, ropeIntTables, type QLinear, type QuantizedLlama } from '../quantize/llama.ts';
import { buildProgram, shapesOf, type LlamaProgram, type ScheduleDims } from '../llama/schedule.ts';
import { engineCaps, engineProblems, type EngineCaps } from './caps.ts';
import { chipTop, engineModule } from './base.ts';
import { maskRouting, maskWeights, type Personalization, type WMat } from './masks.ts';
import { buildMlpProgram } from './program.ts';

export interface EngineDesign {
  readonly caps: EngineCaps;
  readonly pz: Personalization;
  readonly top: IrModule;
  readonly masks: { readonly weights: IrModule; readonly routing: IrModule };
  readonly files: ReadonlyMap<string, string>;
  readonly order: readonly string[];
}

/** What a model needs of the engine, in the grid's terms; compared with the capacities by checkFits. */
export interface EngineNeeds {
  readonly what: string;
  readonly weightBits: number;
  readonly prog: LlamaProgram;
  /** Largest matmul input or output, and the logit buffer. */
  readonly widest: number;
  readonly vocab: number;
  readonly llama?: { readonly dims: ScheduleDims; readonly context: number };
}

/**
 * Refuses, in one line naming the grid (and its file) and the capacity, a model the base die cannot run.
 * Needs only shapes, so the flows call it before quantizing.
 */
export function checkFits(n: EngineNeeds, g: GridSpec, where = ''): void {
  const fail = (why: string): never => { throw new UserError(`${where ? `${where}: ` : ''}grid '${g.name}': ${why}`, EXIT.badInput); };
  const probs = engineProblems(g);
  if (probs.length) fail(`has no engine for ${n.what}: ${probs[0]}`);
  const c = engineCaps(g);
  if (n.weightBits !== g.weightBits) fail(`cells hold int${g.weightBits} weights, not int${n.weightBits} (leave out --weight-bits, or use another grid)`);
  if (n.prog.romUsed > g.romDepth) fail(`${n.what} needs ${n.prog.romUsed} weight words per cell (ROM depth), the grid has ${g.romDepth}: use a grid with more lanes or rows, or a deeper ROM`);
  if (n.prog.instrs.length > c.instrs) fail(`${n.what} needs a ${n.prog.instrs.length}-word program, the sequencer holds ${g.engine.instrs} (engine.instrs)`);
  if (n.widest > c.F) fail(`${n.what} needs vectors of ${n.widest} elements, the buffers hold ${g.maxFeatures} (maxFeatures)`);
  if (n.vocab > g.engine.vocab) fail(`${n.what} needs ${n.vocab} logits (vocabulary or classes), the engine holds ${g.engine.vocab} (engine.vocab)`);
  const accNeed = 8 + g.weightBits + Math.ceil(Math.log2(Math.ceil(n.widest / g.rows) * g.rows)) + 1;
  if (accNeed > g.accBits) fail(`accumulators of ${g.accBits} bits cannot hold a ${n.widest}-input dot product (${accNeed} bits)`);
  const L = n.llama;
  if (!L) return;
  const d = L.dims;
  if (d.heads > g.engine.heads) fail(`${n.what} has ${d.heads} query heads, the attention unit holds ${g.engine.heads} (engine.heads)`);
  if (d.headDim > g.engine.headDim) fail(`${n.what} has head_dim ${d.headDim}, the units hold ${g.engine.headDim} (engine.headDim)`);
  if (d.kvHeads * d.headDim > c.kvMax) fail(`a KV-cache row of ${n.what} is ${d.kvHeads * d.headDim} int8 values, the SRAM is ${g.sram.width} bits wide (${c.kvMax} values)`);
  if (d.layers > c.layers) fail(`${n.what} has ${d.layers} layers, the KV-cache SRAM holds ${c.layers} layer${c.layers === 1 ? '' : 's'} of ${g.engine.context} positions (sram.words ${g.sram.words} / engine.context)`);
  if (L.context > g.engine.context) fail(`a context of ${L.context} positions exceeds the KV cache's ${g.engine.context} per layer (engine.context): lower --context`);
  if (d.heads % d.kvHeads !== 0) fail(`${d.heads} query heads do not share ${d.kvHeads} KV heads evenly`);
  if (d.kvHeads > c.kvHeadsMax) fail(`${d.kvHeads} KV heads exceed the head table's ${c.kvHeadsMax}`);
}

export function llamaNeeds(d: ScheduleDims, weightBits: number, g: GridSpec, context: number, prog: LlamaProgram = buildProgram(shapesOf(d), g)): EngineNeeds {
  return { what: 'the Llama', weightBits, prog, widest: Math.max(d.hidden, d.intermediate, d.heads * d.headDim, d.kvHeads * d.headDim), vocab: d.vocab, llama: { dims: d, context } };
}

export function mlpNeeds(q: QuantizedMlp, g: GridSpec): EngineNeeds {
  const widest = Math.max(...q.layers.map((l) => Math.max(l.inFeatures, l.outFeatures)));
  const wb = q.layers[0].weightBits;
  return { what: 'the MLP', weightBits: wb, prog: buildMlpProgram(q, g), widest, vocab: q.layers[q.layers.length - 1].outFeatures };
}

export function llamaPersonalization(q: QuantizedLlama, g: GridSpec, context: number): Personalization {
  const d = q.dims;
  const prog = buildProgram(q, g) as LlamaProgram<QLinear>;
  const c = engineCaps(g);
  // The RoPE table covers every position of the engine, not only the run's --context: the weights mask
  // depends on the model alone (position p's angles do not depend on the table's length).
  const { cos, sin } = ropeIntTables(d, c.ctx);
  const rep = d.heads / d.kvHeads;
  return {
    kind: 'Llama', prog: prog as unknown as LlamaProgram<WMat>,
    cfg: {
      hblk: Math.ceil(d.hidden / c.E), vocab: d.vocab, hdlog: Math.log2(d.headDim), heads: d.heads, qlen: d.heads * d.headDim, context,
      rsqS0: q.rsqrtFrac - (RSQRT_INDEX_BITS - 2) / 2, expM: q.expM, expS: q.expS, actM: q.actM, actS: q.actS,
    },
    embed: { hidden: d.hidden, table: q.embed },
    tables: { rsqrt: q.rsqrt, exp2: q.exp2, recip: q.recip, silu: q.silu },
    rope: { half: d.headDim / 2, positions: c.ctx, cos, sin },
    kvHead: Array.from({ length: d.heads }, (_, h) => Math.floor(h / rep)),
  };
}

export function mlpPersonalization(q: QuantizedMlp, g: GridSpec): Personalization {
  const prog = buildMlpProgram(q, g);
  const classes = q.layers[q.layers.length - 1].outFeatures;
  return {
    kind: 'MLP', prog: prog as unknown as LlamaProgram<WMat>,
    cfg: { hblk: 0, vocab: classes, hdlog: 0, heads: 0, qlen: 0, context: 0, rsqS0: 0, expM: 0, expS: 0, actM: 0, actS: 0 },
  };
}

export function buildEngineDesign(pz: Personalization, g: GridSpec): EngineDesign {
  const c = engineCaps(g);
  const engine = engineModule(c);
  const weights = maskWeights(c, pz);
  const routing = maskRouting(c, pz);
  const top = chipTop(c, engine, weights, routing);
  const { files, order } = splitIntoFolders(top);
  return { caps: c, pz, top, masks: { weights, routing }, files, order };
}
