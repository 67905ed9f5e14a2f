// gen-rtl command line: parses options with yargs, runs the job, maps errors to one line and an exit code.
import yargs from 'yargs';
import { EXIT, UserError } from '../core/errors.ts';
import { registerCleanup } from '../core/cleanup.ts';
import { genMlp, maxSpatialLayers } from './genMlp.ts';
import { estimatedMHz, GATE_PS, REG_PS } from './report.ts';
import { genGrid } from './genGrid.ts';
import { chooseLayout } from './fpgaFit.ts';
import { fpgaSummary, type FpgaReport } from './fpga.ts';
import { fpgaTarget } from '../verify/fpga.ts';
import type { EngineMlpReport } from './genEngineMlp.ts';
import { genLlama, isLlamaConfig } from './genLlama.ts';
import { resolveModelPath } from '../generators/load/sharded.ts';
import { dirname, join } from 'node:path';
import { loadGrid, planGrid } from '../generators/grid/grid.ts';
import { formatLlamaPlan, parseLlamaConfig, planLlama } from '../generators/grid/llamaPlan.ts';
import { existsSync, readFileSync } from 'node:fs';
import { parseConfigJson } from '../generators/load/configJson.ts';
import type { WeightBits } from '../generators/model.ts';
import { toolMemoryLimit } from '../verify/tools.ts';
import { synthCheckpoint } from './synthCheckpoint.ts';

const EPILOG = `Exit codes: 0 ok, 1 internal error, 2 bad input file, 3 bad usage, 4 verification
failed (lint warning or RTL/golden mismatch), 5 a tool (verilator, iverilog, yosys) is missing
or failed (crashed, timed out, or ran out of memory).

Every tool (verilator, make/g++, iverilog/vvp, yosys, nextpnr) runs under a memory limit:
HARDWIRE_TOOL_MEMORY=8G (or 512M, or off); default three quarters of this machine's memory. The
spatial flow takes at most 512 layers (HARDWIRE_MAX_LAYERS=N raises it): tool time grows
with the chain.

Without --grid/--chips the model is laid out fully spatially (one pipelined circuit, one
result per cycle). With --grid FILE.ts (or --chips N) it is mapped onto a fixed base gate
grid: base/ depends only on the grid, mask-weights/ and mask-routing/ carry the model.

A Llama checkpoint (config.json with model_type "llama" beside the weights, and
tokenizer.json) is hardwired onto a grid (default examples/grids/tiny-llama.ts) with a
sequencer, KV-cache SRAM and LUT units; --prompt TEXT (repeatable) --tokens N make the RTL
write text in Verilator, checked token for token against the integer golden model:
  gen-rtl examples/tiny-llama/model.safetensors --prompt 'This program is ' --tokens 64`;

/** "unknown option --weight-bit (did you mean --weight-bits?)": yargs' camelCase twins dropped, the closest known option suggested. */
export function unknownOptions(names: readonly string[], known: readonly string[]): string {
  const kebab = (n: string): string => n.replace(/[A-Z]/g, (c) => `-${c.toLowerCase()}`);
  const shown = [...new Set(names.map(kebab))].filter((n) => n.length > 0);
  const options = known.filter((k) => !/[A-Z]/.test(k) && k !== '$0');
  const parts = shown.map((n) => {
    const flag = n.length === 1 ? `-${n}` : `--${n}`;
    let best = '', bestD = Infinity;
    for (const k of options) {
      const d = editDistance(n, k);
      if (d < bestD) { bestD = d; best = k; }
    }
    return bestD <= Math.max(2, Math.floor(n.length / 3)) ? `${flag} (did you mean --${best}?)` : flag;
  });
  return `unknown option${parts.length > 1 ? 's' : ''} ${parts.join(', ')}`;
}

function editDistance(a: string, b: string): number {
  const d = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    let prev = d[0];
    d[0] = i;
    for (let j = 1; j <= b.length; j++) {
      const t = d[j];
      d[j] = Math.min(d[j] + 1, d[j - 1] + 1, prev + (a[i - 1] === b[j - 1] ? 0 : 1));
      prev = t;
    }
  }
  return d[b.length];
}

