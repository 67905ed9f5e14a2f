// report.json, report.md and cycles.svg of the Llama flow: what the RTL wrote, how it matched the golden
// model, what quantization cost, and cycles per token (planned and measured) against context length.
import type { LlamaDims } from '../generators/llama-model.ts';
import type { GridSpec } from '../generators/grid/grid.ts';
import { cyclesPerToken, type LlamaProgram } from '../generators/llama/schedule.ts';
import { boundPerToken } from '../generators/engine/bound.ts';
import type { QuantCost } from '../verify/golden/llamaCost.ts';
import type { LlamaCosimResult, PromptRun } from '../verify/cosimLlama.ts';
import { chipFactsMarkdown, type ChipFacts } from './engineChecks.ts';
import { clockFigure, clockPhrase, clockShort, type ClockFigure } from './report.ts';

export interface LlamaReport {
  readonly model: string;
  readonly modelSha256: string;
  readonly dims: LlamaDims;
  readonly weights: number;
  readonly weightBits: number;
  readonly grid: { name: string; lanes: number; rows: number; romDepth: number; clockMHz: number };
  readonly context: number;
  readonly program: { instructions: number; romWordsUsed: number; lanePasses: number; laneLatency: number };
  readonly kvCacheBits: number;
  readonly quantization?: QuantCost & { agreement: number };
  readonly prompts: { prompt: string; rtl?: string; golden: string; float: string; stepsEqual?: number; steps?: number; kvRowsEqual?: number; kvRows?: number }[];
  /** The first prompt continued until the KV cache is full: every position measured. */
  readonly fullContext?: { steps: number; stepsEqual: number; kvRowsEqual: number; kvRows: number; text: string };
  readonly verified: boolean;
  readonly icarus?: { equal: number; cycles: number };
  readonly cyclesByUnitAtPosition0: Record<string, number>;
  /** The clock tokens/s are given at: Yosys' estimate when --synth ran, else the grid file's assumed clock. */
  readonly clock: ClockFigure;
  /** tokensPerSecond at `clock`; tokensPerSecondAssumed at the grid file's clock. */
  readonly cyclesVsContext: { position: number; planned: number; measured?: number; tokensPerSecond: number; tokensPerSecondAssumed: number; bound: number; limiter: string; overBound: number }[];
  readonly cyclesMeasuredEqualPlanned?: { equal: number; steps: number };
  readonly simCycles?: number;
  /** The die in Yosys (hierarchical generic gates; masks are constants, 0 cells), and its longest path in gate levels. */
  readonly gates?: { gates: number; flops: number; logicDepth?: number };
  /** Base/mask split: base/ hash, mask cells (0), mask capacities. */
  readonly chip: ChipFacts;
  readonly files: readonly string[];
}

interface Args {
  model: string; modelSha256: string; dims: LlamaDims; params: number; weightBits: number; grid: GridSpec; context: number;
  prog: LlamaProgram; cost?: QuantCost; prompts: readonly string[]; text: (ids: readonly number[]) => string;
  golden: number[][]; float: number[][]; cosim?: LlamaCosimResult; fullContext?: PromptRun; icarus?: { equal: number; cycles: number };
  gates?: LlamaReport['gates']; kvBits: number; files: string[]; cyclesByOp: Record<string, number>; chip: ChipFacts;
}

/** Positions for the context table: powers of two up to the context, and its last position. */
function tablePositions(context: number): number[] {
  const out: number[] = [];
  for (let n = 1; n < context; n *= 2) out.push(n - 1);
  out.push(context - 1);
  return [...new Set(out)];
}

