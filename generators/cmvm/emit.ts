// Emits a CMVM adder graph through the DSL: exact widths from each value's linear form, a register
// after every `regEvery` adder levels, every output registered at one common final stage.
//
// Every value the circuit computes is Σ c_i·x_i for known integer c_i, so its exact range is
// Σ_i [min, max](c_i·lo, c_i·hi) over the input range: each node and partial sum is exactly as wide
// as the values it can take (the same two's complement bits, computed modulo 2^width, are exact).
// Output sums keep a common shift and a sign aside (x<<3 + y<<5 is summed as (x + y<<2) << 3, and
// −a − b as −(a + b)), so adders stay narrow and a negation is only paid when every term is negative.
import type { Signal } from '../../dsl/signal.ts';
import { signedBitsFor } from '../../verify/golden/mlp.ts';
import type { IntRange } from '../../verify/golden/mlp.ts';
import { fitSigned, stage, type Pipe, type Ranged } from '../mlp/arith.ts';
import type { CmvmGraph, Term } from './optimize.ts';

/** A computed value: its signal, linear form over the inputs, adder level and pipeline stage. */
interface Val {
  readonly sig: Signal;
  readonly coef: readonly number[];
  readonly level: number;
  /** Stage in which the value can be used combinationally. */
  readonly avail: number;
  /** True when `sig` is the output of a register. */
  readonly registered: boolean;
}

export interface CmvmEmit {
  /** Per output: Σ_i W[o][i]·x_i + offset[o], exact range, registered at stage `stages`. */
  readonly outs: Ranged[];
  /** Register stages from the inputs to the outputs (≥ 1). */
  readonly stages: number;
  /** Adders and subtracters emitted (negations included). */
  readonly adders: number;
}

/**
 * Emit graph `g` on inputs `xs` (each in `inRange`) into the pipeline `p`; `offset[o]` (a bias) is
 * added to output o before its final register. Names start with `name`.
 */