export async function main(argv: string[]): Promise<number> {
  // gen-rtl owns its signals from the start: Ctrl-C while loading or quantizing, before any folder or
  // tool is registered, still exits 130 (143 for SIGTERM) with its one line, not by the signal.
  registerCleanup({ paths: [], groups: [] });
  let code: number = EXIT.ok;
  const parser = yargs(argv)
    .scriptName('gen-rtl')
    .usage('$0 MODEL.safetensors [options]\n\nHardwires a model: quantizes the weights, bakes each into a constant-multiplier cell, emits\nlint-clean Verilog, co-simulates it in Verilator against the integer golden model, and reports.')
    .command(
      'plan',
      'plan a Llama-architecture model from its config.json alone: cells, ROM bits, chips, cycles/token, tokens/s, KV cache',
      (y) => y
        .option('config', { type: 'string', demandOption: true, describe: 'Hugging Face config.json of a Llama model' })
        .option('grid', { type: 'string', describe: 'grid file (TypeScript, export default defineGrid({...})); default: the HC1-class engine die whose KV cache holds --context (examples/grids/hc1.ts up to 1,024, hc1-8k.ts up to 8,192), else examples/grids/hc1-like.ts (lanes only)' })
        .option('context', { type: 'number', default: 8192, describe: 'context length for the KV cache and attention cycles' }),
      async (args) => {
        if (!existsSync(args.config)) throw new UserError(`${args.config}: config file not found`);
        let json: unknown;
        try {
          json = parseConfigJson(readFileSync(args.config, 'utf8'));
        } catch (e) {
          throw new UserError(`${args.config}: not valid JSON (${(e as Error).message.split('\n')[0]})`);
        }
        if (!Number.isInteger(args.context) || args.context < 1) throw new UserError(`--context must be a positive integer, got ${args.context}`, EXIT.usage);
        const grid = args.grid ? await loadGrid(args.grid) : planGrid(args.context);
        process.stdout.write(formatLlamaPlan(planLlama(parseLlamaConfig(json, args.config), grid, args.context), args.config));
      },
    )
    .command(
      'synth-checkpoint <out>',
      'write a seeded synthetic checkpoint (MLP or Llama shape, HF file layout, sharded when large) into folder OUT, streaming',
      (y) => y
        .positional('out', { type: 'string', demandOption: true, describe: 'folder to write config.json and the safetensors into' })
        .option('shape', { choices: ['mlp', 'llama'] as const, default: 'mlp' as const, describe: 'model shape' })
        .option('sizes', { type: 'string', default: '64,64,10', describe: 'MLP: layer sizes, inputs first (e.g. 256,256,10)' })
        .option('weights', { type: 'number', describe: 'Llama: about this many matmul weights (e.g. 1e9); dims follow unless given below' })
        .option('hidden', { type: 'number', describe: 'Llama: hidden_size' })
        .option('intermediate', { type: 'number', describe: 'Llama: intermediate_size' })
        .option('layers', { type: 'number', describe: 'Llama: num_hidden_layers (default: 2 to 8, whichever comes closest to --weights)' })
        .option('heads', { type: 'number', describe: 'Llama: num_attention_heads' })
        .option('kv-heads', { type: 'number', describe: 'Llama: num_key_value_heads' })
        .option('vocab', { type: 'number', describe: 'Llama: vocab_size' })
        .option('dtype', { choices: ['bf16', 'f32'] as const, default: 'bf16' as const, describe: 'stored dtype' })
        .option('seed', { type: 'number', default: 1, describe: 'values are a function of seed, tensor name and index: same seed, same bytes' })
        .option('shard-mb', { type: 'number', describe: 'largest shard in MB (10^6 bytes); default 5000 as transformers writes' })
        .option('force', { alias: 'f', type: 'boolean', default: false, describe: 'write into a non-empty folder' }),
      (args) => {
        const sizes = String(args.sizes).split(',').map((v) => Number(v.trim()));
        const t0 = performance.now();
        const w = synthCheckpoint({
          out: args.out as string, shape: args.shape, sizes, weights: args.weights, dtype: args.dtype === 'f32' ? 'F32' : 'BF16', seed: args.seed, force: args.force,
          shardBytes: args['shard-mb'] !== undefined ? Math.round(args['shard-mb'] * 1e6) : undefined,
          llama: { hidden: args.hidden, intermediate: args.intermediate, layers: args.layers, heads: args.heads, kvHeads: args['kv-heads'], vocab: args.vocab },
        });
        process.stdout.write(`wrote ${w.model}: ${w.description}; ${w.parameters.toLocaleString('en-US')} parameters, ${w.bytes.toLocaleString('en-US')} bytes in ${w.files.length} file(s) (${((performance.now() - t0) / 1000).toFixed(1)} s)\n`);
      },
    )
    .command(
      '$0 <model>',
      'generate, lint, verify and report a model (an MLP, or a Llama with --prompt)',
      (y) => y
        .positional('model', { type: 'string', describe: 'model weights (.safetensors); config.json, calib.safetensors and test.safetensors beside it are used when present', demandOption: true })
        .option('out', { alias: 'o', type: 'string', describe: 'output folder (default rtl-out/<model name>)' })
        .option('config', { type: 'string', describe: 'config.json (layer order, activations); default: beside the model' })
        .option('weight-bits', { alias: 'w', type: 'number', choices: [3, 4, 6, 8], default: 4, describe: "weight precision: signed, symmetric, per output channel (Llama: the grid's, which must match)" })
        .option('calib', { type: 'string', describe: "calibration data: safetensors with tensor 'x' [N, inputs]; default calib.safetensors beside the model" })
        .option('test', { type: 'string', describe: "held-out data: safetensors with 'x' [N, inputs] and labels 'y' [N]; default test.safetensors beside the model" })
        .option('vectors', { type: 'number', default: 10000, describe: 'random full-range vectors co-simulated (spatial flow: with random valid/ready stalls; grid flow: at most 2000, one inference at a time)' })
        .option('verify', { type: 'boolean', default: true, describe: 'co-simulate in Verilator (when installed); --no-verify skips it' })
        .option('synth', { type: 'boolean', describe: 'Yosys gate counts and a clock estimate from the longest path (spatial and grid MLPs: on by default; a Llama or an MLP on an engine grid: off by default, the die takes long to synthesize the first time, then its result is reused from the cache for every model of the grid); --no-synth skips it' })
        .option('baselines', { type: 'boolean', default: false, describe: 'MLP: also synthesize two baselines from the same weights (naive x*CONST, generic multipliers + weight memory) for gates per weight side by side; adds two Yosys runs (minutes)' })
        .option('trace', { type: 'boolean', default: false, describe: 'write waves.vcd of the held-out run (Llama: of the first decoder step)' })
        .option('prompt', { type: 'string', array: true, describe: 'Llama: a prompt the RTL continues; repeat for several' })
        .option('tokens', { alias: 'n', type: 'number', default: 64, describe: 'Llama: new tokens per prompt' })
        .option('context', { type: 'number', describe: 'Llama: KV cache positions built into the chip (default max_position_embeddings)' })
        .option('tokenizer', { type: 'string', describe: 'Llama: tokenizer.json (character vocabulary); default beside the model' })
        .option('eval', { type: 'string', describe: "Llama: held-out token ids ('val_tokens' or 'tokens') for the quantization cost; default reference.safetensors beside the model" })
        .option('force', { alias: 'f', type: 'boolean', default: false, describe: 'replace an existing output folder' })
        .option('grid', { type: 'string', describe: 'map onto a base gate grid described by FILE.ts (examples/grids/); output base/ + mask-weights/ + mask-routing/ + top/' })
        .option('chips', { type: 'number', describe: 'split across at least N chips of the grid (implies the grid flow)' })
        .option('reg-every', { type: 'number', default: 2, describe: 'adder-tree levels between pipeline registers' })
        .option('cmvm', { type: 'boolean', default: false, describe: 'spatial MLP: build each layer as one shared adder graph (common subexpressions across all outputs) instead of one CSD cell per weight' })
        .option('seed', { type: 'number', default: 1, describe: 'seed of the random vectors and stalls' })
        .option('fpga', { type: 'string', describe: `FPGA flow into OUT/fpga/: ice40-hx8k and ice40-up5k run Yosys synth_ice40, nextpnr-ice40 (a UART board wrapper on the board's serial pins, co-simulated over a simulated line; host program bin/board.mjs) and icepack, with LUT/carry/FF/BRAM per layer and fmax; a design too big for the part is folded onto a grid that fits. xc7a100t and xcu250 write a Vivado Tcl project, an out-of-context synthesis script and XDC, with a Yosys synth_xilinx estimate (Vivado is not run)` })
        .option('quiet', { alias: 'q', type: 'boolean', default: false, describe: 'no progress lines' }),
      async (args) => {
        toolMemoryLimit(); // a bad HARDWIRE_TOOL_MEMORY or HARDWIRE_MAX_LAYERS is refused before any work
        maxSpatialLayers();
        // A Hugging Face folder, its model.safetensors.index.json (sharded) or a .safetensors file.
        const model = resolveModelPath(args.model as string);
        const cfgPath = args.config ?? join(dirname(model), 'config.json');
        let cfg: unknown;
        try {
          cfg = existsSync(cfgPath) ? JSON.parse(readFileSync(cfgPath, 'utf8')) : undefined;
        } catch {
          cfg = undefined; // the flow reports the bad JSON with its own message
        }
        if (isLlamaConfig(cfg) || args.prompt !== undefined) {
          const wb = argv.some((a) => a === '-w' || a.startsWith('--weight-bits')) ? (args['weight-bits'] as WeightBits) : undefined;
          printLlamaSummary(await genLlama({
            model, config: args.config, tokenizer: args.tokenizer, calib: args.calib, eval: args.eval, out: args.out, grid: args.grid,
            weightBits: wb, prompts: (args.prompt ?? []).map(String), tokens: args.tokens, context: args.context,
            verify: args.verify, synth: args.synth ?? false, trace: args.trace, force: args.force, quiet: args.quiet,
          }));
          return;
        }
        if (!Number.isInteger(args.vectors) || args.vectors < 1) throw new UserError(`--vectors must be a positive integer, got ${args.vectors}`, EXIT.usage);
        if (!Number.isInteger(args['reg-every']) || args['reg-every'] < 1) throw new UserError(`--reg-every must be a positive integer, got ${args['reg-every']}`, EXIT.usage);
        const target = args.fpga !== undefined ? fpgaTarget(args.fpga) : undefined;
        const opts = {
          fpga: target,
          model, out: args.out, config: args.config, calib: args.calib, test: args.test,
          weightBits: args['weight-bits'] as WeightBits, vectors: args.vectors, verify: args.verify, synth: args.synth ?? !target, synthAsked: args.synth,
          trace: args.trace, force: args.force, seed: args.seed, regEvery: args['reg-every'], cmvm: args.cmvm, quiet: args.quiet, baselines: args.baselines,
          grid: args.grid, chips: args.chips,
        };
        if (args.grid !== undefined || args.chips !== undefined) printGridSummary(await genGrid(opts));
        else if (target?.vendor === 'lattice') {
          // Fit to the part before generating: the spatial design, or the folded grid that fits.
          const choice = chooseLayout(opts, target);
          if (!args.quiet) process.stderr.write(`   0.0s fit: ${choice.note}\n`);
          if (choice.grid) printGridSummary(await genGrid({ ...opts, gridSpec: choice.grid, layoutNote: choice.note }));
          else printSummary(await genMlp({ ...opts, layoutNote: choice.note }));
        } else printSummary(await genMlp(opts));
      },
    )
    .strict()
    .epilog(EPILOG)
    .wrap(Math.min(110, process.stdout.columns || 100))
    .help()
    .alias('h', 'help')
    .version('0.1.0')
    .fail((msg, err) => {
      if (err) throw err;
      // yargs names no argument here: say which one is missing.
      if (/^Not enough non-option arguments/.test(msg)) throw new UserError(argv[0] === 'synth-checkpoint' ? 'synth-checkpoint: missing the OUT folder argument' : 'missing the MODEL.safetensors argument', EXIT.usage);
      const unknown = /^Unknown arguments?: (.*)$/s.exec(msg);
      if (unknown) throw new UserError(unknownOptions(unknown[1].split(/,\s*/), Object.keys((parser as unknown as { getOptions(): { key: Record<string, unknown> } }).getOptions().key)), EXIT.usage);
      throw new UserError(msg, EXIT.usage);
    });
  try {
    await parser.parseAsync();
  } catch (e) {
    if (e instanceof UserError) {
      // One line whatever the source: yargs reports some usage errors over several lines.
      process.stderr.write(`gen-rtl: error: ${e.message.trim().replace(/\s*\n\s*/g, ' ')}\n`);
      if (e.code === EXIT.usage) process.stderr.write(`Run 'gen-rtl --help' for usage.\n`);
      code = e.code;
    } else {
      process.stderr.write(`gen-rtl: internal error (a bug; please report it with this trace):\n${(e as Error).stack ?? String(e)}\n`);
      code = EXIT.internal;
    }
  }
  return code;
}

