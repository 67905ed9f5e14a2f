// The hardwired Llama as files: base/ (the grid, model-independent), mask-weights/, mask-routing/, top/.
import type { IrModule } from '../../dsl/ir/types.ts';
import { UserError } from '../../cli/errors.ts';
import type { GridSpec } from '../grid/grid.ts';
import { splitIntoFolders } from '../grid/design.ts';
import { RSQRT_INDEX_BITS, type QLinear, type QuantizedLlama } from '../quantize/llama.ts';
import { llamaTop } from './rtl.ts';
import { buildProgram, type LlamaProgram, type ScheduleDims } from './schedule.ts';

export interface LlamaDesign {
  readonly program: LlamaProgram<QLinear>;
  readonly top: IrModule;
  readonly files: ReadonlyMap<string, string>;
  readonly order: readonly string[];
}

/** KV cache bits the context needs (K and V, every layer), to check against the grid's SRAM. */
export function kvCacheBits(d: ScheduleDims, context: number): number {
  return 2 * d.layers * context * d.kvHeads * d.headDim * 8;
}

/** Lookup-table units the Llama needs (rsqrt, exp, reciprocal, one SiLU per element of the vector width) and the largest table's entries. */
export function llamaLuts(g: GridSpec): { units: number; entries: number; width: number } {
  return { units: 3 + g.vector, entries: 2 ** RSQRT_INDEX_BITS, width: 16 };
}

/**
 * Refuses, with one line, what the grid cannot hold or the units cannot do. Needs only the shapes, so
 * a flow can check before it quantizes; `where` names the grid's file when it came from one.
 */
export function checkLlamaFits(d: ScheduleDims, weightBits: number, g: GridSpec, prog: LlamaProgram, context: number, where = ''): void {
  const fail = (why: string): never => { throw new UserError(`${where ? `${where}: ` : ''}grid '${g.name}': ${why}`); };
  if (g.weightBits !== weightBits) fail(`cells hold int${g.weightBits} weights, not int${weightBits} (leave out --weight-bits, or use another grid)`);
  if (g.actBits !== 8) fail(`the Llama units use int8 activations, the grid has actBits ${g.actBits}`);
  if (prog.romUsed > g.romDepth) fail(`the model needs ${prog.romUsed} weight words per cell (ROM depth), the grid has ${g.romDepth}: use a grid with more lanes or rows, or a deeper ROM`);
  const widest = Math.max(d.hidden, d.intermediate, d.heads * d.headDim);
  const accNeed = 8 + g.weightBits + Math.ceil(Math.log2(Math.ceil(widest / g.rows) * g.rows)) + 1;
  if (accNeed > g.accBits) fail(`accumulators of ${g.accBits} bits cannot hold a ${widest}-input dot product (${accNeed} bits)`);
  if (g.mBits !== 15) fail(`the requant multipliers are 15-bit (mBits 15), the grid has ${g.mBits}`);
  if (widest > g.maxFeatures) fail(`buffers hold ${g.maxFeatures} features, the model needs ${widest}`);
  const luts = llamaLuts(g);
  if (g.lut.units < luts.units || g.lut.entries < luts.entries || g.lut.width < luts.width) {
    fail(`the Llama needs ${luts.units} lookup-table units of ${luts.entries} entries x ${luts.width} bits (rsqrt, exp, reciprocal, ${g.vector} x SiLU); the grid has ${g.lut.units} of ${g.lut.entries} x ${g.lut.width}`);
  }
  if (g.vector > Math.min(d.hidden, d.intermediate, d.vocab)) fail(`vector width ${g.vector} is wider than the model's vectors`);
  const sramBits = g.sram.banks * g.sram.words * g.sram.width;
  const need = kvCacheBits(d, context);
  if (need > sramBits) fail(`a KV cache of ${context} positions needs ${need} bits of SRAM, the grid has ${sramBits} (${g.sram.banks} x ${g.sram.words} x ${g.sram.width}): lower --context`);
}

export function checkLlamaShape(d: ScheduleDims, configPath: string): void {
  const pow2 = (v: number): boolean => v >= 2 && (v & (v - 1)) === 0;
  if (!pow2(d.headDim) || d.headDim < 4) throw new UserError(`${configPath}: head_dim ${d.headDim} is not a power of two of at least 4 (the RoPE unit walks pairs by bit fields)`);
}

export function buildLlamaDesign(q: QuantizedLlama, g: GridSpec, context: number): LlamaDesign {
  const program = buildProgram(q, g);
  checkLlamaFits(q.dims, q.weightBits, g, program, context);
  const top = llamaTop(q, program, g, context);
  const { files, order } = splitIntoFolders(top);
  return { program, top, files, order };
}
