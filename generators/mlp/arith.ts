// Exact-width arithmetic blocks in the DSL: ranged values, pipelined adder trees, requant, argmax.
import type { ModuleBuilder } from '../../dsl/module.ts';
import type { Signal } from '../../dsl/signal.ts';
import { signedBitsFor } from '../../verify/golden/mlp.ts';
import { csd } from './csd.ts';

/** A signed value together with the exact range it can take; its width is what the range needs. */
export interface Ranged {
  readonly sig: Signal;
  readonly min: bigint;
  readonly max: bigint;
}

/** Pipeline context: every register is clocked by clk and advances only when `en` is high. */
export interface Pipe {
  readonly m: ModuleBuilder;
  readonly clk: Signal;
  /** Stall control; absent for a pipeline that always advances. */
  readonly en?: Signal;
}

/** A pipeline register (no reset: data registers are qualified by the valid bits). */
export function stage(p: Pipe, name: string, v: Signal): Signal {
  return p.m.delay(name, v, { clock: p.clk, enable: p.en });
}

/** Resize a signed value to exactly `w` bits; the caller guarantees the value fits (range-proven). */
export function fitSigned(s: Signal, w: number): Signal {
  return s.width > w ? s.trunc(w) : s.sext(w);
}

/** Attach a proven range to `sig`, resizing it to exactly the signed width the range needs. */
export function ranged(sig: Signal, min: bigint, max: bigint): Ranged {
  const w = signedBitsFor(min, max);
  return { sig: fitSigned(sig, w), min, max };
}

/** The constant `v` as a ranged value of its minimal signed width. */
export function constRanged(m: ModuleBuilder, v: bigint): Ranged {
  return { sig: m.const(v, signedBitsFor(v, v), true), min: v, max: v };
}

/** Exact sum of two ranged values (no overflow: width from the summed range). */
export function addRanged(a: Ranged, b: Ranged): Ranged {
  const min = a.min + b.min;
  const max = a.max + b.max;
  const w = signedBitsFor(min, max);
  const ew = Math.max(w, a.sig.width, b.sig.width);
  return ranged(a.sig.sext(ew).add(b.sig.sext(ew)), min, max);
}

/**
 * Multiply by a constant with canonical-signed-digit shift-and-add. Sums are done modulo 2^P where P
 * is the width of the exact product range, which makes every partial sum's wrap harmless.
 */
export function csdMul(x: Ranged, k: bigint): Ranged {
  const a = x.min * k;
  const b = x.max * k;
  const min = a < b ? a : b;
  const max = a < b ? b : a;
  const P = signedBitsFor(min, max);
  const digits = csd(k);
  if (digits.length === 0) return constRanged(x.sig.mod as unknown as ModuleBuilder, 0n);
  const terms = digits.map((d) => ({ neg: d.negative, sig: fitSigned(x.sig.sext(Math.max(x.sig.width, 1)).shl(d.shift), P) }));
  const firstPos = terms.findIndex((t) => !t.neg);
  let acc: Signal;
  if (firstPos >= 0) {
    acc = terms[firstPos].sig;
    terms.splice(firstPos, 1);
  } else {
    acc = terms[0].sig.neg();
    terms.splice(0, 1);
  }
  for (const t of terms) acc = t.neg ? acc.sub(t.sig) : acc.add(t.sig);
  return { sig: acc, min, max };
}

/** An adder tree's exact-range sum and the register stages it takes. */
export interface TreeResult {
  readonly out: Ranged;
  /** Register stages inserted (after padding). */
  readonly stages: number;
}

/** Register stages of a tree of `levels` adder levels with a register after every `regEvery` levels and at the end. */
export function treeStages(levels: number, regEvery: number): number {
  return Math.max(1, Math.ceil(levels / regEvery));
}

/** Adder levels of a balanced binary tree over `leaves` inputs (0 for one leaf). */
export function treeLevels(leaves: number): number {
  return leaves <= 1 ? 0 : Math.ceil(Math.log2(leaves));
}

/**
 * A pipelined balanced adder tree over `leaves` (constants folded into one leaf), padded with delay
 * registers so that it always takes exactly `stages` register stages.
 */
export function adderTree(p: Pipe, name: string, leaves: Ranged[], regEvery: number, stages: number): TreeResult {
  if (leaves.length === 0) return { out: constRanged(p.m, 0n), stages };
  let level = leaves;
  let used = 0;
  let depth = 0;
  while (level.length > 1) {
    const next: Ranged[] = [];
    for (let i = 0; i + 1 < level.length; i += 2) next.push(addRanged(level[i], level[i + 1]));
    if (level.length % 2) next.push(level[level.length - 1]);
    level = next;
    depth++;
    if (depth % regEvery === 0 && level.length > 1) {
      level = level.map((r) => ({ ...r, sig: isConst(r) ? r.sig : stage(p, `${name}_l${depth}`, r.sig) }));
      used++;
    }
  }
  let out = level[0];
  if (isConst(out)) return { out, stages };
  while (used < stages) {
    out = { ...out, sig: stage(p, used === stages - 1 ? `${name}_acc` : `${name}_pad${used}`, out.sig) };
    used++;
  }
  if (used > stages) throw new Error(`adderTree ${name}: needs ${used} stages, budget ${stages}`);
  return { out, stages };
}