function printLlamaSummary(r: Awaited<ReturnType<typeof genLlama>>): void {
  const out = [`hardwired ${r.model}: ${r.weights.toLocaleString('en-US')} int${r.weightBits} weights on grid '${r.grid.name}' (${r.grid.lanes}x${r.grid.rows} cells, ROM depth ${r.grid.romDepth}), context ${r.context}`];
  if (r.quantization) {
    const c = r.quantization;
    out.push(`  held-out loss  float ${c.floatLoss.toFixed(4)}, integer ${c.intLoss.toFixed(4)} nats/token; next-token agreement ${(100 * c.agreement).toFixed(2)}% (${c.n} tokens)`);
  }
  r.prompts.forEach((p, i) => {
    out.push(`  prompt ${i + 1}  ${JSON.stringify(p.prompt)}`);
    if (p.rtl !== undefined) out.push(`    RTL     ${JSON.stringify(p.rtl)}`);
    out.push(`    golden  ${JSON.stringify(p.golden)}`);
    if (p.steps !== undefined) out.push(`    ${p.stepsEqual}/${p.steps} steps equal on the planned cycle, KV cache ${p.kvRowsEqual}/${p.kvRows} rows equal`);
  });
  if (r.fullContext) out.push(`  prompt 1 until the context is full: ${r.fullContext.stepsEqual}/${r.fullContext.steps} steps equal, KV cache ${r.fullContext.kvRowsEqual}/${r.fullContext.kvRows} rows equal`);
  const t = r.cyclesVsContext;
  out.push(`  cycles/token  ${t[0].planned} at position 0 … ${t[t.length - 1].planned} at ${t[t.length - 1].position} (plan${r.cyclesMeasuredEqualPlanned ? `; measured = plan on ${r.cyclesMeasuredEqualPlanned.equal}/${r.cyclesMeasuredEqualPlanned.steps} steps` : ''}); ${Math.round(t[0].tokensPerSecond).toLocaleString('en-US')} … ${Math.round(t[t.length - 1].tokensPerSecond).toLocaleString('en-US')} tokens/s at ${r.clock.logicDepth === undefined ? `${r.grid.clockMHz} MHz (the grid's assumed clock, not measured; --synth estimates it)` : `~${r.clock.mhz.toFixed(0)} MHz (estimated; ${Math.round(t[0].tokensPerSecondAssumed).toLocaleString('en-US')} … ${Math.round(t[t.length - 1].tokensPerSecondAssumed).toLocaleString('en-US')} at the grid's assumed ${r.grid.clockMHz} MHz)`}`);
  const [b0, bl] = [t[0], t[t.length - 1]];
  out.push(`  bound         ${b0.bound} at position 0 (${b0.limiter}) … ${bl.bound} at ${bl.position} (${bl.limiter}); cycles / bound ${b0.overBound.toFixed(2)}× … ${bl.overBound.toFixed(2)}×`);
  if (r.icarus) out.push(`  Icarus  ${r.icarus.equal}/${r.icarus.cycles} cycles identical to Verilator`);
  out.push(`  masks   ${Object.entries(r.chip.maskCells).map(([k, n]) => `${k} ${n} cells`).join(', ')} (Yosys, each alone); base/ sha256 ${r.chip.baseSha256.slice(0, 16)}… (the grid's, the same for every model)`);
  if (r.gates) out.push(`  die     ${r.gates.gates.toLocaleString('en-US')} gates + ${r.gates.flops.toLocaleString('en-US')} flops (Yosys, hierarchical generic gates)`);
  if (r.gates?.logicDepth !== undefined) out.push(`  clock   ~${r.clock.mhz.toFixed(0)} MHz estimated: ${r.gates.logicDepth} gate levels x ${GATE_PS} ps + ${REG_PS} ps (stated delay model; the grid file assumes ${r.grid.clockMHz} MHz)`);
  process.stdout.write(`${out.join('\n')}\n`);
}

