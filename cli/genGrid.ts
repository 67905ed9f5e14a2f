// The grid flow: a model on a fixed base gate grid personalized by two mask layers (--grid, --chips).
import { basename, join, resolve } from 'node:path';
import { fpgaMarkdown, runFpga, type FpgaReport } from './fpga.ts';
import { gridFileText } from '../generators/fpga/fit.ts';
import { buildGridDesign } from '../generators/grid/design.ts';
import { DEFAULT_GRID, loadGrid, type GridSpec } from '../generators/grid/grid.ts';
import { buildSim, renderHarness } from '../verify/verilator.ts';
import { writeReplay } from './replay.ts';
import { lintVerilog } from '../verify/lint.ts';
import { compileIcarus } from '../verify/icarus.ts';
import { icarusCrossCheck } from '../verify/crossCheck.ts';
import { yosysGateCount } from '../verify/yosys.ts';
import { whichTool } from '../verify/tools.ts';
import { runGrid } from '../verify/cosimGrid.ts';
import { OutputStaging } from './output.ts';
import { EXIT, UserError } from '../core/errors.ts';
import { Progress } from './progress.ts';
import { defaultOutDir, inputsOf, prepareModel, randomVectors, type GenMlpOptions } from './genMlp.ts';
import { floorplanSvg } from './floorplan.ts';
import { gridReport, type GridReport } from './gridReport.ts';
import { engineProblems } from '../generators/engine/caps.ts';
import { genEngineMlp, type EngineMlpReport } from './genEngineMlp.ts';

