// A plan for a Llama-architecture model given only its config.json: cells, ROM bits, chips, cycles per token.
import { nonIntegerWriting } from '../load/configJson.ts';
import { EXIT, UserError } from '../../cli/errors.ts';
import { laneLatency } from './base.ts';
import type { GridSpec } from './grid.ts';
import type { LlamaDims } from '../llama-model.ts';
import { buildProgram, cyclesPerToken as rtlCyclesPerToken, shapesOf } from '../llama/schedule.ts';

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
}

/** Same placement rule as the MLP mapper: fewest lanes that hold the matrix at the grid's ROM depth. */
function placeMatrix(g: GridSpec, inF: number, outF: number): { lanes: number; steps: number } {
  const nib = Math.ceil(inF / g.rows);
  const perLane = Math.floor(g.romDepth / nib);
  if (perLane < 1) throw new UserError(`grid '${g.name}': a ${inF}-input matrix needs rows × ROM depth ≥ ${inF} (has ${g.rows} × ${g.romDepth})`, EXIT.badInput);
  const lanes = Math.ceil(outF / perLane);
  return { lanes, steps: nib * Math.ceil(outF / lanes) };
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
  const widest = Math.max(c.hidden, c.intermediate, c.heads * c.headDim);
  const sramBytes = (g.sram.banks * g.sram.words * g.sram.width) / 8;
  const rtl: LlamaRtlSchedule | string =
    prog.romUsed > g.romDepth ? `with every lane on every matrix the model needs ${prog.romUsed.toLocaleString('en-US')} ROM words per cell; the grid has ${g.romDepth} (gen-rtl builds single-chip Llamas only; the numbers above are a projection)`
    : widest > g.maxFeatures ? `buffers of ${g.maxFeatures} features are narrower than the model's ${widest}`
    : kvCacheBytes > sramBytes ? `the KV cache (${kvCacheBytes} bytes) does not fit the grid's SRAM (${sramBytes} bytes): lower --context`
    : { romWords: prog.romUsed, instructions: prog.instrs.length, cyclesFirst: rtlCyclesPerToken(prog, 0), cyclesLast: rtlCyclesPerToken(prog, context - 1), perPosition: rtlCyclesPerToken(prog, 1) - rtlCyclesPerToken(prog, 0) };
  return {
    rtl,
    config: c, grid: g, context, weights, embeddingWeights: c.tied ? 0 : c.vocab * d,
    romBits: weights * g.weightBits, cellsNeeded: Math.ceil(weights / g.romDepth), chips, matrices,
    matmulCycles, attentionCycles, cyclesPerToken, tokensPerSecond: (g.clockMHz * 1e6) / cyclesPerToken,
    macsPerToken: weights + attnMacs, kvCacheBytes, sramBytesPerChip: (g.sram.banks * g.sram.words * g.sram.width) / 8,
    assumptions: [
      `batch 1, one token in flight; every matrix runs after the previous one (the same layer-by-layer schedule the RTL of the MLP flow runs and co-simulates)`,
      `each matrix takes the fewest lanes that hold it at ROM depth ${g.romDepth}: steps = input chunks × output groups; + ${P} cycles lane pipeline + 1 swap per matrix`,
      `weights int${g.weightBits} in ROM cells (embeddings are a table lookup in SRAM/ROM, not cells; ${c.tied ? 'tied' : 'untied'} lm_head counted as a matrix)`,
      `attention (QK^T, AV over ${context} positions) on an attention unit of ${g.rows} MACs/cycle reading the int8 KV cache in SRAM; RMSNorm, RoPE, SiLU, softmax in lookup-table units overlap with matmuls`,
      `chips = lanes needed / lanes per chip (layers split across chips, never within a matrix); chip-to-chip link latency not counted`,
      `clock ${g.clockMHz} MHz as stated by the grid`,
    ],
  };
}

export function formatLlamaPlan(p: LlamaPlan, configPath: string): string {
  const f = (n: number): string => n.toLocaleString('en-US');
  const gib = (b: number): string => `${(b / 2 ** 30).toFixed(2)} GiB`;
  const lines = [
    `plan for ${configPath} on grid '${p.grid.name}' (${p.grid.lanes} lanes x ${p.grid.rows} cells, ROM depth ${p.grid.romDepth}, int${p.grid.weightBits}, ${p.grid.clockMHz} MHz), context ${f(p.context)}`,
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
