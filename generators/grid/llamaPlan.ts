// A plan for a Llama-architecture model given only its config.json: cells, ROM bits, chips, cycles per token.
import { nonIntegerWriting } from '../load/configJson.ts';
import { EXIT, UserError } from '../../core/errors.ts';
import { laneLatency } from './base.ts';
import type { GridSpec } from './grid.ts';
import type { LlamaDims } from '../llama-model.ts';
import { buildProgram, cyclesByOp, cyclesPerToken as rtlCyclesPerToken, shapesOf, type LlamaProgram } from '../llama/schedule.ts';
import { boundPerToken } from '../engine/bound.ts';
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

/**
 * The stated transistor model of a die (printed with every plan that uses it). ROM and SRAM bits are
 * the usual macro figures; a cell's multiplier and its lane's share of adder tree, accumulator and
 * requant are Yosys `stat -tech cmos` counts of this project's own hw_cell and hw_lane (int4 × int8,
 * 64 cells per lane) on the tiny-llama grid; an attention MAC is an int8 × int8 multiplier with its adder.
 */
export const TRANSISTORS = {
  /** A via-programmed mask ROM bit: one transistor, present or not (decoders shared by the lane's cells, not counted). */
  romBit: 1,
  /** A 6T SRAM bit (KV cache). */
  sramBit: 6,
  /** hw_cell: int4 × int8 multiplier fed by its ROM word (Yosys: 2,116). */
  cellMultiplier: 2116,
  /** hw_lane without its cells, per cell (Yosys: 57,362 for 64 cells: adder tree, accumulator, requant). */
  cellLaneShare: 896,
  /** One attention MAC (int8 × int8 multiply and add), and one element of the vector units (norm, SiLU, RoPE, argmax with their LUT reads). */
  attnMac: 4000,
  vectorElement: 20000,
  /** A die's budget: the HC1's ~53e9 transistors on ~815 mm² of N6. */
  die: 53e9,
} as const;

/** The engine die's own projection: the cycle model the RTL follows (Verilator measures it on dies that fit a simulation). */
export interface EngineProjection {
  /** Cycles per token at the first and the last position of the context, and the average over the context. */
  readonly cyclesFirst: number;
  readonly cyclesLast: number;
  readonly cyclesMean: number;
  /** Cycles at the last position by unit (matmul, attn, norm, ...). */
  readonly byOp: Readonly<Record<string, number>>;
  /** The bound at the last position and what sets it. */
  readonly bound: number;
  readonly limiter: string;
  /** Time to first token of a prompt of `ttftPrompt` tokens (1,024, or the context if shorter): every prompt token is a full decoder step (no pipelined prefill yet). */
  readonly ttftCycles: number;
  readonly ttftPrompt: number;
  readonly transistors: { readonly rom: number; readonly cells: number; readonly sram: number; readonly units: number; readonly total: number; readonly perWeight: number };
  /** Dies of the HC1's budget that hold the transistors (layers split across them, a hop per die boundary). */
  readonly dies: number;
}

