// The two mask layers of one chip (A: weights, B: routing and control) and the tops that join them to the base.
import { ModuleBuilder } from '../../dsl/module.ts';
import type { IrModule } from '../../dsl/ir/types.ts';
import type { Signal } from '../../dsl/signal.ts';
import type { QuantizedMlp } from '../model.ts';
import { csd } from '../mlp/csd.ts';
import { cellFormat, SHIFT_BITS } from './base.ts';
import { log2ceil, type GridSpec } from './grid.ts';
import type { ChipPlan, Entry, GridPlan, LayerPlacement } from './map.ts';

/** Weight held by cell `r` of lane `c` at ROM address `addr` (0 where the cell is unused). */
function weightAt(q: QuantizedMlp, g: GridSpec, chip: ChipPlan, c: number, r: number, addr: number): number {
  const pl = chip.layers.find((p) => c >= p.lane0 && c < p.lane0 + p.lanes);
  if (!pl || addr >= pl.steps) return 0;
  const l = q.layers[pl.layer];
  const og = Math.floor(addr / pl.nib);
  const ib = addr % pl.nib;
  const oc = og * pl.lanes + (c - pl.lane0);
  const i = ib * g.rows + r;
  return oc < l.outFeatures && i < l.inFeatures ? l.weight[oc * l.inFeatures + i] : 0;
}

/** What cell `r` of lane `c` holds at ROM address `addr`, for the comment beside the mask word. */
function weightNote(q: QuantizedMlp, g: GridSpec, chip: ChipPlan, c: number, r: number, addr: number): string | undefined {
  const pl = chip.layers.find((p) => c >= p.lane0 && c < p.lane0 + p.lanes);
  if (!pl || addr >= pl.steps) return undefined;
  const l = q.layers[pl.layer];
  const oc = Math.floor(addr / pl.nib) * pl.lanes + (c - pl.lane0);
  const i = (addr % pl.nib) * g.rows + r;
  return oc < l.outFeatures && i < l.inFeatures ? `layer ${pl.layer} out ${oc} in ${i}` : undefined;
}

/** The comment beside lane `c`'s word at `addr`: layer, output row and the input columns its cells hold. */
function laneWordNote(q: QuantizedMlp, g: GridSpec, chip: ChipPlan, c: number, addr: number): string {
  const pl = chip.layers.find((p) => c >= p.lane0 && c < p.lane0 + p.lanes);
  const first = weightNote(q, g, chip, c, 0, addr);
  if (!pl || first === undefined) return 'unused';
  let last = 0;
  while (last + 1 < g.rows && weightNote(q, g, chip, c, last + 1, addr) !== undefined) last++;
  const i0 = (addr % pl.nib) * g.rows;
  return `${first.replace(/ in \d+$/, '')} in ${i0}-${i0 + last} (cells 0-${last})`;
}

/** Personalization bits of one cell holding weight `w`: CSD slots (D = 1) or the two's-complement word (D > 1). */
export function cellBits(g: GridSpec, w: number): bigint {
  const f = cellFormat(g);
  if (f.kind === 'rom') return BigInt(w) & ((1n << BigInt(g.weightBits)) - 1n);
  const digits = csd(BigInt(w));
  if (digits.length > f.slots) throw new Error(`weight ${w} needs ${digits.length} CSD slots, the cell has ${f.slots}`);
  let v = 0n;
  digits.forEach((d, k) => {
    const slot = BigInt(d.shift) | (BigInt(d.negative ? 1 : 0) << BigInt(f.shiftBits)) | (1n << BigInt(f.shiftBits + 1));
    v |= slot << BigInt(k * f.slotBits);
  });
  return v;
}

/** Personalization of lane `c` at ROM address `addr`: cell r's bits in [r·bits +: bits]. */
function laneWord(q: QuantizedMlp, g: GridSpec, chip: ChipPlan, c: number, addr: number): bigint {
  const f = cellFormat(g);
  let v = 0n;
  for (let r = 0; r < g.rows; r++) v |= cellBits(g, weightAt(q, g, chip, c, r, addr)) << BigInt(r * f.bits);
  return v;
}

