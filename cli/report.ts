// report.json, report.md and gates.svg for an MLP run: accuracy, co-simulation, timing, hardware per weight.
import type { FloatMlp, QuantizedMlp } from '../generators/model.ts';
import type { MlpPlan } from '../generators/mlp/top.ts';
import { csd } from '../generators/mlp/csd.ts';

export interface SynthRow {
  readonly style: string;
  readonly gates: number;
  readonly flops: number;
  readonly transistors?: number;
  readonly weights: number;
  /** Longest register-to-register path in generic gates (Yosys ltp -noff), for the clock estimate. */
  readonly logicDepth?: number;
}

/**
 * The stated delay model for a clock estimate from Yosys' longest path when no FPGA flow ran: a generic
 * gate level of an N6/N7-class standard-cell library ~25 ps, plus ~60 ps of flop clock-to-q and setup.
 * An estimate, printed with its model; --fpga measures a real part's fmax with nextpnr.
 */
export const GATE_PS = 25;
export const REG_PS = 60;
export function estimatedMHz(logicDepth: number): number {
  return 1e6 / (logicDepth * GATE_PS + REG_PS);
}

/**
 * The clock a report's throughput uses: Yosys' longest path under the stated delay model when synthesis
 * ran, else the grid file's assumed clock (said so, with how to estimate it).
 */
export interface ClockFigure {
  readonly mhz: number;
  readonly source: 'yosys-longest-path' | 'grid-assumed';
  /** Gate levels of the longest register-to-register path, when estimated. */
  readonly logicDepth?: number;
  /** The grid file's clock, always shown beside an estimate. */
  readonly assumedMHz: number;
}

export function clockFigure(assumedMHz: number, logicDepth?: number): ClockFigure {
  return logicDepth === undefined ? { mhz: assumedMHz, source: 'grid-assumed', assumedMHz } : { mhz: estimatedMHz(logicDepth), source: 'yosys-longest-path', logicDepth, assumedMHz };
}

/** "~178 MHz (estimated: …)" or "250 MHz (the grid file's, assumed; …)", for report lines. */
export function clockPhrase(c: ClockFigure, how = '--synth estimates it from Yosys'): string {
  return c.logicDepth === undefined
    ? `${c.mhz} MHz (the grid file's assumed clock, not measured; ${how})`
    : `~${c.mhz.toFixed(0)} MHz (estimated: longest path ${c.logicDepth} gate levels × ${GATE_PS} ps + ${REG_PS} ps, Yosys \`ltp -noff\` on the synthesized die, stated delay model; the grid file assumes ${c.assumedMHz} MHz)`;
}

/** The clock's figure as a column heading: "~178 MHz (estimate)" or "250 MHz (assumed)". */
export function clockShort(c: ClockFigure): string {
  return c.logicDepth === undefined ? `${c.mhz} MHz (assumed)` : `~${c.mhz.toFixed(0)} MHz (estimate)`;
}

/** Measurements that vary from run to run; kept out of report.md/json so those stay byte-identical. */
export interface Timing {
  simCyclesPerSecond?: number;
  verilatorBuildSeconds?: number;
  verilatorCached?: boolean;
  yosysSeconds?: Record<string, number>;
  fpgaSeconds?: Record<string, number>;
  totalSeconds?: number;
}

export interface MlpReport {
  readonly model: string;
  readonly modelSha256: string;
  readonly weightBits: number;
  readonly layers: readonly { inFeatures: number; outFeatures: number; relu: boolean; zeroWeights: number; csdDigits: number }[];
  readonly plan: MlpPlan;
  readonly accuracy?: { n: number; labelled: boolean; floatCorrect: number; goldenCorrect: number; agree: number };
  readonly cosim?: {
    testEqual?: number; testTotal?: number; randomEqual: number; randomTotal: number;
    latencyMeasured: number; throughputMeasured: number; controlMismatches: number;
    icarusCycles: number; icarusEqual: number;
    firstMismatch?: string;
  };
  readonly synth?: readonly SynthRow[];
  readonly files: readonly string[];
}

const STYLE_LABEL: Record<string, string> = {
  csd: 'hardwired CSD shift-and-add (hardwire)',
  naive: 'naive `x * CONST`, left to Yosys',
  memory: 'generic multipliers + weight memory (flops)',
};

