// One Linear layer as a pipelined module: multiplier cells, exact adder trees, requant (+ReLU) per channel.
import { ModuleBuilder } from '../../dsl/module.ts';
import type { IrModule } from '../../dsl/ir/types.ts';
import type { Signal } from '../../dsl/signal.ts';
import type { QuantizedLinear } from '../model.ts';
import type { IntRange } from '../../verify/golden/mlp.ts';
import { signedBitsFor } from '../../verify/golden/mlp.ts';
import { adderTree, constRanged, fitSigned, ranged, requantUnit, stage, treeLevels, treeStages, type Pipe, type Ranged } from './arith.ts';
import { constMulCell, genericMulCell, type MulStyle } from './cells.ts';
import { buildCmvmLayer } from './cmvmLayer.ts';

export interface LayerOptions {
  readonly index: number;
  readonly actBits: number;
  readonly style: MulStyle;
  /** Adder-tree levels between pipeline registers. */
  readonly regEvery: number;
  /** True for the last layer: outputs the accumulators (logits), no requant. */
  readonly last: boolean;
  /** Range of this layer's inputs (e.g. [0,127] behind a ReLU). */
  readonly inRange: IntRange;
  /** Split thresholds (default FLAT_LAYER_MAX_WEIGHTS, GROUP_WEIGHTS); tests set small ones. */
  readonly split?: LayerSplit;
}

export interface LayerSplit {
  readonly flatMaxWeights: number;
  readonly groupWeights: number;
}

export interface LayerBuild {
  readonly module: IrModule;
  /** Register stages from input to output. */
  readonly latency: number;
  /** Output element width: actBits for hidden layers, the logit width for the last. */
  readonly outWidth: number;
  /** Multiplier cells instantiated (non-zero weights for 'csd'/'naive'; every weight for 'memory'). */
  readonly cells: number;
  /** Weight-memory words (memory style only). */
  readonly memWords: number;
  /** The shared adder graph's figures (cmvm style only). */
  readonly cmvm?: { adders: number; csdAdders: number; depth: number; nonZeroWeights: number; optimizeSeconds: number };
}

export function layerName(index: number): string {
  return `layer${index}`;
}

/** Any B-bit two's complement weight a weight memory can hold. */
function weightExtremes(bits: number): bigint[] {
  return [-(1n << BigInt(bits - 1)), (1n << BigInt(bits - 1)) - 1n];
}

/** Exact accumulator range of channel c for inputs in `r` (bias included). */
function channelRange(q: QuantizedLinear, c: number, r: IntRange, worstCase: boolean): { min: bigint; max: bigint; leaves: number } {
  let min = q.bias[c];
  let max = q.bias[c];
  let leaves = q.bias[c] !== 0n ? 1 : 0;
  for (let i = 0; i < q.inFeatures; i++) {
    const ws = worstCase ? weightExtremes(q.weightBits) : [BigInt(q.weight[c * q.inFeatures + i])];
    if (!worstCase && ws[0] === 0n) continue;
    leaves++;
    const vals = ws.flatMap((w) => [w * BigInt(r.min), w * BigInt(r.max)]);
    min += vals.reduce((a, b) => (a < b ? a : b));
    max += vals.reduce((a, b) => (a > b ? a : b));
  }
  return { min, max, leaves };
}

/** Weights above which a layer's channels go into modules of their own (see channelsPerModule). */
export const FLAT_LAYER_MAX_WEIGHTS = 8192;
/** About this many weights per channel-group module of a split layer. */
export const GROUP_WEIGHTS = 2048;

/**
 * Output channels per module: all of them (one flat layer module, as every example has) up to
 * FLAT_LAYER_MAX_WEIGHTS weights; above, as many as hold about GROUP_WEIGHTS weights (at least one).
 * Why: Icarus 11's elaboration of one module costs about (registers × nets) of that module — measured
 * 2.1 s user for a 4,096-weight layer module, 8.5 s for 8,192, minutes for 68k — so text split into
 * modules of bounded size compiles in time linear in the weights. The memory baseline stays flat: its
 * weight-load port is shared by every channel.
 */
export function channelsPerModule(inFeatures: number, outFeatures: number, style: MulStyle, split?: LayerSplit): number {
  const flatMax = split?.flatMaxWeights ?? FLAT_LAYER_MAX_WEIGHTS;
  if (style === 'memory' || inFeatures * outFeatures <= flatMax) return outFeatures;
  return Math.max(1, Math.floor((split?.groupWeights ?? GROUP_WEIGHTS) / inFeatures));
}