/**
 * Mask layer A: the weights, and nothing else. D = 1: every cell's CSD slots as tie-offs. D > 1: per
 * lane one ROM whose word `a` holds every cell's weight at step address `a`, read combinationally at
 * the `addr` the routing mask drives. The ROM's contents are the via personalization; its address
 * decoder sits beside them. The word it reads feeds the lane's cell multipliers in the base.
 */
export function maskWeights(q: QuantizedMlp, plan: GridPlan, chip: ChipPlan): IrModule {
  const g = plan.grid;
  const f = cellFormat(g);
  const m = new ModuleBuilder(`mask_weights_c${chip.index}`, { doc: `weights mask (layer A) of chip ${chip.index}: ${f.kind === 'csd' ? 'CSD tie-offs of every cell' : `one ${g.romDepth}-word weight ROM per lane, read at the step address`}`, params: { grid: g.name, chip: chip.index } });
  const W = g.rows * f.bits;
  const addr = f.kind === 'rom' ? m.input('addr', f.addrBits) : undefined;
  for (let c = 0; c < g.lanes; c++) {
    if (!addr) {
      const layout = Array.from({ length: g.rows }, (_, r) => {
        const at = weightNote(q, g, chip, c, r, 0);
        return { width: f.bits, note: `cell ${r}: ${at === undefined ? 'unused' : `${at}, weight ${weightAt(q, g, chip, c, r, 0)}`}` };
      });
      m.output(`pers_l${c}`, m.const(laneWord(q, g, chip, c, 0), W), { layout });
    } else {
      const notes = Array.from({ length: g.romDepth }, (_, a) => laneWordNote(q, g, chip, c, a));
      m.output(`pers_l${c}`, m.rom(`weights_l${c}`, W, Array.from({ length: g.romDepth }, (_, a) => laneWord(q, g, chip, c, a)), { notes }).read(addr));
    }
  }
  return m.build();
}

interface Field { name: keyof Entry | 'kind'; bits: number }

/**
 * Mask layer B: sequencer (microcode ROM + program counter), activation buffers, the routing of
 * activation chunks to lanes and of lane results back to buffers, requant parameter ROMs, handshake.
 */
