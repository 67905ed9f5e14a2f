// Co-simulation of the MLP top: stream vectors through the Verilated RTL with valid/ready, compare with golden.
import type { VerilatedSim } from './verilator.ts';
import type { MlpPlan } from '../generators/mlp/top.ts';
import { toSigned } from '../dsl/ir/types.ts';
import { mulberry32 } from './prng.ts';

export interface Transaction {
  readonly cls: number;
  readonly logits: bigint[];
}

export interface StreamRun {
  /** Output transactions in order (out_valid && out_ready). */
  readonly outputs: Transaction[];
  /** Cycles from the first accepted input to its result appearing. */
  readonly latency: number;
  /** Results per cycle between the first and the last result. */
  readonly throughputPerCycle: number;
  readonly cycles: number;
  /** Cycles where in_ready/out_valid differed from the control model (must be 0). */
  readonly controlMismatches: number;
  readonly simSeconds: number;
  /** The input records and the RTL's output records, cycle by cycle (for cross-checks). */
  readonly stimulus: bigint[][];
  readonly raw: bigint[][];
}


/** Pack int activations (two's complement, feature 0 in the low bits). */
export function packVector(x: ArrayLike<number>, bits: number): bigint {
  let v = 0n;
  const m = (1n << BigInt(bits)) - 1n;
  for (let i = x.length - 1; i >= 0; i--) v = (v << BigInt(bits)) | (BigInt(x[i]) & m);
  return v;
}

/**
 * Drive `inputs` through the design. With stalls, in_valid and out_ready are random; a control model
 * of the stall-all pipeline (latency L, advance = out_ready | !out_valid) decides when an input is taken,
 * and the RTL's in_ready/out_valid are checked against it every cycle.
 */
export async function streamMlp(sim: VerilatedSim, plan: MlpPlan, inputs: readonly ArrayLike<number>[], actBits: number, o: { stalls: boolean; seed?: number; vcd?: string }): Promise<StreamRun> {
  if (inputs.length === 0) throw new Error('streamMlp: no input vectors');
  const name = sim.inputs.map((p) => p.name);
  const idx = (n: string): number => name.indexOf(n);
  const [iRst, iValid, iData, iReady] = ['rst', 'in_valid', 'in_data', 'out_ready'].map(idx);
  const outNames = sim.outputs.map((p) => p.name);
  const [oInReady, oValid, oClass, oLogits] = ['in_ready', 'out_valid', 'out_class', 'out_logits'].map((n) => outNames.indexOf(n));
  const rand = mulberry32(o.seed ?? 1);
  const L = plan.latency;
  const packed = inputs.map((x) => packVector(x, actBits));

  const cycles: bigint[][] = [];
  const expectInReady: boolean[] = [];
  const expectOutValid: boolean[] = [];
  const acceptCycle: number[] = [];
  const mk = (): bigint[] => sim.inputs.map(() => 0n);
  // Reset cycle.
  const r = mk();
  r[iRst] = 1n;
  cycles.push(r);
  expectInReady.push(true);
  expectOutValid.push(false);
  let slots: boolean[] = new Array<boolean>(L).fill(false);
  let k = 0;
  let outstanding = 0;
  while (k < inputs.length || outstanding > 0) {
    const c = mk();
    const outValid = slots[L - 1];
    const inValid = k < inputs.length && (!o.stalls || rand() < 0.7);
    const outReady = !o.stalls || rand() < 0.6;
    const advance = outReady || !outValid;
    c[iValid] = inValid ? 1n : 0n;
    c[iReady] = outReady ? 1n : 0n;
    c[iData] = inValid ? packed[k] : 0n;
    cycles.push(c);
    expectInReady.push(advance);
    expectOutValid.push(outValid);
    if (outValid && outReady) outstanding--;
    if (advance) {
      if (inValid) { acceptCycle.push(cycles.length - 1); k++; outstanding++; }
      slots = [inValid, ...slots.slice(0, L - 1)];
    }
    if (cycles.length > 1000 + inputs.length * (L + 10)) throw new Error('streamMlp: the control model did not drain');
  }
  const t0 = performance.now();
  const got = await sim.run(cycles, { vcd: o.vcd });
  const simSeconds = (performance.now() - t0) / 1000;
  const outputs: Transaction[] = [];
  const outCycles: number[] = [];
  let controlMismatches = 0;
  const lw = plan.logitWidth;
  got.forEach((g, c) => {
    if (c > 0 && ((g[oInReady] === 1n) !== expectInReady[c] || (g[oValid] === 1n) !== expectOutValid[c])) controlMismatches++;
    if (g[oValid] === 1n && cycles[c][iReady] === 1n) {
      const logits: bigint[] = [];
      for (let j = 0; j < plan.classes; j++) logits.push(toSigned((g[oLogits] >> BigInt(j * lw)) & ((1n << BigInt(lw)) - 1n), lw));
      outputs.push({ cls: Number(g[oClass]), logits });
      outCycles.push(c);
    }
  });
  const latency = outCycles.length ? outCycles[0] - acceptCycle[0] : -1;
  const span = outCycles.length ? outCycles[outCycles.length - 1] - outCycles[0] + 1 : 1;
  return { outputs, latency, throughputPerCycle: outputs.length / span, cycles: cycles.length, controlMismatches, simSeconds, stimulus: cycles, raw: got };
}
