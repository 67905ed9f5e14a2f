// The Llama job: load → quantize (and measure what it costs) → plan → generate base + masks → lint →
// co-simulate generation in Verilator (the RTL writes its own text) → report.
import { parseConfigJson } from '../generators/load/configJson.ts';
import { existsSync, readFileSync, statSync } from 'node:fs';
import { basename, dirname, join } from 'node:path';
import { createHash } from 'node:crypto';
import { withSafetensors, type SafetensorsFile } from '../generators/load/safetensors.ts';
import { openWeights } from '../generators/load/sharded.ts';
import { readGenerationConfig, recognizeLlama } from '../generators/load/llama.ts';
import { readTokenizer } from '../generators/load/tokenizer.ts';
import type { FloatLlama } from '../generators/llama-model.ts';
import type { WeightBits } from '../generators/model.ts';
import { quantizeLlama } from '../generators/quantize/llama.ts';
import { loadGrid, TINY_LLAMA_GRID, type GridSpec } from '../generators/grid/grid.ts';
import { buildLlamaDesign, checkLlamaFits, checkLlamaShape, kvCacheBits } from '../generators/llama/design.ts';
import { buildProgram, cyclesByOp, cyclesPerToken, shapesOf } from '../generators/llama/schedule.ts';
import { generateGreedy } from '../verify/golden/float-llama.ts';
import { generateInt } from '../verify/golden/llama.ts';
import { quantCost, type QuantCost } from '../verify/golden/llamaCost.ts';
import { cosimLlama, type LlamaCosimResult, type PromptRun } from '../verify/cosimLlama.ts';
import { simSpecOf } from '../verify/design.ts';
import { buildSim, renderHarness } from '../verify/verilator.ts';
import { icarusCrossCheck } from '../verify/crossCheck.ts';
import { whichTool } from '../verify/tools.ts';
import { OutputStaging } from './output.ts';
import { EXIT, UserError } from '../core/errors.ts';
import { Progress } from './progress.ts';
import { defaultOutDir } from './genMlp.ts';
import { llamaReport, type LlamaReport } from './llamaReport.ts';
import { engineFloorplanSvg } from './engineFloorplan.ts';
import { writeReplay } from './replay.ts';
import { MASKS, stageAndCheck, synthDie } from './engineChecks.ts';

export interface GenLlamaOptions {
  readonly model: string;
  readonly config?: string;
  readonly tokenizer?: string;
  readonly calib?: string;
  readonly eval?: string;
  readonly out?: string;
  readonly grid?: string;
  readonly weightBits?: WeightBits;
  readonly prompts: readonly string[];
  readonly tokens: number;
  readonly context?: number;
  readonly verify: boolean;
  readonly synth: boolean;
  readonly trace: boolean;
  readonly force: boolean;
  readonly quiet: boolean;
}

/** True when the config beside (or given for) a model says it is a Llama. */
export function isLlamaConfig(config: unknown): boolean {
  if (config === null || typeof config !== 'object') return false;
  const c = config as Record<string, unknown>;
  return c.model_type === 'llama' || (Array.isArray(c.architectures) && c.architectures.includes('LlamaForCausalLM'));
}

function mustExist(path: string, what: string): void {
  if (!existsSync(path)) throw new UserError(`${path}: ${what} not found`);
  if (!statSync(path).isFile()) throw new UserError(`${path}: ${what} is not a file`);
}

function readJson(path: string, what: string): unknown {
  mustExist(path, what);
  try {
    return parseConfigJson(readFileSync(path, 'utf8')); // keeps how numbers were written (64.0 is not an integer field)
  } catch (e) {
    throw new UserError(`${path}: not valid JSON (${(e as Error).message.split('\n')[0]})`);
  }
}

