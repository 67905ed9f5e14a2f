// The base gate grid description: what is fixed for every model (lanes of ROM multiplier cells and their widths).
import { pathToFileURL } from 'node:url';
import { tsImport } from 'tsx/esm/api';
import { existsSync } from 'node:fs';
import { resolve } from 'node:path';
import { EXIT, UserError } from '../../core/errors.ts';

/**
 * A grid: `lanes` columns, each a row of `rows` ROM multiplier cells feeding one pipelined adder tree,
 * an accumulator and a requant unit. Every cell holds `romDepth` weights (D = 1: a hardwired constant
 * multiplier; D > 1: a mask ROM beside one multiplier, addressed by the sequencer).
 */
export interface GridSpec {
  readonly name: string;
  readonly rows: number;
  readonly lanes: number;
  readonly romDepth: number;
  readonly weightBits: number;
  readonly actBits: number;
  /** Accumulator width; a model whose exact accumulator bounds do not fit is refused. */
  readonly accBits: number;
  /** Adder-tree levels between pipeline registers. */
  readonly regEvery: number;
  /** Requant multiplier width (unsigned) and shift range. */
  readonly mBits: number;
  readonly maxShift: number;
  /** Widest activation vector the chip's buffers hold. */
  readonly maxFeatures: number;
  /** Elements per cycle of the elementwise units (RMSNorm, SiLU, argmax) of the Llama flow. */
  readonly vector: number;
  /** Lookup-table units for nonlinearities (entries each); the MLP flow uses none. */
  readonly lut: { readonly units: number; readonly entries: number; readonly width: number };
  /** On-chip SRAM banks (KV cache, LoRA adapters): count × words × width bits. */
  readonly sram: { readonly banks: number; readonly words: number; readonly width: number };
  /** Clock target, for projected throughput. */
  readonly clockMHz: number;
  /**
   * Capacities of the engine in base/ (sequencer, units, buffers): the largest model dimensions the
   * base die's units are built for. A model within them runs on the same base; only the masks change.
   */
  readonly engine: EngineCaps;
}

/** What the base die's engine can hold; every unit and buffer is sized from these and the fields above. */
export interface EngineCaps {
  /** Query heads and the widest head (a power of two). */
  readonly heads: number;
  readonly headDim: number;
  /** Positions per layer in the KV cache (a power of two); the layers it holds are sram.words / context. */
  readonly context: number;
  /** Vocabulary (or classes) the embedding table, logit buffer and argmax hold. */
  readonly vocab: number;
  /** Microcode words of the sequencer's program ROM. */
  readonly instrs: number;
}

export type GridInput = Partial<Omit<GridSpec, 'engine'>> & Pick<GridSpec, 'name' | 'rows' | 'lanes' | 'romDepth'> & { readonly engine?: Partial<EngineCaps> };

const DEFAULTS: Omit<GridSpec, 'name' | 'rows' | 'lanes' | 'romDepth'> = {
  weightBits: 8, actBits: 8, accBits: 32, regEvery: 2, mBits: 15, maxShift: 62, maxFeatures: 64, vector: 1,
  lut: { units: 0, entries: 256, width: 8 }, sram: { banks: 0, words: 1024, width: 64 }, clockMHz: 250,
  engine: { heads: 8, headDim: 16, context: 128, vocab: 128, instrs: 64 },
};

/** Fill defaults and validate; used by grid files (`export default defineGrid({...})`). */
export function defineGrid(g: GridInput): GridSpec {
  const s: GridSpec = { ...DEFAULTS, ...g, engine: { ...DEFAULTS.engine, ...(g.engine ?? {}) } };
  const bad = (field: string, why: string): never => { throw new UserError(`grid '${s.name}': field '${field}' ${why}`, EXIT.badInput); };
  if (!/^[A-Za-z][A-Za-z0-9_-]{0,40}$/.test(s.name)) bad('name', 'must be a short identifier');
  const int = (f: keyof GridSpec, lo: number, hi: number): void => {
    const v = s[f] as unknown;
    if (typeof v !== 'number' || !Number.isInteger(v) || v < lo || v > hi) bad(f, `must be an integer in [${lo}, ${hi}], got ${JSON.stringify(v)}`);
  };
  int('rows', 1, 4096); int('lanes', 1, 65536); int('romDepth', 1, 1 << 16); int('actBits', 2, 16);
  int('accBits', 8, 64); int('regEvery', 1, 16); int('mBits', 2, 31); int('maxShift', 1, 62); int('maxFeatures', 1, 1 << 16); int('vector', 1, 64);
  if (![3, 4, 6, 8].includes(s.weightBits)) bad('weightBits', `must be 3, 4, 6 or 8, got ${s.weightBits}`);
  if (!(s.clockMHz > 0)) bad('clockMHz', 'must be positive');
  const e = s.engine as unknown as Record<string, unknown>;
  for (const [f, lo, hi] of [['heads', 1, 4096], ['headDim', 4, 1024], ['context', 2, 1 << 20], ['vocab', 2, 1 << 20], ['instrs', 2, 1 << 16]] as const) {
    const v = e?.[f];
    if (typeof v !== 'number' || !Number.isInteger(v) || v < lo || v > hi) bad(`engine.${f}`, `must be an integer in [${lo}, ${hi}], got ${JSON.stringify(v)}`);
  }
  const pow2 = (v: number): boolean => (v & (v - 1)) === 0;
  if (!pow2(s.engine.headDim)) bad('engine.headDim', `must be a power of two, got ${s.engine.headDim}`);
  if (!pow2(s.engine.context)) bad('engine.context', `must be a power of two, got ${s.engine.context}`);
  const treeBits = s.actBits + s.weightBits + Math.ceil(Math.log2(Math.max(2, s.rows)));
  if (treeBits > s.accBits) bad('accBits', `${s.accBits} is narrower than one lane's adder-tree sum (${treeBits} bits)`);
  return Object.freeze(s);
}