export function buildLayer(q: QuantizedLinear, o: LayerOptions): LayerBuild {
  if (o.style === 'cmvm') return buildCmvmLayer(q, o);
  const worst = o.style === 'memory';
  const ranges = Array.from({ length: q.outFeatures }, (_, c) => channelRange(q, c, o.inRange, worst));
  const maxLeaves = Math.max(1, ...ranges.map((r) => r.leaves));
  const treeSt = treeStages(treeLevels(maxLeaves), o.regEvery);
  const outWidth = o.last ? Math.max(...ranges.map((r) => signedBitsFor(r.min, r.max))) : o.actBits;
  const m = new ModuleBuilder(layerName(o.index), {
    doc: `Linear layer ${o.index}: ${q.inFeatures} -> ${q.outFeatures}, int${q.weightBits} weights, ${o.style} products${o.last ? ', logits out' : ', requant' + (q.relu ? ' + ReLU' : '')}`,
    params: { inFeatures: q.inFeatures, outFeatures: q.outFeatures, weightBits: q.weightBits, style: o.style, regEvery: o.regEvery, latency: treeSt + (o.last ? 0 : 1) },
  });
  const clk = m.clock('clk');
  const en = m.input('en', 1);
  const xBus = m.input('x', q.inFeatures * o.actBits);
  const p: Pipe = { m, clk, en };
  const xs: Signal[] = Array.from({ length: q.inFeatures }, (_, i) => xBus.slice(i * o.actBits + o.actBits - 1, i * o.actBits).asSigned().named(`x${i}`));

  // Memory style: a weight register per (channel, input), written through a shared load port.
  let cells = 0;
  let memWords = 0;
  let weightOf: (c: number, i: number) => Signal | undefined = () => undefined;
  if (o.style === 'memory') {
    const nWords = q.outFeatures * q.inFeatures;
    const aw = Math.max(1, Math.ceil(Math.log2(nWords)));
    const wlEn = m.input('wl_en', 1);
    const wlAddr = m.input('wl_addr', aw);
    const wlData = m.input('wl_data', q.weightBits, { signed: true });
    const regs: Signal[] = [];
    for (let k = 0; k < nWords; k++) {
      regs.push(m.delay(`w${k}`, wlData, { clock: clk, enable: wlEn.and(wlAddr.eq(k)) }));
    }
    memWords = nWords;
    weightOf = (c, i) => regs[c * q.inFeatures + i];
  }

  const channel = (cm: ModuleBuilder, cp: Pipe, cx: readonly Signal[], c: number): Signal => {
    const leaves: Ranged[] = [];
    for (let i = 0; i < q.inFeatures; i++) {
      const w = BigInt(q.weight[c * q.inFeatures + i]);
      if (o.style === 'memory') {
        const cell = genericMulCell(o.actBits, q.weightBits);
        const prod = cm.instance(`u_m${c}_${i}`, cell, { x: cx[i], w: weightOf(c, i)! }).p;
        const vals = weightExtremes(q.weightBits).flatMap((wx) => [wx * BigInt(o.inRange.min), wx * BigInt(o.inRange.max)]);
        leaves.push(ranged(prod, vals.reduce((a, b) => (a < b ? a : b)), vals.reduce((a, b) => (a > b ? a : b))));
        cells++;
        continue;
      }
      if (w === 0n) continue; // a zero weight costs nothing
      const prod = cm.instance(`u_m${c}_${i}`, constMulCell(o.style === 'naive' ? 'naive' : 'csd', o.actBits, w), { x: cx[i] }).p;
      const a = w * BigInt(o.inRange.min);
      const b = w * BigInt(o.inRange.max);
      leaves.push(ranged(prod, a < b ? a : b, a < b ? b : a));
      cells++;
    }
    if (q.bias[c] !== 0n) leaves.push(constRanged(cm, q.bias[c]));
    const acc = adderTree(cp, `c${c}`, leaves, o.regEvery, treeSt).out;
    if (o.last) return fitSigned(acc.sig, outWidth);
    const y = requantUnit(acc, q.M[c], q.S[c], o.actBits, q.relu);
    return stage(cp, `y${c}`, y);
  };

  const outs: Signal[] = [];
  const group = channelsPerModule(q.inFeatures, q.outFeatures, o.style, o.split);
  if (group >= q.outFeatures) {
    for (let c = 0; c < q.outFeatures; c++) outs.push(channel(m, p, xs, c));
  } else {
    // A large layer: its channels in modules of `group` channels each (see channelsPerModule).
    for (let c0 = 0; c0 < q.outFeatures; c0 += group) {
      const c1 = Math.min(q.outFeatures, c0 + group) - 1;
      const g = new ModuleBuilder(`${layerName(o.index)}_o${c0}_${c1}`, {
        doc: `Linear layer ${o.index}, output channels ${c0}..${c1} of ${q.outFeatures}: ${q.inFeatures} inputs, int${q.weightBits} weights, ${o.style} products${o.last ? ', logits out' : ', requant' + (q.relu ? ' + ReLU' : '')}`,
        params: { inFeatures: q.inFeatures, firstChannel: c0, lastChannel: c1, weightBits: q.weightBits, style: o.style, regEvery: o.regEvery, latency: treeSt + (o.last ? 0 : 1) },
      });
      const gclk = g.clock('clk');
      const gen = g.input('en', 1);
      const gx = g.input('x', q.inFeatures * o.actBits);
      const gxs = Array.from({ length: q.inFeatures }, (_, i) => gx.slice(i * o.actBits + o.actBits - 1, i * o.actBits).asSigned().named(`x${i}`));
      const gouts: Signal[] = [];
      for (let c = c0; c <= c1; c++) gouts.push(channel(g, { m: g, clk: gclk, en: gen }, gxs, c));
      g.output('y', g.cat(...gouts.slice().reverse()));
      outs.push(m.instance(`u_o${c0}_${c1}`, g.build(), { clk, en, x: xBus }).y);
    }
  }
  m.output(o.last ? 'acc' : 'y', m.cat(...outs.slice().reverse()));
  return { module: m.build(), latency: treeSt + (o.last ? 0 : 1), outWidth, cells, memWords };
}
