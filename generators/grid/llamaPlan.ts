// A plan for a Llama-architecture model given only its config.json: cells, ROM bits, chips, cycles per token.
import { nonIntegerWriting } from '../load/configJson.ts';
import { EXIT, UserError } from '../../core/errors.ts';
import { laneLatency } from './base.ts';
import type { GridSpec } from './grid.ts';
import type { LlamaDims } from '../llama-model.ts';
import { buildProgram, cyclesPerToken as rtlCyclesPerToken, shapesOf, type LlamaProgram } from '../llama/schedule.ts';
import { engineCaps, engineProblems } from '../engine/caps.ts';
import { sitePorts } from '../engine/base.ts';
import { checkFits, llamaNeeds } from '../engine/design.ts';

/**
 * The config numbers a plan needs: a subset of the loader's LlamaDims (one definition). parseLlamaConfig
 * is more lenient than the loader's readLlamaConfig: planning needs no rope_scaling support, so real
 * configs such as Llama 3.1's (rope_type llama3) are accepted.
 */
export type LlamaConfig = Pick<LlamaDims, 'hidden' | 'intermediate' | 'layers' | 'heads' | 'kvHeads' | 'headDim' | 'vocab' | 'tied'>;

/**
 * The single-chip decoder that `gen-rtl MODEL --prompt` builds (generators/llama): every lane works on
 * every matrix, one ROM address per step. Present when the model fits one chip of the grid that way;
 * its cycles are the ones Verilator measures.
 */
export interface LlamaRtlSchedule {
  readonly romWords: number;
  readonly instructions: number;
  readonly cyclesFirst: number;
  readonly cyclesLast: number;
  /** Cycles added per position of context (attention). */
  readonly perPosition: number;
}

export function parseLlamaConfig(json: unknown, path: string): LlamaConfig {
  const o = json as Record<string, unknown>;
  const num = (k: string, dflt?: number): number => {
    const v = o?.[k] ?? dflt;
    if (typeof v !== 'number' || !Number.isInteger(v) || v < 1) throw new UserError(`${path}: field '${k}' must be a positive integer, got ${JSON.stringify(o?.[k])}`, EXIT.badInput);
    const written = nonIntegerWriting(o, k);
    if (written !== undefined) throw new UserError(`${path}: field '${k}' must be a positive integer, got ${written} (write it without a fraction or exponent: ${v})`, EXIT.badInput);
    return v;
  };
  if (!o || typeof o !== 'object') throw new UserError(`${path}: not a JSON object`, EXIT.badInput);
  if (o.model_type !== undefined && o.model_type !== 'llama') throw new UserError(`${path}: model_type '${String(o.model_type)}' is not a Llama`, EXIT.badInput);
  const hidden = num('hidden_size');
  const heads = num('num_attention_heads');
  return {
    hidden, heads, intermediate: num('intermediate_size'), layers: num('num_hidden_layers'),
    kvHeads: num('num_key_value_heads', heads), headDim: num('head_dim', hidden / heads), vocab: num('vocab_size'),
    tied: o.tie_word_embeddings === true,
  };
}

export interface MatrixPlan { readonly name: string; readonly inF: number; readonly outF: number; readonly count: number; readonly lanes: number; readonly steps: number }

export interface LlamaPlan {
  readonly config: LlamaConfig;
  readonly grid: GridSpec;
  readonly context: number;
  readonly weights: number;
  readonly embeddingWeights: number;
  readonly romBits: number;
  readonly cellsNeeded: number;
  readonly chips: number;
  readonly matrices: readonly MatrixPlan[];
  readonly matmulCycles: number;
  readonly attentionCycles: number;
  readonly cyclesPerToken: number;
  readonly tokensPerSecond: number;
  readonly macsPerToken: number;
  readonly kvCacheBytes: number;
  readonly sramBytesPerChip: number;
  readonly assumptions: readonly string[];
  /** Why the single-chip RTL does not apply, or its schedule. */
  readonly rtl: LlamaRtlSchedule | string;
  readonly chip: PlanChip;
}