/** A 1-D integer token tensor (`names` tried in order) of a safetensors file, each id checked against the vocabulary. */
function readTokens(path: string, names: readonly string[], vocab: number, what: string): { tokens: number[]; name: string; meta: Record<string, string> } {
  mustExist(path, what);
  return withSafetensors(path, (f) => {
    const name = names.find((n) => f.tensors.has(n));
    if (!name) throw new UserError(`${path}: ${what} needs a 1-D integer tensor ${names.map((n) => `'${n}'`).join(' or ')}; found ${[...f.tensors.keys()].slice(0, 8).join(', ') || 'no tensors'}`);
    const info = f.tensors.get(name)!;
    if (info.shape.length !== 1 || info.shape[0] < 2) throw new UserError(`${path}: tensor '${name}' has shape [${info.shape.join(',')}], expected [N] with N >= 2`);
    if (!['I64', 'I32', 'I16', 'U8', 'U16', 'U32'].includes(info.dtype)) throw new UserError(`${path}: tensor '${name}' is ${info.dtype}, expected integer token ids (I64, I32, ...)`);
    const raw = Array.from(f.readBigInt64(name), Number);
    const bad = raw.findIndex((t) => !Number.isInteger(t) || t < 0 || t >= vocab);
    if (bad >= 0) throw new UserError(`${path}: tensor '${name}' holds token ${raw[bad]} at index ${bad}, outside the vocabulary of ${vocab}`);
    return { tokens: raw, name, meta: { ...f.metadata } };
  });
}

function sha256File(path: string): string {
  return createHash('sha256').update(readFileSync(path)).digest('hex');
}