export function emitCmvm(p: Pipe, name: string, g: CmvmGraph, xs: readonly Signal[], inRange: IntRange, regEvery: number, offset: readonly bigint[] = []): CmvmEmit {
  const nIn = g.inputs;
  if (xs.length !== nIn) throw new Error(`emitCmvm ${name}: ${xs.length} inputs for a graph of ${nIn}`);
  const lo = BigInt(inRange.min);
  const hi = BigInt(inRange.max);
  const rangeOf = (coef: readonly number[], scale = 1n, add = 0n): { min: bigint; max: bigint } => {
    let min = add;
    let max = add;
    for (let i = 0; i < coef.length; i++) {
      if (coef[i] === 0) continue;
      const c = BigInt(coef[i]) * scale;
      const a = c * lo;
      const b = c * hi;
      min += a < b ? a : b;
      max += a < b ? b : a;
    }
    return { min, max };
  };
  const widthOf = (coef: readonly number[]): number => {
    const r = rangeOf(coef);
    return signedBitsFor(r.min, r.max);
  };
  let adders = 0;
  const vals: Val[] = xs.map((x, i) => ({ sig: x, coef: Array.from({ length: nIn }, (_, k) => (k === i ? 1 : 0)), level: 0, avail: 0, registered: false }));
  // Delayed copies, shared by every user that needs the value in a later stage.
  const delayed = new Map<Val, Signal[]>();
  const at = (v: Val, st: number, label: string): Signal => {
    if (st < v.avail) throw new Error(`emitCmvm ${name}: ${label} needed in stage ${st} but only ready in ${v.avail}`);
    if (st === v.avail) return v.sig;
    let chain = delayed.get(v);
    if (!chain) delayed.set(v, (chain = [v.sig]));
    while (chain.length <= st - v.avail) chain.push(stage(p, `${label}_d${v.avail + chain.length}`, chain[chain.length - 1]));
    return chain[st - v.avail];
  };
  /** a·2^sa ± b·2^sb as a new value at level `level` (a register after it when the level closes a stage). */
  const combine = (a: Val, sa: number, b: Val, sb: number, sub: boolean, label: string): Val => {
    const level = Math.max(a.level, b.level) + 1;
    const st = Math.floor((level - 1) / regEvery);
    const coef = a.coef.map((c, i) => c * 2 ** sa + (sub ? -1 : 1) * b.coef[i] * 2 ** sb);
    const w = widthOf(coef);
    const x = fitSigned(at(a, st, labelOf(a)).shl(sa), w);
    const y = fitSigned(at(b, st, labelOf(b)).shl(sb), w);
    adders++;
    let sig = (sub ? x.sub(y) : x.add(y)).named(label);
    const close = level % regEvery === 0;
    if (close) sig = stage(p, `${label}_q`, sig);
    const v: Val = { sig, coef, level, avail: close ? st + 1 : st, registered: close };
    names.set(v, label);
    return v;
  };
  const names = new Map<Val, string>();
  const labelOf = (v: Val): string => names.get(v) ?? `${name}_v`;
  vals.forEach((v, i) => names.set(v, `${name}_x${i}`));

  for (const n of g.nodes) {
    const v = combine(vals[n.a.v], n.a.shift, vals[n.b.v], n.b.shift, n.b.neg, `${name}_n${n.id - nIn}`);
    vals.push(v);
  }

  // Output sums: depth-balanced (the two shallowest first), with the common shift and sign kept aside.
  interface Part { val: Val; shift: number; neg: boolean }
  const finals: { val: Val; shift: number; neg: boolean; off: bigint }[] = [];
  g.outputs.forEach((o, k) => {
    const parts: Part[] = o.terms.map((t: Term) => ({ val: vals[t.v], shift: t.shift, neg: t.neg }));
    let j = 0;
    while (parts.length > 1) {
      parts.sort((a, b) => a.val.level - b.val.level);
      const [a, b] = parts.splice(0, 2);
      const m = Math.min(a.shift, b.shift);
      // Keep the result positive when one operand is: b − a rather than −(a − b).
      const [x, y] = a.neg && !b.neg ? [b, a] : [a, b];
      const v = combine(x.val, x.shift - m, y.val, y.shift - m, x.neg !== y.neg, `${name}_o${k}_s${j++}`);
      const part = { val: v, shift: m, neg: x.neg };
      let i = 0;
      while (i < parts.length && parts[i].val.level <= v.level) i++;
      parts.splice(i, 0, part);
    }
    finals.push(parts.length ? { ...parts[0], off: offset[k] ?? 0n } : { val: undefined as unknown as Val, shift: 0, neg: false, off: offset[k] ?? 0n });
  });

  // Final stage: every output ends in a register (as the adder trees of the per-weight flow do).
  const ready = (f: (typeof finals)[number]): number => {
    if (!f.val) return 1;
    const extra = f.neg || f.off !== 0n; // a negation or offset adds a level after the sum
    return f.val.registered && !extra ? f.val.avail : f.val.avail + 1;
  };
  const stages = Math.max(1, ...finals.map(ready));
  const outs: Ranged[] = finals.map((f, k) => {
    const label = `${name}_y${k}`;
    if (!f.val) {
      const m = p.m;
      return { sig: m.const(f.off, signedBitsFor(f.off, f.off), true), min: f.off, max: f.off };
    }
    const sign = f.neg ? -1n : 1n;
    const r = rangeOf(f.val.coef, sign * (1n << BigInt(f.shift)), f.off);
    const w = signedBitsFor(r.min, r.max);
    let st = f.val.avail;
    let sig: Signal;
    if (f.neg || f.off !== 0n) {
      // sign·(P << shift) + off, one adder (off − P, P + off or −P), in stage avail, then registered.
      const P = fitSigned(f.val.sig.shl(f.shift), w);
      const c = p.m.const(f.off, w, true);
      sig = f.neg ? c.sub(P) : P.add(c);
      adders++;
      sig = stage(p, `${label}_q`, sig.named(label));
      st++;
    } else {
      sig = fitSigned(f.val.sig.shl(f.shift), w);
    }
    const v: Val = { sig, coef: [], level: 0, avail: st, registered: st > f.val.avail || f.val.registered };
    names.set(v, label);
    const out = v.registered && st === stages ? sig : at(v, stages, label);
    return { sig: out, min: r.min, max: r.max };
  });
  return { outs, stages, adders };
}
