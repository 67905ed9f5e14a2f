// The two mask layers of a chip on the engine: constants and nothing else. Each output drives one
// personalization input of hw_engine (sitePorts): weight words, table contents and the embedding in
// layer A; microcode, lane requant words, the head table and the configuration word in layer B.
// Yosys on either module alone finds zero cells (verify/maskPurity.ts checks it on every run).
import { ModuleBuilder } from '../../dsl/module.ts';
import type { IrModule, WordNote } from '../../dsl/ir/types.ts';
import type { Instr, LlamaProgram, Shape } from '../llama/schedule.ts';
import { instrCycles } from '../llama/schedule.ts';
import { bitsFor, type EngineCaps } from './caps.ts';
import { MS_BITS, sitePorts } from './base.ts';
import { cfgFields, describeWord, DESTS, OPS, pack, ucodeFields, unpack, widthOf, type Cfg, type EngineDest } from './isa.ts';

/** A matrix the lanes hold: integer weights [rows, cols] row-major, per-row requant and optional bias. */
export interface WMat extends Shape {
  readonly weight: Int32Array;
  readonly M: ArrayLike<number>;
  readonly S: ArrayLike<number>;
  readonly bias?: readonly bigint[];
}

/** Everything model-specific on a chip: the masks are a pure function of this and the grid. */
export interface Personalization {
  readonly kind: string;
  readonly prog: LlamaProgram<WMat>;
  readonly cfg: Cfg;
  /** Embedding [vocab, hidden] int16 (Llama). */
  readonly embed?: { readonly hidden: number; readonly table: Int32Array };
  readonly tables?: { readonly rsqrt: Int32Array; readonly exp2: Int32Array; readonly recip: Int32Array; readonly silu: Int32Array };
  /** RoPE cos/sin, Q1.14, [positions][half]. */
  readonly rope?: { readonly half: number; readonly positions: number; readonly cos: Int32Array; readonly sin: Int32Array };
  /** KV head of each query head. */
  readonly kvHead?: readonly number[];
}

/** Words packed into one constant, word i in bits [i·width, (i+1)·width). */
function packWords(words: readonly bigint[], width: number, count: number): bigint {
  const mask = (1n << BigInt(width)) - 1n;
  let v = 0n;
  for (let i = Math.min(words.length, count) - 1; i >= 0; i--) v = (v << BigInt(width)) | (words[i] & mask);
  return v;
}

/**
 * What the words of a constant hold, for the comment beside each in the Verilog: `count` words of
 * `width` bits, `per` words to a line, `note(first, last)` for each line; lines without a note (words
 * no program reads) are merged into one `unused` line per run.
 */
function layout(count: number, width: number, per: number, noun: string, note: (first: number, last: number) => string | undefined): WordNote[] {
  const out: WordNote[] = [];
  const nouns = (a: number, b: number): string => (a === b ? `${noun} ${a}` : `${noun.endsWith('y') ? `${noun.slice(0, -1)}ies` : `${noun}s`} ${a}-${b}`);
  let idle = -1;
  const flush = (end: number): void => {
    if (idle >= 0) out.push({ width: (end - idle) * width, note: `${nouns(idle, end - 1)}: unused` });
    idle = -1;
  };
  for (let i = 0; i < count; i += per) {
    const last = Math.min(count, i + per) - 1;
    const n = note(i, last);
    if (n === undefined) { if (idle < 0) idle = i; continue; }
    flush(i);
    out.push({ width: (last - i + 1) * width, note: `${nouns(i, last)}: ${n}` });
  }
  flush(count);
  return out;
}

const span = (a: number, b: number): string => (a === b ? `${a}` : `${a}-${b}`);

type MatMul = Extract<Instr<WMat>, { op: 'matmul' }>;

function matmuls(prog: LlamaProgram<WMat>): MatMul[] {
  return prog.instrs.filter((i): i is MatMul => i.op === 'matmul');
}

