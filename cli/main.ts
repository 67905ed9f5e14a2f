// gen-rtl command line: parses options with yargs, runs the job, maps errors to one line and an exit code.
import yargs from 'yargs';
import { EXIT, UserError } from './errors.ts';
import { genMlp } from './genMlp.ts';
import type { WeightBits } from '../generators/model.ts';

const EPILOG = `Exit codes: 0 ok, 1 internal error, 2 bad input file, 3 bad usage, 4 verification failed
(lint warning or RTL/golden mismatch), 5 a tool (verilator, iverilog, yosys) is missing or failed.

Coming next (see the issues): --grid FILE.ts (base gate grid + two mask layers), --chips N,
'gen-rtl plan --config config.json' (plan a model from its configuration alone), and Llama
checkpoints with --prompt TEXT --tokens N.`;

export async function main(argv: string[]): Promise<number> {
  let code: number = EXIT.ok;
  const parser = yargs(argv)
    .scriptName('gen-rtl')
    .usage('$0 MODEL.safetensors [options]\n\nHardwires a model: quantizes the weights, bakes each into a constant-multiplier cell, emits\nlint-clean Verilog, co-simulates it in Verilator against the integer golden model, and reports.')
    .command(
      '$0 <model>',
      'generate, lint, verify and report a model (an MLP today)',
      (y) => y
        .positional('model', { type: 'string', describe: 'model weights (.safetensors); config.json, calib.safetensors and test.safetensors beside it are used when present', demandOption: true })
        .option('out', { alias: 'o', type: 'string', describe: 'output folder (default rtl-out/<model name>)' })
        .option('config', { type: 'string', describe: 'config.json (layer order, activations); default: beside the model' })
        .option('weight-bits', { alias: 'w', type: 'number', choices: [3, 4, 6, 8], default: 4, describe: 'weight precision: signed, symmetric, per output channel' })
        .option('calib', { type: 'string', describe: "calibration data: safetensors with tensor 'x' [N, inputs]; default calib.safetensors beside the model" })
        .option('test', { type: 'string', describe: "held-out data: safetensors with 'x' [N, inputs] and labels 'y' [N]; default test.safetensors beside the model" })
        .option('vectors', { type: 'number', default: 10000, describe: 'random vectors co-simulated (with random valid/ready stalls)' })
        .option('verify', { type: 'boolean', default: true, describe: 'co-simulate in Verilator (when installed); --no-verify skips it' })
        .option('synth', { type: 'boolean', default: true, describe: 'Yosys gate counts of the design and two baselines; --no-synth skips it' })
        .option('trace', { type: 'boolean', default: false, describe: 'write waves.vcd of the held-out run' })
        .option('force', { alias: 'f', type: 'boolean', default: false, describe: 'replace an existing output folder' })
        .option('reg-every', { type: 'number', default: 2, describe: 'adder-tree levels between pipeline registers' })
        .option('seed', { type: 'number', default: 1, describe: 'seed of the random vectors and stalls' })
        .option('quiet', { alias: 'q', type: 'boolean', default: false, describe: 'no progress lines' }),
      async (args) => {
        if (!Number.isInteger(args.vectors) || args.vectors < 1) throw new UserError(`--vectors must be a positive integer, got ${args.vectors}`, EXIT.usage);
        if (!Number.isInteger(args['reg-every']) || args['reg-every'] < 1) throw new UserError(`--reg-every must be a positive integer, got ${args['reg-every']}`, EXIT.usage);
        const r = await genMlp({
          model: args.model as string, out: args.out, config: args.config, calib: args.calib, test: args.test,
          weightBits: args['weight-bits'] as WeightBits, vectors: args.vectors, verify: args.verify, synth: args.synth,
          trace: args.trace, force: args.force, seed: args.seed, regEvery: args['reg-every'], quiet: args.quiet,
        });
        printSummary(r);
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
  process.stdout.write(`${out.join('\n')}\n`);
}