/** Same placement rule as the MLP mapper: fewest lanes that hold the matrix at the grid's ROM depth. */
function placeMatrix(g: GridSpec, inF: number, outF: number): { lanes: number; steps: number } {
  const nib = Math.ceil(inF / g.rows);
  const perLane = Math.floor(g.romDepth / nib);
  if (perLane < 1) throw new UserError(`grid '${g.name}': a ${inF}-input matrix needs rows × ROM depth ≥ ${inF} (has ${g.rows} × ${g.romDepth})`, EXIT.badInput);
  const lanes = Math.ceil(outF / perLane);
  return { lanes, steps: nib * Math.ceil(outF / lanes) };
}

/** The base die's engine on this grid: its capacities, the two masks' bits, and whether the model fits. */
export interface PlanChip {
  /** Why the grid has no engine at all (then nothing else is set). */
  readonly noEngine?: string;
  readonly caps?: { readonly buffer: number; readonly heads: number; readonly headDim: number; readonly context: number; readonly layers: number; readonly vocab: number; readonly instrs: number; readonly kvRowInt8: number };
  /** Bits of mask layer A (weights, embedding, tables) and B (microcode, lane words, configuration): fixed by the grid. */
  readonly maskBits?: { readonly weights: number; readonly routing: number };
  /** The engine's own one-line refusal of this model (gen-rtl gives exactly this), if it does not fit. */
  readonly refusal?: string;
}

function planChip(c: LlamaConfig, g: GridSpec, context: number, prog: LlamaProgram): PlanChip {
  const probs = engineProblems(g);
  if (probs.length) return { noEngine: probs[0] };
  const e = engineCaps(g);
  const bits = (layer: 'weights' | 'routing'): number => sitePorts(e).filter((p) => p.layer === layer).reduce((a, p) => a + p.width, 0);
  let refusal: string | undefined;
  try {
    checkFits(llamaNeeds(c, g.weightBits, g, context, prog), g);
  } catch (err) {
    if (!(err instanceof UserError)) throw err;
    refusal = err.message;
  }
  return {
    caps: { buffer: e.F, heads: g.engine.heads, headDim: g.engine.headDim, context: e.ctx, layers: e.layers, vocab: g.engine.vocab, instrs: e.instrs, kvRowInt8: e.kvMax },
    maskBits: { weights: bits('weights'), routing: bits('routing') },
    ...(refusal ? { refusal } : {}),
  };
}