/** Lane l's weight word at ROM address a: R weights of one output row, one input chunk. */
function laneWord(c: EngineCaps, prog: LlamaProgram<WMat>, l: number, a: number): bigint {
  const mm = matmuls(prog).find((i) => a >= i.addr0 && a < i.addr0 + i.passes * i.chunks);
  if (!mm) return 0n;
  const rel = a - mm.addr0;
  const row = Math.floor(rel / mm.chunks) * c.L + l;
  const col0 = (rel % mm.chunks) * c.R;
  const wb = BigInt(c.g.weightBits);
  const wm = (1n << wb) - 1n;
  let v = 0n;
  for (let r = c.R - 1; r >= 0; r--) {
    const col = col0 + r;
    const w = row < mm.mat.rows && col < mm.mat.cols ? mm.mat.weight[row * mm.mat.cols + col] : 0;
    v = (v << wb) | (BigInt(w) & wm);
  }
  return v;
}

/** A matrix as the comments name it: decoder layer and projection (`layer 1 q_proj`), or an MLP layer's own name. */
function matLabel(prog: LlamaProgram<WMat>, mm: MatMul): string {
  return prog.instrs.some((i) => i.op === 'attn') ? `layer ${mm.layer} ${mm.name}` : mm.name;
}

/** What lane l's weight word at ROM address a holds. */
function laneWordNote(c: EngineCaps, prog: LlamaProgram<WMat>, l: number, a: number): string | undefined {
  const mm = matmuls(prog).find((i) => a >= i.addr0 && a < i.addr0 + i.passes * i.chunks);
  if (!mm) return undefined;
  const rel = a - mm.addr0;
  const row = Math.floor(rel / mm.chunks) * c.L + l;
  const col0 = (rel % mm.chunks) * c.R;
  const at = matLabel(prog, mm);
  if (row >= mm.mat.rows || col0 >= mm.mat.cols) return `${at} pass ${Math.floor(rel / mm.chunks)} chunk ${rel % mm.chunks}: past the matrix (0)`;
  return `${at} row ${row} cols ${span(col0, Math.min(col0 + c.R, mm.mat.cols) - 1)}`;
}

/** The matmul and output row lane l computes in global pass gp, if any. */
function rowAt(c: EngineCaps, prog: LlamaProgram<WMat>, l: number, gp: number): { mm: MatMul; row: number } | undefined {
  const mm = matmuls(prog).find((i) => gp >= i.pass0 && gp < i.pass0 + i.passes);
  if (!mm) return undefined;
  const row = (gp - mm.pass0) * c.L + l;
  return row < mm.mat.rows ? { mm, row } : undefined;
}

const DEST_OF: Record<string, EngineDest> = { q: 'q', k: 'k', v: 'v', gate: 'g', up: 'up', x: 'x', logits: 'logits', u: 'u' };

/** The microcode words of a program. */
export function ucodeWords(c: EngineCaps, prog: LlamaProgram<WMat>): bigint[] {
  const f = ucodeFields(c);
  return prog.instrs.map((ins) => {
    const mm = ins.op === 'matmul' ? ins : undefined;
    return pack(f, {
      op: OPS.indexOf(ins.op as (typeof OPS)[number]),
      lenm1: ins.op === 'attn' ? 0 : instrCycles(prog, ins, 0) - 1,
      layer: 'layer' in ins ? Math.min(ins.layer, Math.max(0, prog.dims.layers - 1)) : 0,
      dest: mm ? DESTS.indexOf(DEST_OF[mm.dest]) : 0,
      src: mm?.src === 'gate' ? 1 : 0,
      relu: mm?.relu ? 1 : 0,
      raw: mm?.raw ? 1 : 0,
      addr0: mm?.addr0 ?? 0, pass0: mm?.pass0 ?? 0, chunksm1: mm ? mm.chunks - 1 : 0, passesm1: mm ? mm.passes - 1 : 0,
    });
  });
}

/** A microcode word decoded beside its bits: the operation, then every field. */
function decodeWord(c: EngineCaps, w: bigint): string {
  const v = unpack(ucodeFields(c), w);
  const fields = ucodeFields(c).filter((f) => f.name !== 'op').map((f) => `${f.name}=${f.name === 'dest' ? DESTS[v.dest] : f.name === 'src' ? (v.src ? 'g' : 'u') : v[f.name]}`);
  return `${OPS[v.op] ?? `op${v.op}`} ${fields.join(' ')}`;
}