export async function genLlama(o: GenLlamaOptions): Promise<LlamaReport> {
  const t0 = performance.now();
  const timing: Record<string, number> = {};
  const verify = o.verify && whichTool('verilator') !== null;
  const pr = new Progress(6 + (verify ? 1 : 0) + (o.synth ? 1 : 0), o.quiet);
  if (o.prompts.length === 0) throw new UserError(`${o.model}: a Llama checkpoint needs at least one --prompt TEXT (repeat --prompt for more)`, EXIT.usage);
  if (!Number.isInteger(o.tokens) || o.tokens < 1) throw new UserError(`--tokens must be a positive integer, got ${o.tokens}`, EXIT.usage);
  mustExist(o.model, 'model file');
  const dir = dirname(o.model);

  // 1. Load.
  pr.begin(`loading ${o.model}`);
  const configPath = o.config ?? join(dir, 'config.json');
  const config = readJson(configPath, 'config file');
  let file: SafetensorsFile | undefined;
  let model: FloatLlama;
  try {
    file = openWeights(o.model);
    model = recognizeLlama(file, config, configPath);
  } finally {
    file?.close();
  }
  // generation_config.json beside the model: its bos/eos are the ones transformers' generate() uses.
  const genPath = join(dir, 'generation_config.json');
  if (existsSync(genPath)) {
    const gen = readGenerationConfig(readJson(genPath, 'generation config'), genPath, model.dims.vocab);
    model = { ...model, dims: { ...model.dims, ...gen } };
  }
  const d = model.dims;
  const tokPath = o.tokenizer ?? join(dir, 'tokenizer.json');
  mustExist(tokPath, 'tokenizer file');
  const tok = readTokenizer(tokPath);
  if (tok.vocabSize !== d.vocab) throw new UserError(`${tokPath}: ${tok.vocabSize} tokens, but ${configPath} says vocab_size ${d.vocab}`);
  const prompts = o.prompts.map((p, i) => {
    if (p.length === 0) throw new UserError(`--prompt number ${i + 1} is empty`, EXIT.usage);
    // As Hugging Face's Llama tokenizers do: bos (generation_config.json's or config.json's bos_token_id) before the text.
    return [...(d.bos !== undefined ? [d.bos] : []), ...tok.encode(p)];
  });
  const grid: GridSpec = o.grid ? await loadGrid(o.grid) : TINY_LLAMA_GRID;
  const context = o.context ?? d.maxPositions;
  if (!Number.isInteger(context) || context < 2 || context > 65536) throw new UserError(`--context must be an integer in [2, 65536], got ${context}`, EXIT.usage);
  prompts.forEach((p, i) => {
    if (p.length + o.tokens - 1 > context) throw new UserError(`--prompt number ${i + 1} (${p.length} tokens) plus --tokens ${o.tokens} needs ${p.length + o.tokens - 1} positions; the context is ${context} (--context)`, EXIT.usage);
  });
  // Everything that can be refused without the weights is refused now, before the long work.
  const weightBits = o.weightBits ?? (grid.weightBits as WeightBits);
  checkLlamaShape(d, configPath);
  checkLlamaFits(d, weightBits, grid, buildProgram(shapesOf(d), grid), context, o.grid);
  const outDir = o.out ?? defaultOutDir(o.model);
  const staging = await OutputStaging.open(outDir, { force: o.force, inputs: [o.model, configPath, tokPath, o.calib, o.eval, o.grid] });
  try {
    return await run();
  } catch (e) {
    await staging.abort();
    throw e;
  }

  async function run(): Promise<LlamaReport> {
    const params = model.layers.reduce((s, l) => s + l.qProj.length + l.kProj.length + l.vProj.length + l.oProj.length + l.gateProj.length + l.upProj.length + l.downProj.length, 0) + d.vocab * d.hidden * (d.tied ? 1 : 2);
    pr.note(`Llama: ${d.layers} layers, hidden ${d.hidden}, ${d.heads} query / ${d.kvHeads} KV heads of ${d.headDim}, SwiGLU ${d.intermediate}, vocab ${d.vocab}; ${params.toLocaleString('en-US')} weights`);

    // 2. Quantize; measure the cost on held-out text.
    const calibPath = o.calib ?? join(dir, 'calib.safetensors');
    if (!o.calib && !existsSync(calibPath)) throw new UserError(`${o.model}: no calibration text; pass --calib FILE (safetensors with token ids 'tokens' [N])`, EXIT.usage);
    const calibT = readTokens(calibPath, ['tokens'], d.vocab, 'calibration text');
    // Calibration windows are a property of the calibration file (its 'window' metadata), not of --context.
    const cw = Number(calibT.meta.window) || d.maxPositions;
    const calib: number[][] = [];
    for (let i = 0; i < calibT.tokens.length; i += cw) calib.push(calibT.tokens.slice(i, i + cw));
    pr.begin(`quantizing to int${weightBits} weights, int8 activations, int16 residual (calibrated on ${calibT.tokens.length} tokens)`);
    const q = quantizeLlama(model, { weightBits, calib });
    const evalPath = o.eval ?? join(dir, 'reference.safetensors');
    let cost: QuantCost | undefined;
    if (o.eval || existsSync(evalPath)) {
      const ev = readTokens(evalPath, ['val_tokens', 'tokens'], d.vocab, 'held-out text');
      const window = Math.min(context, d.maxPositions);
      cost = quantCost(model, q, ev.tokens, window);
      pr.note(`held-out ${cost.n} tokens ('${ev.name}'): loss float ${cost.floatLoss.toFixed(4)}, integer ${cost.intLoss.toFixed(4)} nats/token; next-token agreement ${pct(cost.agree, cost.n)}`);
    } else pr.note(`no held-out text (${evalPath} or --eval FILE): quantization cost not measured`);
    timing.quantizeSeconds = (performance.now() - t0) / 1000;

    // 3. Golden and float generation.
    pr.begin(`generating ${o.tokens} tokens per prompt with the golden (integer) and the float model`);
    // Both stop after an eos token (generation_config.json's eos_token_id, else config.json's), as transformers' generate() does.
    const golden = prompts.map((p) => generateInt(q, p, o.tokens, context, d.eos));
    const floatGen = prompts.map((p) => generateGreedy(model, p, o.tokens, d.eos));

    // 4. RTL.
    pr.begin(`generating RTL on grid '${grid.name}' (${grid.lanes} lanes x ${grid.rows} cells, ROM depth ${grid.romDepth}), context ${context}`);
    const design = buildLlamaDesign(q, grid, context);
    const prog = design.program;
    pr.note(`${prog.instrs.length} instructions per token; ${prog.romUsed}/${grid.romDepth} ROM words per cell; ${cyclesPerToken(prog, 0)} cycles at position 0, ${cyclesPerToken(prog, context - 1)} at ${context - 1}`);
    const { files, chip } = await stageAndCheck(design.engine, staging, pr);

    let cosim: LlamaCosimResult | undefined;
    let fullContext: PromptRun | undefined;
    let icarus: { equal: number; cycles: number } | undefined;
    if (verify) {
      pr.begin(`co-simulating in Verilator: ${prompts.length} prompt(s) x ${o.tokens} tokens, the RTL feeding back its own tokens`);
      const spec = simSpecOf(design.top, files);
      const sim = await pr.timed('verilator-build', spec.files, () => buildSim(spec, { onProgress: (m) => pr.note(`verilator: ${m}`) }), (s) => s.cached);
      timing.verilatorBuildSeconds = sim.buildSeconds;
      const head = cyclesPerToken(prog, 0) + 3;
      // Then the first prompt once more, continued until the KV cache is full: every position is measured.
      const fill = context - prompts[0].length + 1;
      const texts = [...prompts.map((prompt, i) => ({ prompt, tokens: golden[i].tokens.length })), ...(fill > o.tokens ? [{ prompt: prompts[0], tokens: fill }] : [])];
      const all = await cosimLlama(sim, q, prog, context, texts, head);
      cosim = { ...all, runs: all.runs.slice(0, prompts.length) };
      fullContext = all.runs.length > prompts.length ? all.runs[prompts.length] : undefined;
      timing.simSeconds = cosim.simSeconds;
      timing.simCyclesPerSecond = cosim.simCycles / cosim.simSeconds;
      cosim.runs.forEach((r, i) => pr.note(`prompt ${i + 1}: ${r.stepsEqual}/${r.steps} steps equal to golden on the planned cycle, KV cache ${r.kvRowsEqual}/${r.kvRows} rows equal`));
      if (fullContext) pr.note(`prompt 1 until the context is full: ${fullContext.stepsEqual}/${fullContext.steps} steps equal, KV cache ${fullContext.kvRowsEqual}/${fullContext.kvRows} rows equal`);
      pr.note(`${cosim.simCycles.toLocaleString('en-US')} cycles in ${cosim.simSeconds.toFixed(1)} s`);
      icarus = await icarusCrossCheck(spec, cosim.head.stimulus, cosim.head.outputs, head, ['dbg_k', 'dbg_v']);
      pr.note(`Icarus cross-check (the first decoder step): ${icarus.equal}/${icarus.cycles} cycles identical to Verilator`);
      // replay.sh: the first decoder step of prompt 1 in Icarus and Verilator, lint, and the mask check.
      await staging.write('sim/harness.cpp', await renderHarness({ ...spec, files: spec.files.map((f) => basename(f)) }));
      await writeReplay(staging, { spec, files: design.order, stimulus: cosim.head.stimulus, outputs: cosim.head.outputs, icarusCycles: head, what: 'the first decoder step of prompt 1', ignoreInIcarus: ['dbg_k', 'dbg_v'], masks: MASKS });
      if (o.trace) {
        const traced = await buildSim({ ...spec, trace: true }, { onProgress: (m) => pr.note(`verilator (trace): ${m}`) });
        await traced.run(cosim.head.stimulus, { vcd: join(staging.dir, 'waves.vcd') });
        pr.note('waves.vcd: the first decoder step of the first prompt');
      }
    }
    let gates: LlamaReport['gates'];
    if (o.synth) {
      const { seconds, ...die } = await synthDie(files, design.top.name, pr);
      gates = die;
      timing.yosysSeconds = seconds;
    }
    timing.totalSeconds = (performance.now() - t0) / 1000;
    const rep = llamaReport({
      model: basename(o.model), modelSha256: sha256File(o.model), dims: d, params, weightBits, grid, context, prog, cost,
      prompts: o.prompts, text: (ids) => tok.decode(ids),
      golden: golden.map((g) => g.tokens), float: floatGen, cosim, fullContext, icarus, gates, kvBits: kvCacheBits(d, context),
      files: [...design.files.keys()], cyclesByOp: cyclesByOp(prog, 0), chip,
    });
    await staging.write('report.json', `${JSON.stringify(rep.json, null, 2)}\n`);
    await staging.write('report.md', rep.markdown);
    await staging.write('cycles.svg', rep.svg);
    await staging.write('floorplan.svg', engineFloorplanSvg(design.engine, { kvLayers: d.layers, context }));
    await staging.write('timing.json', `${JSON.stringify(timing, null, 2)}\n`);
    await staging.commit();
    const bad = [...(cosim?.runs ?? []), ...(fullContext ? [fullContext] : [])].find((r) => r.firstMismatch);
    if (bad) throw new UserError(`${outDir}: RTL does not match the golden model: ${bad.firstMismatch} (see report.md)`, EXIT.verifyFailed);
    if (icarus && icarus.equal !== icarus.cycles) throw new UserError(`${outDir}: Icarus differs from Verilator on ${icarus.cycles - icarus.equal} of ${icarus.cycles} cycles (see report.md)`, EXIT.verifyFailed);
    return rep.json;
  }
}

function pct(a: number, n: number): string {
  return `${((100 * a) / n).toFixed(2)}%`;
}
