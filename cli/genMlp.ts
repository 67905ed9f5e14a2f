// The main job for an MLP checkpoint: load → quantize → generate → lint → co-simulate → synthesize → report.
import { closeSync, existsSync, openSync, readFileSync, readSync, statSync } from 'node:fs';
import { basename, dirname, join, resolve } from 'node:path';
import { openSafetensors, type SafetensorsFile } from '../generators/load/safetensors.ts';
import { recognizeMlp } from '../generators/load/mlp.ts';
import { quantizeInput, quantizeMlp } from '../generators/quantize/mlp.ts';
import type { FloatMlp, QuantizedMlp, WeightBits } from '../generators/model.ts';
import { goldenMlp } from '../verify/golden/mlp.ts';
import { floatMlp } from '../verify/golden/float-mlp.ts';
import { buildMlpRtl, type MlpPlan } from '../generators/mlp/top.ts';
import type { MulStyle } from '../generators/mlp/cells.ts';
import { emitDesign, type EmittedDesign } from '../dsl/verilog.ts';
import { simSpecOf } from '../verify/design.ts';
import { buildSim, renderHarness } from '../verify/verilator.ts';
import { lintVerilog } from '../verify/lint.ts';
import { compileIcarus } from '../verify/icarus.ts';
import { icarusCrossCheck } from '../verify/crossCheck.ts';
import { yosysGateCount, type GateCount } from '../verify/yosys.ts';
import { whichTool } from '../verify/tools.ts';
import { streamMlp, type StreamRun } from '../verify/cosimMlp.ts';
import { OutputStaging } from './output.ts';
import { EXIT, UserError } from '../core/errors.ts';
import { Progress } from './progress.ts';
import { mlpReport, type MlpReport, type SynthRow, type Timing } from './report.ts';
import { createHash } from 'node:crypto';
import { mulberry32 } from '../verify/prng.ts';
import type { FpgaTarget } from '../verify/fpga.ts';
import type { GridSpec } from '../generators/grid/grid.ts';
import { fpgaMarkdown, runFpga, type FpgaReport } from './fpga.ts';
import { writeReplay } from './replay.ts';

export interface GenMlpOptions {
  readonly model: string;
  readonly grid?: string;
  readonly chips?: number;
  readonly out?: string;
  readonly config?: string;
  readonly calib?: string;
  readonly test?: string;
  readonly weightBits: WeightBits;
  readonly vectors: number;
  readonly verify: boolean;
  readonly synth: boolean;
  /** --synth or --no-synth as given (undefined: not given); an engine grid synthesizes only when asked. */
  readonly synthAsked?: boolean;
  /** Also synthesize the naive and memory baselines (two more Yosys runs). */
  readonly baselines?: boolean;
  readonly trace: boolean;
  readonly force: boolean;
  readonly seed: number;
  readonly regEvery: number;
  /** --cmvm: each layer one shared adder graph (generators/cmvm/) instead of per-weight CSD cells. */
  readonly cmvm?: boolean;
  readonly quiet: boolean;
  /** --fpga: the target part, and the folded layout chosen to fit it (grid flow) with the reason. */
  readonly fpga?: FpgaTarget;
  readonly gridSpec?: GridSpec;
  readonly layoutNote?: string;
}

/** Where the output goes by default: rtl-out/<folder of model.safetensors> or rtl-out/<file stem>. */
export function defaultOutDir(model: string): string {
  const stem = basename(model).replace(/\.safetensors(\.index\.json)?$/, '');
  const name = stem === 'model' ? basename(dirname(resolve(model))) : stem;
  return join('rtl-out', name.replace(/[^A-Za-z0-9_.-]/g, '_').replace(/^[.-]/, '_').slice(0, 100) || 'model');
}

/** Every input file a run may read: --out may not be the folder of one of them, nor a parent of it. */
export function inputsOf(o: GenMlpOptions): (string | undefined)[] {
  return [o.model, o.config, o.calib, o.test, o.grid];
}