export function planLlama(c: LlamaConfig, g: GridSpec, context: number): LlamaPlan {
  const d = c.hidden, kv = c.kvHeads * c.headDim;
  const mats: [string, number, number, number][] = [
    ['q_proj', d, c.heads * c.headDim, c.layers], ['k_proj', d, kv, c.layers], ['v_proj', d, kv, c.layers], ['o_proj', c.heads * c.headDim, d, c.layers],
    ['gate_proj', d, c.intermediate, c.layers], ['up_proj', d, c.intermediate, c.layers], ['down_proj', c.intermediate, d, c.layers], ['lm_head', d, c.vocab, 1],
  ];
  const P = laneLatency(g);
  const matrices = mats.map(([name, inF, outF, count]) => ({ name, inF, outF, count, ...placeMatrix(g, inF, outF) }));
  const weights = matrices.reduce((s, m) => s + m.inF * m.outF * m.count, 0);
  const lanesNeeded = matrices.reduce((s, m) => s + m.lanes * m.count, 0);
  const chips = Math.ceil(lanesNeeded / g.lanes);
  const matmulCycles = matrices.reduce((s, m) => s + (m.steps + P + 1) * m.count, 0);
  // Attention over the KV cache: QK^T and AV, 2 · heads · headDim · context MACs per layer, done by an
  // attention unit of `rows` MACs per cycle reading the SRAM.
  const attnMacs = 2 * c.heads * c.headDim * context * c.layers;
  const attentionCycles = Math.ceil(attnMacs / g.rows);
  const cyclesPerToken = matmulCycles + attentionCycles;
  const kvCacheBytes = 2 * c.layers * kv * context * Math.ceil(g.actBits / 8);
  const prog = buildProgram(shapesOf(c), g);
  const chip = planChip(c, g, context, prog);
  const rtl: LlamaRtlSchedule | string =
    chip.noEngine ? `the grid has no engine: ${chip.noEngine}`
    : chip.refusal ? `${chip.refusal}${prog.romUsed > g.romDepth ? ' (gen-rtl builds single-chip Llamas only; the numbers above are a projection)' : ''}`
    : { romWords: prog.romUsed, instructions: prog.instrs.length, cyclesFirst: rtlCyclesPerToken(prog, 0), cyclesLast: rtlCyclesPerToken(prog, context - 1), perPosition: rtlCyclesPerToken(prog, 1) - rtlCyclesPerToken(prog, 0) };
  return {
    rtl, chip,
    config: c, grid: g, context, weights, embeddingWeights: c.tied ? 0 : c.vocab * d,
    romBits: weights * g.weightBits, cellsNeeded: Math.ceil(weights / g.romDepth), chips, matrices,
    matmulCycles, attentionCycles, cyclesPerToken, tokensPerSecond: (g.clockMHz * 1e6) / cyclesPerToken,
    macsPerToken: weights + attnMacs, kvCacheBytes, sramBytesPerChip: (g.sram.banks * g.sram.words * g.sram.width) / 8,
    assumptions: [
      `batch 1, one token in flight; every matrix runs after the previous one (the same layer-by-layer schedule the RTL of the MLP flow runs and co-simulates)`,
      `each matrix takes the fewest lanes that hold it at ROM depth ${g.romDepth}: steps = input chunks × output groups; + ${P} cycles lane pipeline + 1 swap per matrix`,
      `weights int${g.weightBits} in ROM cells (embeddings are a table lookup in SRAM/ROM, not cells; ${c.tied ? 'tied' : 'untied'} lm_head counted as a matrix)`,
      `attention (QK^T, AV over ${context} positions) on an attention unit of ${g.rows} MACs/cycle reading the int8 KV cache in SRAM; RMSNorm, RoPE, SiLU, softmax in lookup-table units overlap with matmuls`,
      `chips = lanes needed / lanes per chip (layers split across chips, never within a matrix); chip-to-chip links: ${Math.max(0, chips - 1)} hop(s) per token, each carrying one activation vector of ${c.hidden} int16 = ${2 * c.hidden} bytes; link latency assumed 0 cycles (not modelled: at 100 ns per hop it would add ${Math.round(Math.max(0, chips - 1) * 0.1 * g.clockMHz)} cycles per token)`,
      `KV cache: ${kvCacheBytes.toLocaleString('en-US')} bytes int8 at ${context} positions; attention reads all of it once per token: ${(kvCacheBytes * g.clockMHz * 1e6 / (matmulCycles + attentionCycles) / 1e9).toFixed(1)} GB/s at the cycles above, from SRAM of ${g.sram.banks} banks x ${g.sram.width} bits = ${(g.sram.banks * g.sram.width / 8).toLocaleString('en-US')} bytes per cycle per chip`,
      `clock ${g.clockMHz} MHz as stated by the grid`,
    ],
  };
}

