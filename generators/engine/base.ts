// hw_engine: the base die's engine, sized by the grid alone. The lane array does every matmul; around
// it sit the activation buffers, the KV-cache SRAM, the microcoded sequencer and the units (RMSNorm,
// RoPE, attention, SwiGLU, argmax). Every model-specific bit arrives on an input driven by a mask:
// weight words and table contents (layer A), microcode, lane requant words and the configuration word
// (layer B). The read sites of those ROMs (address decode: Signal.word) are here, in the base.
import { ModuleBuilder, type Reg } from '../../dsl/module.ts';
import type { IrModule } from '../../dsl/ir/types.ts';
import type { Signal } from '../../dsl/signal.ts';
import { requantBy } from '../mlp/arith.ts';
import { gridModule, SHIFT_BITS } from '../grid/base.ts';
import { bitsFor, type EngineCaps } from './caps.ts';
import { cfgFields, DESTS, maxPasses, OPS, ucodeFields, widthOf, type EngineDest, type Field, type Op } from './isa.ts';
import { argmaxUnit } from './units/argmax.ts';
import { attnUnit } from './units/attn.ts';
import { normUnit } from './units/norm.ts';
import { ropeUnit } from './units/rope.ts';
import { fieldOf, seqUnit } from './units/seq.ts';
import { siluUnit } from './units/silu.ts';
import { bus, elems, pick, sat } from './units/util.ts';

/** One input port of the engine that a mask drives: its name, width and which mask layer holds it. */
export interface SitePort { readonly name: string; readonly width: number; readonly layer: 'weights' | 'routing' }

/** Widths of the per-lane requant word [M | S]. */
export const MS_BITS = 15 + SHIFT_BITS;

/** Every personalization input of the engine, in port order. Both masks are built to this list. */
export function sitePorts(c: EngineCaps): SitePort[] {
  const g = c.g;
  const out: SitePort[] = [];
  for (let l = 0; l < c.L; l++) out.push({ name: `w_l${l}`, width: c.passes * c.R * g.weightBits, layer: 'weights' });
  for (let k = 0; k < Math.ceil(c.F / c.embGroup); k++) out.push({ name: `emb_g${k}`, width: c.vocab * c.embGroup * 16, layer: 'weights' });
  for (const t of ['rsqrt', 'exp', 'recip']) out.push({ name: `lut_${t}`, width: c.lutEntries * 16, layer: 'weights' });
  for (let j = 0; j < c.E; j++) out.push({ name: `lut_silu${j}`, width: c.lutEntries * 16, layer: 'weights' });
  out.push({ name: 'rope', width: c.ctx * c.half * 32, layer: 'weights' });
  out.push({ name: 'ucode', width: c.instrs * widthOf(ucodeFields(c)), layer: 'routing' });
  for (let l = 0; l < c.L; l++) out.push({ name: `bias_l${l}`, width: c.passes * g.accBits, layer: 'routing' });
  for (let l = 0; l < c.L; l++) out.push({ name: `ms_l${l}`, width: c.passes * MS_BITS, layer: 'routing' });
  out.push({ name: 'kv_head', width: c.heads * bitsFor(c.kvHeadsMax - 1), layer: 'routing' });
  out.push({ name: 'cfg', width: widthOf(cfgFields(c)), layer: 'routing' });
  return out;
}

function fieldIn(fields: readonly Field[], word: Signal, name: string): Signal {
  let off = 0;
  for (const f of fields) {
    if (f.name === name) return word.slice(off + f.bits - 1, off);
    off += f.bits;
  }
  throw new Error(`no field ${name}`);
}

