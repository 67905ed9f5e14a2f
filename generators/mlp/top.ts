// The MLP top: valid/ready stream in, layers in a stall-all pipeline, argmax, class and logits out.
import { ModuleBuilder } from '../../dsl/module.ts';
import type { IrModule } from '../../dsl/ir/types.ts';
import type { Signal } from '../../dsl/signal.ts';
import type { QuantizedMlp } from '../model.ts';
import { layerInputRange } from '../../verify/golden/mlp.ts';
import { argmaxStages, argmaxTree, stage, type Pipe } from './arith.ts';
import { buildLayer, type LayerBuild, type LayerSplit } from './layer.ts';
import type { MulStyle } from './cells.ts';

export interface MlpRtlOptions {
  readonly style?: MulStyle;
  /** Adder-tree levels between pipeline registers (default 2). */
  readonly regEvery?: number;
  /** Argmax comparator levels between registers (default 2). */
  readonly argRegEvery?: number;
  /** Where large layers split into channel-group modules (default: generators/mlp/layer.ts thresholds). */
  readonly split?: LayerSplit;
}

/** What the generator predicts about the design, before any simulation. */
export interface MlpPlan {
  readonly style: MulStyle;
  /** Cycles from an accepted input to its result on the outputs. */
  readonly latency: number;
  /** Results per cycle when the stream is never stalled. */
  readonly throughputPerCycle: number;
  readonly layerLatency: readonly number[];
  readonly argmaxLatency: number;
  readonly weights: number;
  readonly nonZeroWeights: number;
  readonly cells: number;
  readonly inWidth: number;
  readonly classWidth: number;
  readonly logitWidth: number;
  readonly classes: number;
}

export interface MlpRtl {
  readonly top: IrModule;
  readonly plan: MlpPlan;
  readonly layers: readonly LayerBuild[];
}

export const TOP_NAME = 'mlp_top';

export function buildMlpRtl(q: QuantizedMlp, o: MlpRtlOptions = {}): MlpRtl {
  const style = o.style ?? 'csd';
  const regEvery = o.regEvery ?? 2;
  const argRegEvery = o.argRegEvery ?? 2;
  const a = q.actBits;
  const nIn = q.layers[0].inFeatures;
  const classes = q.layers[q.layers.length - 1].outFeatures;
  const layers = q.layers.map((l, k) => buildLayer(l, { index: k, actBits: a, style, regEvery, last: k === q.layers.length - 1, inRange: layerInputRange(q, k), split: o.split }));
  const classWidth = Math.max(1, Math.ceil(Math.log2(classes)));
  const logitWidth = layers[layers.length - 1].outWidth;

  const m = new ModuleBuilder(TOP_NAME, {
    doc: `hardwired MLP ${[nIn, ...q.layers.map((l) => l.outFeatures)].join('-')}: valid/ready in, class and logits out`,
    params: { style, regEvery, argRegEvery, actBits: a },
  });
  const clk = m.clock('clk');
  const rst = m.input('rst', 1);
  const inValid = m.input('in_valid', 1);
  const inData = m.input('in_data', nIn * a);
  const outReady = m.input('out_ready', 1);
  let wl: Record<string, Signal> = {};
  if (style === 'memory') {
    const words = Math.max(...q.layers.map((l) => l.inFeatures * l.outFeatures));
    const aw = Math.max(1, Math.ceil(Math.log2(words)));
    const wb = Math.max(...q.layers.map((l) => l.weightBits));
    const wlLayer = m.input('wl_layer', Math.max(1, Math.ceil(Math.log2(q.layers.length))));
    const wlEn = m.input('wl_en', 1);
    const wlAddr = m.input('wl_addr', aw);
    const wlData = m.input('wl_data', wb, { signed: true });
    wl = { wlLayer, wlEn, wlAddr, wlData };
  }

  // Stall-all pipeline: every stage advances together when the output is taken or empty.
  const argSt = argmaxStages(classes, argRegEvery);
  const latency = 1 + layers.reduce((s, l) => s + l.latency, 0) + argSt;
  const outValidW = m.wire('out_valid_q', 1);
  const advance = outReady.or(outValidW.not()).named('advance');
  const p: Pipe = { m, clk, en: advance };
  let v: Signal = inValid;
  for (let k = 0; k < latency; k++) v = m.delay(`valid_s${k + 1}`, v, { clock: clk, reset: rst, resetValue: 0n, enable: advance });
  outValidW.drive(v);

  let x = stage(p, 'in_q', inData);
  layers.forEach((l, k) => {
    const conn: Record<string, Signal> = { clk, en: advance, x };
    if (style === 'memory') {
      const aw = l.module.ports.find((pp) => pp.name === 'wl_addr')!.width;
      const wb = l.module.ports.find((pp) => pp.name === 'wl_data')!.width;
      conn.wl_en = wl.wlEn.and(wl.wlLayer.eq(k));
      conn.wl_addr = wl.wlAddr.trunc(aw);
      conn.wl_data = wl.wlData.trunc(wb);
    }
    const outs = m.instance(`u_layer${k}`, l.module, conn);
    x = outs.y ?? outs.acc;
  });
  const logits = Array.from({ length: classes }, (_, c) => x.slice(c * logitWidth + logitWidth - 1, c * logitWidth).asSigned());
  const am = argmaxTree(p, 'argmax', logits, argRegEvery);
  if (am.stages !== argSt) throw new Error('argmax stage count disagrees with the plan');
  let logitsOut: Signal = x;
  for (let k = 0; k < argSt; k++) logitsOut = stage(p, `logits_d${k + 1}`, logitsOut);

  m.output('in_ready', advance);
  m.output('out_valid', outValidW);
  // Outputs are forced to zero while not valid, so no X from unreset data registers ever leaves the top.
  m.output('out_class', outValidW.select(am.index, m.const(0, classWidth)));
  m.output('out_logits', outValidW.select(logitsOut, m.const(0, logitsOut.width)));
  const top = m.build();

  const weights = q.layers.reduce((s, l) => s + l.weight.length, 0);
  const nonZeroWeights = q.layers.reduce((s, l) => s + l.weight.reduce((n, w) => n + (w !== 0 ? 1 : 0), 0), 0);
  return {
    top,
    layers,
    plan: {
      style, latency, throughputPerCycle: 1, layerLatency: layers.map((l) => l.latency), argmaxLatency: argSt,
      weights, nonZeroWeights, cells: layers.reduce((s, l) => s + l.cells, 0), inWidth: nIn * a, classWidth, logitWidth, classes,
    },
  };
}
