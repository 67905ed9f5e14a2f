// One Linear layer as a single shared adder graph (generators/cmvm/), then requant (+ReLU) per channel.
import { ModuleBuilder } from '../../dsl/module.ts';
import type { Signal } from '../../dsl/signal.ts';
import type { QuantizedLinear } from '../model.ts';
import { signedBitsFor } from '../../verify/golden/mlp.ts';
import { optimizeCmvm } from '../cmvm/optimize.ts';
import { emitCmvm } from '../cmvm/emit.ts';
import { fitSigned, requantUnit, stage, type Pipe } from './arith.ts';
import { layerName, type LayerBuild, type LayerOptions } from './layer.ts';

/**
 * Same ports and latency contract as the per-weight layer (x in, y or acc out, `latency` stages), but
 * the products and adder trees are one CMVM graph. Hidden layers fold the bias into the requant's
 * rounding constant; the last layer adds it before the final register.
 */
export function buildCmvmLayer(q: QuantizedLinear, o: LayerOptions): LayerBuild {
  const rows = Array.from({ length: q.outFeatures }, (_, c) => Array.from(q.weight.subarray(c * q.inFeatures, (c + 1) * q.inFeatures)));
  const t0 = performance.now();
  const g = optimizeCmvm(rows);
  const optimizeSeconds = (performance.now() - t0) / 1000;
  const m = new ModuleBuilder(layerName(o.index), {
    doc: `Linear layer ${o.index}: ${q.inFeatures} -> ${q.outFeatures}, int${q.weightBits} weights, one shared adder graph (CMVM: ${g.adders} adders, per-weight CSD ${g.csdAdders})${o.last ? ', logits out' : ', requant' + (q.relu ? ' + ReLU' : '')}`,
    params: { inFeatures: q.inFeatures, outFeatures: q.outFeatures, weightBits: q.weightBits, style: 'cmvm', regEvery: o.regEvery },
  });
  const clk = m.clock('clk');
  const en = m.input('en', 1);
  const xBus = m.input('x', q.inFeatures * o.actBits);
  const p: Pipe = { m, clk, en };
  const xs: Signal[] = Array.from({ length: q.inFeatures }, (_, i) => xBus.slice(i * o.actBits + o.actBits - 1, i * o.actBits).asSigned().named(`x${i}`));
  const e = emitCmvm(p, 'g', g, xs, o.inRange, o.regEvery, o.last ? Array.from(q.bias) : []);
  const outWidth = o.last ? Math.max(...e.outs.map((r) => signedBitsFor(r.min, r.max))) : o.actBits;
  const outs = e.outs.map((acc, c) => (o.last ? fitSigned(acc.sig, outWidth) : stage(p, `y${c}`, requantUnit(acc, q.M[c], q.S[c], o.actBits, q.relu, q.bias[c]))));
  m.output(o.last ? 'acc' : 'y', m.cat(...outs.slice().reverse()));
  return {
    module: m.build(), latency: e.stages + (o.last ? 0 : 1), outWidth,
    cells: 0, memWords: 0, cmvm: { adders: g.adders, csdAdders: g.csdAdders, depth: g.depth, nonZeroWeights: g.nonZeroWeights, optimizeSeconds },
  };
}