export function formatLlamaPlan(p: LlamaPlan, configPath: string): string {
  const f = (n: number): string => n.toLocaleString('en-US');
  const gib = (b: number): string => `${(b / 2 ** 30).toFixed(2)} GiB`;
  const bytes = (b: number): string => (b >= 2 ** 30 ? gib(b) : b >= 2 ** 20 ? `${(b / 2 ** 20).toFixed(2)} MiB` : `${(b / 2 ** 10).toFixed(1)} KiB`);
  const lines = [
    `projection for ${configPath} on grid '${p.grid.name}' (${p.grid.lanes} lanes x ${p.grid.rows} cells, ROM depth ${p.grid.romDepth}, int${p.grid.weightBits}), context ${f(p.context)}; clock ${p.grid.clockMHz} MHz as the grid file states it (assumed, not measured)`,
    `  model        ${p.config.layers} layers, hidden ${p.config.hidden}, MLP ${p.config.intermediate}, ${p.config.heads} heads / ${p.config.kvHeads} KV heads, vocab ${f(p.config.vocab)}`,
    `  weights      ${f(p.weights)} in matrices (+ ${f(p.embeddingWeights)} embedding entries in a lookup table)`,
    `  ROM          ${f(p.romBits)} bits = ${gib(p.romBits / 8)}; ${f(p.cellsNeeded)} ROM cells of depth ${p.grid.romDepth}`,
    `  chips        ${p.chips} (${f(p.grid.lanes * p.grid.rows)} cells each)`,
    `  cycles/token ${f(p.cyclesPerToken)} = ${f(p.matmulCycles)} matmul + ${f(p.attentionCycles)} attention`,
    `  tokens/s     ${f(Math.round(p.tokensPerSecond))} at ${p.grid.clockMHz} MHz (Taalas HC1 published: 17,000 tokens/s for Llama 3.1 8B)`,
    `  MACs/token   ${f(p.macsPerToken)}`,
    `  KV cache     ${gib(p.kvCacheBytes)} int8 for ${f(p.context)} positions; SRAM ${gib(p.sramBytesPerChip)} per chip x ${p.chips} = ${gib(p.sramBytesPerChip * p.chips)}${p.kvCacheBytes > p.sramBytesPerChip * p.chips ? '  (DOES NOT FIT)' : ''}`,
    '  per matrix   name        in x out        x count  lanes  steps',
    ...p.matrices.map((m) => `               ${m.name.padEnd(10)} ${`${m.inF} x ${m.outF}`.padEnd(16)} ${String(m.count).padStart(5)}  ${String(m.lanes).padStart(5)}  ${String(m.steps).padStart(5)}`),
    '  assumptions',
    ...p.assumptions.map((a) => `   - ${a}`),
  ];
  const ch = p.chip;
  if (ch.caps && ch.maskBits) {
    const k = ch.caps;
    lines.push(
      `  base die     engine of this grid (the same base/ for every model that fits): ${k.buffer}-element buffers, ${k.heads} heads of up to ${k.headDim}, ${k.layers} layers x ${f(k.context)} positions of KV cache (${k.kvRowInt8} int8 per row), vocabulary ${f(k.vocab)}, ${k.instrs}-word microcode`,
      `  mask A       ${f(ch.maskBits.weights)} bits (${bytes(ch.maskBits.weights / 8)}): weight ROM bits, embedding table, lookup tables, RoPE table`,
      `  mask B       ${f(ch.maskBits.routing)} bits (${bytes(ch.maskBits.routing / 8)}): microcode, per-lane requant words and biases, head table, configuration word`,
    );
  } else lines.push(`  base die     no engine on this grid: ${ch.noEngine}`);
  if (typeof p.rtl === 'string') lines.push(`  single-chip RTL: not buildable on this grid: ${p.rtl}`);
  else {
    const r = p.rtl;
    lines.push(
      `  single-chip RTL (what 'gen-rtl MODEL --prompt' builds; Verilator measures exactly these cycles)`,
      `    ROM words    ${f(r.romWords)} of ${p.grid.romDepth} per cell (all ${p.grid.lanes} lanes on every matrix), ${r.instructions} instructions per token`,
      `    cycles/token ${f(r.cyclesFirst)} at position 0 … ${f(r.cyclesLast)} at position ${f(p.context - 1)} (+${r.perPosition} per position: attention)`,
      `    tokens/s     ${f(Math.round((p.grid.clockMHz * 1e6) / r.cyclesFirst))} … ${f(Math.round((p.grid.clockMHz * 1e6) / r.cyclesLast))} at ${p.grid.clockMHz} MHz`,
    );
  }
  return `${lines.join('\n')}\n`;
}