function engineProjection(c: LlamaConfig, g: GridSpec, context: number, prog: LlamaProgram, weights: number): EngineProjection {
  let sum = 0;
  let ttft = 0;
  const ttftPrompt = Math.min(1024, context);
  for (let p = 0; p < context; p++) {
    sum += rtlCyclesPerToken(prog, p);
    if (p === ttftPrompt - 1) ttft = sum;
  }
  const cells = g.lanes * g.rows;
  const rom = cells * g.romDepth * g.weightBits * TRANSISTORS.romBit;
  const cellT = cells * (TRANSISTORS.cellMultiplier + TRANSISTORS.cellLaneShare);
  const sram = g.sram.banks * g.sram.words * g.sram.width * TRANSISTORS.sramBit;
  const units = 2 * g.engine.heads * g.engine.headDim * TRANSISTORS.attnMac + g.vector * TRANSISTORS.vectorElement;
  const total = rom + cellT + sram + units;
  const b = boundPerToken(prog, context - 1);
  return {
    cyclesFirst: rtlCyclesPerToken(prog, 0), cyclesLast: rtlCyclesPerToken(prog, context - 1), cyclesMean: sum / context,
    byOp: cyclesByOp(prog, context - 1), bound: b.cycles, limiter: b.limiter, ttftCycles: ttft, ttftPrompt,
    transistors: { rom, cells: cellT, sram, units, total, perWeight: total / weights }, dies: Math.ceil(total / TRANSISTORS.die),
  };
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
  /** When the model fits the grid's engine: the projection by the engine's own cycle model (the headline). */
  readonly engine?: EngineProjection;
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
  const f = (n: number): string => n.toLocaleString('en-US');
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
  const engine = typeof rtl === 'string' ? undefined : engineProjection(c, g, context, prog, weights);
  const engineAssumptions = engine && typeof rtl !== 'string' ? [
    `batch 1, one token in flight; the engine's sequencer runs the ${rtl.instructions}-instruction program with the overlaps base/ has; cycles per instruction as generators/llama/schedule.ts models them, which is what Verilator measures on the dies it simulates (tiny-llama, llama-h48)`,
    `every matmul on all ${g.lanes} lanes: ${f(rtl.romWords)} of ${f(g.romDepth)} ROM words per cell used (Σ ⌈outputs / lanes⌉ × ⌈inputs / rows⌉ over the projections)`,
    `attention over all ${g.engine.heads} heads at once, one K/V row of the SRAM per cycle; weights int${g.weightBits} in ROM cells (embeddings a table in mask ROM; ${c.tied ? 'tied' : 'untied'} lm_head a matrix)`,
    `transistors: the model printed above (TRANSISTORS in generators/grid/llamaPlan.ts); every ROM bit of every cell counts, used or not (a via ROM has a transistor site per bit); the cell's multiplier is int4 × int8 whatever the weight width (an overestimate for int3)`,
    `KV cache: ${kvCacheBytes.toLocaleString('en-US')} bytes int8 at ${context} positions, read once per token`,
    `clock ${g.clockMHz} MHz as stated by the grid`,
  ] : undefined;
  return {
    rtl, chip, ...(engine ? { engine } : {}),
    config: c, grid: g, context, weights, embeddingWeights: c.tied ? 0 : c.vocab * d,
    romBits: weights * g.weightBits, cellsNeeded: Math.ceil(weights / g.romDepth), chips, matrices,
    matmulCycles, attentionCycles, cyclesPerToken, tokensPerSecond: (g.clockMHz * 1e6) / cyclesPerToken,
    macsPerToken: weights + attnMacs, kvCacheBytes, sramBytesPerChip: (g.sram.banks * g.sram.words * g.sram.width) / 8,
    assumptions: engineAssumptions ?? [
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
    ...(p.engine ? engineLines(p, p.engine) : [
      `  chips        ${p.chips} (${f(p.grid.lanes * p.grid.rows)} cells each)`,
      `  cycles/token ${f(p.cyclesPerToken)} = ${f(p.matmulCycles)} matmul + ${f(p.attentionCycles)} attention`,
      `  tokens/s     ${f(Math.round(p.tokensPerSecond))} at ${p.grid.clockMHz} MHz (Taalas HC1 published: 17,000 tokens/s for Llama 3.1 8B)`,
    ]),
    `  MACs/token   ${f(p.macsPerToken)}`,
    `  KV cache     ${gib(p.kvCacheBytes)} int8 for ${f(p.context)} positions; SRAM ${gib(p.sramBytesPerChip)} per chip x ${p.chips} = ${gib(p.sramBytesPerChip * p.chips)}${p.kvCacheBytes > p.sramBytesPerChip * p.chips ? '  (DOES NOT FIT)' : ''}`,
    ...(p.engine ? ['  per matrix (the lanes-per-matrix model, without the engine)'] : []),
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

/** The headline lines of a plan whose model fits the grid's engine: its cycle model, prefill, transistors. */
function engineLines(p: LlamaPlan, e: EngineProjection): string[] {
  const f = (n: number): string => Math.round(n).toLocaleString('en-US');
  const hz = p.grid.clockMHz * 1e6;
  const t = e.transistors;
  const g9 = (n: number): string => `${(n / 1e9).toFixed(2)}e9`;
  const ops = Object.entries(e.byOp).sort((a, b) => b[1] - a[1]).map(([k, v]) => `${k} ${f(v)}`).join(', ');
  return [
    `  engine       every lane on every matrix, the units of base/ (the cycle model the RTL runs; Verilator measures it equal on the dies it simulates)`,
    `  cycles/token ${f(e.cyclesFirst)} at position 0 … ${f(e.cyclesLast)} at ${f(p.context - 1)}, mean ${f(e.cyclesMean)} over the context; at ${f(p.context - 1)}: ${ops}`,
    `  tokens/s     ${f(hz / e.cyclesLast)} at the last position, ${f(hz / e.cyclesMean)} mean over ${f(p.context)} positions, at ${p.grid.clockMHz} MHz (Taalas HC1 published: 17,000 tokens/s for Llama 3.1 8B)`,
    `  bound        ${f(e.bound)} cycles at ${f(p.context - 1)} (${e.limiter}); cycles / bound ${(e.cyclesLast / e.bound).toFixed(2)}×`,
    `  first token  ${f(e.ttftCycles)} cycles = ${(e.ttftCycles / hz * 1e3).toFixed(1)} ms for a ${f(e.ttftPrompt)}-token prompt (each prompt token a full decoder step; pipelined prefill is not built)`,
    `  transistors  ${t.perWeight.toFixed(2)} per weight all-in = ${g9(t.total)}: ROM ${g9(t.rom)} (${TRANSISTORS.romBit} per bit), cells ${g9(t.cells)} (${f(TRANSISTORS.cellMultiplier + TRANSISTORS.cellLaneShare)} per cell, Yosys), KV SRAM ${g9(t.sram)} (${TRANSISTORS.sramBit}T), units ${g9(t.units)}`,
    `  dies         ${e.dies} of the HC1's budget (${g9(TRANSISTORS.die)} transistors, ~815 mm² at N6)${e.dies > 1 ? `; layers split across them: ${e.dies - 1} hop(s) per token, link latency not modelled` : ''}`,
  ];
}