function mustExist(path: string, what: string): void {
  if (!existsSync(path)) throw new UserError(`${path}: ${what} not found`);
  if (!statSync(path).isFile()) throw new UserError(`${path}: ${what} is not a file`);
}

/** A [N, features] float data set from a safetensors file (tensor `x`, optional labels `y`). */
export const BARE_CALIB_VECTORS = 256;

/** The default calibration set of a bare checkpoint: seeded uniform inputs in [-1, 1] (documented in the warning). */
function bareCalibration(features: number): { x: Float32Array; n: number } {
  let s = 0x9e3779b9;
  const x = Float32Array.from({ length: BARE_CALIB_VECTORS * features }, () => {
    s = (Math.imul(s ^ (s >>> 15), 0x2c1b3c6d) + 0x6d2b79f5) >>> 0;
    return (s / 2 ** 32) * 2 - 1;
  });
  return { x, n: BARE_CALIB_VECTORS };
}

function readDataset(path: string, features: number, what: string): { x: Float32Array; y?: BigInt64Array; n: number } {
  mustExist(path, what);
  const f = openSafetensors(path);
  try {
    const info = f.tensors.get('x');
    if (!info) throw new UserError(`${path}: ${what} needs a tensor 'x' of shape [N, ${features}]; found ${[...f.tensors.keys()].slice(0, 10).join(', ') || 'no tensors'}`);
    if (info.shape.length !== 2 || info.shape[1] !== features) throw new UserError(`${path}: tensor 'x' has shape [${info.shape.join(',')}], expected [N, ${features}]`);
    const x = f.readFloat32('x');
    const bad = x.findIndex((v) => !Number.isFinite(v));
    if (bad >= 0) throw new UserError(`${path}: tensor 'x' has a non-finite value at flat index ${bad}`);
    let y: BigInt64Array | undefined;
    if (f.tensors.has('y')) {
      const yi = f.tensors.get('y')!;
      if (yi.shape.length !== 1 || yi.shape[0] !== info.shape[0]) throw new UserError(`${path}: tensor 'y' has shape [${yi.shape.join(',')}], expected [${info.shape[0]}]`);
      y = f.readBigInt64('y');
    }
    return { x, y, n: info.shape[0] };
  } finally {
    f.close();
  }
}


/** Random full-range activation vectors, led by the corners (all min, all max, zeros, alternating). */
export function randomVectors(n: number, features: number, actBits: number, seed: number): Int32Array[] {
  const lo = -(2 ** (actBits - 1));
  const hi = 2 ** (actBits - 1) - 1;
  const r = mulberry32(seed);
  const out: Int32Array[] = [];
  const corners = [lo, hi, 0];
  for (const c of corners) if (out.length < n) out.push(new Int32Array(features).fill(c));
  if (out.length < n) out.push(Int32Array.from({ length: features }, (_, i) => (i % 2 ? lo : hi)));
  while (out.length < n) out.push(Int32Array.from({ length: features }, () => lo + Math.floor(r() * (hi - lo + 1))));
  return out;
}

function compareRun(q: QuantizedMlp, run: StreamRun, inputs: readonly Int32Array[]): { equal: number; firstMismatch?: string } {
  let equal = 0;
  let firstMismatch: string | undefined;
  inputs.forEach((x, i) => {
    const g = goldenMlp(q, x);
    const o = run.outputs[i];
    if (o && o.cls === g.cls && o.logits.every((l, j) => l === g.logits[j])) equal++;
    else if (!firstMismatch) firstMismatch = `vector ${i}: RTL class ${o?.cls} logits [${o?.logits.join(',')}], golden class ${g.cls} logits [${g.logits.join(',')}]`;
  });
  return { equal, firstMismatch };
}

async function writeEmitted(staging: OutputStaging, dir: string, d: EmittedDesign): Promise<string[]> {
  for (const [name, text] of d.files) await staging.write(`${dir}/${name}`, text);
  return d.order.map((f) => join(staging.dir, dir, f));
}

export interface PreparedModel {
  readonly model: FloatMlp;
  readonly q: QuantizedMlp;
  readonly testInts: Int32Array[];
  readonly accuracy?: MlpReport['accuracy'];
  readonly modelSha256: string;
}

