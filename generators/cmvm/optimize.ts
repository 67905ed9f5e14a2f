// Constant matrix-vector multiplication (CMVM) optimizer: y = W·x as one shared adder graph.
//
// Every weight is recoded to canonical signed digits; output o starts as the list of terms
// ±(x_i << s) of all its weights. Then, as in Hartley's common-subexpression elimination (and the
// pairwise CMVM CSE of Aksoy et al.), the most frequent two-term pattern (v1 << a) ± (v2 << b) over
// all outputs (counted up to a common shift and sign) becomes a new node t, and every non-overlapping
// occurrence ±((v1 << s+a) ± (v2 << s+b)) is replaced by ±(t << s). Repeat while some pattern occurs
// at least twice (each extraction then saves ≥ 1 adder). What is left per output is summed by a
// depth-balanced tree (the two shallowest terms first). Ties prefer the shallower node, then the
// smaller key, so the result is deterministic.
//
// Adders: one per node, (terms − 1) per output, one more for an output whose every term is negative.
import { csd } from '../mlp/csd.ts';

/** A shifted, optionally negated reference to a variable: ±(v << shift). Variables 0..in−1 are the inputs. */
export interface Term {
  readonly v: number;
  readonly shift: number;
  readonly neg: boolean;
}

/** An extracted subexpression: node value = (a.v << a.shift) ± (b.v << b.shift) (a is never negated). */
export interface CmvmNode {
  /** Variable number of this node (in + its index in `nodes`). */
  readonly id: number;
  readonly a: Term;
  readonly b: Term;
  /** Adder levels from the inputs. */
  readonly depth: number;
}

/** One output: the sum of its remaining terms (empty = the output is 0). */
export interface CmvmOutput {
  readonly terms: readonly Term[];
}

export interface CmvmGraph {
  readonly inputs: number;
  readonly nodes: readonly CmvmNode[];
  readonly outputs: readonly CmvmOutput[];
  /** Two-input adders/subtracters of the whole graph (nodes + output sums + negations). */
  readonly adders: number;
  /** Adder levels of the deepest output with its depth-balanced sum tree. */
  readonly depth: number;
  /** Per-weight CSD baseline on the same matrix: Σ (digits − 1) + Σ_o (non-zero weights − 1). */
  readonly csdAdders: number;
  readonly nonZeroWeights: number;
}

export interface CmvmOptions {
  /** Largest adder depth a shared node may have (default: unbounded). */
  readonly maxNodeDepth?: number;
  /**
   * Inputs per tile (default: 4096 / outputs, within 8..64): a wider matrix is cut into column blocks optimized one by one (the
   * pair search costs ~outputs · terms² per block), and each output sums its terms of every block.
   */
  readonly tileInputs?: number;
}

// Pattern keys: (v1, v2, d = s2 − s1 + DOFF, rs = sign of the second term relative to the first) in one
// double (exact below 2^53): v < 2^21, d < 2^7.
const VBITS = 2 ** 21;
const DOFF = 64;
function keyOf(v1: number, v2: number, d: number, rs: number): number {
  return ((v1 * VBITS + v2) * 128 + (d + DOFF)) * 2 + rs;
}
function unkey(k: number): { v1: number; v2: number; d: number; rs: number } {
  const rs = k % 2;
  let r = (k - rs) / 2;
  const d = (r % 128) - DOFF;
  r = (r - (r % 128)) / 128;
  const v2 = r % VBITS;
  const v1 = (r - v2) / VBITS;
  return { v1, v2, d, rs };
}
/** Key of the pattern two terms of one output form (canonical order: smaller variable, then smaller shift first). */
function pairKey(t: Term, u: Term): number {
  const [p, q] = t.v < u.v || (t.v === u.v && t.shift <= u.shift) ? [t, u] : [u, t];
  return keyOf(p.v, q.v, q.shift - p.shift, p.neg !== q.neg ? 1 : 0);
}

/**
 * Pattern counts: an open-addressing hash table of double keys (V8's Map hashes non-Smi numbers
 * slowly, and the counting loop is the optimizer's hot spot). A count that falls to 0 keeps its slot.
 */
