// What the engine in base/ is built for: every buffer, unit and mask site is sized from the grid alone.
import type { GridSpec } from '../grid/grid.ts';
import { log2ceil } from '../grid/grid.ts';
import { laneLatency } from '../grid/base.ts';

/** Unsigned bits that hold 0 .. n. */
export function bitsFor(n: number): number {
  return Math.max(1, Math.ceil(Math.log2(n + 1)));
}

export function nextPow2(n: number): number {
  return 2 ** log2ceil(Math.max(2, n));
}

/** The engine's capacities, all derived from one GridSpec (nothing here depends on a model). */
export interface EngineCaps {
  readonly g: GridSpec;
  /** Rows (cells per lane), lanes, vector width of the elementwise units. */
  readonly R: number;
  readonly L: number;
  readonly E: number;
  /** Elements of each activation buffer (whole chunks of R and whole blocks of E). */
  readonly F: number;
  /** Chunks of R elements in a buffer: the matmul input select. */
  readonly chunks: number;
  /** int8 elements of one KV-cache row (the SRAM width): every KV head of one (layer, position). */
  readonly kvMax: number;
  /** Positions per layer (a power of two) and the layers the KV SRAM holds. */
  readonly ctx: number;
  readonly layers: number;
  /** Vocabulary: embedding rows, logit buffer, argmax. */
  readonly vocab: number;
  readonly heads: number;
  /** Widest head (a power of two) and its RoPE half. */
  readonly hd: number;
  readonly half: number;
  /** KV heads a row can hold at the smallest head (4): the width of the head-to-KV-head table. */
  readonly kvHeadsMax: number;
  /** Microcode words; lane passes a program may use (rows of the per-lane requant ROMs) = ROM depth. */
  readonly instrs: number;
  readonly passes: number;
  /** Entries of each lookup-table unit. */
  readonly lutEntries: number;
  /** Bits of a token id, a layer index, a KV-cache address, a ROM address. */
  readonly tokBits: number;
  readonly layerBits: number;
  readonly ctxBits: number;
  readonly addrBits: number;
  /** Register stages from a lane's input to its accumulator. */
  readonly laneLatency: number;
  /** Elements of one embedding column group (a mask ROM of vocab × group × 16 bits, ≤ 32 Kibit). */
  readonly embGroup: number;
}

/** Why a grid cannot carry the engine (empty when it can). */
export function engineProblems(g: GridSpec): string[] {
  const out: string[] = [];
  if (g.romDepth < 2) out.push(`the engine needs ROM cells (romDepth >= 2), the grid has romDepth ${g.romDepth}`);
  if (g.sram.banks < 2) out.push(`the engine needs 2 SRAM banks (K and V), the grid has ${g.sram.banks}`);
  if (g.sram.width % 8 !== 0 || g.sram.width < 32) out.push(`SRAM width ${g.sram.width} is not a multiple of 8 bits of at least 32`);
  if (g.lut.units < 3 + g.vector) out.push(`the engine needs ${3 + g.vector} lookup-table units (rsqrt, exp, reciprocal, ${g.vector} x SiLU), the grid has ${g.lut.units}`);
  if (g.lut.entries < 1024 || g.lut.width < 16) out.push(`lookup-table units must hold 1024 x 16 bits, the grid's hold ${g.lut.entries} x ${g.lut.width}`);
  if (g.actBits !== 8) out.push(`the engine's units use int8 activations, the grid has actBits ${g.actBits}`);
  if (g.mBits !== 15) out.push(`the engine's requant multipliers are 15-bit, the grid has mBits ${g.mBits}`);
  if (g.sram.words < g.engine.context) out.push(`SRAM of ${g.sram.words} words cannot hold engine.context ${g.engine.context} positions`);
  return out;
}

export function engineCaps(g: GridSpec): EngineCaps {
  const R = g.rows, L = g.lanes, E = g.vector;
  const unit = (R * E) / gcd(R, E);
  const F = Math.ceil(g.maxFeatures / unit) * unit;
  const vocab = nextPow2(g.engine.vocab);
  const kvMax = g.sram.width / 8;
  const ctx = g.engine.context;
  const layers = Math.max(1, Math.floor(g.sram.words / ctx));
  let embGroup = 1;
  while (embGroup * 2 <= F && vocab * embGroup * 2 * 16 <= 32768) embGroup *= 2;
  return {
    g, R, L, E, F, chunks: F / R, kvMax, ctx, layers, vocab, heads: nextPow2(g.engine.heads), hd: g.engine.headDim, half: g.engine.headDim / 2,
    kvHeadsMax: Math.max(1, Math.floor(kvMax / 4)), instrs: nextPow2(g.engine.instrs), passes: nextPow2(g.romDepth), lutEntries: 1024,
    tokBits: log2ceil(vocab), layerBits: log2ceil(layers), ctxBits: log2ceil(ctx), addrBits: log2ceil(g.romDepth),
    laneLatency: laneLatency(g), embGroup,
  };
}

function gcd(a: number, b: number): number {
  return b === 0 ? a : gcd(b, a % b);
}