export function mlpReport(a: {
  modelPath: string; modelSha256: string; weightBits: number; model: FloatMlp; q: QuantizedMlp; plan: MlpPlan;
  accuracy?: MlpReport['accuracy']; cosim?: MlpReport['cosim']; synth?: SynthRow[]; files: string[];
}): { json: MlpReport; markdown: string; svg?: string } {
  const layers = a.q.layers.map((l) => ({
    inFeatures: l.inFeatures, outFeatures: l.outFeatures, relu: l.relu,
    zeroWeights: l.weight.reduce((n, w) => n + (w === 0 ? 1 : 0), 0),
    csdDigits: l.weight.reduce((n, w) => n + csd(BigInt(w)).length, 0),
  }));
  const json: MlpReport = { model: a.modelPath, modelSha256: a.modelSha256, weightBits: a.weightBits, layers, plan: a.plan, accuracy: a.accuracy, cosim: a.cosim, synth: a.synth, files: a.files };
  const md: string[] = [];
  const p = a.plan;
  md.push(`# hardwire report: ${a.modelPath}`, '', `Model file sha256 \`${a.modelSha256}\`.`, '');
  md.push(`MLP ${[a.q.layers[0].inFeatures, ...a.q.layers.map((l) => l.outFeatures)].join(' → ')}, int${a.weightBits} weights (symmetric, per output channel), int${a.q.actBits} activations, every weight a hardwired constant multiplier.`, '');
  md.push('## Layers', '', '| layer | shape | weights | zero (no cell) | CSD adder terms | requant |', '|---|---|---:|---:|---:|---|');
  layers.forEach((l, k) => md.push(`| ${k} | ${l.inFeatures} → ${l.outFeatures} | ${l.inFeatures * l.outFeatures} | ${l.zeroWeights} | ${l.csdDigits} | ${k === layers.length - 1 ? 'none (logits → argmax)' : `M·acc >> S, sat8${l.relu ? ', ReLU' : ''}`} |`));
  md.push('');
  if (a.accuracy) {
    const t = a.accuracy;
    md.push('## Quantization cost (held-out set)', '', '| model | accuracy |', '|---|---:|');
    if (t.labelled) {
      md.push(`| float (TypeScript reference of the checkpoint) | ${pc(t.floatCorrect, t.n)} |`);
      md.push(`| golden integer model (= the RTL) | ${pc(t.goldenCorrect, t.n)} |`);
    }
    md.push(`| top-1 agreement float vs golden | ${pc(t.agree, t.n)} |`, '');
  } else md.push('## Quantization cost', '', 'Not measured: no test data (test.safetensors beside the model, or --test FILE).', '');
  const ours = a.synth?.[0]; // the design itself (baselines follow)
  md.push('## Timing', '', '| | predicted by the generator | measured in Verilator |', '|---|---:|---:|');
  md.push(`| latency (cycles per inference) | ${p.latency} | ${a.cosim ? a.cosim.latencyMeasured : 'not run'} |`);
  md.push(`| throughput (results per cycle) | ${p.throughputPerCycle} | ${a.cosim ? a.cosim.throughputMeasured.toFixed(3) : 'not run'} |`);
  if (ours?.logicDepth !== undefined) {
    const mhz = estimatedMHz(ours.logicDepth);
    md.push(`| clock (estimate) | ${mhz.toFixed(0)} MHz: longest path ${ours.logicDepth} gate levels (Yosys \`ltp -noff\`) × ${GATE_PS} ps + ${REG_PS} ps register overhead (stated delay model, N6/N7-class cells; not measured — \`--fpga\` measures a part) | |`);
    md.push(`| inferences/s at that clock | ${Math.round(mhz * 1e6 * p.throughputPerCycle).toLocaleString('en-US')} | |`);
  }
  md.push('', `Pipeline: input register 1 + layers ${p.layerLatency.join(' + ')} + argmax ${p.argmaxLatency} = ${p.latency} register stages; one inference enters per cycle (stall-all valid/ready).`, '');
  if (a.cosim) {
    const c = a.cosim;
    md.push('## Co-simulation (RTL vs golden model, bit for bit: class and every logit)', '');
    if (c.testTotal !== undefined) md.push(`- held-out set: **${c.testEqual}/${c.testTotal}** equal`);
    md.push(`- random full-range vectors with random valid/ready stalls: **${c.randomEqual}/${c.randomTotal}** equal`);
    md.push(`- handshake (in_ready, out_valid) equal to the control model on every cycle: ${c.controlMismatches === 0 ? 'yes' : `no, ${c.controlMismatches} cycles differ`}`);
    md.push(`- Icarus cross-check of the same stimulus: ${c.icarusEqual}/${c.icarusCycles} cycles identical to Verilator`);
    md.push('- simulation speed and build times: `timing.json` (they vary from run to run, so they are kept out of this file)');
    if (c.firstMismatch) md.push('', `**MISMATCH**: ${c.firstMismatch}`);
    md.push('');
  }
  let svg: string | undefined;
  if (a.synth && a.synth.length) {
    md.push('## Hardware per weight (Yosys `synth -flatten; abc -g AND,NAND,OR,NOR,XOR,XNOR,ANDNOT,ORNOT,MUX`)', '');
    md.push('Same weights, same pipeline, same run; only the multipliers differ. The hardwired and naive designs are synthesized flattened; the memory baseline hierarchically (its multipliers are identical and take variable weights, so flattening would only cost time).', '');
    md.push('| implementation | gates | flops | gates / weight | (gates + flops) / weight | vs hardwired |', '|---|---:|---:|---:|---:|---:|');
    const base = a.synth[0].gates + a.synth[0].flops;
    for (const r of a.synth) {
      md.push(`| ${STYLE_LABEL[r.style] ?? r.style} | ${r.gates.toLocaleString('en-US')} | ${r.flops.toLocaleString('en-US')} | ${(r.gates / r.weights).toFixed(1)} | ${((r.gates + r.flops) / r.weights).toFixed(1)} | ${((r.gates + r.flops) / base).toFixed(2)}× |`);
    }
    md.push('', '![gates per weight](gates.svg)', '');
    svg = barChart(a.synth.map((r) => ({ label: r.style, value: (r.gates + r.flops) / r.weights })), '(gates + flops) per weight');
  }
  md.push('## Files', '', ...a.files.map((f) => `- \`${f}\``), '');
  md.push('By hand: `verilator --lint-only -Wall -F rtl/mlp_top.f` (`-F`: paths relative to the list); `cd rtl && iverilog -g2005 -c mlp_top.f`; the co-simulation harness is `sim/harness.cpp` (binary records on stdin/stdout: inputs rst, in_valid, in_data, out_ready; outputs in_ready, out_valid, out_class, out_logits, each ceil(width/8) bytes little-endian): `verilator --cc --exe --build -Wall --top-module mlp_top -F rtl/mlp_top.f sim/harness.cpp`. All of it at once: `bash replay.sh [--no-synth]` reruns lint, the Icarus testbench `sim/hardwire_icarus_tb.v` on the run\'s vectors (`sim/in_*.hex`, expected `sim/icarus_expected.hex`), the Verilator harness on `sim/vectors.bin` (expected `sim/expected.bin`) and Yosys (`synth.ys`, the files listed in it).', '');
  return { json, markdown: md.join('\n'), svg };
}

function pc(k: number, n: number): string {
  return `${((100 * k) / n).toFixed(2)}% (${k}/${n})`;
}

function barChart(rows: { label: string; value: number }[], title: string): string {
  const W = 520, rowH = 34, left = 90, top = 36;
  const max = Math.max(...rows.map((r) => r.value), 1);
  const H = top + rows.length * rowH + 16;
  const bars = rows.map((r, i) => {
    const w = ((W - left - 80) * r.value) / max;
    const y = top + i * rowH;
    return `  <text x="${left - 8}" y="${y + 18}" text-anchor="end">${r.label}</text>\n  <rect x="${left}" y="${y + 4}" width="${w.toFixed(1)}" height="20" fill="${i === 0 ? '#2a7' : '#999'}"/>\n  <text x="${(left + w + 6).toFixed(1)}" y="${y + 18}">${r.value.toFixed(1)}</text>`;
  });
  return `<svg xmlns="http://www.w3.org/2000/svg" width="${W}" height="${H}" font-family="sans-serif" font-size="13">\n  <text x="${left}" y="20" font-weight="bold">${title}</text>\n${bars.join('\n')}\n</svg>\n`;
}