/** The environment variable that raises (or lowers) the spatial flow's layer limit. */
export const MAX_LAYERS_ENV = 'HARDWIRE_MAX_LAYERS';
/**
 * The spatial flow's limit on layers: one pipelined circuit per layer, and the tools' time grows with
 * the chain (measured on 2 cores: 200 layers of 4x4 lint in ~15 s; a 2,000-layer chain spent 32 s
 * generating, ~7 min linting and over 9 min in the Verilator build). Checked before any work.
 */
export const DEFAULT_MAX_LAYERS = 512;

/** The layer limit: $HARDWIRE_MAX_LAYERS (a positive integer) or DEFAULT_MAX_LAYERS. */
export function maxSpatialLayers(env: NodeJS.ProcessEnv = process.env): number {
  const raw = env[MAX_LAYERS_ENV]?.trim();
  if (raw === undefined || raw === '') return DEFAULT_MAX_LAYERS;
  if (!/^[1-9]\d*$/.test(raw)) throw new UserError(`${MAX_LAYERS_ENV}=${JSON.stringify(raw)}: not a positive integer`, EXIT.usage);
  return Number(raw);
}

/** Steps 1 and 2 of every flow: load and recognize the model, quantize it, measure the quantization cost. */
export function prepareModel(o: GenMlpOptions, pr: Progress, opts: { spatial?: boolean } = {}): PreparedModel {
  const modelPath = o.model;
  mustExist(modelPath, 'model file');
  const dir = dirname(modelPath);
  // 1. Load.
  pr.begin(`loading ${modelPath}`);
  const configPath = o.config ?? join(dir, 'config.json');
  let config: unknown;
  if (o.config || existsSync(configPath)) {
    mustExist(configPath, 'config file');
    try {
      config = JSON.parse(readFileSync(configPath, 'utf8'));
    } catch (e) {
      throw new UserError(`${configPath}: not valid JSON (${(e as Error).message.split('\n')[0]})`);
    }
  }
  let file: SafetensorsFile | undefined;
  let model: FloatMlp;
  try {
    file = openSafetensors(modelPath);
    model = recognizeMlp(file, config, configPath);
  } finally {
    file?.close();
  }
  const nIn = model.layers[0].inFeatures;
  const maxLayers = opts.spatial ? maxSpatialLayers() : Infinity;
  if (model.layers.length > maxLayers) {
    throw new UserError(`${modelPath}: ${model.layers.length} layers exceed the spatial flow's limit of ${maxLayers} (lint, Icarus and Verilator build time grow with the chain); split the model into shorter chains, or raise the limit with ${MAX_LAYERS_ENV}=N`);
  }
  const sizes = [nIn, ...model.layers.map((l) => l.outFeatures)];
  const shape = sizes.length <= 16 ? sizes.join(' -> ') : `${sizes.slice(0, 8).join(' -> ')} -> … -> ${sizes.slice(-4).join(' -> ')} (${model.layers.length} layers)`;
  pr.note(`MLP ${shape}, ${model.layers.reduce((s, l) => s + l.weight.length, 0)} weights`);
  const calibPath = o.calib ?? join(dir, 'calib.safetensors');
  // A bare checkpoint: activation scales from a stated default (inputs assumed uniform in [-1, 1]), said
  // in one warning line; the accuracy is then not measured unless test data exists.
  const bare = !o.calib && !existsSync(calibPath);
  if (bare) process.stderr.write(`gen-rtl: warning: ${modelPath}: no calibration data (no ${calibPath}, no --calib): activation scales are calibrated on ${BARE_CALIB_VECTORS} random inputs uniform in [-1, 1]; pass --calib FILE (tensor 'x' [N, ${nIn}]) for your data's ranges\n`);
  const calib = bare ? bareCalibration(nIn) : readDataset(calibPath, nIn, 'calibration data');
  const testPath = o.test ?? join(dir, 'test.safetensors');
  const test = o.test || existsSync(testPath) ? readDataset(testPath, nIn, 'test data') : undefined;

  // 2. Quantize and measure the cost against the float model.
  pr.begin(`quantizing to int${o.weightBits} weights, int8 activations (calibrated on ${calib.n} vectors)`);
  let q: QuantizedMlp;
  try {
    q = quantizeMlp(model, calib.x, { weightBits: o.weightBits });
  } catch (e) {
    // Name the checkpoint in front of the layer the quantizer names.
    if (e instanceof UserError) throw new UserError(`${modelPath}: ${e.message}`, e.code);
    throw e;
  }
  const testInts: Int32Array[] = [];
  let floatCorrect = 0, goldenCorrect = 0, agree = 0;
  if (test) {
    for (let i = 0; i < test.n; i++) {
      const xf = test.x.subarray(i * nIn, (i + 1) * nIn);
      const xi = quantizeInput(xf, q.inputScale);
      testInts.push(xi);
      const f = floatMlp(model, xf).cls;
      const g = goldenMlp(q, xi).cls;
      if (test.y) { floatCorrect += f === Number(test.y[i]) ? 1 : 0; goldenCorrect += g === Number(test.y[i]) ? 1 : 0; }
      agree += f === g ? 1 : 0;
    }
    pr.note(`held-out ${test.n}: float ${test.y ? pct(floatCorrect, test.n) : '-'}, golden ${test.y ? pct(goldenCorrect, test.n) : '-'}, top-1 agreement ${pct(agree, test.n)}`);
  }

  return {
    model, q, testInts,
    accuracy: test ? { n: test.n, labelled: test.y !== undefined, floatCorrect, goldenCorrect, agree } : undefined,
    modelSha256: sha256File(modelPath),
  };
}