export function maskRouting(q: QuantizedMlp, plan: GridPlan, chip: ChipPlan): IrModule {
  const g = plan.grid;
  const f = cellFormat(g);
  const A = g.actBits;
  const m = new ModuleBuilder(`mask_routing_c${chip.index}`, { doc: `routing/control mask (layer B) of chip ${chip.index}: layers ${chip.layers.map((l) => l.layer).join(',')}`, params: { grid: g.name, chip: chip.index, microcode: chip.microcode.length } });
  const clk = m.clock('clk');
  const rst = m.input('rst', 1);
  const inValid = m.input('in_valid', 1);
  const inData = m.input('in_data', g.maxFeatures * A);
  const outReady = m.input('out_ready', 1);
  const accIn: Signal[] = [];
  const yIn: Signal[] = [];
  for (let c = 0; c < g.lanes; c++) {
    accIn.push(m.input(`acc_l${c}`, g.accBits, { signed: true, unused: true }));
    yIn.push(m.input(`y_l${c}`, A, { signed: true, unused: true }));
  }

  // Microcode ROM: one entry per cycle of a run.
  const nibMax = Math.ceil(g.maxFeatures / g.rows);
  const fields: Field[] = [
    { name: 'kind', bits: 2 }, { name: 'first', bits: 1 }, { name: 'last', bits: 1 },
    { name: 'addr', bits: Math.max(1, f.addrBits) }, { name: 'ib', bits: log2ceil(nibMax) }, { name: 'grp', bits: log2ceil(Math.max(2, chip.groups)) },
  ];
  const kindCode: Record<string, bigint> = { issue: 0n, nop: 1n, swap: 2n, done: 3n };
  const words = chip.microcode.map((e) => {
    let v = 0n, off = 0n;
    for (const fl of fields) {
      const raw = fl.name === 'kind' ? kindCode[e.kind] : BigInt(Number(e[fl.name as keyof Entry]));
      v |= raw << off;
      off += BigInt(fl.bits);
    }
    return v;
  });
  const width = fields.reduce((s, x) => s + x.bits, 0);
  const pcBits = log2ceil(chip.microcode.length);
  const IDLE = 0, RUN = 1, DONE = 2;
  const state = m.reg('state', { width: 2, clock: clk, reset: rst, resetValue: 0n });
  const pc = m.reg('pc', { width: pcBits, clock: clk, reset: rst, resetValue: 0n });
  const running = state.eq(RUN).named('running');
  const decoded = chip.microcode.map((e) => `${e.kind} ${fields.filter((x) => x.name !== 'kind').map((x) => `${x.name}=${Number(e[x.name as keyof Entry])}`).join(' ')}`);
  const uw = m.rom('ucode', width, words, { notes: decoded }).read(pc).named('uword');
  const field = (name: string): Signal => {
    let off = 0;
    for (const fl of fields) {
      if (fl.name === name) return uw.slice(off + fl.bits - 1, off);
      off += fl.bits;
    }
    throw new Error(name);
  };
  const kind = field('kind');
  const issue = running.and(kind.eq(kindCode.issue)).named('issue');
  const swap = running.and(kind.eq(kindCode.swap)).named('swap');
  const done = running.and(kind.eq(kindCode.done)).named('done');
  const accept = state.eq(IDLE).and(inValid).named('accept');
  const outValid = state.eq(DONE);
  state.next(accept.select(m.const(RUN, 2), done.select(m.const(DONE, 2), outValid.and(outReady).select(m.const(IDLE, 2), state))));
  pc.next(accept.select(m.const(0, pcBits), running.select(pc.add(1), pc)));

  // Writeback pipeline: the issue step's (last, grp) reach the accumulators `laneLatency` cycles later.
  let wb: Signal = issue.and(field('last'));
  let wbGrp: Signal = field('grp');
  for (let k = 0; k < plan.laneLatency; k++) {
    wb = m.delay(`wb_d${k + 1}`, wb, { clock: clk, reset: rst, resetValue: 0n });
    wbGrp = m.delay(`wbgrp_d${k + 1}`, wbGrp, { clock: clk });
  }
  wb = wb.named('wb');

  // Activation buffers: X feeds the lanes, Y collects a layer's outputs, LOG the logits (final chip).
  const last = chip.layers[chip.layers.length - 1];
  const X: ReturnType<typeof m.reg>[] = [];
  const Y: ReturnType<typeof m.reg>[] = [];
  for (let e = 0; e < g.maxFeatures; e++) {
    X.push(m.reg(`x${e}`, { width: A, signed: true, clock: clk }));
    Y.push(m.reg(`y${e}`, { width: A, signed: true, clock: clk, reset: rst, resetValue: 0n }));
  }
  const nextY: Signal[] = Y.map((y) => y);
  const LOG: Signal[] = [];
  const placeOf = (pl: LayerPlacement, e: number): { lane: number; grp: number } => ({ lane: pl.lane0 + (e % pl.lanes), grp: pl.grp0 + Math.floor(e / pl.lanes) });
  for (const pl of chip.layers) {
    const outF = q.layers[pl.layer].outFeatures;
    const isLogits = chip.final && pl === last;
    for (let e = 0; e < outF; e++) {
      const { lane, grp } = placeOf(pl, e);
      const hit = wb.and(wbGrp.eq(grp));
      if (isLogits) {
        const r = m.reg(`logit${e}`, { width: g.accBits, signed: true, clock: clk });
        r.next(hit.select(accIn[lane], r));
        LOG.push(r);
      } else nextY[e] = hit.select(yIn[lane], nextY[e]);
    }
  }
  Y.forEach((y, e) => y.next(nextY[e]));
  X.forEach((x, e) => x.next(accept.select(inData.slice(e * A + A - 1, e * A).asSigned(), swap.select(Y[e], x))));

  // Lane inputs: the activation chunk selected by the step, the ROM address, first flag, params.
  const ib = field('ib');
  const chunks: Signal[] = [];
  for (let r = 0; r < g.rows; r++) {
    let sel: Signal = m.const(0, A, true);
    for (let b = nibMax - 1; b >= 0; b--) {
      const e = b * g.rows + r;
      if (e < g.maxFeatures) sel = nibMax === 1 ? X[e] : ib.eq(b).select(X[e], sel);
    }
    chunks.push(sel);
  }
  m.output('x', m.cat(...chunks.slice().reverse()));
  if (f.addrBits) m.output('addr', field('addr').trunc(f.addrBits));
  m.output('first', issue.and(field('first')));
  const G = Math.max(1, chip.groups);
  const grp = field('grp');
  for (let c = 0; c < g.lanes; c++) {
    const bias: bigint[] = [], Ms: bigint[] = [], Ss: bigint[] = [], relu: bigint[] = [], notes: string[] = [];
    for (let gi = 0; gi < G; gi++) {
      const pl = chip.layers.find((p) => gi >= p.grp0 && gi < p.grp0 + p.groups && c >= p.lane0 && c < p.lane0 + p.lanes);
      const l = pl ? q.layers[pl.layer] : undefined;
      const oc = pl ? (gi - pl.grp0) * pl.lanes + (c - pl.lane0) : -1;
      const ok = l !== undefined && oc < l.outFeatures;
      const hidden = ok && !(chip.final && pl === last) && pl!.layer < q.layers.length - 1;
      bias.push(ok ? l!.bias[oc] & ((1n << BigInt(g.accBits)) - 1n) : 0n);
      Ms.push(hidden ? BigInt(l!.M[oc]) : 0n);
      Ss.push(hidden ? BigInt(l!.S[oc]) : 1n);
      relu.push(hidden && l!.relu ? 1n : 0n);
      notes.push(ok ? `group ${gi}: layer ${pl!.layer} out ${oc}${hidden ? '' : ' (raw accumulator)'}` : `group ${gi}: unused`);
    }
    const pick = (name: string, bits: number, vals: bigint[], at: Signal): Signal =>
      vals.every((v) => v === vals[0]) ? m.const(vals[0], bits) : m.rom(`${name}_l${c}`, bits, vals, { notes }).read(at.trunc(Math.min(at.width, log2ceil(G))));
    // A value the same in every group is a tie-off, not a ROM: its comment says which rows share it.
    const used = notes.filter((n) => !n.endsWith('unused'));
    const tie = (bits: number, vals: bigint[]): { layout?: { width: number; note: string }[] } =>
      vals.every((v) => v === vals[0]) ? { layout: [{ width: bits, note: used.length ? `every group: ${used.join('; ')}` : 'unused in every group' }] } : {};
    m.output(`bias_l${c}`, pick('bias', g.accBits, bias, grp).asSigned(), tie(g.accBits, bias));
    m.output(`m_l${c}`, pick('m', g.mBits, Ms, wbGrp), tie(g.mBits, Ms));
    m.output(`s_l${c}`, pick('s', SHIFT_BITS, Ss, wbGrp), tie(SHIFT_BITS, Ss));
    m.output(`relu_l${c}`, pick('relu', 1, relu, wbGrp), tie(1, relu));
  }

  // Outputs: logits and class (final chip) or this chip's activations for the next chip.
  m.output('in_ready', state.eq(IDLE));
  m.output('out_valid', outValid);
  const outWords: Signal[] = [];
  for (let e = 0; e < g.maxFeatures; e++) {
    if (chip.final) outWords.push(e < LOG.length ? LOG[e] : m.const(0, g.accBits, true));
    else outWords.push(Y[e].sext(g.accBits));
  }
  // Outputs read zero while not valid, so no unreset register's X ever leaves the chip.
  const outData = m.cat(...outWords.slice().reverse());
  m.output('out_data', outValid.select(outData, m.const(0, outData.width)));
  const clsBits = log2ceil(g.maxFeatures);
  if (chip.final) {
    // Argmax, lowest index on ties, captured when the run finishes.
    let best: Signal = LOG[0];
    let bestI: Signal = m.const(0, clsBits);
    for (let e = 1; e < LOG.length; e++) {
      const gt = LOG[e].gt(best);
      best = gt.select(LOG[e], best);
      bestI = gt.select(m.const(e, clsBits), bestI);
    }
    const cls = m.reg('cls', { width: clsBits, clock: clk });
    cls.next(done.select(bestI, cls));
    m.output('out_class', outValid.select(cls, m.const(0, clsBits)));
  } else m.output('out_class', m.const(0, clsBits));
  return m.build();
}

