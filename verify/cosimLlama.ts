// Co-simulation of the hardwired Llama: prompts in, the RTL writes its own text (its out_token fed back
// through in_feedback), every step's token and cycle count checked against the golden model and the
// plan, and the KV cache SRAM read out through the debug port and compared row for row.

import type { QuantizedLlama } from '../generators/quantize/llama.ts';
import { cyclesPerToken, type LlamaProgram } from '../generators/llama/schedule.ts';
import { IntLlamaRunner } from './golden/llama.ts';
import { simLayout, unpackRecords, type PortSlot, type VerilatedSim } from './verilator.ts';

export interface PromptRun {
  readonly prompt: readonly number[];
  /** Tokens the RTL wrote after the prompt (its own feedback), and the golden model's. */
  readonly rtlTokens: number[];
  readonly goldenTokens: number[];
  /** Steps (prompt and generated) whose next token matched the golden model's / all steps. */
  readonly stepsEqual: number;
  readonly steps: number;
  /** KV cache rows (layer × position, K and V) equal to the golden cache / compared. */
  readonly kvRowsEqual: number;
  readonly kvRows: number;
  /** Per step: position, cycles measured (accept → out_valid) and planned. */
  readonly cycles: { pos: number; measured: number; planned: number }[];
  readonly firstMismatch?: string;
}

export interface LlamaCosimResult {
  readonly runs: PromptRun[];
  readonly simCycles: number;
  readonly simSeconds: number;
  /** The stimulus and outputs of the first prompt's first steps, for the Icarus cross-check. */
  readonly head: { stimulus: bigint[][]; outputs: bigint[][] };
}

/** One text: the prompt, then `tokens` new tokens (the last one is only read out, not fed back). */
export interface LlamaRunSpec {
  readonly prompt: readonly number[];
  readonly tokens: number;
}

const IN_NAMES = ['rst', 'in_valid', 'in_token', 'in_feedback', 'in_restart', 'out_ready', 'dbg_addr'] as const;

