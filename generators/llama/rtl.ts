// The hardwired Llama chip: the base grid's lanes do every projection (weights in the cells' mask ROMs);
// mask layer B holds the sequencer and the units around the grid: RMSNorm (Σx², rsqrt LUT), RoPE (cos/sin
// ROM), the KV cache in SRAM, attention (scores, exp LUT, reciprocal LUT), SwiGLU (SiLU LUT), argmax.
// Each unit does exactly what verify/golden/llama.ts says, one element (or one cache row) per cycle.

import { ModuleBuilder, type Reg } from '../../dsl/module.ts';
import type { IrModule } from '../../dsl/ir/types.ts';
import type { Signal } from '../../dsl/signal.ts';
import { adderTree, ranged, requantBy } from '../mlp/arith.ts';
import { cellFormat, gridModule, SHIFT_BITS } from '../grid/base.ts';
import { log2ceil, type GridSpec } from '../grid/grid.ts';
import { EXP_FRAC_BITS, EXP_RANGE, RECIP_INDEX_BITS, RSQRT_INDEX_BITS, ROPE_FRAC_BITS, ropeIntTables, type QLinear, type QuantizedLlama } from '../quantize/llama.ts';
import { buildProgram, instrCycles, OPS, type Dest, type Instr, type LlamaProgram } from './schedule.ts';

/** A program built from a QuantizedLlama: its matmuls carry the weights and requant parameters. */
type QProgram = LlamaProgram<QLinear>;

const DESTS: readonly Dest[] = ['q', 'k', 'v', 'gate', 'up', 'x', 'logits'];

function bitsFor(n: number): number {
  return Math.max(1, Math.ceil(Math.log2(n + 1)));
}

/** vals[idx] by a balanced mux tree; an index past the end reads zero. */
function pick(m: ModuleBuilder, vals: readonly Signal[], idx: Signal): Signal {
  const zero = m.const(0, vals[0].width, vals[0].signed);
  if (vals.length === 1) return idx.eq(0).select(vals[0], zero);
  let level: Signal[] = [...vals];
  for (let b = 0; level.length > 1; b++) {
    const next: Signal[] = [];
    for (let i = 0; i < level.length; i += 2) next.push(b < idx.width ? idx.bit(b).select(level[i + 1] ?? zero, level[i]) : level[i]);
    level = next;
  }
  return level[0];
}

/** Saturate a signed value to `bits` bits. */
function sat(m: ModuleBuilder, v: Signal, bits: number): Signal {
  if (v.width <= bits) return v.sext(bits);
  const hi = m.const((1n << BigInt(bits - 1)) - 1n, v.width, true);
  const lo = m.const(-(1n << BigInt(bits - 1)), v.width, true);
  return v.gt(hi).select(hi, v.lt(lo).select(lo, v)).trunc(bits);
}

/** (a·M + 2^(S−1)) >> S with constant M and S (the multiplier stays a generic one; Yosys folds the constant). */
function rqConst(m: ModuleBuilder, a: Signal, M: number, S: number): Signal {
  const mb = bitsFor(M);
  const W = a.width + mb + 2;
  const prod = a.sext(a.width + 1).mul(m.const(M, mb + 1, true)).sext(W);
  return prod.add(m.const(1n << BigInt(S - 1), W, true)).shr(S);
}

/** Index of the highest set bit (0 for 0). */
function msbIndex(m: ModuleBuilder, v: Signal): Signal {
  const w = bitsFor(v.width - 1);
  let r: Signal = m.const(0, w);
  for (let b = 1; b < v.width; b++) r = v.bit(b).select(m.const(b, w), r);
  return r;
}

function lanesWord(q: QuantizedLlama, prog: QProgram, g: GridSpec, lane: number, addr: number): bigint {
  const mm = prog.instrs.find((i): i is Extract<Instr<QLinear>, { op: 'matmul' }> => i.op === 'matmul' && addr >= i.addr0 && addr < i.addr0 + i.passes * i.chunks);
  if (!mm) return 0n;
  const rel = addr - mm.addr0;
  const row = Math.floor(rel / mm.chunks) * g.lanes + lane;
  const col0 = (rel % mm.chunks) * g.rows;
  let v = 0n;
  const wm = (1n << BigInt(g.weightBits)) - 1n;
  for (let r = 0; r < g.rows; r++) {
    const col = col0 + r;
    const w = row < mm.mat.rows && col < mm.mat.cols ? mm.mat.weight[row * mm.mat.cols + col] : 0;
    v |= (BigInt(w) & wm) << BigInt(r * g.weightBits);
  }
  return v;
}

