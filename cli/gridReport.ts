// report.json and report.md of the grid flow: placement, cycles predicted vs measured, utilization, masks.
import { clockFigure, clockShort, estimatedMHz, GATE_PS, REG_PS } from './report.ts';
import type { QuantizedMlp } from '../generators/model.ts';
import type { GridPlan } from '../generators/grid/map.ts';
import type { MlpReport } from './report.ts';

export interface GridReport {
  readonly model: string;
  readonly modelSha256: string;
  readonly grid: GridPlan['grid'];
  readonly chips: { index: number; final: boolean; latency: number; lanesUsed: number; layers: { layer: number; lanes: number; steps: number; groups: number; inputChunks: number }[] }[];
  readonly latency: number;
  readonly macs: number;
  readonly cells: number;
  readonly utilization: number;
  readonly boundCycles: number;
  readonly romBits: number;
  readonly accuracy?: MlpReport['accuracy'];
  readonly cosim?: { testEqual?: number; testTotal?: number; randomEqual: number; randomTotal: number; latencyMeasured: number; onTime: number; icarusCycles: number; icarusEqual: number; firstMismatch?: string };
  readonly gates?: { gates: number; flops: number; perWeight: number; logicDepth?: number };
  readonly files: readonly string[];
}

export function gridReport(a: { model: string; modelSha256: string; weightBits: number; q: QuantizedMlp; plan: GridPlan; accuracy?: MlpReport['accuracy']; cosim?: GridReport['cosim']; gates?: GridReport['gates']; files: string[] }): { json: GridReport; markdown: string } {
  const p = a.plan;
  const g = p.grid;
  const cells = p.cellsPerChip * p.chips.length;
  const json: GridReport = {
    model: a.model, modelSha256: a.modelSha256, grid: g,
    chips: p.chips.map((c) => ({ index: c.index, final: c.final, latency: c.latency, lanesUsed: c.lanesUsed, layers: c.layers.map((l) => ({ layer: l.layer, lanes: l.lanes, steps: l.steps, groups: l.groups, inputChunks: l.nib })) })),
    latency: p.latency, macs: p.macs, cells, utilization: p.utilization, boundCycles: p.boundCycles,
    romBits: cells * g.romDepth * g.weightBits, accuracy: a.accuracy, cosim: a.cosim, gates: a.gates, files: a.files,
  };
  const md: string[] = [`# hardwire grid report: ${a.model}`, '', `Model sha256 \`${a.modelSha256}\`; int${a.weightBits} weights on grid **${g.name}**: ${g.lanes} lanes × ${g.rows} ROM multiplier cells, ROM depth D = ${g.romDepth}, ${g.accBits}-bit accumulators, clock target ${g.clockMHz} MHz (the grid file's, assumed; \`--fpga\` measures a part).`, ''];
  md.push('## Placement', '', '| chip | layer | lanes | input chunks | output groups | ROM words used (of D) |', '|---:|---:|---:|---:|---:|---:|');
  for (const c of p.chips) for (const l of c.layers) md.push(`| ${c.index} | ${l.layer} | ${l.lane0}–${l.lane0 + l.lanes - 1} (${l.lanes}) | ${l.nib} | ${l.groups} | ${l.steps} / ${g.romDepth} |`);
  md.push('', '![floorplan](floorplan.svg)', '');
  md.push('## Cycles', '', '| | value |', '|---|---:|');
  md.push(`| cycles per inference, predicted by the plan | ${p.latency} |`);
  md.push(`| cycles per inference, measured in Verilator | ${a.cosim ? a.cosim.latencyMeasured : 'not run'} |`);
  md.push(`| MACs per inference | ${p.macs.toLocaleString('en-US')} |`);
  md.push(`| cells (all chips) | ${cells.toLocaleString('en-US')} |`);
  md.push(`| utilization MACs / (cells × cycles) | ${(100 * p.utilization).toFixed(2)}% |`);
  md.push(`| bound ceil(MACs / cells) + lane pipeline (${p.laneLatency}) | ${p.boundCycles} cycles |`);
  const clock = clockFigure(g.clockMHz, a.gates?.logicDepth);
  md.push(`| inferences/s one at a time, at ${clockShort(clock)}${clock.logicDepth !== undefined ? ' (Yosys longest path, see Gates)' : ''} | ${Math.round((clock.mhz * 1e6) / (p.latency + 2)).toLocaleString('en-US')} |`);
  if (clock.logicDepth !== undefined) md.push(`| inferences/s at ${g.clockMHz} MHz (the grid file's assumed clock) | ${Math.round((g.clockMHz * 1e6) / (p.latency + 2)).toLocaleString('en-US')} |`);
  md.push('', 'Execution is layer by layer: each step broadcasts one activation chunk to all lanes and every lane reads one ROM word; a layer ends with a drain of the lane pipeline and a buffer swap. Cycles per chip = Σ (steps + lane pipeline + 1) + 1.', '');
  if (a.accuracy?.labelled) {
    const t = a.accuracy;
    md.push('## Quantization cost', '', `float ${(100 * t.floatCorrect / t.n).toFixed(2)}% vs golden ${(100 * t.goldenCorrect / t.n).toFixed(2)}% on ${t.n} held-out (agreement ${(100 * t.agree / t.n).toFixed(2)}%).`, '');
  }
  if (a.cosim) {
    const c = a.cosim;
    md.push('## Co-simulation (bit for bit: class and logits, at the predicted cycle)', '');
    if (c.testTotal !== undefined) md.push(`- held-out: **${c.testEqual}/${c.testTotal}** equal`);
    md.push(`- random full-range vectors: **${c.randomEqual}/${c.randomTotal}** equal`);
    md.push(`- results on the predicted cycle: ${c.onTime}/${(c.testTotal ?? 0) + c.randomTotal}`);
    md.push(`- Icarus cross-check: ${c.icarusEqual}/${c.icarusCycles} cycles identical to Verilator`);
    if (c.firstMismatch) md.push('', `**MISMATCH**: ${c.firstMismatch}`);
    md.push('');
  }
  if (a.gates) md.push('## Gates (Yosys, masks applied)', '', `${a.gates.gates.toLocaleString('en-US')} gates + ${a.gates.flops.toLocaleString('en-US')} flops = ${a.gates.perWeight.toFixed(1)} per weight.`, '');
  if (a.gates?.logicDepth !== undefined) {
    const mhz = estimatedMHz(a.gates.logicDepth);
    md.push(`Clock estimate: ${mhz.toFixed(0)} MHz from the longest path, ${a.gates.logicDepth} gate levels (Yosys \`ltp -noff\`) × ${GATE_PS} ps + ${REG_PS} ps (stated delay model, not measured; \`--fpga\` measures a part): ${Math.round((mhz * 1e6) / (a.plan.latency + 2)).toLocaleString('en-US')} inferences/s one at a time (the Cycles table's figure), beside the grid file's assumed ${a.plan.grid.clockMHz} MHz.`, '');
  }
  md.push('## Files', '', '- `base/`: depends only on the grid: byte-identical for every model on this grid', '- `mask-weights/`: layer A, the weights (CSD tie-offs at ROM depth 1, one mask ROM per lane at depth > 1)', '- `mask-routing/`: layer B, sequencer microcode, buffers, routing, requant parameters', '- `top/`: the chip top(s) joining base and masks; `top/*.f` lists every file in order', '');
  return { json, markdown: md.join('\n') };
}
