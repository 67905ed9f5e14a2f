// The hardwired Llama as files: base/ (the engine: the grid alone decides it), mask-weights/,
// mask-routing/ (constants: the model alone decides them), top/.
import type { IrModule } from '../../dsl/ir/types.ts';
import { UserError } from '../../core/errors.ts';
import type { GridSpec } from '../grid/grid.ts';
import type { QLinear, QuantizedLlama } from '../quantize/llama.ts';
import { buildEngineDesign, checkFits, llamaNeeds, llamaPersonalization, type EngineDesign } from '../engine/design.ts';
import type { Personalization } from '../engine/masks.ts';
import { buildProgram, type LlamaProgram, type ScheduleDims } from './schedule.ts';

export interface LlamaDesign {
  readonly program: LlamaProgram<QLinear>;
  readonly top: IrModule;
  readonly masks: { readonly weights: IrModule; readonly routing: IrModule };
  readonly pz: Personalization;
  readonly engine: EngineDesign;
  readonly files: ReadonlyMap<string, string>;
  readonly order: readonly string[];
}

/** KV cache bits the context needs (K and V, every layer). */
export function kvCacheBits(d: ScheduleDims, context: number): number {
  return 2 * d.layers * context * d.kvHeads * d.headDim * 8;
}

/**
 * Refuses, with one line, what the grid's engine cannot hold. Needs only the shapes, so a flow can check
 * before it quantizes; `where` names the grid's file when it came from one.
 */
export function checkLlamaFits(d: ScheduleDims, weightBits: number, g: GridSpec, prog: LlamaProgram, context: number, where = ''): void {
  checkFits(llamaNeeds(d, weightBits, g, context, prog), g, where);
}

export function checkLlamaShape(d: ScheduleDims, configPath: string): void {
  const pow2 = (v: number): boolean => v >= 2 && (v & (v - 1)) === 0;
  if (!pow2(d.headDim) || d.headDim < 4) throw new UserError(`${configPath}: head_dim ${d.headDim} is not a power of two of at least 4 (the RoPE unit walks pairs by bit fields)`);
}

export function buildLlamaDesign(q: QuantizedLlama, g: GridSpec, context: number): LlamaDesign {
  const program = buildProgram(q, g);
  checkLlamaFits(q.dims, q.weightBits, g, program, context);
  const pz = llamaPersonalization(q, g, context);
  const d = buildEngineDesign(pz, g);
  return { program, top: d.top, masks: d.masks, pz, engine: d, files: d.files, order: d.order };
}