function isConst(r: Ranged): boolean {
  return r.min === r.max;
}

/**
 * Requantization by signals: (a·M + 2^(S−1)) >> S with M unsigned and S ≥ 1 wires, the exact product,
 * round half up, arithmetic shift; a.width + M.width + 2 bits wide (saturate after). The generic
 * requant of a grid lane and every requant of the Llama units.
 */
export function requantBy(m: ModuleBuilder, a: Signal, M: Signal, S: Signal): Signal {
  const W = a.width + M.width + 2;
  const prod = a.mul(M.zext(M.width + 1).asSigned()).sext(W);
  const rnd = m.const(1, W, true).shlBy(S.sub(m.const(1, S.width)));
  return prod.add(rnd).shrBy(S);
}

/**
 * Requantization, exactly verify/golden/mlp.ts `requant`: y = sat((acc·M + 2^(S−1)) >> S), then ReLU.
 * M is hardwired (CSD), S is wiring. Output: signed actBits. `bias`, when given, is added to acc first.
 */
export function requantUnit(acc: Ranged, M: number, S: number, actBits: number, relu: boolean, bias = 0n): Signal {
  const m = acc.sig.mod as unknown as ModuleBuilder;
  const hi = (1n << BigInt(actBits - 1)) - 1n;
  const lo = relu ? 0n : -(1n << BigInt(actBits - 1));
  const clampConst = (v: bigint): Signal => m.const(v < lo ? lo : v > hi ? hi : v, actBits, true);
  if (M === 0 || acc.min === acc.max) {
    const v = M === 0 ? 0n : ((acc.min + bias) * BigInt(M) + (1n << BigInt(S - 1))) >> BigInt(S);
    return clampConst(v);
  }
  const prod = csdMul(acc, BigInt(M));
  // A bias not yet in acc rides on the rounding constant: (acc + b)·M + r = acc·M + (b·M + r), no extra adder.
  const rnd = (1n << BigInt(S - 1)) + bias * BigInt(M);
  const r = addRanged(prod, constRanged(m, rnd));
  const sh = BigInt(S);
  const qmin = r.min >> sh;
  const qmax = r.max >> sh;
  if (qmax < lo) return clampConst(qmax);
  if (qmin > hi) return clampConst(qmin);
  const rs = r.sig.width > S ? r.sig : r.sig.sext(S + 1);
  let q = fitSigned(rs.shr(S), signedBitsFor(qmin, qmax));
  // Saturate only on the sides the range can reach (keeps every comparison data-dependent).
  const w = Math.max(q.width, actBits + 1);
  q = q.sext(w);
  if (qmax > hi) q = q.gt(m.const(hi, w, true)).select(m.const(hi, w, true), q);
  if (qmin < lo) q = q.lt(m.const(lo, w, true)).select(m.const(lo, w, true), q);
  return q.trunc(actBits);
}

/**
 * Pipelined argmax over signed values; the lower index wins a tie (verify/golden argmaxLowest).
 * Returns the index and the number of register stages used (fixed by the count of values).
 */
export function argmaxTree(p: Pipe, name: string, values: Signal[], regEvery: number): { index: Signal; stages: number } {
  const iw = Math.max(1, Math.ceil(Math.log2(values.length)));
  const w = Math.max(...values.map((v) => v.width));
  let level = values.map((v, i) => ({ v: v.sext(w), i: p.m.const(i, iw) }));
  let depth = 0;
  let stages = 0;
  while (level.length > 1) {
    const next: typeof level = [];
    for (let k = 0; k + 1 < level.length; k += 2) {
      const a = level[k];
      const b = level[k + 1];
      const takeA = a.v.ge(b.v);
      next.push({ v: takeA.select(a.v, b.v), i: takeA.select(a.i, b.i) });
    }
    if (level.length % 2) next.push(level[level.length - 1]);
    level = next;
    depth++;
    if (depth % regEvery === 0 || level.length === 1) {
      level = level.map((e, k) => ({ v: stage(p, `${name}_v${depth}_${k}`, e.v), i: stage(p, `${name}_i${depth}_${k}`, e.i) }));
      stages++;
    }
  }
  return { index: level[0].i, stages };
}

/** Register stages of argmaxTree over `count` values with a register every `regEvery` levels. */
export function argmaxStages(count: number, regEvery: number): number {
  let n = count;
  let depth = 0;
  let stages = 0;
  while (n > 1) {
    n = Math.ceil(n / 2);
    depth++;
    if (depth % regEvery === 0 || n === 1) stages++;
  }
  return stages;
}