/** Mask layer A: every cell's weights (one mask ROM per lane, a word per address) and the embedding table. */
export function llamaMaskWeights(q: QuantizedLlama, prog: QProgram, g: GridSpec): IrModule {
  const f = cellFormat(g);
  const d = q.dims;
  const m = new ModuleBuilder('mask_weights_llama', { doc: `weights mask (layer A): ${prog.romUsed} ROM words per cell of ${g.lanes}x${g.rows} cells, and the token embedding table`, params: { grid: g.name, romUsed: prog.romUsed } });
  const addr = m.input('addr', f.addrBits);
  const token = m.input('token', bitsFor(d.vocab - 1));
  for (let c = 0; c < g.lanes; c++) {
    const words = Array.from({ length: prog.romUsed }, (_, a) => lanesWord(q, prog, g, c, a));
    m.output(`pers_l${c}`, m.rom(`w_l${c}`, g.rows * g.weightBits, words).read(addr));
  }
  const rows = Array.from({ length: d.vocab }, (_, t) => {
    let v = 0n;
    for (let i = 0; i < d.hidden; i++) v |= (BigInt(q.embed[t * d.hidden + i]) & 0xffffn) << BigInt(16 * i);
    return v;
  });
  m.output('emb', m.rom('embed', 16 * d.hidden, rows).read(token));
  return m.build();
}

interface Field { readonly name: string; readonly bits: number }