/** Mask layer A: the weights (one word per ROM address per lane), the embedding and every table. */
export function maskWeights(c: EngineCaps, pz: Personalization): IrModule {
  const m = new ModuleBuilder('mask_weights', { doc: `weights mask (layer A) of a ${pz.kind} on grid '${c.g.name}': ${pz.prog.romUsed} of ${c.g.romDepth} weight words per cell, embedding, lookup tables, RoPE table; constants only`, params: { grid: c.g.name, romUsed: pz.prog.romUsed } });
  const ports = sitePorts(c).filter((s) => s.layer === 'weights');
  const val = (name: string): bigint => {
    const lw = /^w_l(\d+)$/.exec(name);
    if (lw) {
      const l = Number(lw[1]);
      return packWords(Array.from({ length: pz.prog.romUsed }, (_, a) => laneWord(c, pz.prog, l, a)), c.R * c.g.weightBits, c.passes);
    }
    const eg = /^emb_g(\d+)$/.exec(name);
    if (eg) {
      if (!pz.embed) return 0n;
      const { hidden: H, table } = pz.embed;
      const k = Number(eg[1]);
      const vocab = table.length / H;
      const rows = Array.from({ length: vocab }, (_, t) => {
        const els = Array.from({ length: c.embGroup }, (_, i) => { const e = k * c.embGroup + i; return BigInt(e < H ? table[t * H + e] : 0); });
        return packWords(els, 16, c.embGroup);
      });
      return packWords(rows, c.embGroup * 16, c.vocab);
    }
    const t = pz.tables;
    const lut = (a: Int32Array | undefined): bigint => (a ? packWords(Array.from(a, BigInt), 16, c.lutEntries) : 0n);
    if (name === 'lut_rsqrt') return lut(t?.rsqrt);
    if (name === 'lut_exp') return lut(t?.exp2);
    if (name === 'lut_recip') return lut(t?.recip);
    if (name.startsWith('lut_silu')) return lut(t?.silu);
    if (name === 'rope') {
      const r = pz.rope;
      if (!r) return 0n;
      const words: bigint[] = [];
      for (let p = 0; p < c.ctx; p++) {
        for (let i = 0; i < c.half; i++) {
          const ok = p < r.positions && i < r.half;
          words.push(ok ? ((BigInt(r.cos[p * r.half + i]) & 0xffffn) << 16n) | (BigInt(r.sin[p * r.half + i]) & 0xffffn) : 0n);
        }
      }
      return packWords(words, 32, c.ctx * c.half);
    }
    throw new Error(`mask_weights: no value for ${name}`);
  };
  const note = (name: string): WordNote[] => {
    const lw = /^w_l(\d+)$/.exec(name);
    if (lw) return layout(c.passes, c.R * c.g.weightBits, 1, 'address', (a) => (a < pz.prog.romUsed ? laneWordNote(c, pz.prog, Number(lw[1]), a) : undefined));
    const eg = /^emb_g(\d+)$/.exec(name);
    if (eg) {
      const H = pz.embed?.hidden ?? 0;
      const vocab = pz.embed ? pz.embed.table.length / H : 0;
      const e0 = Number(eg[1]) * c.embGroup;
      const per = Math.max(1, Math.floor(256 / (c.embGroup * 16)));
      return layout(c.vocab, c.embGroup * 16, per, 'token', (t0) => (t0 < vocab && e0 < H ? `embedding dims ${span(e0, Math.min(e0 + c.embGroup, H) - 1)}` : undefined));
    }
    const table = name === 'lut_rsqrt' ? 'rsqrt' : name === 'lut_exp' ? 'exp2' : name === 'lut_recip' ? 'recip' : name.startsWith('lut_silu') ? 'silu' : undefined;
    if (table) {
      const copy = name.startsWith('lut_silu') ? ` (copy ${name.slice('lut_silu'.length)})` : '';
      return layout(c.lutEntries, 16, 16, 'entry', () => (pz.tables ? `${table} table${copy}` : undefined));
    }
    if (name === 'rope') {
      const r = pz.rope;
      return layout(c.ctx * c.half, 32, c.half, 'word', (i0) => {
        const p = Math.floor(i0 / c.half);
        return r && p < r.positions ? `position ${p} pairs 0-${Math.min(c.half, r.half) - 1} {cos, sin} Q1.14` : undefined;
      });
    }
    throw new Error(`mask_weights: no layout for ${name}`);
  };
  for (const s of ports) m.output(s.name, m.const(val(s.name), s.width), { layout: note(s.name) });
  return m.build();
}