function printGridSummary(rr: Awaited<ReturnType<typeof genGrid>>): void {
  if ('kind' in rr) { printEngineMlpSummary(rr); return; }
  const r = rr;
  const out = [`${r.model} on grid '${r.grid.name}' (D = ${r.grid.romDepth}): ${r.chips.length} chip(s), ${r.chips.map((c) => `${c.lanesUsed}/${r.grid.lanes} lanes`).join(' + ')}`];
  out.push(`  cycles/inference ${r.latency} predicted${r.cosim ? `, ${r.cosim.latencyMeasured} measured` : ''}; utilization ${(100 * r.utilization).toFixed(2)}% (bound ${r.boundCycles} cycles)`);
  if (r.cosim) out.push(`  RTL == golden  ${r.cosim.testTotal !== undefined ? `${r.cosim.testEqual}/${r.cosim.testTotal} held-out, ` : ''}${r.cosim.randomEqual}/${r.cosim.randomTotal} random, Icarus ${r.cosim.icarusEqual}/${r.cosim.icarusCycles} cycles`);
  if (r.gates) out.push(`  gates ${r.gates.gates} + flops ${r.gates.flops} = ${r.gates.perWeight.toFixed(1)} per weight (masks applied)`);
  if (r.gates?.logicDepth !== undefined) out.push(`  clock     ~${estimatedMHz(r.gates.logicDepth).toFixed(0)} MHz estimated: ${r.gates.logicDepth} gate levels x ${GATE_PS} ps + ${REG_PS} ps (stated delay model; the grid file assumes ${r.grid.clockMHz} MHz)`);
  const fg = (r as { fpga?: FpgaReport }).fpga;
  if (fg) out.push(fpgaSummary(fg));
  process.stdout.write(`${out.join('\n')}\n`);
}

