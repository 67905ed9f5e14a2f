// An MLP on the engine of a Llama-class grid: the same base/ as any Llama of that grid; the MLP is a
// program (matmul + ReLU/requant per layer, argmax) in mask B and its weights in mask A.
import { basename, join } from 'node:path';
import type { GridSpec } from '../generators/grid/grid.ts';
import { buildEngineDesign, checkFits, mlpNeeds, mlpPersonalization } from '../generators/engine/design.ts';
import { cyclesPerToken } from '../generators/llama/schedule.ts';
import { buildSim, renderHarness } from '../verify/verilator.ts';
import { writeReplay } from './replay.ts';
import { simSpecOf } from '../verify/design.ts';
import { icarusCrossCheck } from '../verify/crossCheck.ts';
import { whichTool } from '../verify/tools.ts';
import { runGrid } from '../verify/cosimGrid.ts';
import { OutputStaging } from './output.ts';
import { EXIT, UserError } from '../core/errors.ts';
import { Progress } from './progress.ts';
import { defaultOutDir, inputsOf, prepareModel, randomVectors, type GenMlpOptions } from './genMlp.ts';
import type { MlpReport } from './report.ts';
import { engineFloorplanSvg } from './engineFloorplan.ts';
import { clockFigure, clockPhrase, clockShort, type ClockFigure } from './report.ts';
import { MASKS, stageAndCheck, synthDie, chipFactsMarkdown, type ChipFacts } from './engineChecks.ts';

export interface EngineMlpReport {
  readonly kind: 'engine-mlp';
  readonly model: string;
  readonly modelSha256: string;
  readonly grid: { name: string; lanes: number; rows: number; romDepth: number; clockMHz: number };
  readonly weights: number;
  readonly weightBits: number;
  readonly program: { instructions: number; romWordsUsed: number; lanePasses: number };
  /** Cycles from accepting an input vector to out_valid: the plan, and Verilator's measurement. */
  readonly cycles: { planned: number; measured?: number };
  readonly accuracy?: MlpReport['accuracy'];
  /** The die in Yosys (with --synth): hierarchical generic gates and the longest path in gate levels. */
  readonly gates?: { gates: number; flops: number; logicDepth?: number };
  /** The clock inferences/s are given at: Yosys' estimate with --synth, else the grid file's assumed clock. */
  readonly clock: ClockFigure;
  readonly cosim?: { testEqual?: number; testTotal?: number; randomEqual: number; randomTotal: number; onTime: number; icarusCycles: number; icarusEqual: number; firstMismatch?: string };
  readonly chip: ChipFacts;
  readonly files: readonly string[];
}

export async function genEngineMlp(o: GenMlpOptions, grid: GridSpec): Promise<EngineMlpReport> {
  const verify = o.verify && whichTool('verilator') !== null;
  const synth = o.synthAsked === true && whichTool('yosys') !== null;
  const pr = new Progress(5 + (verify ? 1 : 0) + (synth ? 1 : 0), o.quiet);
  const prep = prepareModel(o, pr);
  const { q, testInts } = prep;
  checkFits(mlpNeeds(q, grid), grid, o.grid);
  pr.begin(`generating the MLP program and masks for grid '${grid.name}' (the grid's engine: ${grid.lanes} lanes x ${grid.rows} cells, ROM depth ${grid.romDepth})`);
  const d = buildEngineDesign(mlpPersonalization(q, grid), grid);
  const prog = d.pz.prog;
  const planned = cyclesPerToken(prog, 0);
  pr.note(`${prog.instrs.length} instructions; ${prog.romUsed}/${grid.romDepth} ROM words per cell; ${planned} cycles per inference`);
  const outDir = o.out ?? defaultOutDir(o.model);
  const staging = await OutputStaging.open(outDir, { force: o.force, inputs: inputsOf(o) });
  try {
    const { files, chip } = await stageAndCheck(d, staging, pr);
    let cosim: EngineMlpReport['cosim'];
    let measured: number | undefined;
    if (verify) {
      pr.begin('co-simulating in Verilator against the golden model');
      const spec = simSpecOf(d.top, files, { trace: o.trace });
      const sim = await pr.timed('verilator-build', spec.files, () => buildSim(spec, { onProgress: (m) => pr.note(`verilator: ${m}`) }), (s) => s.cached);
      const timing = { grid, latency: planned };
      const held = testInts.length ? await runGrid(sim, timing, q, testInts, { vcd: o.trace ? join(staging.dir, 'waves.vcd') : undefined }) : undefined;
      if (held) pr.note(`held-out: ${held.equal}/${held.total} equal to golden, on the planned cycle ${held.onTime}/${held.total}`);
      const rnd = await runGrid(sim, timing, q, randomVectors(Math.min(o.vectors, 2000), q.layers[0].inFeatures, q.actBits, o.seed));
      pr.note(`random vectors: ${rnd.equal}/${rnd.total} equal, ${rnd.latency} cycles (plan ${planned})`);
      const first = held ?? rnd;
      const ic = await icarusCrossCheck(spec, first.stimulus, first.raw, 3 * (planned + 2) + 1, ['dbg_k', 'dbg_v']);
      pr.note(`Icarus cross-check: ${ic.equal}/${ic.cycles} cycles identical to Verilator`);
      // replay.sh: the first inferences of this run, and the mask check.
      const keep = Math.min(first.stimulus.length, 20 * (planned + 2) + 1);
      await staging.write('sim/harness.cpp', await renderHarness({ ...spec, files: spec.files.map((f) => basename(f)) }));
      await writeReplay(staging, { spec, files: d.order, stimulus: first.stimulus.slice(0, keep), outputs: first.raw.slice(0, keep), icarusCycles: ic.cycles + 1, what: `the first ${held ? 'held-out' : 'random'} vectors of the run`, ignoreInIcarus: ['dbg_k', 'dbg_v'], masks: MASKS });
      measured = first.latency;
      cosim = {
        testEqual: held?.equal, testTotal: held?.total, randomEqual: rnd.equal, randomTotal: rnd.total, onTime: (held?.onTime ?? 0) + rnd.onTime,
        icarusCycles: ic.cycles, icarusEqual: ic.equal, firstMismatch: held?.firstMismatch ?? rnd.firstMismatch,
      };
    }
    let gates: EngineMlpReport['gates'];
    if (synth) {
      const die = await synthDie(files, d.top.name, pr);
      gates = { gates: die.gates, flops: die.flops, logicDepth: die.logicDepth };
    }
    const weights = q.layers.reduce((s, l) => s + l.weight.length, 0);
    const rep: EngineMlpReport = {
      kind: 'engine-mlp', model: basename(o.model), modelSha256: prep.modelSha256,
      grid: { name: grid.name, lanes: grid.lanes, rows: grid.rows, romDepth: grid.romDepth, clockMHz: grid.clockMHz }, weights, weightBits: o.weightBits,
      program: { instructions: prog.instrs.length, romWordsUsed: prog.romUsed, lanePasses: prog.passes }, cycles: { planned, measured },
      gates, clock: clockFigure(grid.clockMHz, gates?.logicDepth),
      accuracy: prep.accuracy, cosim, chip, files: [...d.files.keys()],
    };
    await staging.write('report.json', `${JSON.stringify(rep, null, 2)}\n`);
    await staging.write('report.md', engineMlpMarkdown(rep));
    await staging.write('floorplan.svg', engineFloorplanSvg(d, { kvLayers: 0, context: 0 }));
    await staging.commit();
    if (cosim && (cosim.firstMismatch || cosim.icarusEqual !== cosim.icarusCycles)) {
      throw new UserError(`${outDir}: RTL does not match the golden model: ${cosim.firstMismatch ?? 'Icarus differs from Verilator'} (see report.md)`, EXIT.verifyFailed);
    }
    return rep;
  } catch (e) {
    await staging.abort();
    throw e;
  }
}