export function llamaReport(a: Args): { json: LlamaReport; markdown: string; svg: string } {
  const measured = new Map<number, number>();
  let equalCycles = 0, steps = 0;
  for (const r of [...(a.cosim?.runs ?? []), ...(a.fullContext ? [a.fullContext] : [])]) {
    for (const c of r.cycles) {
      steps++;
      if (c.measured === c.planned) equalCycles++;
      measured.set(c.pos, c.measured);
    }
  }
  const mhz = a.grid.clockMHz;
  const clock = clockFigure(mhz, a.gates?.logicDepth);
  const table = tablePositions(a.context).map((p) => {
    const planned = cyclesPerToken(a.prog, p);
    const b = boundPerToken(a.prog, p);
    return { position: p, planned, measured: measured.get(p), tokensPerSecond: (clock.mhz * 1e6) / planned, tokensPerSecondAssumed: (mhz * 1e6) / planned, bound: b.cycles, limiter: b.limiter, overBound: (measured.get(p) ?? planned) / b.cycles };
  });
  const json: LlamaReport = {
    model: a.model, modelSha256: a.modelSha256, dims: a.dims, weights: a.params, weightBits: a.weightBits,
    grid: { name: a.grid.name, lanes: a.grid.lanes, rows: a.grid.rows, romDepth: a.grid.romDepth, clockMHz: mhz },
    context: a.context,
    program: { instructions: a.prog.instrs.length, romWordsUsed: a.prog.romUsed, lanePasses: a.prog.passes, laneLatency: a.prog.laneLatency },
    kvCacheBits: a.kvBits,
    clock,
    quantization: a.cost ? { ...a.cost, agreement: a.cost.agree / a.cost.n } : undefined,
    prompts: a.prompts.map((p, i) => {
      const r = a.cosim?.runs[i];
      return {
        prompt: p, rtl: r ? a.text(r.rtlTokens) : undefined, golden: a.text(a.golden[i]), float: a.text(a.float[i]),
        stepsEqual: r?.stepsEqual, steps: r?.steps, kvRowsEqual: r?.kvRowsEqual, kvRows: r?.kvRows,
      };
    }),
    fullContext: a.fullContext ? { steps: a.fullContext.steps, stepsEqual: a.fullContext.stepsEqual, kvRowsEqual: a.fullContext.kvRowsEqual, kvRows: a.fullContext.kvRows, text: a.text(a.fullContext.rtlTokens) } : undefined,
    verified: a.cosim !== undefined && a.cosim.runs.every((r) => !r.firstMismatch) && !a.fullContext?.firstMismatch,
    icarus: a.icarus,
    cyclesByUnitAtPosition0: a.cyclesByOp,
    cyclesVsContext: table,
    cyclesMeasuredEqualPlanned: a.cosim ? { equal: equalCycles, steps } : undefined,
    simCycles: a.cosim?.simCycles,
    gates: a.gates,
    chip: a.chip,
    files: a.files,
  };

  const md: string[] = [];
  const d = a.dims;
  const q = (s: string): string => '`' + JSON.stringify(s).slice(1, -1).replace(/`/g, "'") + '`';
  md.push(`# ${a.model}: a hardwired Llama`, '');
  md.push(`- Model: ${d.layers} layers, hidden ${d.hidden}, ${d.heads} query / ${d.kvHeads} KV heads of ${d.headDim}, SwiGLU ${d.intermediate}, vocab ${d.vocab}; ${a.params.toLocaleString('en-US')} weights as int${a.weightBits} in ROM cells; sha256 \`${a.modelSha256.slice(0, 16)}…\``);
  md.push(`- Grid '${a.grid.name}': ${a.grid.lanes} lanes x ${a.grid.rows} cells, ROM depth ${a.grid.romDepth} (${a.prog.romUsed} used), clock ${clockPhrase(clock, '`--synth` estimates it from Yosys, once per base die')}; context ${a.context}; KV cache ${a.kvBits.toLocaleString('en-US')} bits of SRAM`);
  md.push(`- Program: ${a.prog.instrs.length} instructions per token, ${a.prog.passes} lane passes, lane latency ${a.prog.laneLatency}`, '');
  if (a.cost) {
    md.push('## What quantization costs (held-out text)', '');
    md.push('| model | loss (nats/token) | next-token agreement with float |', '|---|---|---|');
    md.push(`| float32 | ${a.cost.floatLoss.toFixed(4)} | — |`);
    md.push(`| integer golden (int${a.weightBits} weights, int8 activations) | ${a.cost.intLoss.toFixed(4)} | ${((100 * a.cost.agree) / a.cost.n).toFixed(2)}% |`, '');
    md.push(`${a.cost.n} tokens, windows of ${a.cost.window} from position 0.`, '');
  }
  md.push('## Generated text', '');
  json.prompts.forEach((p, i) => {
    md.push(`### Prompt ${i + 1}: ${q(p.prompt)}`, '');
    if (p.rtl !== undefined) md.push(`- RTL (Verilator): ${q(p.rtl)}`);
    md.push(`- golden (integer): ${q(p.golden)}`, `- float: ${q(p.float)}`);
    if (p.steps !== undefined) md.push(`- ${p.stepsEqual}/${p.steps} decoder steps equal to the golden model on the planned cycle; KV cache ${p.kvRowsEqual}/${p.kvRows} rows equal`);
    md.push('');
  });
  if (a.fullContext) {
    const f = a.fullContext;
    md.push(`### Prompt 1 until the KV cache is full (${a.context} positions)`, '', `- RTL (Verilator): ${q(a.text(f.rtlTokens))}`, `- ${f.stepsEqual}/${f.steps} decoder steps equal to the golden model on the planned cycle; KV cache ${f.kvRowsEqual}/${f.kvRows} rows equal`, '');
  }
  if (a.icarus) md.push(`Icarus cross-check of the first decoder step: ${a.icarus.equal}/${a.icarus.cycles} cycles identical to Verilator.`, '');
  md.push('## Cycles per token against context length', '');
  md.push(`Cycles from accepting a token to presenting the next one. Measured in Verilator where a run reached the position; ${json.cyclesMeasuredEqualPlanned ? `${json.cyclesMeasuredEqualPlanned.equal}/${json.cyclesMeasuredEqualPlanned.steps} measured steps equal the plan.` : 'not simulated.'}`, '');
  const est = clock.logicDepth !== undefined;
  md.push(`| position | planned cycles | measured | tokens/s at ${clockShort(clock)} |${est ? ` at ${mhz} MHz (assumed) |` : ''} bound | limited by | cycles / bound |`, `|---:|---:|---:|---:|${est ? '---:|' : ''}---:|---|---:|`);
  for (const r of table) md.push(`| ${r.position} | ${r.planned} | ${r.measured ?? '—'} | ${Math.round(r.tokensPerSecond).toLocaleString('en-US')} |${est ? ` ${Math.round(r.tokensPerSecondAssumed).toLocaleString('en-US')} |` : ''} ${r.bound} | ${r.limiter} | ${r.overBound.toFixed(2)}× |`);
  const b0 = boundPerToken(a.prog, 0);
  const bl = boundPerToken(a.prog, a.context - 1);
  md.push('', `The bound is what no schedule on this die can beat (batch 1, every unit busy all the time): the largest of the resources' work per token over their rate, plus one pipeline fill (${b0.fill} cycles). Per resource, at position 0 and ${a.context - 1}:`, '');
  md.push('| resource | work at 0 | per cycle | cycles at 0 | cycles at ' + (a.context - 1) + ' |', '|---|---:|---:|---:|---:|');
  for (const [k, w] of Object.entries(b0.work)) md.push(`| ${k} (${w.unit}) | ${w.ops.toLocaleString('en-US')} | ${w.perCycle} | ${b0.terms[k]} | ${bl.terms[k]} |`);
  md.push('', '![cycles per token](cycles.svg)', '');
  md.push('Cycles at position 0 by unit:', '', '| unit | cycles |', '|---|---:|');
  for (const [k, v] of Object.entries(a.cyclesByOp)) md.push(`| ${k} | ${v} |`);
  md.push('', `Attention grows by ${2 * d.heads * d.layers} cycles per position (one cache row per cycle, twice per head); everything else is fixed.`, '');
  md.push(...chipFactsMarkdown(a.chip, a.grid.name, a.grid.romDepth));
  if (a.gates) {
    md.push(`## Yosys`, '', `${a.gates.gates.toLocaleString('en-US')} generic gates + ${a.gates.flops.toLocaleString('en-US')} flops: the die (base/ with both masks; the masks are constants and add no cell), hierarchical synthesis to generic gates, each module mapped once.`);
    if (a.gates.logicDepth !== undefined) md.push('', `Clock: ${clockPhrase(clock)}. The path is taken on the mapped netlist flattened without further optimization, so the masks' constants do not shorten it: it is the base die's path, the same for every model of the grid.`);
    md.push('');
  }
  md.push('## Files', '', ...a.files.map((f) => `- \`${f}\``), '');
  return { json, markdown: md.join('\n'), svg: cyclesSvg(table, a.cosim ? [...measured.entries()] : [], a.context) };
}

/** A line of planned cycles per position, with the measured points on it. */
function cyclesSvg(table: LlamaReport['cyclesVsContext'], measured: [number, number][], context: number): string {
  const W = 560, H = 280, L = 70, B = 46, T = 34, R = 20;
  const maxY = Math.max(...table.map((r) => r.planned)) * 1.05;
  const x = (p: number): number => L + ((W - L - R) * p) / Math.max(1, context - 1);
  const y = (c: number): number => H - B - ((H - B - T) * c) / maxY;
  const line = table.map((r, i) => `${i ? 'L' : 'M'}${x(r.position).toFixed(1)},${y(r.planned).toFixed(1)}`).join(' ');
  const dots = measured.map(([p, c]) => `<circle cx="${x(p).toFixed(1)}" cy="${y(c).toFixed(1)}" r="2.2" fill="#d62728"/>`).join('');
  const yTicks = [0, 0.25, 0.5, 0.75, 1].map((f) => {
    const v = Math.round(maxY * f);
    return `<line x1="${L}" x2="${W - R}" y1="${y(v).toFixed(1)}" y2="${y(v).toFixed(1)}" stroke="#ddd"/><text x="${L - 6}" y="${(y(v) + 4).toFixed(1)}" text-anchor="end" font-size="11">${v}</text>`;
  }).join('');
  const xs = [...new Set([0, Math.round((context - 1) / 4), Math.round((context - 1) / 2), Math.round((3 * (context - 1)) / 4), context - 1])];
  const xTicks = xs.map((p) => `<line x1="${x(p).toFixed(1)}" x2="${x(p).toFixed(1)}" y1="${H - B}" y2="${H - B + 4}" stroke="#333"/><text x="${x(p).toFixed(1)}" y="${H - B + 16}" text-anchor="middle" font-size="11">${p}</text>`).join('');
  return `<svg xmlns="http://www.w3.org/2000/svg" width="${W}" height="${H}" font-family="sans-serif">
<rect width="${W}" height="${H}" fill="white"/>
<text x="${L}" y="16" font-size="13">cycles per token against the position in the context</text>${yTicks}${xTicks}
<line x1="${L}" x2="${W - R}" y1="${H - B}" y2="${H - B}" stroke="#333"/>
<path d="${line}" fill="none" stroke="#1f77b4" stroke-width="2"/>${dots}
<text x="${(L + W - R) / 2}" y="${H - 10}" text-anchor="middle" font-size="12">position (tokens already in the KV cache)</text>
<line x1="${W - R - 190}" x2="${W - R - 170}" y1="${T + 6}" y2="${T + 6}" stroke="#1f77b4" stroke-width="2"/><text x="${W - R - 165}" y="${T + 10}" font-size="11">plan</text>
<circle cx="${W - R - 120}" cy="${T + 6}" r="3" fill="#d62728"/><text x="${W - R - 112}" y="${T + 10}" font-size="11">Verilator</text>
</svg>
`;
}
