// A user's own cell and array, written against the public API only (`import ... from 'hardwire'`):
// a saturating multiply-accumulate cell with its weights in a ROM, and an array of them behind one
// valid/ready stream. Run it: `node --import tsx examples/custom-cell/custom-cell.ts [out-dir]`.
//
//   y_k = sat_A(... sat_A(sat_A(x_0 · W[k][0]) + x_1 · W[k][1]) ...),  sat_A clamps to signed A bits,
//
// over the beats x_0..x_{n-1} of one vector (the beat with `last` set ends it); beat t reads weight
// W[k][t mod D] from lane k's ROM.
import { mkdirSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { emitDesign, Evaluator, ModuleBuilder, toSigned, type IrModule, type Signal } from 'hardwire';

/** Plain generator arguments: widths and the weights the ROMs hold. */
export interface MacArrayParams {
  /** Signed activation width. */
  readonly xBits: number;
  /** Signed weight width. */
  readonly wBits: number;
  /** Signed accumulator width; every partial sum saturates to it. */
  readonly accBits: number;
  /** weights[k][t]: lane k's weight for beat t; every lane holds the same power-of-two count D. */
  readonly weights: readonly (readonly number[])[];
}

const log2 = (n: number): number => Math.max(1, Math.ceil(Math.log2(n)));

/** Clamp a signed signal to the signed range of `bits` and truncate it to `bits` (explicit widths). */
function saturate(m: ModuleBuilder, s: Signal, bits: number): Signal {
  const hi = m.const((1n << BigInt(bits - 1)) - 1n, s.width, true);
  const lo = m.const(-(1n << BigInt(bits - 1)), s.width, true);
  return s.gt(hi).select(hi, s.lt(lo).select(lo, s)).trunc(bits);
}

/**
 * mac_cell_<k>: acc ← sat(base + x · w), base = 0 on the first beat of a vector, else acc; w is the ROM
 * word at `addr`. The register only moves on an accepted beat (`en`).
 */
export function macCell(p: MacArrayParams, k: number): IrModule {
  const depth = p.weights[k].length;
  const m = new ModuleBuilder(`mac_cell_${k}`, { doc: `saturating MAC, lane ${k}: ${depth} weights in ROM`, params: { xBits: p.xBits, wBits: p.wBits, accBits: p.accBits } });
  const clk = m.clock('clk');
  const en = m.input('en', 1);
  const first = m.input('first', 1);
  const addr = m.input('addr', log2(depth));
  const x = m.input('x', p.xBits, { signed: true });
  // Every address reads a real word: a one-weight lane still has a 1-bit address, so its word repeats.
  const words = Array.from({ length: 2 ** addr.width }, (_w, t) => BigInt.asUintN(p.wBits, BigInt(p.weights[k][t % depth])));
  const rom = m.rom('weights', p.wBits, words);
  const w = rom.read(addr).asSigned();
  const prod = x.mul(w).named('prod');
  const acc = m.reg('acc_q', { width: p.accBits, signed: true, clock: clk, enable: en });
  const sumBits = Math.max(p.accBits, prod.width) + 1;
  const base = first.select(m.const(0, p.accBits, true), acc);
  const sum = base.sext(sumBits).add(prod.sext(sumBits)).named('sum');
  acc.next(saturate(m, sum, p.accBits));
  m.output('acc', acc);
  return m.build();
}

/**
 * mac_array: one input stream (in_valid, in_ready, in_x, in_last) broadcast to every lane, one output
 * stream (out_valid, out_ready, out_y<k>) holding the lanes' sums of a finished vector. A new vector is
 * accepted while its result waits only in the cycle the result is taken (in_ready = !out_valid | out_ready).
 */
export function macArray(p: MacArrayParams): IrModule {
  const depth = p.weights[0].length;
  if ((depth & (depth - 1)) !== 0 || p.weights.some((row) => row.length !== depth)) {
    throw new Error(`mac_array: every lane needs the same power-of-two number of weights, got ${p.weights.map((r) => r.length).join(', ')}`);
  }
  const m = new ModuleBuilder('mac_array', { doc: `${p.weights.length} saturating MAC lanes behind a valid/ready stream`, params: { lanes: p.weights.length, depth } });
  const clk = m.clock('clk');
  const rst = m.input('rst', 1);
  const inValid = m.input('in_valid', 1);
  const inX = m.input('in_x', p.xBits, { signed: true });
  const inLast = m.input('in_last', 1);
  const outReady = m.input('out_ready', 1);

  const outValid = m.reg('out_valid_q', { width: 1, clock: clk, reset: rst });
  const inReady = outValid.not().or(outReady).named('in_ready_w');
  const accept = inValid.and(inReady).named('accept');
  // Beat counter (ROM address) and first-beat flag: both restart after the beat with `last`.
  const addr = m.reg('beat', { width: log2(depth), clock: clk, reset: rst, enable: accept });
  addr.next(inLast.select(m.const(0, addr.width), addr.add(1)));
  const first = m.reg('first_q', { width: 1, clock: clk, reset: rst, resetValue: 1n, enable: accept });
  first.next(inLast);
  outValid.next(accept.and(inLast).select(m.const(1, 1), outValid.and(outReady.not())));

  m.output('in_ready', inReady);
  m.output('out_valid', outValid);
  p.weights.forEach((_row, k) => {
    const lane = m.instance(`u_lane${k}`, macCell(p, k), { clk, en: accept, first, addr, x: inX });
    m.output(`out_y${k}`, lane.acc);
  });
  return m.build();
}

/** One cycle's stream inputs, by port name. */
export interface MacBeat {
  readonly rst?: boolean;
  readonly inValid: boolean;
  readonly x: number;
  readonly last: boolean;
  readonly outReady: boolean;
}

/** One cycle's outputs; `y` holds signed lane sums, meaningful when outValid. */
export interface MacOut {
  readonly inReady: boolean;
  readonly outValid: boolean;
  readonly y: number[];
}

/** The built-in evaluator behind named ports: inputs and outputs by name, not by position. */
export class MacArraySim {
  private readonly ev: Evaluator;
  constructor(readonly params: MacArrayParams, top: IrModule = macArray(params)) {
    this.ev = new Evaluator(top);
  }

  /** Apply one cycle's inputs, read the settled outputs, then clock once. */
  step(b: MacBeat): MacOut {
    const byName: Record<string, bigint> = {
      rst: b.rst ? 1n : 0n, in_valid: b.inValid ? 1n : 0n, in_x: BigInt(b.x), in_last: b.last ? 1n : 0n, out_ready: b.outReady ? 1n : 0n,
    };
    const out = this.ev.step(this.ev.inputs.map((port) => byName[port.name]));
    const get = (name: string): bigint => out[this.ev.outputs.findIndex((port) => port.name === name)];
    return {
      inReady: get('in_ready') === 1n,
      outValid: get('out_valid') === 1n,
      y: this.params.weights.map((_row, k) => Number(toSigned(get(`out_y${k}`), this.params.accBits))),
    };
  }
}

/** The plain-TS reference: each lane's saturating sum for each vector (beat t uses weight t mod D). */
export function macReference(p: MacArrayParams, vectors: readonly (readonly number[])[]): number[][] {
  const hi = 2 ** (p.accBits - 1) - 1;
  const lo = -(2 ** (p.accBits - 1));
  return vectors.map((xs) => p.weights.map((row) => xs.reduce((acc, x, t) => Math.min(hi, Math.max(lo, acc + x * row[t % row.length])), 0)));
}

/** Run whole vectors through the array with the given stall patterns; returns each result in order. */
export function runVectors(sim: MacArraySim, vectors: readonly (readonly number[])[], stall: () => { inValid: boolean; outReady: boolean }): number[][] {
  const results: number[][] = [];
  sim.step({ rst: true, inValid: false, x: 0, last: false, outReady: false });
  let v = 0, t = 0;
  for (let cycle = 0; results.length < vectors.length; cycle++) {
    if (cycle > 100 * (vectors.flat().length + vectors.length + 10)) throw new Error('mac_array: no progress (deadlock?)');
    const s = stall();
    const inValid = s.inValid && v < vectors.length;
    const xs = vectors[Math.min(v, vectors.length - 1)];
    const o = sim.step({ inValid, x: inValid ? xs[t] : 0, last: inValid && t === xs.length - 1, outReady: s.outReady });
    if (o.outValid && s.outReady) results.push(o.y);
    if (inValid && o.inReady && ++t === xs.length) { v++; t = 0; }
  }
  return results;
}

/** The example's array: 4 lanes of 8 int4 weights, int8 activations, 12-bit saturating accumulators. */
export const EXAMPLE: MacArrayParams = {
  xBits: 8, wBits: 4, accBits: 12,
  weights: [
    [1, -2, 3, -4, 5, -6, 7, -8],
    [7, 7, 7, 7, 7, 7, 7, 7],
    [-8, -8, -8, -8, -8, -8, -8, -8],
    [0, 1, 0, -1, 2, 0, -2, 0],
  ],
};

// Run directly: simulate two vectors in TypeScript, then write the Verilog and its .f list.
if (process.argv[1] !== undefined && import.meta.url === pathToFileURL(resolve(process.argv[1])).href) {
  const vectors = [[10, 20, 30, 40], [127, 127, 127, 127, 127, 127, 127, 127]];
  const got = runVectors(new MacArraySim(EXAMPLE), vectors, () => ({ inValid: true, outReady: true }));
  vectors.forEach((xs, i) => console.log(`x = [${xs.join(', ')}] -> y = [${got[i].join(', ')}] (reference [${macReference(EXAMPLE, [xs])[0].join(', ')}])`));
  const out = resolve(process.argv[2] ?? 'rtl-out/custom-cell');
  mkdirSync(out, { recursive: true });
  const design = emitDesign(macArray(EXAMPLE));
  for (const [name, text] of design.files) writeFileSync(join(out, name), text);
  console.log(`wrote ${[...design.files.keys()].join(', ')} to ${out}`);
}