/** The chip top: base grid + both masks. */
export function chipTop(g: GridSpec, grid: IrModule, mw: IrModule, mr: IrModule, index: number): IrModule {
  const m = new ModuleBuilder(`chip${index}_top`, { doc: `chip ${index}: base grid '${g.name}' personalized by its two mask layers`, params: { grid: g.name } });
  const clk = m.clock('clk');
  const rst = m.input('rst', 1);
  const inValid = m.input('in_valid', 1);
  const inData = m.input('in_data', g.maxFeatures * g.actBits);
  const outReady = m.input('out_ready', 1);
  // The step address (D > 1) comes from the routing mask and goes to the weights mask's ROMs, not to the base.
  const { addrBits } = cellFormat(g);
  const addr = addrBits ? m.wire('addr', addrBits) : undefined;
  const pers = m.instance('u_mask_weights', mw, addr ? { addr } : {});
  const gridIn: Record<string, Signal> = { clk };
  const routeIn: Record<string, Signal> = { clk, rst, in_valid: inValid, in_data: inData, out_ready: outReady };
  const laneOut: Record<string, ReturnType<typeof m.wire>> = {};
  for (let c = 0; c < g.lanes; c++) {
    laneOut[`acc_l${c}`] = m.wire(`acc_l${c}`, g.accBits, true);
    laneOut[`y_l${c}`] = m.wire(`y_l${c}`, g.actBits, true);
    routeIn[`acc_l${c}`] = laneOut[`acc_l${c}`];
    routeIn[`y_l${c}`] = laneOut[`y_l${c}`];
    gridIn[`pers_l${c}`] = pers[`pers_l${c}`];
  }
  const route = m.instance('u_mask_routing', mr, routeIn);
  if (addr) addr.drive(route.addr);
  for (const p of grid.ports) if (p.dir === 'input' && p.name !== 'clk' && !p.name.startsWith('pers_')) gridIn[p.name] = route[p.name];
  const go = m.instance('u_grid', grid, gridIn);
  for (const [k, w] of Object.entries(laneOut)) w.drive(go[k]);
  for (const n of ['in_ready', 'out_valid', 'out_data', 'out_class']) m.output(n, route[n]);
  return m.build();
}