/** Mask layer B: sequencer, buffers, the KV cache SRAM and the norm/RoPE/attention/SiLU/argmax units. */
export function llamaMaskRouting(q: QuantizedLlama, prog: QProgram, g: GridSpec, context: number): IrModule {
  const d = q.dims;
  const f = cellFormat(g);
  const L = g.lanes;
  const H = d.hidden;
  const hd = d.headDim;
  const half = hd / 2;
  const rep = d.heads / d.kvHeads;
  const kvw = d.kvHeads * hd;
  const tokBits = bitsFor(d.vocab - 1);
  const pBits = log2ceil(context);
  const lBits = log2ceil(d.layers);
  const m = new ModuleBuilder('mask_routing_llama', {
    doc: `routing/control mask (layer B): ${prog.instrs.length}-instruction decoder-step program, KV cache of ${context} positions`,
    params: { grid: g.name, context, instructions: prog.instrs.length },
  });
  const clk = m.clock('clk');
  const rst = m.input('rst', 1);
  const inValid = m.input('in_valid', 1);
  const inToken = m.input('in_token', tokBits);
  const inFeedback = m.input('in_feedback', 1);
  const inRestart = m.input('in_restart', 1);
  const outReady = m.input('out_ready', 1);
  const dbgAddr = m.input('dbg_addr', lBits + pBits);
  const emb = m.input('emb', 16 * H);
  const accIn: Signal[] = [];
  const yIn: Signal[] = [];
  for (let c = 0; c < L; c++) {
    accIn.push(m.input(`acc_l${c}`, g.accBits, { signed: true }));
    yIn.push(m.input(`y_l${c}`, g.actBits, { signed: true }));
  }
  const reg = (name: string, width: number, signed = false, reset = false): Reg => m.reg(name, { width, signed, clock: clk, ...(reset ? { reset: rst, resetValue: 0n } : {}) });

  // ---- microcode
  const mms = prog.instrs.filter((i): i is Extract<Instr<QLinear>, { op: 'matmul' }> => i.op === 'matmul');
  const maxLen = Math.max(...prog.instrs.map((i) => (i.op === 'attn' ? 1 : instrCycles(prog, i, 0))));
  const fields: Field[] = [
    { name: 'op', bits: bitsFor(OPS.length - 1) },
    { name: 'lenm1', bits: bitsFor(maxLen) },
    { name: 'layer', bits: lBits },
    { name: 'dest', bits: bitsFor(DESTS.length - 1) },
    { name: 'addr0', bits: f.addrBits },
    { name: 'pass0', bits: bitsFor(prog.passes) },
    { name: 'chunksm1', bits: bitsFor(Math.max(...mms.map((i) => i.chunks))) },
    { name: 'passesm1', bits: bitsFor(Math.max(...mms.map((i) => i.passes))) },
  ];
  const words = prog.instrs.map((ins) => {
    const v: Record<string, number> = {
      op: OPS.indexOf(ins.op), lenm1: ins.op === 'attn' ? 0 : instrCycles(prog, ins, 0) - 1,
      layer: 'layer' in ins ? Math.min(ins.layer, d.layers - 1) : 0,
      dest: ins.op === 'matmul' ? DESTS.indexOf(ins.dest) : 0, addr0: ins.op === 'matmul' ? ins.addr0 : 0,
      pass0: ins.op === 'matmul' ? ins.pass0 : 0, chunksm1: ins.op === 'matmul' ? ins.chunks - 1 : 0, passesm1: ins.op === 'matmul' ? ins.passes - 1 : 0,
    };
    let w = 0n, off = 0n;
    for (const fl of fields) { w |= BigInt(v[fl.name]) << off; off += BigInt(fl.bits); }
    return w;
  });
  const uWidth = fields.reduce((s, x) => s + x.bits, 0);
  const pcBits = bitsFor(prog.instrs.length - 1);
  const IDLE = 0, RUN = 1, DONE = 2;
  const state = reg('state', 2, false, true);
  const pc = reg('pc', pcBits, false, true);
  const cnt = reg('cnt', 16, false, true);
  const pos = reg('pos', pBits + 1, false, true);
  const tok = reg('token', tokBits, false, true);
  const uw = m.rom('ucode', uWidth, words).read(pc).named('uword');
  const field = (name: string): Signal => {
    let off = 0;
    for (const fl of fields) {
      if (fl.name === name) return uw.slice(off + fl.bits - 1, off).named(`u_${name}`);
      off += fl.bits;
    }
    throw new Error(name);
  };
  const running = state.eq(RUN).named('running');
  const opf = field('op');
  const is = (op: (typeof OPS)[number]): Signal => running.and(opf.eq(OPS.indexOf(op))).named(`op_${op}`);
  const opEmbed = is('embed'), opNorm = is('norm'), opMat = is('matmul'), opRope = is('rope'), opKv = is('kvwrite');
  const opAttn = is('attn'), opSilu = is('silu'), opArg = is('argmax'), opEnd = is('end');
  const layer = field('layer');
  const attnDone = m.wire('attn_done', 1);
  const fin = opAttn.select(attnDone, running.and(cnt.eq(field('lenm1').zext(16)))).named('fin');
  const readyState = state.eq(IDLE).or(state.eq(DONE).and(outReady));
  const posOk = pos.lt(context);
  const accept = readyState.and(inValid).and(posOk.or(inRestart)).named('accept');
  const endNow = opEnd.and(fin);
  const best = reg('best_idx', tokBits, false, true);
  state.next(accept.select(m.const(RUN, 2), endNow.select(m.const(DONE, 2), state.eq(DONE).and(outReady).select(m.const(IDLE, 2), state))));
  pc.next(accept.select(m.const(0, pcBits), fin.select(pc.add(1), pc)));
  cnt.next(accept.or(fin).select(m.const(0, 16), running.select(cnt.add(1), cnt)));
  pos.next(accept.and(inRestart).select(m.const(0, pBits + 1), endNow.select(pos.add(1), pos)));
  tok.next(accept.select(inFeedback.select(best, inToken), tok));
  const p = pos.trunc(pBits).named('p');

  // ---- buffers
  const mkVec = (name: string, n: number, bits: number): Reg[] => Array.from({ length: n }, (_, i) => reg(`${name}${i}`, bits, true));
  const X = mkVec('x', H, 16);
  // U holds the widest matrix input; the lanes read whole chunks, and past the end they read zero.
  const U = mkVec('u', Math.max(H, d.intermediate, d.heads * hd), 8);
  const Q = mkVec('q', d.heads * hd, 8);
  const K = mkVec('k', kvw, 8);
  const V = mkVec('v', kvw, 8);
  const G = mkVec('g', d.intermediate, 8);
  const UP = mkVec('up', d.intermediate, 8);
  const LOG = mkVec('logit', d.vocab, 16);
  const nextX: Signal[] = [...X];
  const nextQK: Signal[] = [...Q, ...K];
  const QK = [...Q, ...K];

  // ---- grid issue (matmul)
  const chunk = reg('chunk', field('chunksm1').width, false, true);
  const pass = reg('pass', field('passesm1').width, false, true);
  const issueSteps = field('passesm1').zext(16).add(1).mul(field('chunksm1').zext(16).add(1)).trunc(16);
  const issue = opMat.and(cnt.lt(issueSteps)).named('issue');
  const lastChunk = chunk.eq(field('chunksm1'));
  chunk.next(fin.select(m.const(0, chunk.width), issue.select(lastChunk.select(m.const(0, chunk.width), chunk.add(1)), chunk)));
  pass.next(fin.select(m.const(0, pass.width), issue.and(lastChunk).select(pass.add(1), pass)));
  const nChunks = prog.uLen / g.rows;
  const xs: Signal[] = [];
  const zero8 = m.const(0, 8, true);
  for (let r = 0; r < g.rows; r++) xs.push(pick(m, Array.from({ length: nChunks }, (_, c) => U[c * g.rows + r] ?? zero8), chunk));
  m.output('x', m.cat(...xs.reverse()));
  m.output('addr', field('addr0').add(cnt.trunc(f.addrBits)));
  m.output('first', issue.and(chunk.eq(0)));
  // Writeback: the pass's accumulators are final laneLatency cycles after its last chunk issues.
  let wb: Signal = issue.and(lastChunk);
  let wbPass: Signal = pass;
  for (let k = 0; k < prog.laneLatency; k++) {
    wb = m.delay(`wb_d${k + 1}`, wb, { clock: clk, reset: rst, resetValue: 0n });
    wbPass = m.delay(`wbpass_d${k + 1}`, wbPass, { clock: clk });
  }
  const gpass = field('pass0').add(wbPass.zext(field('pass0').width)).named('gpass');
  const dest = field('dest');
  const wbTo = (dn: Dest): Signal => wb.and(dest.eq(DESTS.indexOf(dn)));
  // Per-lane requant parameters of every pass of the program (M | S), read at the writeback pass.
  const rq16: Signal[] = [];
  for (let c = 0; c < L; c++) {
    const ms = Array.from({ length: prog.passes }, (_, gp) => {
      const mm = mms.find((i) => gp >= i.pass0 && gp < i.pass0 + i.passes)!;
      const row = (gp - mm.pass0) * L + c;
      const ok = row < mm.mat.rows;
      return (BigInt(ok ? mm.mat.M[row] : 0) << BigInt(SHIFT_BITS)) | BigInt(ok ? mm.mat.S[row] : 1);
    });
    const w = m.rom(`ms_l${c}`, g.mBits + SHIFT_BITS, ms).read(gpass);
    const M = w.slice(g.mBits + SHIFT_BITS - 1, SHIFT_BITS);
    const S = w.slice(SHIFT_BITS - 1, 0);
    m.output(`m_l${c}`, M);
    m.output(`s_l${c}`, S);
    m.output(`bias_l${c}`, m.const(0, g.accBits, true));
    m.output(`relu_l${c}`, m.const(0, 1));
    rq16.push(sat(m, requantBy(m, accIn[c], M, S), 16).named(`rq16_l${c}`));
  }
  const laneWrite = (vec: Signal[], dn: Dest, n: number, val: (c: number, e: number) => Signal, offset = 0): void => {
    const hit = wbTo(dn);
    for (let e = 0; e < n; e++) {
      const c = e % L;
      vec[offset + e] = hit.and(wbPass.eq(Math.floor(e / L))).select(val(c, e), vec[offset + e]);
    }
  };
  laneWrite(nextQK, 'q', Q.length, (c) => yIn[c]);
  laneWrite(nextQK, 'k', K.length, (c) => yIn[c], Q.length);
  const nextV: Signal[] = [...V];
  laneWrite(nextV, 'v', V.length, (c) => yIn[c]);
  const nextG: Signal[] = [...G];
  laneWrite(nextG, 'gate', G.length, (c) => yIn[c]);
  const nextUP: Signal[] = [...UP];
  laneWrite(nextUP, 'up', UP.length, (c) => yIn[c]);
  const nextLOG: Signal[] = [...LOG];
  laneWrite(nextLOG, 'logits', LOG.length, (c) => rq16[c]);
  laneWrite(nextX, 'x', H, (c, e) => sat(m, X[e].addWide(rq16[c]), 16));
  for (let e = 0; e < H; e++) nextX[e] = opEmbed.select(emb.slice(16 * e + 15, 16 * e).asSigned(), nextX[e]);

  // ---- write ports of U: E lanes for norm and SiLU (block b = elements bE .. bE+E−1), one for attention
  const E = g.vector;
  const uBits = bitsFor(U.length - 1);
  const blocks = (n: number): number => Math.ceil(n / E);
  const blockOf = <T>(vec: readonly T[], j: number, n: number): T[] => Array.from({ length: blocks(n) }, (_, b2) => vec[b2 * E + j]).filter((v) => v !== undefined);

  // ---- RMSNorm: Σx² over ⌈H/E⌉ cycles (E squares each), rsqrt LUT, then E scaled elements per cycle
  const c16 = cnt;
  const nA = blocks(H);
  const inSum = opNorm.and(c16.lt(nA));
  const inScale = opNorm.and(c16.gt(nA));
  const nBlk = inSum.select(c16, c16.sub(nA + 1)).trunc(bitsFor(Math.max(1, nA - 1))).named('norm_blk');
  const xis = Array.from({ length: E }, (_, j) => pick(m, blockOf(X, j, H), nBlk).named(`norm_x${j}`));
  const ssBits = 32 + bitsFor(H);
  const ss = reg('norm_ss', ssBits);
  // A lane past the end of x in the last block reads zero (pick past the end), so it adds nothing.
  const sqSum = xis.map((x) => x.mul(x).asUnsigned().zext(ssBits)).reduce((acc, v) => acc.add(v));
  ss.next(inSum.select(c16.eq(0).select(sqSum, ss.add(sqSum)), ss));
  const msb = msbIndex(m, ss);
  const k2 = msb.shr(1).shl(1).trunc(msb.width).named('norm_2k'); // 2k = msb rounded down to even
  const base = RSQRT_INDEX_BITS - 2;
  const down = k2.ge(base);
  const idxWide = down.select(ss.shrBy(k2.sub(base)), ss.shlBy(m.const(base, k2.width).sub(k2)));
  const rs = m.rom('rsqrt', 16, Array.from(q.rsqrt, BigInt)).read(idxWide.trunc(RSQRT_INDEX_BITS));
  const nR = reg('norm_r', 16);
  const nS = reg('norm_s', SHIFT_BITS);
  const atRsqrt = opNorm.and(c16.eq(nA));
  nR.next(atRsqrt.select(rs, nR));
  nS.next(atRsqrt.select(m.const(q.rsqrtFrac - base / 2, SHIFT_BITS).add(k2.shr(1).zext(SHIFT_BITS)), nS));
  const uNorm = xis.map((x, j) => sat(m, requantBy(m, x, nR, nS), 8).named(`norm_u${j}`));

  // ---- RoPE: one (a, b) pair per cycle over the heads of Q then K
  const halfBits = log2ceil(half);
  const ri = cnt.trunc(halfBits).named('rope_i');
  const rh = cnt.shr(halfBits).trunc(bitsFor(d.heads + d.kvHeads)).named('rope_h');
  const eA = rh.zext(16).shl(log2ceil(hd)).trunc(16).or(ri.zext(16)).named('rope_ea');
  const eB = eA.add(half).named('rope_eb');
  const { cos, sin } = ropeIntTables(d, context);
  const cs = m.rom('rope_cs', 32, Array.from({ length: context * half }, (_, j) => ((BigInt(cos[j]) & 0xffffn) << 16n) | (BigInt(sin[j]) & 0xffffn))).read(m.cat(p, ri));
  const C = cs.slice(31, 16).asSigned();
  const Sn = cs.slice(15, 0).asSigned();
  const ropeIdxBits = bitsFor(QK.length - 1);
  const a = pick(m, QK, eA.trunc(ropeIdxBits)).named('rope_a');
  const b = pick(m, QK, eB.trunc(ropeIdxBits)).named('rope_b');
  const rot = (x: Signal, y: Signal, sign: 1 | -1): Signal => {
    const W = 8 + 16 + 2;
    const t1 = x.sext(W).mul(C.sext(W)).trunc(W);
    const t2 = y.sext(W).mul(Sn.sext(W)).trunc(W);
    const s = (sign < 0 ? t1.sub(t2) : t1.add(t2)).add(m.const(1 << (ROPE_FRAC_BITS - 1), W, true)).shr(ROPE_FRAC_BITS);
    return sat(m, s, 8);
  };
  const aOut = rot(a, b, -1).named('rope_a_out');
  const bOut = rot(b, a, 1).named('rope_b_out');
  for (let e = 0; e < QK.length; e++) {
    nextQK[e] = opRope.and(eA.eq(e)).select(aOut, opRope.and(eB.eq(e)).select(bOut, nextQK[e]));
  }

  // ---- KV cache SRAM: one row (all KV heads) per layer and position; port 0 for the decoder, port 1 for read-out
  const kvAddrBits = lBits + pBits;
  const attnT = reg('attn_t', pBits + 1, false, true);
  const kvAddr = opKv.select(m.cat(layer, p), m.cat(layer, attnT.trunc(pBits)));
  const kRow = m.cat(...[...K].reverse());
  const vRow = m.cat(...[...V].reverse());
  const kram = m.ram('kv_k', 8 * kvw, kvAddrBits);
  const vram = m.ram('kv_v', 8 * kvw, kvAddrBits);
  const kq = kram.port({ clock: clk, addr: kvAddr, writeData: kRow, writeEnable: opKv });
  const vq = vram.port({ clock: clk, addr: kvAddr, writeData: vRow, writeEnable: opKv });
  m.output('dbg_k', kram.port({ clock: clk, addr: dbgAddr }));
  m.output('dbg_v', vram.port({ clock: clk, addr: dbgAddr }));

  // ---- attention: per head, scores (p+2 cycles), exp·V (p+2), reciprocal (1), outputs (headDim)
  const headBits = bitsFor(d.heads - 1);
  const aHead = reg('attn_h', headBits, false, true);
  const aPh = reg('attn_ph', 2, false, true);
  const tEnd = attnT.eq(pos.trunc(pBits + 1).add(1)); // t = p + 1: the last cycle of a cache sweep
  const kvHead = m.rom('kv_head_of', bitsFor(d.kvHeads - 1), Array.from({ length: d.heads }, (_, h) => BigInt(Math.floor(h / rep)))).read(aHead);
  const slice8 = (row: Signal, i: number): Signal => row.slice(8 * i + 7, 8 * i).asSigned();
  const kvPick = (row: Signal): Signal[] => Array.from({ length: hd }, (_, i) => pick(m, Array.from({ length: d.kvHeads }, (_, g2) => slice8(row, g2 * hd + i)), kvHead));
  const qh = Array.from({ length: hd }, (_, i) => pick(m, Array.from({ length: d.heads }, (_, h) => Q[h * hd + i]), aHead));
  const kh = kvPick(kq);
  const vh = kvPick(vq);
  const dot = adderTree({ m, clk }, 'score', qh.map((x, i) => ranged(x.sext(16).mul(kh[i].sext(16)).trunc(16), -(127n * 128n), 128n * 128n)), 1000, 0).out.sig;
  const scoreBits = dot.width;
  const ph0 = opAttn.and(aPh.eq(0)), ph1 = opAttn.and(aPh.eq(1)), ph2 = opAttn.and(aPh.eq(2)), ph3 = opAttn.and(aPh.eq(3));
  const tPos = attnT.ne(0);
  const sram = m.ram('scores', scoreBits, pBits);
  const sAddr = ph0.select(attnT.sub(1), attnT).trunc(pBits);
  const sq1 = sram.port({ clock: clk, addr: sAddr, writeData: dot.asUnsigned(), writeEnable: ph0.and(tPos) }).asSigned();
  const smax = reg('attn_max', scoreBits, true);
  smax.next(ph0.and(tPos).select(attnT.eq(1).or(dot.gt(smax)).select(dot, smax), smax));
  const dist = smax.subWide(sq1).asUnsigned().trunc(scoreBits + 1).named('attn_d');
  const z = rqConst(m, dist.zext(scoreBits + 2).asSigned(), q.expM, q.expS).named('attn_z');
  const zMax = EXP_RANGE << EXP_FRAC_BITS;
  const zU = z.asUnsigned();
  const ex2 = m.rom('exp2', 16, Array.from(q.exp2, BigInt)).read(zU.trunc(EXP_FRAC_BITS));
  const eVal = z.ge(m.const(zMax, z.width, true)).select(m.const(0, 16), ex2.shrBy(zU.slice(EXP_FRAC_BITS + 3, EXP_FRAC_BITS))).named('attn_e');
  const sumBits = 16 + pBits + 1;
  const sum = reg('attn_sum', sumBits);
  const acc1 = ph1.and(tPos);
  const restart1 = attnT.eq(1);
  sum.next(acc1.select(restart1.select(eVal.zext(sumBits), sum.add(eVal.zext(sumBits))), sum));
  const numBits = 8 + 17 + pBits + 1;
  const num = Array.from({ length: hd }, (_, i) => {
    const r = reg(`attn_num${i}`, numBits, true);
    const t = eVal.zext(17).asSigned().mul(vh[i].sext(17)).trunc(25).sext(numBits);
    r.next(acc1.select(restart1.select(t, r.add(t)), r));
    return r;
  });
  const e2 = msbIndex(m, sum).named('attn_e2');
  const rb = RECIP_INDEX_BITS - 1;
  const ridx = sum.shrBy(e2.sub(rb)).trunc(rb);
  const rcp = m.rom('recip', 16, Array.from(q.recip, BigInt)).read(ridx);
  const aR = reg('attn_r', 16);
  const aS = reg('attn_s', SHIFT_BITS);
  aR.next(ph2.select(rcp, aR));
  aS.next(ph2.select(e2.zext(SHIFT_BITS).add(24 - rb), aS));
  const oI = attnT.trunc(log2ceil(hd));
  const attnOut = sat(m, requantBy(m, pick(m, num, oI), aR, aS), 8).named('attn_out');
  const lastHead = aHead.eq(d.heads - 1);
  const oEnd = ph3.and(oI.eq(hd - 1));
  attnDone.drive(oEnd.and(lastHead));
  const sweepEnd = ph0.or(ph1).and(tEnd);
  attnT.next(fin.or(sweepEnd).or(ph2).or(oEnd).select(m.const(0, attnT.width), opAttn.select(attnT.add(1), attnT)));
  aPh.next(fin.select(m.const(0, 2), sweepEnd.or(ph2).or(oEnd).select(aPh.add(1), aPh)));
  aHead.next(fin.select(m.const(0, headBits), oEnd.select(aHead.add(1), aHead)));

  // ---- SwiGLU: act_i = sat8(rq(SILU[g_i]·up_i, actM, actS)), E elements per cycle (E copies of the SiLU LUT)
  const sBlk = cnt.trunc(bitsFor(Math.max(1, blocks(d.intermediate) - 1))).named('silu_blk');
  const siluRom = Array.from(q.silu, (v) => BigInt(v) & 0xffffn);
  const acts = Array.from({ length: E }, (_, j) => {
    const gi = pick(m, blockOf(G, j, d.intermediate), sBlk);
    const upi = pick(m, blockOf(UP, j, d.intermediate), sBlk);
    const sv = m.rom(`silu${j}`, 16, siluRom).read(gi.asUnsigned().xor(m.const(0x80, 8))).asSigned();
    return sat(m, rqConst(m, sv.sext(24).mul(upi.sext(24)).trunc(24), q.actM, q.actS), 8).named(`silu_act${j}`);
  });

  // ---- U: the block port (norm, SiLU) and the attention port
  const headBase = aHead.zext(uBits).shl(log2ceil(hd)).trunc(uBits);
  const blkWe = opNorm.and(inScale).or(opSilu).named('u_blk_we');
  const blk = opSilu.select(sBlk.zext(16), nBlk.zext(16)).named('u_blk');
  const attIdx = headBase.or(oI.zext(uBits)).named('u_att_idx');
  U.forEach((u, e) => {
    const j = e % E;
    const blockHit = blkWe.and(blk.eq(Math.floor(e / E)));
    u.next(blockHit.select(opSilu.select(acts[j], uNorm[j]), ph3.and(attIdx.eq(e)).select(attnOut, u)));
  });

  // ---- argmax over the logits, E per cycle, lowest index on a tie
  const aBlk = cnt.trunc(bitsFor(Math.max(1, blocks(d.vocab) - 1))).named('argmax_blk');
  let cand: Signal = pick(m, blockOf(LOG, 0, d.vocab), aBlk);
  let candJ: Signal = m.const(0, bitsFor(Math.max(1, E - 1)));
  for (let j = 1; j < E; j++) {
    // A lane past the end of the logits never wins (its block has no element j).
    const valid = aBlk.lt(blocks(d.vocab - j));
    const lj = pick(m, blockOf(LOG, j, d.vocab), aBlk);
    const gt = valid.and(lj.gt(cand));
    cand = gt.select(lj, cand);
    candJ = gt.select(m.const(j, candJ.width), candJ);
  }
  const candIdx = aBlk.zext(16).mul(m.const(E, bitsFor(E))).trunc(16).add(candJ.zext(16)).named('argmax_idx');
  const bestV = reg('best_logit', 16, true);
  const take = opArg.and(cnt.eq(0).or(cand.gt(bestV)));
  bestV.next(take.select(cand, bestV));
  best.next(take.select(candIdx.trunc(tokBits), best));

  X.forEach((x, e) => x.next(nextX[e]));
  QK.forEach((r, e) => (r as Reg).next(nextQK[e]));
  V.forEach((r, e) => r.next(nextV[e]));
  G.forEach((r, e) => r.next(nextG[e]));
  UP.forEach((r, e) => r.next(nextUP[e]));
  LOG.forEach((r, e) => r.next(nextLOG[e]));

  m.output('token', tok);
  m.output('in_ready', readyState.and(posOk.or(inRestart)));
  m.output('out_valid', state.eq(DONE));
  m.output('out_token', state.eq(DONE).select(best, m.const(0, tokBits)));
  m.output('pos', pos);
  return m.build();
}