/** Runs every text on the verilated llama_top, one after another; `context` is the generated KV depth. */
export async function cosimLlama(sim: VerilatedSim, q: QuantizedLlama, prog: LlamaProgram, context: number, texts: readonly LlamaRunSpec[], headCycles = 0): Promise<LlamaCosimResult> {
  const d = q.dims;
  const names = sim.inputs.map((p) => p.name);
  for (const nm of IN_NAMES) if (!names.includes(nm)) throw new Error(`cosimLlama: the chip top has no input '${nm}'`);
  // The KV cache is addressed {layer, position} with the engine's position bits (the grid's, not the model's).
  const pBits = Math.max(1, Math.ceil(Math.log2(prog.grid.engine.context)));
  const kvw = d.kvHeads * d.headDim;
  // The stimulus is mostly idle cycles: keep only the cycles that drive something, then pack records
  // straight into a buffer (no bigint per cycle: a run is about a million cycles).
  type In = Partial<Record<(typeof IN_NAMES)[number], number>>;
  const events = new Map<number, In>();
  let nCycles = 0;
  const push = (v: In = {}): number => {
    if (Object.keys(v).length) events.set(nCycles, v);
    return nCycles++;
  };
  push({ rst: 1 });
  push({ rst: 1 });
  // Plan the stimulus from the schedule: each token is offered on the cycle the chip becomes ready.
  interface Step { accept: number; pos: number; prompt: number; k: number }
  const steps: Step[] = [];
  const readouts: { prompt: number; start: number; used: number }[] = [];
  texts.forEach(({ prompt: pr, tokens: n }, pi) => {
    const total = pr.length + n - 1;
    if (total > context) throw new Error(`cosimLlama: prompt ${pi} needs ${total} positions, the context is ${context}`);
    for (let k = 0; k < total; k++) {
      const fed = k < pr.length;
      const at = push({ in_valid: 1, in_token: fed ? pr[k] : 0, in_feedback: fed ? 0 : 1, in_restart: k === 0 ? 1 : 0 });
      steps.push({ accept: at, pos: k, prompt: pi, k });
      const wait = cyclesPerToken(prog, k) - 1;
      nCycles += wait;
    }
    push(); // the last step's out_valid cycle
    const start = nCycles;
    for (let l = 0; l < d.layers; l++) for (let t = 0; t < total; t++) push({ dbg_addr: (l << pBits) | t });
    push();
    readouts.push({ prompt: pi, start, used: total });
  });

  const { inSlots, outSlots, inRecordBytes: IB, outRecordBytes: OB } = simLayout(sim.spec);
  const inBuf = Buffer.alloc(nCycles * IB);
  const inSlot = (name: string): PortSlot => inSlots.find((x) => x.name === name)!;
  const ready = inSlot('out_ready');
  for (let c = 0; c < nCycles; c++) inBuf.writeUIntLE(1, c * IB + ready.offset, ready.bytes);
  for (const [c, v] of events) for (const [name, value] of Object.entries(v)) { const sl = inSlot(name); inBuf.writeUIntLE(value, c * IB + sl.offset, sl.bytes); }

  const t0 = performance.now();
  const outBuf = await sim.runRaw(inBuf);
  const simSeconds = (performance.now() - t0) / 1000;
  const outSlot = (name: string): PortSlot => outSlots.find((x) => x.name === name)!;
  const [sReady, sValid, sTok, sDk, sDv] = ['in_ready', 'out_valid', 'out_token', 'dbg_k', 'dbg_v'].map(outSlot);
  const num = (sl: PortSlot, c: number): number => outBuf.readUIntLE(c * OB + sl.offset, sl.bytes);
  const bytesAt = (sl: PortSlot, c: number): Buffer => outBuf.subarray(c * OB + sl.offset, c * OB + sl.offset + sl.bytes);

  const runs: PromptRun[] = texts.map(({ prompt: pr }, pi) => {
    const golden = new IntLlamaRunner(q, context);
    const mine = steps.filter((s) => s.prompt === pi);
    let stepsEqual = 0;
    let firstMismatch: string | undefined;
    const rtlTokens: number[] = [];
    const goldenTokens: number[] = [];
    const cyc: PromptRun['cycles'] = [];
    let fed = 0;
    for (const s of mine) {
      const planned = cyclesPerToken(prog, s.pos);
      const token = s.k < pr.length ? pr[s.k] : fed;
      const g = golden.step(token);
      if (num(sReady, s.accept) !== 1) {
        firstMismatch ??= `prompt ${pi} step ${s.k}: chip not ready when the token was offered (cycle ${s.accept})`;
      }
      // First out_valid after the accept.
      let ov = s.accept + 1;
      while (ov < nCycles && num(sValid, ov) !== 1) ov++;
      const measured = ov - s.accept;
      cyc.push({ pos: s.pos, measured, planned });
      const rtl = ov < nCycles ? num(sTok, ov) : -1;
      if (rtl === g.next && measured === planned) stepsEqual++;
      else firstMismatch ??= `prompt ${pi} step ${s.k} (position ${s.pos}): RTL token ${rtl} after ${measured} cycles, golden ${g.next} after the planned ${planned}`;
      if (s.k >= pr.length - 1) {
        rtlTokens.push(rtl);
        goldenTokens.push(g.next);
      }
      fed = g.next;
    }
    const ro = readouts[pi];
    let kvRowsEqual = 0;
    let kvRows = 0;
    for (let l = 0; l < d.layers; l++) {
      for (let t = 0; t < ro.used; t++) {
        const at = ro.start + l * ro.used + t + 1; // registered read: data one cycle after the address
        for (const [sl, cache, what] of [[sDk, golden.keys[l], 'K'], [sDv, golden.values[l], 'V']] as const) {
          // Element i of a row is byte i (little-endian records, element 0 in the low bits).
          const want = Buffer.from(Array.from(cache.subarray(t * kvw, (t + 1) * kvw), (v) => v & 0xff));
          kvRows++;
          // The row is as wide as the SRAM: past the model's KV heads it must read zero.
          const row = bytesAt(sl, at);
          if (row.subarray(0, kvw).equals(want) && row.subarray(kvw).every((b) => b === 0)) kvRowsEqual++;
          else firstMismatch ??= `prompt ${pi}: KV cache ${what} row of layer ${l}, position ${t} differs`;
        }
      }
    }
    return { prompt: pr, rtlTokens, goldenTokens, stepsEqual, steps: mine.length, kvRowsEqual, kvRows, cycles: cyc, firstMismatch };
  });
  const h = Math.min(headCycles, nCycles);
  const head = { stimulus: unpackRecords(inSlots, IB, inBuf.subarray(0, h * IB)), outputs: unpackRecords(outSlots, OB, outBuf.subarray(0, h * OB)) };
  return { runs, simCycles: nCycles, simSeconds, head };
}