class CountTable {
  private keys: Float64Array;
  private vals: Int32Array;
  constructor(expected: number) {
    let cap = 1 << 12;
    while (cap < 3 * expected) cap *= 2;
    this.keys = new Float64Array(cap).fill(-1);
    this.vals = new Int32Array(cap);
  }
  private used = 0;
  private slot(k: number): number {
    const mask = this.keys.length - 1;
    let i = (Math.imul(k >>> 0, 0x9e3779b1) ^ Math.imul((k / 4294967296) >>> 0, 0x85ebca6b)) >>> 0;
    i = (i ^ (i >>> 15)) & mask;
    while (this.keys[i] !== -1 && this.keys[i] !== k) i = (i + 1) & mask;
    return i;
  }
  get(k: number): number {
    return this.vals[this.slot(k)];
  }
  add(k: number, delta: number): number {
    let i = this.slot(k);
    if (this.keys[i] === -1) {
      if (2 * (this.used + 1) > this.keys.length) { this.grow(); i = this.slot(k); }
      this.keys[i] = k;
      this.used++;
    }
    return (this.vals[i] += delta);
  }
  *entries(): Generator<[number, number]> {
    for (let i = 0; i < this.keys.length; i++) if (this.keys[i] !== -1 && this.vals[i] !== 0) yield [this.keys[i], this.vals[i]];
  }
  private grow(): void {
    const ok = this.keys;
    const ov = this.vals;
    let live = 0;
    for (let i = 0; i < ov.length; i++) if (ov[i] !== 0) live++;
    let cap = ok.length;
    while (4 * live > cap) cap *= 2; // zero counts are dropped; at most a quarter full after
    this.keys = new Float64Array(cap).fill(-1);
    this.vals = new Int32Array(cap);
    this.used = 0;
    for (let i = 0; i < ok.length; i++) {
      if (ok[i] === -1 || ov[i] === 0) continue;
      const j = this.slot(ok[i]);
      this.keys[j] = ok[i];
      this.vals[j] = ov[i];
      this.used++;
    }
  }
}

/** One occurrence of a pattern in output o: terms i and j; it becomes ±(node << base). */
interface Occurrence {
  readonly o: number;
  readonly i: number;
  readonly j: number;
  readonly base: number;
  readonly neg: boolean;
}

/**
 * Bucket queue of pattern keys by (count, depth): the most frequent first, then the shallowest, then
 * the latest pushed. Entries go stale when counts change; the caller checks the count on pop.
 */
class PatternQueue {
  private buckets: number[][] = [];
  private top = -1;
  private static index(count: number, depth: number): number {
    return count * 64 + (63 - Math.min(depth, 63));
  }
  push(count: number, depth: number, key: number): void {
    const i = PatternQueue.index(count, depth);
    while (this.buckets.length <= i) this.buckets.push([]);
    this.buckets[i].push(key);
    if (i > this.top) this.top = i;
  }
  /** The best entry, or undefined when empty. */
  pop(): { count: number; key: number } | undefined {
    while (this.top >= 0 && this.buckets[this.top].length === 0) this.top--;
    if (this.top < 0) return undefined;
    return { count: Math.floor(this.top / 64), key: this.buckets[this.top].pop()! };
  }
}

/** Adder levels of a depth-balanced sum of terms of the given depths (Huffman on depth). */
export function sumDepth(depths: number[]): number {
  if (depths.length === 0) return 0;
  const d = [...depths].sort((a, b) => a - b);
  while (d.length > 1) {
    const x = d.shift()!;
    const y = d.shift()!;
    const z = Math.max(x, y) + 1;
    let i = 0;
    while (i < d.length && d[i] < z) i++;
    d.splice(i, 0, z);
  }
  return d[0];
}

/** Per-weight CSD baseline adders: every weight its own shift-and-add, one private tree per output. */
export function csdAdderCount(w: readonly (readonly number[])[]): { adders: number; nonZero: number } {
  let adders = 0;
  let nonZero = 0;
  for (const row of w) {
    let nz = 0;
    for (const x of row) {
      if (x === 0) continue;
      nz++;
      adders += csd(BigInt(x)).length - 1;
    }
    nonZero += nz;
    if (nz > 1) adders += nz - 1;
  }
  return { adders, nonZero };
}

/** Build the shared adder graph of y = W·x, W given as rows (W[o][i]). */
export function optimizeCmvm(w: readonly (readonly number[])[], opts: CmvmOptions = {}): CmvmGraph {
  const nIn = w.length ? w[0].length : 0;
  // Default: blocks of at most ~4096 weights per pass, 8..64 inputs wide.
  const tile = opts.tileInputs ?? Math.max(8, Math.min(64, Math.floor(4096 / Math.max(1, w.length))));
  if (nIn <= tile) return optimizeBlock(w, opts);
  const nodes: CmvmNode[] = [];
  const outputs: Term[][] = w.map(() => []);
  let depth = 0;
  for (let lo = 0; lo < nIn; lo += tile) {
    const hi = Math.min(nIn, lo + tile);
    const g = optimizeBlock(w.map((row) => row.slice(lo, hi)), opts);
    const base = nIn + nodes.length;
    const re = (t: Term): Term => ({ ...t, v: t.v < g.inputs ? t.v + lo : t.v - g.inputs + base });
    for (const n of g.nodes) nodes.push({ id: re({ v: n.id, shift: 0, neg: false }).v, a: re(n.a), b: re(n.b), depth: n.depth });
    g.outputs.forEach((o, k) => outputs[k].push(...o.terms.map(re)));
  }
  const depthOf = (v: number): number => (v < nIn ? 0 : nodes[v - nIn].depth);
  let adders = nodes.length;
  for (const ts of outputs) {
    if (ts.length > 1) adders += ts.length - 1;
    const allNeg = ts.length > 0 && ts.every((t) => t.neg);
    if (allNeg) adders++;
    depth = Math.max(depth, sumDepth(ts.map((t) => depthOf(t.v))) + (allNeg ? 1 : 0));
  }
  const b = csdAdderCount(w);
  return { inputs: nIn, nodes, outputs: outputs.map((terms) => ({ terms })), adders, depth, csdAdders: b.adders, nonZeroWeights: b.nonZero };
}