/** The chip top: base grid + the two masks; ports for a token in, the next token out, and KV read-out. */
export function llamaTop(q: QuantizedLlama, prog: QProgram, g: GridSpec, context: number): IrModule {
  const d = q.dims;
  const { grid } = gridModule(g);
  const mw = llamaMaskWeights(q, prog, g);
  const mr = llamaMaskRouting(q, prog, g, context);
  const f = cellFormat(g);
  const m = new ModuleBuilder('llama_top', { doc: `hardwired Llama (${d.layers} layers, hidden ${d.hidden}) on grid '${g.name}', context ${context}`, params: { grid: g.name, context } });
  const clk = m.clock('clk');
  const routeIn: Record<string, Signal> = { clk };
  for (const pt of mr.ports) if (pt.dir === 'input' && !['clk', 'emb'].includes(pt.name) && !/^(acc|y)_l\d+$/.test(pt.name)) routeIn[pt.name] = m.input(pt.name, pt.width);
  const addr = m.wire('rom_addr', f.addrBits);
  const token = m.wire('cur_token', bitsFor(d.vocab - 1));
  const w = m.instance('u_mask_weights', mw, { addr, token });
  routeIn.emb = w.emb;
  const laneOut: Record<string, ReturnType<typeof m.wire>> = {};
  for (let c = 0; c < g.lanes; c++) {
    laneOut[`acc_l${c}`] = routeIn[`acc_l${c}`] = m.wire(`acc_l${c}`, g.accBits, true);
    laneOut[`y_l${c}`] = routeIn[`y_l${c}`] = m.wire(`y_l${c}`, g.actBits, true);
  }
  const r = m.instance('u_mask_routing', mr, routeIn);
  addr.drive(r.addr);
  token.drive(r.token);
  const gridIn: Record<string, Signal> = { clk };
  for (const pt of grid.ports) {
    if (pt.dir !== 'input' || pt.name === 'clk') continue;
    gridIn[pt.name] = pt.name.startsWith('pers_') ? w[pt.name] : r[pt.name];
  }
  const go = m.instance('u_grid', grid, gridIn);
  for (const [k, wire] of Object.entries(laneOut)) wire.drive(go[k]);
  for (const n of ['in_ready', 'out_valid', 'out_token', 'pos', 'dbg_k', 'dbg_v']) m.output(n, r[n]);
  return m.build();
}

export { buildProgram };