function engineMlpMarkdown(r: EngineMlpReport): string {
  const md = [`# ${r.model} on the engine of grid '${r.grid.name}'`, ''];
  md.push(`${r.weights.toLocaleString('en-US')} int${r.weightBits} weights; model sha256 \`${r.modelSha256.slice(0, 16)}…\`. The MLP runs as a ${r.program.instructions}-instruction program (one matmul per layer with bias, requant and ReLU at the lanes, the last layer's accumulators as logits, argmax) on the same base die as the grid's Llamas.`, '');
  if (r.accuracy?.labelled) md.push(`Accuracy on ${r.accuracy.n} held-out samples: float ${((100 * r.accuracy.floatCorrect) / r.accuracy.n).toFixed(2)}%, integer golden ${((100 * r.accuracy.goldenCorrect) / r.accuracy.n).toFixed(2)}%.`, '');
  md.push('| | value |', '|---|---|');
  md.push(`| cycles per inference (plan) | ${r.cycles.planned} |`, `| cycles per inference (Verilator) | ${r.cycles.measured ?? 'not run'} |`);
  md.push(`| clock | ${clockPhrase(r.clock, '`--synth` estimates it from Yosys, once per base die')} |`);
  md.push(`| inferences/s at ${clockShort(r.clock)} | ${Math.round((r.clock.mhz * 1e6) / r.cycles.planned).toLocaleString('en-US')} |`);
  if (r.clock.logicDepth !== undefined) md.push(`| inferences/s at ${r.grid.clockMHz} MHz (the grid file's assumed clock) | ${Math.round((r.grid.clockMHz * 1e6) / r.cycles.planned).toLocaleString('en-US')} |`);
  if (r.gates) md.push(`| the die in Yosys (hierarchical generic gates; the masks add no cell) | ${r.gates.gates.toLocaleString('en-US')} gates + ${r.gates.flops.toLocaleString('en-US')} flops |`);
  md.push(`| ROM words per cell used | ${r.program.romWordsUsed} of ${r.grid.romDepth} |`);
  if (r.cosim) {
    const c = r.cosim;
    if (c.testTotal !== undefined) md.push(`| held-out vectors equal to golden | ${c.testEqual}/${c.testTotal} |`);
    md.push(`| random vectors equal to golden | ${c.randomEqual}/${c.randomTotal} |`, `| results on the planned cycle | ${c.onTime}/${(c.testTotal ?? 0) + c.randomTotal} |`, `| Icarus cycles identical to Verilator | ${c.icarusEqual}/${c.icarusCycles} |`);
  }
  md.push('', ...chipFactsMarkdown(r.chip, r.grid.name, r.grid.romDepth));
  md.push('## Files', '', ...r.files.map((f) => `- \`${f}\``), '');
  return md.join('\n');
}