export async function genGrid(o: GenMlpOptions): Promise<GridReport | EngineMlpReport> {
  const t0 = performance.now();
  const grid: GridSpec = o.gridSpec ?? (o.grid ? await loadGrid(o.grid) : DEFAULT_GRID);
  // A grid with an engine (sequencer, units, SRAM) runs the MLP as a program on its base die, the same
  // base/ as the grid's Llamas; a bare lane-array grid (no engine) keeps the lane-array flow below.
  if (engineProblems(grid).length === 0 && o.chips === undefined) {
    if (o.fpga) throw new UserError(`--fpga: grid '${grid.name}' carries an engine; the FPGA flow takes the spatial design or a lane-array grid`, EXIT.usage);
    return genEngineMlp(o, grid);
  }
  const verify = o.verify && whichTool('verilator') !== null;
  const pr = new Progress(4 + (verify ? 1 : 0) + (o.synth ? 1 : 0) + (o.fpga ? 1 : 0), o.quiet);
  const prep = prepareModel(o, pr);
  const { q, testInts } = prep;

  pr.begin(`mapping onto grid '${grid.name}' (${grid.lanes} lanes x ${grid.rows} cells, ROM depth ${grid.romDepth}) and generating base + masks`);
  const d = buildGridDesign(q, grid, { chips: o.chips });
  const plan = d.plan;
  plan.chips.forEach((c) => pr.note(`chip ${c.index}: layers ${c.layers.map((l) => `${l.layer} (${l.lanes} lanes, ${l.steps} steps)`).join(', ')}; ${c.latency} cycles`));
  pr.note(`${plan.latency} cycles per inference, utilization ${(100 * plan.utilization).toFixed(2)}% (bound ${plan.boundCycles} cycles)`);
  const staging = await OutputStaging.open(o.out ?? defaultOutDir(o.model), { force: o.force, inputs: inputsOf(o) });
  try {
    for (const [p, text] of d.files) await staging.write(p, text);
    await staging.write('floorplan.svg', floorplanSvg(plan));
    const files = d.order.map((p) => join(staging.dir, p));

    pr.begin('linting: verilator --lint-only -Wall, iverilog -g2005');
    await lintVerilog(files, d.top.name);
    await compileIcarus(files, d.top.name);

    let cosim: GridReport['cosim'];
    const timing: Record<string, number | boolean> = {};
    if (verify) {
      pr.begin('co-simulating in Verilator against the golden model');
      const spec = { top: d.top.name, files, ports: d.top.ports.map((p) => ({ name: p.name, dir: p.dir, width: p.width })), clock: 'clk', trace: o.trace };
      const sim = await pr.timed('verilator-build', spec.files, () => buildSim(spec, { onProgress: (m) => pr.note(`verilator: ${m}`) }), (s) => s.cached);
      timing.verilatorBuildSeconds = sim.buildSeconds;
      const rand = randomVectors(Math.min(o.vectors, 2000), q.layers[0].inFeatures, q.actBits, o.seed);
      const tRun = performance.now();
      const held = testInts.length ? await runGrid(sim, plan, q, testInts, { vcd: o.trace ? join(staging.dir, 'waves.vcd') : undefined }) : undefined;
      if (held) pr.note(`held-out: ${held.equal}/${held.total} equal to golden, on the predicted cycle ${held.onTime}/${held.total}`);
      const rnd = await runGrid(sim, plan, q, rand);
      timing.simCyclesPerSecond = ((held?.cycles ?? 0) + rnd.cycles) / ((performance.now() - tRun) / 1000);
      pr.note(`random vectors${o.vectors > 2000 ? ' (capped at 2000 in the grid flow)' : ''}: ${rnd.equal}/${rnd.total} equal, latency ${rnd.latency} cycles (plan ${plan.latency})`);
      const first = held ?? rnd;
      const ic = await icarusCrossCheck(spec, first.stimulus, first.raw, 3 * (plan.latency + 2) + 1);
      pr.note(`Icarus cross-check: ${ic.equal}/${ic.cycles} cycles identical to Verilator`);
      // replay.sh: the first inferences of the same run (Verilator outputs are deterministic, a prefix is enough).
      const keep = Math.min(first.stimulus.length, 20 * (plan.latency + 2) + 1);
      await staging.write('sim/harness.cpp', await renderHarness({ ...spec, files: spec.files.map((f) => basename(f)) }));
      await writeReplay(staging, { spec, files: d.order, stimulus: first.stimulus.slice(0, keep), outputs: first.raw.slice(0, keep), icarusCycles: ic.cycles + 1, what: `the first ${held ? 'held-out' : 'random'} vectors of the run` });
      cosim = {
        testEqual: held?.equal, testTotal: held?.total, randomEqual: rnd.equal, randomTotal: rnd.total,
        latencyMeasured: first.latency, onTime: (held?.onTime ?? 0) + rnd.onTime, icarusCycles: ic.cycles, icarusEqual: ic.equal,
        firstMismatch: held?.firstMismatch ?? rnd.firstMismatch,
      };
    }
    let gates: GridReport['gates'];
    if (o.synth) {
      pr.begin('synthesizing the personalized chip(s) in Yosys (masks applied: constants propagate into the base)');
      const g = await pr.timed('yosys-flat', files, () => yosysGateCount(files, d.top.name, { timeoutMs: 3_600_000, depth: true }));
      gates = { gates: g.totalGates, flops: g.flops, perWeight: (g.totalGates + g.flops) / q.layers.reduce((s, l) => s + l.weight.length, 0), ...(g.logicDepth !== undefined ? { logicDepth: g.logicDepth } : {}) };
      pr.note(`${g.totalGates} gates + ${g.flops} flops = ${gates.perWeight.toFixed(1)} per weight`);
      timing.yosysSeconds = g.seconds;
    }
    let fpga: FpgaReport | undefined;
    if (o.fpga) {
      pr.begin(`FPGA flow for ${o.fpga.name}: pin wrapper, ${o.fpga.vendor === 'lattice' ? 'synth_ice40, nextpnr-ice40, icepack' : 'synth_xilinx estimate, Vivado scripts'}`);
      if (o.gridSpec) await staging.write('fpga/layout-grid.ts', gridFileText(grid, resolve(import.meta.dirname, '../generators/grid/grid.ts')));
      const where = (ci: number, lane: number) => (plan.chips.length === 1 ? `u_core.u_grid.u_lane${lane}` : `u_core.u_chip${ci}.u_grid.u_lane${lane}`);
      const last = q.layers[q.layers.length - 1];
      fpga = await runFpga(staging, {
        core: d.top, resultPort: 'out_data', resultBits: last.outFeatures * grid.accBits,
        verilog: d.order,
        groups: plan.chips.flatMap((c) => c.layers.map((pl) => ({
          name: `layer ${pl.layer} (${q.layers[pl.layer].inFeatures} -> ${q.layers[pl.layer].outFeatures}; lane${pl.lanes > 1 ? 's' : ''} ${pl.lane0}${pl.lanes > 1 ? `..${pl.lane0 + pl.lanes - 1}` : ''}${plan.chips.length > 1 ? ` of chip ${c.index}` : ''})`,
          instances: Array.from({ length: pl.lanes }, (_, i) => where(c.index, pl.lane0 + i)),
        }))),
        cyclesPerInference: plan.latency, latency: plan.latency, golden: { q, heldOut: testInts, seed: o.seed, verify },
        layout: { kind: 'grid', grid: { name: grid.name, rows: grid.rows, lanes: grid.lanes, romDepth: grid.romDepth, accBits: grid.accBits }, note: o.layoutNote },
      }, o.fpga, pr);
      timing.fpgaSeconds = Object.values(fpga.seconds).reduce((a, b) => a + b, 0);
    }
    timing.totalSeconds = (performance.now() - t0) / 1000;
    const rep = gridReport({ model: basename(o.model), modelSha256: prep.modelSha256, weightBits: o.weightBits, q, plan, accuracy: prep.accuracy, cosim, gates, files: [...d.files.keys()] });
    if (fpga) (rep.json as GridReport & { fpga?: FpgaReport }).fpga = fpga;
    await staging.write('report.json', `${JSON.stringify(rep.json, null, 2)}\n`);
    await staging.write('report.md', fpga ? `${rep.markdown.trimEnd()}\n\n${fpgaMarkdown(fpga)}` : rep.markdown);
    await staging.write('timing.json', `${JSON.stringify(timing, null, 2)}\n`);
    await staging.commit();
    if (cosim && (cosim.firstMismatch || cosim.icarusEqual !== cosim.icarusCycles)) {
      throw new UserError(`${o.out ?? defaultOutDir(o.model)}: RTL does not match the golden model: ${cosim.firstMismatch ?? 'Icarus differs from Verilator'} (see report.md)`, EXIT.verifyFailed);
    }
    return rep.json;
  } catch (e) {
    await staging.abort();
    throw e;
  }
}