function optimizeBlock(w: readonly (readonly number[])[], opts: CmvmOptions = {}): CmvmGraph {
  const maxNodeDepth = opts.maxNodeDepth ?? Infinity;
  const nOut = w.length;
  const nIn = nOut ? w[0].length : 0;
  if (nIn >= VBITS / 4) throw new Error(`optimizeCmvm: ${nIn} inputs is too many`);
  const depthOf: number[] = Array.from({ length: nIn }, () => 0);
  const nodes: CmvmNode[] = [];
  // Per output: its terms (unordered; removed by swap with the last) and, per variable, how many.
  const terms: Term[][] = w.map((row) => {
    const ts: Term[] = [];
    row.forEach((x, i) => {
      if (!Number.isInteger(x)) throw new Error(`optimizeCmvm: weight ${x} is not an integer`);
      for (const d of csd(BigInt(x))) {
        if (d.shift >= DOFF) throw new Error(`optimizeCmvm: weight ${x} is too wide`);
        ts.push({ v: i, shift: d.shift, neg: d.negative });
      }
    });
    return ts;
  });
  const outputsOf = new Map<number, Map<number, number>>(); // variable -> (output -> term count)
  const addUse = (v: number, o: number, n: number): void => {
    let m = outputsOf.get(v);
    if (!m) outputsOf.set(v, (m = new Map()));
    const c = (m.get(o) ?? 0) + n;
    if (c === 0) m.delete(o);
    else m.set(o, c);
  };
  terms.forEach((ts, o) => ts.forEach((t) => addUse(t.v, o, 1)));

  const counts = new CountTable(Math.min(1 << 20, terms.reduce((n, ts) => n + (ts.length * (ts.length - 1)) / 2, 0) / 8));
  const heap = new PatternQueue();
  const patternDepth = (k: number): number => {
    const { v1, v2 } = unkey(k);
    return Math.max(depthOf[v1], depthOf[v2]) + 1;
  };
  const inc = (k: number): void => {
    const c = counts.add(k, 1);
    if (c >= 2) heap.push(c, patternDepth(k), k);
  };
  const dec = (k: number): void => {
    counts.add(k, -1);
  };
  /** Remove term t (by identity) from output o, with its pairs. */
  const removeTerm = (o: number, t: Term): void => {
    const ts = terms[o];
    const i = ts.indexOf(t);
    ts[i] = ts[ts.length - 1];
    ts.pop();
    addUse(t.v, o, -1);
    for (const u of ts) dec(pairKey(t, u));
  };
  /** Add term t to output o; equal terms merge (x<<s + x<<s = x<<s+1) and opposite ones cancel. */
  const addTerm = (o: number, t: Term): void => {
    const ts = terms[o];
    const same = ts.find((u) => u.v === t.v && u.shift === t.shift);
    if (same) {
      removeTerm(o, same);
      if (same.neg === t.neg) addTerm(o, { v: t.v, shift: t.shift + 1, neg: t.neg });
      return;
    }
    for (const u of ts) inc(pairKey(t, u));
    ts.push(t);
    addUse(t.v, o, 1);
  };
  // Initial counts: every pair of terms within each output (pushed once, at the final count).
  for (const ts of terms) {
    for (let i = 0; i < ts.length; i++) for (let j = i + 1; j < ts.length; j++) {
      const k = pairKey(ts[i], ts[j]);
      counts.add(k, 1);
    }
  }
  for (const [k, c] of counts.entries()) if (c >= 2) heap.push(c, patternDepth(k), k);

  for (let e = heap.pop(); e !== undefined; e = heap.pop()) {
    const { count, key } = e;
    const now = counts.get(key);
    if (now !== count) continue; // stale entry (a fresher one with the current count is in the heap, or it fell below 2)
    const { v1, v2, d, rs } = unkey(key);
    const depth = Math.max(depthOf[v1], depthOf[v2]) + 1;
    if (depth > maxNodeDepth) continue;
    // Find the non-overlapping occurrences first: a pattern counted twice may occur once.
    const u1 = outputsOf.get(v1);
    const u2 = outputsOf.get(v2);
    if (!u1 || !u2) continue;
    const [small, big] = u1.size <= u2.size ? [u1, u2] : [u2, u1];
    const hits: Occurrence[][] = [];
    let found = 0;
    for (const o of small.keys()) {
      if (!big.has(o)) continue;
      const ts = terms[o];
      const mine: Occurrence[] = [];
      const firsts: number[] = [];
      const seconds: number[] = [];
      for (let i = 0; i < ts.length; i++) {
        if (ts[i].v === v1) firsts.push(i);
        if (ts[i].v === v2) seconds.push(i);
      }
      for (const i of firsts) {
        const t = ts[i];
        if (t === undefined) continue;
        for (let q = 0; q < seconds.length; q++) {
          const j = seconds[q];
          const u = ts[j];
          if (j < 0 || j === i || u.shift !== t.shift + d || (t.neg !== u.neg ? 1 : 0) !== rs) continue;
          if (mine.some((h) => h.i === j || h.j === j || h.i === i || h.j === i)) continue;
          seconds[q] = -1;
          mine.push({ o, i, j, base: Math.min(t.shift, u.shift), neg: t.neg });
          break;
        }
      }
      if (mine.length) { hits.push(mine); found += mine.length; }
    }
    if (found < 2) continue; // counted pairs overlapped: not worth a node (its count stays, but never wins again at this count)
    const id = nIn + nodes.length;
    const a = Math.max(0, -d);
    const b = Math.max(0, d);
    nodes.push({ id, a: { v: v1, shift: a, neg: false }, b: { v: v2, shift: b, neg: rs === 1 }, depth });
    depthOf.push(depth);
    for (const mine of hits) {
      const o = mine[0].o;
      const ts = terms[o];
      const gone = mine.flatMap((h) => [ts[h.i], ts[h.j]]);
      for (const t of gone) removeTerm(o, t);
      for (const h of mine) addTerm(o, { v: id, shift: h.base, neg: h.neg });
    }
  }

  // Drop nodes no output needs any more (their uses can cancel), renumbering the rest.
  const live = new Array<boolean>(nIn + nodes.length).fill(false);
  for (const ts of terms) for (const t of ts) live[t.v] = true;
  for (let k = nodes.length - 1; k >= 0; k--) if (live[nodes[k].id]) { live[nodes[k].a.v] = true; live[nodes[k].b.v] = true; }
  const renum: number[] = Array.from({ length: nIn }, (_, i) => i);
  const kept: CmvmNode[] = [];
  const re = (t: Term): Term => ({ ...t, v: renum[t.v] });
  for (const n of nodes) {
    if (!live[n.id]) continue;
    renum[n.id] = nIn + kept.length;
    kept.push({ id: nIn + kept.length, a: re(n.a), b: re(n.b), depth: n.depth });
  }
  nodes.length = 0;
  nodes.push(...kept);
  for (let o = 0; o < nOut; o++) terms[o] = terms[o].map(re);
  const depthKept = [...depthOf.slice(0, nIn), ...kept.map((n) => n.depth)];
  depthOf.length = 0;
  depthOf.push(...depthKept);

  // Output sums: a depth-balanced tree per output.
  let adders = nodes.length;
  let depth = 0;
  const outputs: CmvmOutput[] = terms.map((ts) => {
    const sorted = [...ts].sort((x, y) => x.v - y.v || x.shift - y.shift);
    if (sorted.length > 1) adders += sorted.length - 1;
    if (sorted.length > 0 && sorted.every((t) => t.neg)) adders++;
    depth = Math.max(depth, sumDepth(sorted.map((t) => depthOf[t.v])) + (sorted.length > 0 && sorted.every((t) => t.neg) ? 1 : 0));
    return { terms: sorted };
  });
  const base = csdAdderCount(w);
  return { inputs: nIn, nodes, outputs, adders, depth, csdAdders: base.adders, nonZeroWeights: base.nonZero };
}

/** Evaluate the graph on integer inputs (the reference for tests and for the RTL's exact ranges). */
export function evalCmvm(g: CmvmGraph, x: readonly bigint[]): bigint[] {
  const val: bigint[] = [...x];
  const term = (t: Term): bigint => (t.neg ? -1n : 1n) * (val[t.v] << BigInt(t.shift));
  for (const n of g.nodes) val[n.id] = term(n.a) + term(n.b);
  return g.outputs.map((o) => o.terms.reduce((s, t) => s + term(t), 0n));
}