export async function genMlp(o: GenMlpOptions): Promise<MlpReport & { fpga?: FpgaReport; timing: Timing }> {
  const t0 = performance.now();
  const timing: Timing = {};
  const verify = o.verify && whichTool('verilator') !== null;
  const steps = 4 + (verify ? 1 : 0) + (o.synth ? 1 : 0) + (o.fpga ? 1 : 0);
  const pr = new Progress(steps, o.quiet);
  const modelPath = o.model;
  const { model, q, testInts, accuracy, modelSha256 } = prepareModel(o, pr, { spatial: true });
  // 3. Generate RTL into a staging folder (moved into place only when everything succeeded).
  pr.begin(o.cmvm ? 'generating RTL (one shared adder graph per layer: CMVM)' : 'generating RTL (hardwired CSD multipliers, pipelined adder trees)');
  const outDir = o.out ?? defaultOutDir(modelPath);
  const staging = await OutputStaging.open(outDir, { force: o.force, inputs: inputsOf(o) });
  try {
    const rtl = buildMlpRtl(q, { regEvery: o.regEvery, style: o.cmvm ? 'cmvm' : 'csd' });
    const design = emitDesign(rtl.top);
    const files = await writeEmitted(staging, 'rtl', design);
    const cm = rtl.layers.filter((l) => l.cmvm).map((l) => l.cmvm!);
    if (cm.length) pr.note(`CMVM: ${cm.reduce((s, c) => s + c.adders, 0)} adders (per-weight CSD ${cm.reduce((s, c) => s + c.csdAdders, 0)}), optimized in ${cm.reduce((s, c) => s + c.optimizeSeconds, 0).toFixed(2)} s`);
    pr.note(`${design.order.length} modules, ${rtl.plan.cells} multiplier cells for ${rtl.plan.weights} weights (${rtl.plan.weights - rtl.plan.nonZeroWeights} zero weights cost nothing), latency ${rtl.plan.latency} cycles`);

    // 4. Lint every file (Verilator -Wall, zero warnings) and compile in Icarus.
    pr.begin('linting: verilator --lint-only -Wall, iverilog -g2005');
    await lintVerilog(files, rtl.top.name);
    await compileIcarus(files, rtl.top.name);
    const spec = simSpecOf(rtl.top, files, { trace: o.trace });
    await staging.write('sim/harness.cpp', await renderHarness({ ...spec, files: spec.files.map((f) => basename(f)) }));

    // 5. Yosys, in the background beside the co-simulation (it is single-threaded and the longest step):
    // ours, and with --baselines two designs from the same weights for gates per weight side by side.
    const synthesize = async (): Promise<SynthRow[]> => {
      const styles: MulStyle[] = o.baselines ? [rtl.plan.style, 'naive', 'memory'] : [rtl.plan.style];
      return Promise.all(styles.map(async (style) => {
        let vfiles = files;
        let plan: MlpPlan = rtl.plan;
        if (style !== rtl.plan.style) {
          const b = buildMlpRtl(q, { regEvery: o.regEvery, style });
          plan = b.plan;
          vfiles = await writeEmitted(staging, `baselines/${style}`, emitDesign(b.top));
          await lintVerilog(vfiles, b.top.name);
        }
        // Flattened, as a real flow would, except the memory baseline: its thousands of multipliers are
        // identical and their weights are variables, so flattening gains nothing there and costs minutes.
        const g: GateCount = await yosysGateCount(vfiles, rtl.top.name, { timeoutMs: 3_600_000, flatten: style !== 'memory', depth: style === rtl.plan.style });
        pr.note(`yosys ${style}: ${g.totalGates} gates + ${g.flops} flops = ${((g.totalGates + g.flops) / plan.weights).toFixed(1)} per weight (${g.seconds.toFixed(0)} s)`);
        (timing.yosysSeconds ??= {})[style] = g.seconds;
        return { style, gates: g.totalGates, flops: g.flops, transistors: g.transistors, weights: plan.weights, ...(g.logicDepth !== undefined ? { logicDepth: g.logicDepth } : {}) } as SynthRow;
      }));
    };
    let synthRun: Promise<SynthRow[] | undefined> = Promise.resolve(undefined);
    if (o.synth) {
      pr.begin(o.baselines ? 'synthesizing in Yosys in the background: hardwired vs naive x*CONST vs generic multipliers + weight memory' : 'synthesizing in Yosys in the background (flattened; --baselines adds two comparison designs)');
      synthRun = synthesize();
      synthRun.catch(() => undefined); // awaited below; a co-simulation failure must not leave it unhandled
    }

    // 6. Co-simulate.
    let cosim: MlpReport['cosim'];
    if (verify) {
      pr.begin('co-simulating in Verilator against the golden model');
      const sim = await pr.timed('verilator-build', spec.files, () => buildSim(spec, { onProgress: (m) => pr.note(`verilator: ${m}`) }), (s) => s.cached);
      timing.verilatorBuildSeconds = sim.buildSeconds;
      timing.verilatorCached = sim.cached;
      const rand = randomVectors(o.vectors, q.layers[0].inFeatures, q.actBits, o.seed);
      const base = testInts.length ? testInts : rand.slice(0, Math.min(rand.length, 1000));
      const steady = await streamMlp(sim, rtl.plan, base, q.actBits, { stalls: false, vcd: o.trace ? join(staging.dir, 'waves.vcd') : undefined });
      const steadyCmp = compareRun(q, steady, base);
      pr.note(`${testInts.length ? 'held-out set' : 'vectors'}: ${steadyCmp.equal}/${base.length} equal to golden; latency ${steady.latency} cycles (plan ${rtl.plan.latency}), ${steady.throughputPerCycle.toFixed(3)} results/cycle`);
      const stalled = await streamMlp(sim, rtl.plan, rand, q.actBits, { stalls: true, seed: o.seed + 1 });
      const randCmp = compareRun(q, stalled, rand);
      timing.simCyclesPerSecond = (steady.cycles + stalled.cycles) / (steady.simSeconds + stalled.simSeconds);
      pr.note(`random vectors with random stalls: ${randCmp.equal}/${rand.length} equal; control checks ${stalled.cycles - stalled.controlMismatches}/${stalled.cycles} cycles`);
      // Icarus cross-check of the same stimulus on a prefix (guards against Verilator 5.006 bugs).
      const ic = await icarusCrossCheck(spec, steady.stimulus, steady.raw, 400);
      pr.note(`Icarus cross-check: ${ic.equal}/${ic.cycles} cycles identical to Verilator`);
      await writeReplay(staging, { spec, files: design.order.map((f) => `rtl/${f}`), stimulus: steady.stimulus, outputs: steady.raw, icarusCycles: 400, what: `the ${testInts.length ? 'held-out' : 'random'} vectors of the run` });
      cosim = {
        testEqual: testInts.length ? steadyCmp.equal : undefined,
        testTotal: testInts.length ? testInts.length : undefined,
        randomEqual: randCmp.equal,
        randomTotal: rand.length,
        latencyMeasured: steady.latency,
        throughputMeasured: steady.throughputPerCycle,
        controlMismatches: steady.controlMismatches + stalled.controlMismatches,
        icarusCycles: ic.cycles,
        icarusEqual: ic.equal,
        firstMismatch: steadyCmp.firstMismatch ?? randCmp.firstMismatch,
      };
    }

    // 7. Wait for Yosys.
    if (o.synth && verify) pr.note('waiting for Yosys');
    const synth = await synthRun;

    let fpga: FpgaReport | undefined;
    if (o.fpga) {
      pr.begin(`FPGA flow for ${o.fpga.name}: pin wrapper, ${o.fpga.vendor === 'lattice' ? 'synth_ice40, nextpnr-ice40, icepack' : 'synth_xilinx estimate, Vivado scripts'}`);
      fpga = await runFpga(staging, {
        core: rtl.top, resultPort: 'out_logits', resultBits: rtl.top.ports.find((p) => p.name === 'out_logits')!.width,
        verilog: design.order.map((f) => `rtl/${f}`),
        groups: q.layers.map((l, k) => ({ name: `layer ${k} (${l.inFeatures} -> ${l.outFeatures})`, instances: [`u_core.u_layer${k}`] })),
        cyclesPerInference: 1, latency: rtl.plan.latency, golden: { q, heldOut: testInts, seed: o.seed, verify },
        layout: { kind: 'spatial', note: o.layoutNote },
      }, o.fpga, pr);
      timing.fpgaSeconds = fpga.seconds;
    }

    timing.totalSeconds = (performance.now() - t0) / 1000;
    const report = mlpReport({
      modelPath: basename(modelPath), modelSha256, weightBits: o.weightBits, model, q, plan: rtl.plan,
      accuracy,
      cosim, synth, files: design.order.map((f) => `rtl/${f}`),
    });
    if (fpga) (report.json as MlpReport & { fpga?: FpgaReport }).fpga = fpga;
    await staging.write('report.json', `${JSON.stringify(report.json, null, 2)}\n`);
    await staging.write('report.md', fpga ? `${report.markdown.trimEnd()}\n\n${fpgaMarkdown(fpga)}` : report.markdown);
    await staging.write('timing.json', `${JSON.stringify(timing, null, 2)}\n`);
    if (report.svg) await staging.write('gates.svg', report.svg);
    if (cosim && (cosim.firstMismatch || cosim.controlMismatches || cosim.icarusEqual !== cosim.icarusCycles)) {
      await staging.commit(); // keep the evidence
      throw new UserError(`${outDir}: RTL does not match the golden model: ${cosim.firstMismatch ?? 'control or Icarus mismatch'} (see report.md)`, EXIT.verifyFailed);
    }
    await staging.commit();
    return { ...report.json, fpga, timing };
  } catch (e) {
    await staging.abort();
    throw e;
  }
}

/** SHA-256 of a file, read in 1 MiB pieces (models may be larger than memory). */
function sha256File(path: string): string {
  const h = createHash('sha256');
  const fd = openSync(path, 'r');
  try {
    const buf = Buffer.alloc(1 << 20);
    for (let pos = 0; ; ) {
      const n = readSync(fd, buf, 0, buf.length, pos);
      if (n === 0) break;
      h.update(buf.subarray(0, n));
      pos += n;
    }
  } finally {
    closeSync(fd);
  }
  return h.digest('hex');
}

function pct(k: number, n: number): string {
  return `${((100 * k) / n).toFixed(2)}% (${k}/${n})`;
}
