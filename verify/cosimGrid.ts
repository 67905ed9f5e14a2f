// Co-simulation of a grid design: one inference at a time, each checked against the golden model at the
// cycle the plan predicts (a result early, late or wrong is a failure).
import type { VerilatedSim } from './verilator.ts';
import type { GridSpec } from '../generators/grid/grid.ts';
import type { QuantizedMlp } from '../generators/model.ts';
import { goldenMlp } from './golden/mlp.ts';
import { packVector } from './cosimMlp.ts';
import { toSigned } from '../dsl/ir/types.ts';

export interface GridRun {
  readonly equal: number;
  readonly total: number;
  /** Cycles from accept to out_valid, measured on the first inference (-1 if none came). */
  readonly latency: number;
  readonly onTime: number;
  readonly firstMismatch?: string;
  readonly cycles: number;
  readonly stimulus: bigint[][];
  readonly raw: bigint[][];
}

/** What the run needs of a design: its grid (for word widths) and the planned cycles per inference. */
export interface GridTiming { readonly grid: GridSpec; readonly latency: number }

export async function runGrid(sim: VerilatedSim, plan: GridTiming, q: QuantizedMlp, inputs: readonly Int32Array[], o: { vcd?: string } = {}): Promise<GridRun> {
  const g = plan.grid;
  const names = sim.inputs.map((p) => p.name);
  const [iRst, iValid, iData, iReady] = ['rst', 'in_valid', 'in_data', 'out_ready'].map((n) => names.indexOf(n));
  const outNames = sim.outputs.map((p) => p.name);
  // The engine's chip names the class port out_token (the same argmax unit picks a Llama's next token).
  const [oInReady, oValid, oData, oClass] = ['in_ready', 'out_valid', 'out_data', outNames.includes('out_class') ? 'out_class' : 'out_token'].map((n) => outNames.indexOf(n));
  const period = plan.latency + 2;
  const cycles: bigint[][] = [];
  const blank = (): bigint[] => names.map(() => 0n);
  const r = blank();
  r[iRst] = 1n;
  cycles.push(r);
  const starts: number[] = [];
  for (const x of inputs) {
    const c = blank();
    c[iValid] = 1n;
    c[iReady] = 1n;
    c[iData] = packVector(x, g.actBits);
    starts.push(cycles.length);
    cycles.push(c);
    for (let k = 1; k < period; k++) { const idle = blank(); idle[iReady] = 1n; cycles.push(idle); }
  }
  const got = await sim.run(cycles, { vcd: o.vcd });
  let equal = 0, onTime = 0, latency = -1;
  let firstMismatch: string | undefined;
  const classes = q.layers[q.layers.length - 1].outFeatures;
  inputs.forEach((x, k) => {
    const s = starts[k];
    if (got[s][oInReady] !== 1n && !firstMismatch) firstMismatch = `vector ${k}: in_ready low when the plan expects the chip idle`;
    let at = -1;
    for (let c = s + 1; c < s + period && c < got.length; c++) if (got[c][oValid] === 1n) { at = c; break; }
    if (k === 0) latency = at < 0 ? -1 : at - s;
    if (at - s === plan.latency) onTime++;
    if (at < 0) { firstMismatch ??= `vector ${k}: no result within ${period} cycles`; return; }
    const gold = goldenMlp(q, x);
    const logits = Array.from({ length: classes }, (_, e) => toSigned((got[at][oData] >> BigInt(e * g.accBits)) & ((1n << BigInt(g.accBits)) - 1n), g.accBits));
    const cls = Number(got[at][oClass]);
    if (cls === gold.cls && logits.every((v, e) => v === gold.logits[e])) equal++;
    else firstMismatch ??= `vector ${k}: RTL class ${cls} logits [${logits.join(',')}], golden class ${gold.cls} logits [${gold.logits.join(',')}]`;
  });
  return { equal, total: inputs.length, latency, onTime, firstMismatch, cycles: cycles.length, stimulus: cycles, raw: got };
}
