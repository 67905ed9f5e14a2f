// gen-rtl synth-checkpoint: writes a seeded synthetic checkpoint (MLP- or Llama-shaped, HF layout) for tests and the bench.
import { existsSync, readdirSync } from 'node:fs';
import { EXIT, UserError } from '../core/errors.ts';
import { llamaShaped, llamaShapeFor, llamaWeights, mlpShaped, writeSyntheticCheckpoint, type LlamaShape, type SyntheticDtype, type WrittenCheckpoint } from '../generators/load/synthetic.ts';

export interface SynthCheckpointOptions {
  readonly out: string;
  readonly shape: 'mlp' | 'llama';
  /** MLP: inputs, hidden…, outputs. */
  readonly sizes?: readonly number[];
  /** Llama: about this many matmul weights (dims chosen by llamaShapeFor), unless dims are given. */
  readonly weights?: number;
  readonly llama?: Partial<LlamaShape>;
  readonly dtype: SyntheticDtype;
  readonly seed: number;
  readonly shardBytes?: number;
  readonly force: boolean;
}

export function synthCheckpoint(o: SynthCheckpointOptions): WrittenCheckpoint & { description: string } {
  if (existsSync(o.out) && readdirSync(o.out).length > 0 && !o.force) {
    throw new UserError(`${o.out}: output folder exists and is not empty (use --force to write into it)`, EXIT.usage);
  }
  if (!Number.isSafeInteger(o.seed)) throw new UserError(`--seed must be an integer, got ${o.seed}`, EXIT.usage);
  if (o.shardBytes !== undefined && !(Number.isSafeInteger(o.shardBytes) && o.shardBytes > 0)) throw new UserError(`--shard-mb must be positive, got ${o.shardBytes / 1e6}`, EXIT.usage);
  if (o.shape === 'mlp') {
    const sizes = o.sizes ?? [64, 64, 10];
    const w = writeSyntheticCheckpoint(o.out, mlpShaped(sizes, o.dtype), o.seed, o.shardBytes);
    return { ...w, description: `MLP ${sizes.join('-')}` };
  }
  const l = o.llama ?? {};
  if (o.weights !== undefined && !(Number.isFinite(o.weights) && o.weights >= 1)) throw new UserError(`--weights must be a positive number, got ${o.weights}`, EXIT.usage);
  const base = llamaShapeFor(o.weights ?? 1e6, l.layers);
  const s: LlamaShape = { ...base, ...Object.fromEntries(Object.entries(l).filter(([, v]) => v !== undefined)) };
  const w = writeSyntheticCheckpoint(o.out, llamaShaped(s, o.dtype), o.seed, o.shardBytes);
  return { ...w, description: `Llama hidden ${s.hidden}, intermediate ${s.intermediate}, ${s.layers} layers, ${s.heads} heads (${s.kvHeads} kv), vocab ${s.vocab}: ${llamaWeights(s).toLocaleString('en-US')} matmul weights` };
}