function printEngineMlpSummary(r: EngineMlpReport): void {
  const out = [`${r.model} on the engine of grid '${r.grid.name}': ${r.weights.toLocaleString('en-US')} int${r.weightBits} weights, a ${r.program.instructions}-instruction program, ${r.program.romWordsUsed}/${r.grid.romDepth} ROM words per cell`];
  if (r.accuracy?.labelled) out.push(`  accuracy  float ${((100 * r.accuracy.floatCorrect) / r.accuracy.n).toFixed(2)}%  golden ${((100 * r.accuracy.goldenCorrect) / r.accuracy.n).toFixed(2)}%  (${r.accuracy.n} held out)`);
  out.push(`  cycles/inference ${r.cycles.planned} planned${r.cycles.measured !== undefined ? `, ${r.cycles.measured} measured` : ''}; ${Math.round((r.clock.mhz * 1e6) / r.cycles.planned).toLocaleString('en-US')} inferences/s at ${r.clock.logicDepth === undefined ? `${r.clock.mhz} MHz (the grid's assumed clock, not measured; --synth estimates it)` : `~${r.clock.mhz.toFixed(0)} MHz (estimated: ${r.clock.logicDepth} gate levels x ${GATE_PS} ps + ${REG_PS} ps; the grid file assumes ${r.grid.clockMHz} MHz)`}`);
  if (r.gates) out.push(`  die     ${r.gates.gates.toLocaleString('en-US')} gates + ${r.gates.flops.toLocaleString('en-US')} flops (Yosys, hierarchical generic gates)`);
  if (r.cosim) out.push(`  RTL == golden  ${r.cosim.testTotal !== undefined ? `${r.cosim.testEqual}/${r.cosim.testTotal} held-out, ` : ''}${r.cosim.randomEqual}/${r.cosim.randomTotal} random, Icarus ${r.cosim.icarusEqual}/${r.cosim.icarusCycles} cycles`);
  out.push(`  masks   ${Object.entries(r.chip.maskCells).map(([k, n]) => `${k} ${n} cells`).join(', ')} (Yosys, each alone); base/ sha256 ${r.chip.baseSha256.slice(0, 16)}… (the grid's, the same for every model)`);
  process.stdout.write(`${out.join('\n')}\n`);
}

function printSummary(r: Awaited<ReturnType<typeof genMlp>>): void {
  const out: string[] = [];
  const p = r.plan;
  out.push(`hardwired ${r.model}: ${p.weights} int${r.weightBits} weights -> ${p.cells} constant-multiplier cells`);
  if (r.accuracy?.labelled) {
    const a = r.accuracy;
    out.push(`  accuracy  float ${(100 * a.floatCorrect / a.n).toFixed(2)}%  golden ${(100 * a.goldenCorrect / a.n).toFixed(2)}%  (${a.n} held out)`);
  }
  if (r.cosim) {
    const c = r.cosim;
    if (c.testTotal !== undefined) out.push(`  RTL == golden  ${c.testEqual}/${c.testTotal} held-out, ${c.randomEqual}/${c.randomTotal} random (with stalls), Icarus ${c.icarusEqual}/${c.icarusCycles} cycles`);
    else out.push(`  RTL == golden  ${c.randomEqual}/${c.randomTotal} random (with stalls), Icarus ${c.icarusEqual}/${c.icarusCycles} cycles`);
    out.push(`  latency   ${c.latencyMeasured} cycles measured, ${p.latency} predicted; throughput ${c.throughputMeasured.toFixed(2)}/cycle`);
  } else out.push(`  latency   ${p.latency} cycles predicted (not simulated)`);
  if (r.timing.simCyclesPerSecond) out.push(`  sim speed ${Math.round(r.timing.simCyclesPerSecond).toLocaleString('en-US')} cycles/s in Verilator`);
  if (r.synth) for (const s of r.synth) out.push(`  ${s.style.padEnd(7)} ${((s.gates + s.flops) / s.weights).toFixed(1).padStart(7)} gates+flops/weight  (${s.gates} gates, ${s.flops} flops)`);
  const depth = r.synth?.[0]?.logicDepth; // the first row is the design itself
  if (depth !== undefined && !r.fpga) {
    const mhz = estimatedMHz(depth);
    out.push(`  clock     ~${mhz.toFixed(0)} MHz estimated: ${depth} gate levels x ${GATE_PS} ps + ${REG_PS} ps (stated delay model; --fpga measures a part) -> ${Math.round(mhz * 1e6 * r.plan.throughputPerCycle).toLocaleString('en-US')} inferences/s`);
  }
  if (r.fpga) out.push(fpgaSummary(r.fpga));
  process.stdout.write(`${out.join('\n')}\n`);
}
