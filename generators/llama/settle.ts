// When each instruction of an engine program may start: the sequencer runs the words one after another,
// but a matmul only starts the lane array (it issues on its own, holding its fields, and its results come
// back laneLatency cycles after each pass), so the next instruction starts one cycle later unless it would
// touch, too early, an element that the matmul still reads or has not yet written back. The waits go on
// the latest matmul before the instruction that needs them (its `drain`), which is where the sequencer can
// hold; starting anything later never breaks a constraint, so one pass in program order settles it.
//
// Times are per element: a unit reads and writes `vector` elements per cycle in order, a matmul's pass j
// is back at start + (j + 1)·chunks + laneLatency, and its input chunk c is read at j·chunks + c.
import type { Instr, LlamaProgram, Shape } from './schedule.ts';

type Buf = 'x' | 'u' | 'gate' | 'up' | 'q' | 'k' | 'v' | 'logits';
type MatMul<M extends Shape> = Instr<M> & { op: 'matmul' };

/** What an instruction does to one buffer, relative to its start: element e read at r(e), written at w(e) (the value is there a cycle later). */
interface Access { readonly n: number; readonly r?: (e: number) => number; readonly w?: (e: number) => number }

const at0 = (): number => 0;

/** The accesses of a non-matmul instruction (conservative where a unit's order does not matter). */
function unitAccess(prog: LlamaProgram, ins: Instr): Partial<Record<Buf, Access>> {
  const d = prog.dims;
  const E = prog.grid.vector;
  const H = d.hidden, I = d.intermediate, A = d.heads * d.headDim, KV = d.kvHeads * d.headDim;
  const blk = (e: number): number => Math.floor(e / E);
  switch (ins.op) {
    case 'embed': return { x: { n: H, w: at0 } };
    case 'norm': return { x: { n: H, r: at0 }, u: { n: prog.uLen, w: at0 } };
    case 'rope': {
      // Pair n (Q heads, then K heads; HF half-split pairs) is rotated at cycle ⌊n/E⌋.
      const half = d.headDim / 2;
      const pair = (head: number, e: number): number => Math.floor(((head + Math.floor(e / d.headDim)) * half + ((e % d.headDim) % half)) / E);
      const q = (e: number): number => pair(0, e), k = (e: number): number => pair(d.heads, e);
      return { q: { n: A, r: q, w: q }, k: { n: KV, r: k, w: k } };
    }
    case 'kvwrite': return { k: { n: KV, r: at0 }, v: { n: KV, r: at0 } };
    case 'attn': return { q: { n: A, r: at0 }, u: { n: prog.uLen, w: at0 } };
    case 'silu': return { gate: { n: I, r: blk, w: blk }, up: { n: I, r: blk } };
    case 'argmax': return { logits: { n: d.vocab, r: blk } };
    case 'end': {
      const all: Partial<Record<Buf, Access>> = {};
      for (const b of ['x', 'u', 'gate', 'up', 'q', 'k', 'v', 'logits'] as const) all[b] = { n: prog.uLen + H + I + A + d.vocab, r: at0 };
      return all;
    }
    case 'matmul': return {};
  }
}

/** The earliest start (absolute) of instruction `ins` given a matmul `k` that started at sk. */
function after<M extends Shape>(prog: LlamaProgram<M>, k: MatMul<M>, sk: number, ins: Instr<M>): number {
  const L = prog.grid.lanes, R = prog.grid.rows, lat = prog.laneLatency;
  const steps = k.passes * k.chunks;
  const back = (e: number): number => sk + (Math.floor(e / L) + 1) * k.chunks + lat; // dest element e is there
  const lastRead = (e: number): number => sk + (k.passes - 1) * k.chunks + Math.floor(e / R); // src element e
  const src: Buf = k.src ?? 'u';
  let need = 0;
  let acc: Partial<Record<Buf, Access>>;
  if (ins.op === 'matmul') {
    need = sk + steps; // one lane array
    const steps2 = ins.chunks;
    acc = {
      [ins.src ?? 'u']: { n: ins.mat.cols, r: (e: number) => Math.floor(e / R) },
    } as Partial<Record<Buf, Access>>;
    const w = (e: number): number => (Math.floor(e / L) + 1) * steps2 + lat - 1;
    const dst = ins.dest as Buf;
    acc[dst] = { ...(acc[dst] ?? { n: ins.mat.rows }), n: Math.max(acc[dst]?.n ?? 0, ins.mat.rows), w };
  } else {
    acc = unitAccess(prog as LlamaProgram, ins);
  }
  for (const [b, a] of Object.entries(acc) as [Buf, Access][]) {
    if (b === k.dest) {
      const n = Math.min(a.n, k.mat.rows);
      for (let e = 0; e < n; e++) {
        if (a.r) need = Math.max(need, back(e) - a.r(e)); // read after the writeback
        if (a.w) need = Math.max(need, back(e) - a.w(e)); // write after it
      }
    }
    if (b === src && a.w) {
      const n = Math.min(a.n, k.mat.cols);
      for (let e = 0; e < n; e++) need = Math.max(need, lastRead(e) - a.w(e)); // overwrite after the last read
    }
  }
  return need;
}

/** The program with each matmul's drain set: cycles its word holds the sequencer after its first issue cycle. */
export function settle<M extends Shape>(prog: LlamaProgram<M>, cycles: (ins: Instr<M>) => number): Instr<M>[] {
  const instrs: Instr<M>[] = prog.instrs.map((ins) => (ins.op === 'matmul' ? { ...ins, drain: 0 } : ins));
  const start: number[] = [];
  let t = 0;
  let lastMm = -1;
  for (let i = 0; i < instrs.length; i++) {
    const ins = instrs[i];
    let need = t;
    // Matmuls still in flight: the latest few (their issue or writeback may reach past t).
    for (let k = lastMm; k >= 0; k--) {
      const mk = instrs[k];
      if (mk.op !== 'matmul') continue;
      const end = start[k] + mk.passes * mk.chunks + prog.laneLatency;
      if (end <= t) break;
      need = Math.max(need, after(prog, mk, start[k], ins));
    }
    if (need > t) {
      if (lastMm < 0) throw new Error(`settle: instruction ${i} (${ins.op}) waits for nothing`);
      const mm = instrs[lastMm] as MatMul<M>;
      instrs[lastMm] = { ...mm, drain: (mm.drain ?? 0) + need - t };
      t = need;
    }
    start.push(t);
    if (ins.op === 'matmul') lastMm = i;
    t += cycles(instrs[i]);
  }
  return instrs;
}