/** The grid used when none is given: 64 rows × 48 lanes of 4-bit ROM cells, depth 4. */
export const DEFAULT_GRID: GridSpec = defineGrid({ name: 'default', rows: 64, lanes: 48, romDepth: 4, weightBits: 4, accBits: 24 });

/**
 * A die-sized grid (HC1-class), the default of `gen-rtl plan`: 4,096 rows x 4,096 lanes of ROM multiplier
 * cells holding 64 int4 weights each (a 4 Gbit weight ROM per die), int8 activations, a KV-cache SRAM of
 * 64 banks x 64 Ki words x 256 bits, and a 1 GHz clock target.
 */
export const DIE_GRID: GridSpec = defineGrid({
  name: 'hc1-like', rows: 4096, lanes: 4096, romDepth: 64, weightBits: 4, actBits: 8, accBits: 32, regEvery: 2,
  maxFeatures: 14336, lut: { units: 64, entries: 256, width: 16 }, sram: { banks: 64, words: 65536, width: 256 }, clockMHz: 1000,
});

/**
 * An HC1-class engine die for Llama 3.1 8B at 1k context: 512 lanes x 4,096 rows of int3 ROM multiplier
 * cells (the HC1 hardwires 3-bit weights), 3,712 weights deep (7.8e9 weight slots: every projection of
 * all 32 layers and the lm_head, every lane on every matrix), the engine's units for 32 heads of 128, a
 * vocabulary of 128,256, 64-wide vector units, a KV-cache SRAM of 2 banks (K, V) x 32 layers x 1,024
 * positions x 8,192 bits (every KV head of a position in one row); 1 GHz, assumed.
 */
export const HC1_GRID: GridSpec = defineGrid({
  name: 'hc1', rows: 4096, lanes: 512, romDepth: 3712, weightBits: 3, actBits: 8, accBits: 32, regEvery: 2,
  maxFeatures: 14336, vector: 64, lut: { units: 67, entries: 1024, width: 16 }, sram: { banks: 2, words: 32 * 1024, width: 8192 }, clockMHz: 1000,
  engine: { heads: 32, headDim: 128, context: 1024, vocab: 128256, instrs: 512 },
});

/** HC1_GRID with an 8k-position KV cache (32 layers x 8,192 positions per SRAM bank). */
export const HC1_8K_GRID: GridSpec = defineGrid({ ...HC1_GRID, name: 'hc1-8k', sram: { ...HC1_GRID.sram, words: 32 * 8192 }, engine: { ...HC1_GRID.engine, context: 8192 } });

/** The default grid of `gen-rtl plan`: the HC1-class engine die whose KV cache holds the context, else the lanes-only DIE_GRID. */
export function planGrid(context: number): GridSpec {
  return context <= HC1_GRID.engine.context ? HC1_GRID : context <= HC1_8K_GRID.engine.context ? HC1_8K_GRID : DIE_GRID;
}

/**
 * The grid of the tiny-llama example (the default for Llama checkpoints): 16 lanes x 64 rows of int4
 * ROM multiplier cells, 128 weights deep (131,072 weight slots), elementwise units 4 elements wide,
 * LUT units for rsqrt, exp, reciprocal and 4 x SiLU, a KV-cache SRAM of 2 banks x 512 words x 256 bits,
 * 250 MHz.
 */
export const TINY_LLAMA_GRID: GridSpec = defineGrid({
  name: 'tiny-llama', rows: 64, lanes: 16, romDepth: 128, weightBits: 4, actBits: 8, accBits: 24, regEvery: 2,
  maxFeatures: 192, vector: 4, lut: { units: 8, entries: 1024, width: 16 }, sram: { banks: 2, words: 512, width: 256 }, clockMHz: 250,
  engine: { heads: 8, headDim: 16, context: 128, vocab: 128, instrs: 64 },
});

/** Load a grid file (TypeScript, `export default defineGrid({...})`). */
export async function loadGrid(file: string): Promise<GridSpec> {
  const path = resolve(file);
  if (!existsSync(path)) throw new UserError(`${file}: grid file not found`);
  let mod: { default?: unknown };
  try {
    // tsImport compiles the file whatever package it sits in (a plain import() of a .ts file outside an
    // ESM package goes through require() and fails); such a file's exports come back wrapped once more.
    mod = await tsImport(pathToFileURL(path).href, import.meta.url);
  } catch (e) {
    if (e instanceof UserError) throw new UserError(`${file}: ${e.message}`, e.code);
    throw new UserError(`${file}: cannot load the grid file: ${(e as Error).message.split('\n')[0]}`);
  }
  let g = mod.default as GridSpec | undefined;
  const wrapped = (g as { default?: unknown } | undefined)?.default;
  if (g && typeof g === 'object' && !('rows' in g) && wrapped && typeof wrapped === 'object') g = wrapped as GridSpec;
  if (!g || typeof g !== 'object' || typeof g.rows !== 'number') throw new UserError(`${file}: must 'export default defineGrid({...})'`);
  return defineGrid(g);
}

export function log2ceil(n: number): number {
  return Math.max(1, Math.ceil(Math.log2(n)));
}