/** Mask layer B: microcode, per-lane bias and requant words per pass, the head table, the configuration word. */
export function maskRouting(c: EngineCaps, pz: Personalization): IrModule {
  const uc = ucodeWords(c, pz.prog);
  const m = new ModuleBuilder('mask_routing', {
    doc: `routing mask (layer B) of a ${pz.kind} on grid '${c.g.name}': ${uc.length}-word program (${uc.map((w, i) => `${i}: ${describeWord(c, w)}`).join('; ')}); constants only`,
    params: { grid: c.g.name, instructions: uc.length },
  });
  const A = c.g.accBits;
  const val = (name: string): bigint => {
    if (name === 'ucode') return packWords(uc, widthOf(ucodeFields(c)), c.instrs);
    const b = /^bias_l(\d+)$/.exec(name);
    if (b) {
      const l = Number(b[1]);
      return packWords(Array.from({ length: pz.prog.passes }, (_, gp) => { const r = rowAt(c, pz.prog, l, gp); return r?.mm.mat.bias ? r.mm.mat.bias[r.row] : 0n; }), A, c.passes);
    }
    const ms = /^ms_l(\d+)$/.exec(name);
    if (ms) {
      const l = Number(ms[1]);
      return packWords(Array.from({ length: c.passes }, (_, gp) => {
        const r = rowAt(c, pz.prog, l, gp);
        const M = r && !r.mm.raw ? r.mm.mat.M[r.row] : 0;
        const S = r && !r.mm.raw ? r.mm.mat.S[r.row] : 1;
        return (BigInt(M) << 6n) | BigInt(S);
      }), MS_BITS, c.passes);
    }
    if (name === 'kv_head') return packWords((pz.kvHead ?? []).map(BigInt), bitsFor(c.kvHeadsMax - 1), c.heads);
    if (name === 'cfg') return pack(cfgFields(c), pz.cfg as unknown as Record<string, number>);
    throw new Error(`mask_routing: no value for ${name}`);
  };
  const passNote = (l: number, what: (mm: MatMul, row: number) => string) => (gp: number): string | undefined => {
    if (gp >= pz.prog.passes) return undefined;
    const r = rowAt(c, pz.prog, l, gp);
    return r ? `${matLabel(pz.prog, r.mm)} row ${r.row} ${what(r.mm, r.row)}` : 'no row in this lane';
  };
  const note = (name: string): WordNote[] => {
    if (name === 'ucode') return layout(c.instrs, widthOf(ucodeFields(c)), 1, 'instruction', (i) => (i < uc.length ? decodeWord(c, uc[i]) : undefined));
    const b = /^bias_l(\d+)$/.exec(name);
    if (b) return layout(c.passes, A, 1, 'pass', passNote(Number(b[1]), (mm, row) => `bias ${mm.mat.bias ? mm.mat.bias[row] : '0 (none)'}`));
    const ms = /^ms_l(\d+)$/.exec(name);
    if (ms) return layout(c.passes, MS_BITS, 1, 'pass', passNote(Number(ms[1]), (mm, row) => (mm.raw ? 'raw accumulator (M 0, S 1)' : `requant M ${mm.mat.M[row]} S ${mm.mat.S[row]}`)));
    if (name === 'kv_head') return layout(c.heads, bitsFor(c.kvHeadsMax - 1), 1, 'query head', (h) => (pz.kvHead && h < pz.kvHead.length ? `kv head ${pz.kvHead[h]}` : undefined));
    if (name === 'cfg') return cfgFields(c).map((f) => ({ width: f.bits, note: `${f.name} = ${(pz.cfg as unknown as Record<string, number>)[f.name]}` }));
    throw new Error(`mask_routing: no layout for ${name}`);
  };
  for (const s of sitePorts(c).filter((x) => x.layer === 'routing')) m.output(s.name, m.const(val(s.name), s.width), { layout: note(s.name) });
  return m.build();
}