/**
 * Simulation top of a multi-chip split. The link between chip i and i+1: chip i's out_data carries its
 * activations as accBits-wide words (sign-extended int8); the link keeps the low actBits of each word
 * and presents them as chip i+1's in_data, with chip i's out_valid/in_ready as the handshake.
 */
export function multiChipTop(g: GridSpec, chips: IrModule[]): IrModule {
  const m = new ModuleBuilder('multichip_top', { doc: `${chips.length} chips of grid '${g.name}' chained by the activation link`, params: { chips: chips.length } });
  const clk = m.clock('clk');
  const rst = m.input('rst', 1);
  let valid: Signal = m.input('in_valid', 1);
  let data: Signal = m.input('in_data', g.maxFeatures * g.actBits);
  const outReady = m.input('out_ready', 1);
  const readyWires = chips.map((_, i) => m.wire(`link${i}_ready`, 1));
  let firstReady: Signal | undefined;
  let outs: Record<string, Signal> = {};
  chips.forEach((c, i) => {
    const downReady = i === chips.length - 1 ? outReady : readyWires[i + 1];
    outs = m.instance(`u_chip${i}`, c, { clk, rst, in_valid: valid, in_data: data, out_ready: downReady });
    readyWires[i].drive(outs.in_ready);
    if (i === 0) firstReady = outs.in_ready;
    valid = outs.out_valid;
    const words: Signal[] = [];
    for (let e = 0; e < g.maxFeatures; e++) words.push(outs.out_data.slice(e * g.accBits + g.actBits - 1, e * g.accBits));
    if (i < chips.length - 1) data = m.cat(...words.reverse()).named(`link${i + 1}_data`);
  });
  m.output('in_ready', firstReady!);
  m.output('out_valid', outs.out_valid);
  m.output('out_data', outs.out_data);
  m.output('out_class', outs.out_class);
  return m.build();
}