export function engineModule(c: EngineCaps): IrModule {
  const g = c.g;
  const { F, L, R, E, kvMax, vocab } = c;
  const A = g.accBits;
  const m = new ModuleBuilder('hw_engine', {
    doc: `engine of grid '${g.name}': ${L} lanes x ${R} ROM cells (depth ${g.romDepth}), ${F}-element buffers, KV cache ${c.layers} layers x ${c.ctx} positions x ${kvMax} int8, ${c.instrs}-word microcode`,
    params: { grid: g.name, F, L, R, E },
  });
  const clk = m.clock('clk');
  const rst = m.input('rst', 1);
  const inValid = m.input('in_valid', 1);
  const inToken = m.input('in_token', c.tokBits);
  const inFeedback = m.input('in_feedback', 1);
  const inRestart = m.input('in_restart', 1);
  const inData = elems(m.input('in_data', F * 8), F, 8);
  const outReady = m.input('out_ready', 1);
  const dbgAddr = m.input('dbg_addr', c.layerBits + c.ctxBits);
  const site: Record<string, Signal> = {};
  for (const p of sitePorts(c)) site[p.name] = m.input(p.name, p.width);
  const cfgF = cfgFields(c);
  const cfg = (name: string): Signal => fieldIn(cfgF, site.cfg, name).named(`cfg_${name}`);

  // ---- sequencer
  const attnDone = m.wire('attn_done', 1);
  const best = m.wire('best', c.tokBits);
  const seq = m.instance('u_seq', seqUnit(c), {
    clk, rst, in_valid: inValid, in_restart: inRestart, in_feedback: inFeedback, in_token: inToken, out_ready: outReady,
    best, attn_done: attnDone, ctx_len: cfg('context'), ucode: site.ucode,
  });
  const uw = seq.uword;
  const field = (n: string): Signal => fieldOf(c, uw, n).named(`u_${n}`);
  const opf = field('op');
  const is = (o: Op): Signal => opf.eq(OPS.indexOf(o)).named(`op_${o}`); // the word reads 0 (end) while idle
  const cnt = seq.cnt;
  const fin = seq.fin;
  const p = seq.pos.trunc(c.ctxBits).named('p');
  const opEmbed = is('embed'), opNorm = is('norm'), opMat = is('matmul'), opRope = is('rope'), opKv = is('kvwrite');
  const opAttn = is('attn'), opSilu = is('silu'), opArg = is('argmax');
  const layer = field('layer');

  // ---- buffers (reset to zero: every element a lane or unit can read is defined, whatever the model's sizes)
  const vec = (name: string, n: number, bits: number): Reg[] => Array.from({ length: n }, (_, i) => m.reg(`${name}${i}`, { width: bits, signed: true, clock: clk, reset: rst, resetValue: 0n }));
  const X = vec('x', F, 16), U = vec('u', F, 8), G = vec('g', F, 8), UP = vec('up', F, 8), Q = vec('q', F, 8);
  const K = vec('k', kvMax, 8), V = vec('v', kvMax, 8), LOG = vec('logit', vocab, A);
  const nx: Record<string, Signal[]> = { x: [...X], u: [...U], g: [...G], up: [...UP], q: [...Q], k: [...K], v: [...V], logits: [...LOG] };

  // ---- matmul: issue chunks of the source buffer to the lanes, the weight word at addr0 + step. A matmul
  // word starts the issue and latches its fields; the issue runs on by itself while the sequencer goes on
  // to the next word (the program makes every later word wait for what it needs: generators/llama/settle.ts).
  const mmStart = opMat.and(cnt.eq(0)).named('mm_start');
  const busy = m.reg('mm_busy', { width: 1, clock: clk, reset: rst, resetValue: 0n });
  const held = (name: string): Signal => {
    const f = field(name);
    const r = m.reg(`mm_${name}`, { width: f.width, clock: clk, reset: rst, resetValue: 0n });
    r.next(mmStart.select(f, r));
    return mmStart.select(f, r).named(`mmf_${name}`);
  };
  const chunksm1 = held('chunksm1'), passesm1 = held('passesm1');
  const step = m.reg('mm_step', { width: 16, clock: clk, reset: rst, resetValue: 0n });
  const stepNow = mmStart.select(m.const(0, 16), step).named('mm_step_now');
  const chunk = m.reg('chunk', { width: chunksm1.width, clock: clk, reset: rst, resetValue: 0n });
  const pass = m.reg('pass', { width: passesm1.width, clock: clk, reset: rst, resetValue: 0n });
  const steps = passesm1.zext(16).add(1).mul(chunksm1.zext(16).add(1)).trunc(16);
  const issue = mmStart.or(busy).and(stepNow.lt(steps)).named('issue');
  const lastChunk = chunk.eq(chunksm1);
  const lastPass = pass.eq(passesm1);
  busy.next(issue.and(stepNow.add(1).lt(steps)));
  step.next(issue.select(stepNow.add(1), step));
  chunk.next(issue.select(lastChunk.select(m.const(0, chunk.width), chunk.add(1)), chunk));
  pass.next(issue.and(lastChunk).select(lastPass.select(m.const(0, pass.width), pass.add(1)), pass));
  const fromG = held('src');
  const xs = Array.from({ length: R }, (_, r) => {
    const col = (b: readonly Signal[]): Signal[] => Array.from({ length: c.chunks }, (_, k) => b[k * R + r]);
    return fromG.select(pick(m, col(G), chunk), pick(m, col(U), chunk));
  });
  const addr = held('addr0').add(stepNow.trunc(c.addrBits)).named('rom_addr');
  const passBits = bitsFor(c.passes - 1);
  const issuePass = held('pass0').add(pass.zext(passBits)).named('issue_pass');
  // Everything the writeback needs travels with it down the lanes' pipeline, so the next instruction
  // can issue while this one's last passes are still in the lanes (the program waits only where it reads
  // what is in flight: generators/llama/schedule.ts settle()).
  let wb: Signal = issue.and(lastChunk);
  let wbPass: Signal = pass;
  let gpass: Signal = issuePass;
  let wbDest: Signal = held('dest'), wbRelu: Signal = held('relu'), wbRaw: Signal = held('raw');
  for (let k = 0; k < c.laneLatency; k++) {
    const d = (name: string, v: Signal): Signal => m.delay(`${name}_d${k + 1}`, v, { clock: clk, reset: rst, resetValue: 0n });
    wb = d('wb', wb);
    wbPass = d('wbpass', wbPass);
    gpass = d('wbgpass', gpass);
    wbDest = d('wbdest', wbDest);
    wbRelu = d('wbrelu', wbRelu);
    wbRaw = d('wbraw', wbRaw);
  }
  gpass = gpass.named('wb_pass');
  const { grid } = gridModule(g);
  const gridIn: Record<string, Signal> = { clk, x: bus(m, xs), first: issue.and(chunk.eq(0)) };
  const Ms: Signal[] = [], Ss: Signal[] = [];
  for (let l = 0; l < L; l++) {
    const ms = site[`ms_l${l}`].word(gpass, MS_BITS);
    Ms.push(ms.slice(MS_BITS - 1, SHIFT_BITS).named(`m_l${l}`));
    Ss.push(ms.slice(SHIFT_BITS - 1, 0).named(`s_l${l}`));
    gridIn[`pers_l${l}`] = site[`w_l${l}`].word(addr, R * g.weightBits);
    gridIn[`bias_l${l}`] = site[`bias_l${l}`].word(issuePass, A).asSigned();
    gridIn[`m_l${l}`] = Ms[l];
    gridIn[`s_l${l}`] = Ss[l];
    gridIn[`relu_l${l}`] = wbRelu;
  }
  const lanes = m.instance('u_grid', grid, gridIn);
  const acc = Array.from({ length: L }, (_, l) => lanes[`acc_l${l}`]);
  const y = Array.from({ length: L }, (_, l) => lanes[`y_l${l}`]);
  const rq16 = acc.map((a, l) => sat(m, requantBy(m, a, Ms[l], Ss[l]), 16).named(`rq16_l${l}`));
  const raw = wbRaw;
  const wbTo = (d: EngineDest): Signal => wb.and(wbDest.eq(DESTS.indexOf(d))).named(`wb_${d}`);
  const laneWrite = (d: EngineDest, val: (l: number, e: number) => Signal): void => {
    const hit = wbTo(d);
    const nb = nx[d];
    for (let e = 0; e < nb.length && Math.floor(e / L) < maxPasses(c); e++) nb[e] = hit.and(wbPass.eq(Math.floor(e / L))).select(val(e % L, e), nb[e]);
  };
  for (const d of ['u', 'g', 'up', 'q', 'k', 'v'] as const) laneWrite(d, (l) => y[l]);
  laneWrite('x', (l, e) => sat(m, X[e].addWide(rq16[l]), 16));
  // Σx² of the residual as the lanes write it (the next RMSNorm's sum): L squares per writeback, so a
  // norm after a matmul into x skips its own E-wide sum pass. Only the embedding's row needs that pass.
  const ssBits = 32 + bitsFor(F);
  const xNew = rq16.map((r, l) => sat(m, pick(m, Array.from({ length: Math.ceil((F - l) / L) }, (_, k) => X[k * L + l]), wbPass).addWide(r), 16).named(`xnew_l${l}`));
  const sqSum = xNew.map((v) => v.mul(v).asUnsigned().zext(ssBits)).reduce((a, b) => a.add(b));
  const ssWb = m.reg('ss_wb', { width: ssBits, clock: clk, reset: rst, resetValue: 0n });
  const xWb = wbTo('x');
  ssWb.next(xWb.select(wbPass.eq(0).select(sqSum, ssWb.add(sqSum)), ssWb));
  const xSummed = m.reg('x_summed', { width: 1, clock: clk, reset: rst, resetValue: 0n });
  xSummed.next(opEmbed.select(m.const(0, 1), xWb.select(m.const(1, 1), xSummed)));
  laneWrite('logits', (l) => raw.select(acc[l], rq16[l].sext(A)));

  // ---- embedding (a row of the table in mask layer A) and the input vector of a request
  const tok = seq.token;
  for (let k = 0; k * c.embGroup < F; k++) {
    const row = elems(site[`emb_g${k}`].word(tok, c.embGroup * 16), c.embGroup, 16);
    row.forEach((v, i) => { const e = k * c.embGroup + i; if (e < F) nx.x[e] = opEmbed.select(v, nx.x[e]); });
  }
  nx.u = nx.u.map((v, e) => seq.accept.select(inData[e], v));

  // ---- RMSNorm
  const norm = m.instance('u_norm', normUnit(c), { clk, run: opNorm, cnt, x: bus(m, X), hblk: cfg('hblk'), s0: cfg('rsqS0'), lut: site.lut_rsqrt, pre: xSummed, ssw: ssWb });
  const nu = elems(norm.u, E, 8);
  nx.u = nx.u.map((v, e) => norm.we.and(norm.blk.eq(Math.floor(e / E))).select(nu[e % E], v));

  // ---- RoPE over Q, then K
  const rope = m.instance('u_rope', ropeUnit(c), { cnt, p, q: bus(m, Q), k: bus(m, K), hdlog: cfg('hdlog'), qlen: cfg('qlen'), lut: site.rope });
  const iw = bitsFor(F + kvMax);
  const ra = elems(rope.a_out, E, 8), rb = elems(rope.b_out, E, 8);
  const rEa = elems(rope.ea, E, iw, false), rEb = elems(rope.eb, E, iw, false), rKa = elems(rope.ka, E, iw, false), rKb = elems(rope.kb, E, iw, false);
  for (let j = 0; j < E; j++) {
    const inQ = opRope.and(rope.in_q.bit(j)), inK = opRope.and(rope.in_q.bit(j).not());
    nx.q = nx.q.map((v, e) => inQ.and(rEa[j].eq(e)).select(ra[j], inQ.and(rEb[j].eq(e)).select(rb[j], v)));
    nx.k = nx.k.map((v, e) => inK.and(rKa[j].eq(e)).select(ra[j], inK.and(rKb[j].eq(e)).select(rb[j], v)));
  }

  // ---- KV cache: one row (all KV heads) per (layer, position); port 0 for the engine, port 1 for read-out
  const attnT = m.wire('attn_t', c.ctxBits + 1);
  const kvAddr = opKv.select(m.cat(layer, p), m.cat(layer, attnT.trunc(c.ctxBits)));
  const kram = m.ram('kv_k', 8 * kvMax, c.layerBits + c.ctxBits);
  const vram = m.ram('kv_v', 8 * kvMax, c.layerBits + c.ctxBits);
  const kq = kram.port({ clock: clk, addr: kvAddr, writeData: bus(m, K), writeEnable: opKv });
  const vq = vram.port({ clock: clk, addr: kvAddr, writeData: bus(m, V), writeEnable: opKv });

  // ---- attention
  const attn = m.instance('u_attn', attnUnit(c), {
    clk, rst, run: opAttn, fin, pos: seq.pos, q: bus(m, Q), krow: kq, vrow: vq, heads: cfg('heads'), hdlog: cfg('hdlog'),
    kv_head: site.kv_head, exp_m: cfg('expM'), exp_s: cfg('expS'), lut_exp: site.lut_exp, lut_recip: site.lut_recip,
  });
  attnT.drive(attn.t);
  attnDone.drive(attn.done);
  const ao = elems(attn.out, F, 8);
  nx.u = nx.u.map((v, e) => opAttn.and(attn.out_we.bit(e)).select(ao[e], v));

  // ---- SwiGLU
  const siluIn: Record<string, Signal> = { cnt, g: bus(m, G), up: bus(m, UP), act_m: cfg('actM'), act_s: cfg('actS') };
  for (let j = 0; j < E; j++) siluIn[`lut${j}`] = site[`lut_silu${j}`];
  const silu = m.instance('u_silu', siluUnit(c), siluIn);
  const act = elems(silu.act, E, 8);
  nx.g = nx.g.map((v, e) => opSilu.and(silu.blk.eq(Math.floor(e / E))).select(act[e % E], v)); // in place: down_proj reads G

  // ---- argmax over the logits
  const arg = m.instance('u_argmax', argmaxUnit(c), { clk, rst, run: opArg, cnt, logits: bus(m, LOG), vocab: cfg('vocab') });
  best.drive(arg.best);

  const commit = (regs: Reg[], next: Signal[]): void => regs.forEach((r, i) => r.next(next[i]));
  commit(X, nx.x); commit(U, nx.u); commit(G, nx.g); commit(UP, nx.up); commit(Q, nx.q); commit(K, nx.k); commit(V, nx.v); commit(LOG, nx.logits);

  m.output('in_ready', seq.in_ready);
  m.output('out_valid', seq.out_valid);
  m.output('out_token', seq.out_valid.select(arg.best, m.const(0, c.tokBits)));
  const logits = bus(m, LOG);
  m.output('out_data', seq.out_valid.select(logits, m.const(0, logits.width)));
  m.output('pos', seq.pos);
  m.output('dbg_k', kram.port({ clock: clk, addr: dbgAddr }));
  m.output('dbg_v', vram.port({ clock: clk, addr: dbgAddr }));
  return m.build();
}

/** The chip top: the engine with its two masks plugged in. Same text for every model of the grid. */
export function chipTop(c: EngineCaps, engine: IrModule, maskWeights: IrModule, maskRouting: IrModule): IrModule {
  const m = new ModuleBuilder('chip_top', { doc: `chip on grid '${c.g.name}': the base engine personalized by mask layers A (weights) and B (routing)`, params: { grid: c.g.name } });
  const clk = m.clock('clk');
  const conn: Record<string, Signal> = { clk };
  for (const pt of engine.ports) if (pt.dir === 'input' && pt.name !== 'clk' && !sitePorts(c).some((s) => s.name === pt.name)) conn[pt.name] = m.input(pt.name, pt.width);
  const a = m.instance('u_mask_weights', maskWeights, {});
  const b = m.instance('u_mask_routing', maskRouting, {});
  for (const s of sitePorts(c)) conn[s.name] = s.layer === 'weights' ? a[s.name] : b[s.name];
  const e = m.instance('u_engine', engine, conn);
  for (const pt of engine.ports) if (pt.dir === 'output') m.output(pt.name, e[pt.name]);
  return m.build();
}
