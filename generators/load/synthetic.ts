// Synthetic checkpoints for tests and the bench: seeded, deterministic, Llama- or MLP-shaped, written
// the way Hugging Face writes them (model.safetensors, or model-0000N-of-0000M.safetensors shards plus
// model.safetensors.index.json, and config.json), by streaming: each tensor is generated and written
// a row block at a time by positioned writes, so a 1e9-weight checkpoint never sits in memory.
//
// Every value is a pure function of (seed, tensor name, flat index) — a counter-based hash, not a
// sequential PRNG — so a reader can be checked against syntheticRows() for any row block without
// regenerating the rest, and the same seed gives byte-identical files.
//   weights, biases: uniform in [-1, 1) × 1/sqrt(fan-in) (nn.Linear's init range), 24-bit steps;
//   norm weights (…norm.weight): 1 + uniform [-1, 1) / 8;
// then rounded to the stored dtype (F32 exact; BF16 round to nearest even).

import * as fs from 'node:fs';
import { join } from 'node:path';
import { UserError } from '../../core/errors.ts';
import { layoutSafetensors, type TensorLayout } from './safetensors.ts';

export type SyntheticDtype = 'F32' | 'BF16';

export interface SyntheticTensor extends TensorLayout {
  readonly dtype: SyntheticDtype;
  /** How values are drawn: 'linear' (±1/sqrt(fan-in)) or 'norm' (1 ± 1/8). */
  readonly init: 'linear' | 'norm';
}

/** A checkpoint to write: its tensors in state-dict order (the order shards are filled in) and config.json. */
export interface SyntheticModel {
  readonly tensors: readonly SyntheticTensor[];
  readonly config: Record<string, unknown>;
}

export interface LlamaShape {
  readonly hidden: number;
  readonly intermediate: number;
  readonly layers: number;
  readonly heads: number;
  readonly kvHeads: number;
  readonly vocab: number;
  readonly tied?: boolean;
  readonly maxPositions?: number;
}

/** A LlamaForCausalLM checkpoint as transformers writes it: config.json and HF's tensor names, in state-dict order. */
export function llamaShaped(s: LlamaShape, dtype: SyntheticDtype): SyntheticModel {
  for (const [k, v] of Object.entries(s)) {
    if (typeof v === 'number' && (!Number.isSafeInteger(v) || v < 1)) throw new UserError(`synthetic Llama: ${k} must be a positive integer, got ${v}`, 3);
  }
  if (s.hidden % s.heads !== 0) throw new UserError(`synthetic Llama: hidden ${s.hidden} is not a multiple of heads ${s.heads}`, 3);
  const headDim = s.hidden / s.heads;
  if (headDim % 2 !== 0) throw new UserError(`synthetic Llama: head_dim ${headDim} is odd; RoPE rotates pairs`, 3);
  if (s.heads % s.kvHeads !== 0) throw new UserError(`synthetic Llama: heads ${s.heads} is not a multiple of kv-heads ${s.kvHeads}`, 3);
  const kv = s.kvHeads * headDim;
  const t: SyntheticTensor[] = [];
  const lin = (name: string, shape: number[]): void => { t.push({ name, dtype, shape, init: 'linear' }); };
  const norm = (name: string): void => { t.push({ name, dtype, shape: [s.hidden], init: 'norm' }); };
  lin('model.embed_tokens.weight', [s.vocab, s.hidden]);
  for (let n = 0; n < s.layers; n++) {
    const p = `model.layers.${n}.`;
    lin(`${p}self_attn.q_proj.weight`, [s.hidden, s.hidden]);
    lin(`${p}self_attn.k_proj.weight`, [kv, s.hidden]);
    lin(`${p}self_attn.v_proj.weight`, [kv, s.hidden]);
    lin(`${p}self_attn.o_proj.weight`, [s.hidden, s.hidden]);
    lin(`${p}mlp.gate_proj.weight`, [s.intermediate, s.hidden]);
    lin(`${p}mlp.up_proj.weight`, [s.intermediate, s.hidden]);
    lin(`${p}mlp.down_proj.weight`, [s.hidden, s.intermediate]);
    norm(`${p}input_layernorm.weight`);
    norm(`${p}post_attention_layernorm.weight`);
  }
  norm('model.norm.weight');
  if (!s.tied) lin('lm_head.weight', [s.vocab, s.hidden]);
  const config = {
    architectures: ['LlamaForCausalLM'],
    attention_bias: false,
    attention_dropout: 0.0,
    bos_token_id: 0,
    eos_token_id: 1,
    head_dim: headDim,
    hidden_act: 'silu',
    hidden_size: s.hidden,
    initializer_range: 0.02,
    intermediate_size: s.intermediate,
    max_position_embeddings: s.maxPositions ?? 2048,
    mlp_bias: false,
    model_type: 'llama',
    num_attention_heads: s.heads,
    num_hidden_layers: s.layers,
    num_key_value_heads: s.kvHeads,
    pretraining_tp: 1,
    rms_norm_eps: 1e-5,
    rope_scaling: null,
    rope_theta: 10000.0,
    tie_word_embeddings: s.tied ?? false,
    torch_dtype: dtype === 'BF16' ? 'bfloat16' : 'float32',
    use_cache: true,
    vocab_size: s.vocab,
  };
  return { tensors: t, config };
}

/** Matmul weights of a Llama shape (what the grid hardwires; norms excluded). */
export function llamaWeights(s: LlamaShape): number {
  const kv = (s.kvHeads * s.hidden) / s.heads;
  const perLayer = 2 * s.hidden * s.hidden + 2 * kv * s.hidden + 3 * s.intermediate * s.hidden;
  return s.layers * perLayer + s.vocab * s.hidden * (s.tied ? 1 : 2);
}

/** A Llama shape with about `weights` matmul weights: hidden a multiple of 64 (head_dim 64, kv-heads =
 *  heads / 2 where even), intermediate ≈ 8/3 hidden (a multiple of 64), vocab 2048, and `layers` layers
 *  or, if not given, the count from 2 to 8 that comes closest. */
export function llamaShapeFor(weights: number, layers?: number): LlamaShape {
  let best: LlamaShape | undefined;
  const dist = (s: LlamaShape): number => Math.abs(llamaWeights(s) - weights);
  for (const L of layers !== undefined ? [layers] : [4, 2, 3, 5, 6, 7, 8]) {
    for (let h = 64; h <= 65536; h += 64) {
      const heads = h / 64;
      const s: LlamaShape = { hidden: h, intermediate: Math.max(64, Math.round((8 * h) / 3 / 64) * 64), layers: L, heads, kvHeads: heads % 2 === 0 ? heads / 2 : heads, vocab: 2048 };
      if (!best || dist(s) < dist(best)) best = s;
      if (llamaWeights(s) > weights) break;
    }
  }
  return best!;
}

/** A sequential MLP (fc1, fc2, …: weight [out, in] and bias [out]) with config.json as generators/load/mlp.ts reads it. */
export function mlpShaped(sizes: readonly number[], dtype: SyntheticDtype): SyntheticModel {
  if (sizes.length < 2 || !sizes.every((n) => Number.isSafeInteger(n) && n >= 1)) {
    throw new UserError(`synthetic MLP: sizes must be two or more positive integers (inputs, …, outputs), got ${sizes.join(',')}`, 3);
  }
  const t: SyntheticTensor[] = [];
  const layers: string[] = [];
  for (let k = 1; k < sizes.length; k++) {
    const p = `fc${k}`;
    layers.push(p);
    t.push({ name: `${p}.weight`, dtype, shape: [sizes[k], sizes[k - 1]], init: 'linear' });
    t.push({ name: `${p}.bias`, dtype, shape: [sizes[k]], init: 'linear' });
  }
  const activations = layers.map((_, k) => (k === layers.length - 1 ? 'none' : 'relu'));
  return { tensors: t, config: { model_type: 'mlp', layers, activations, input_shape: [sizes[0]], num_classes: sizes[sizes.length - 1] } };
}

/** lowbias32 (Chris Wellons' hash prospector): a bijective 32-bit mixer. */
function mix32(x: number): number {
  x ^= x >>> 16;
  x = Math.imul(x, 0x7feb352d);
  x ^= x >>> 15;
  x = Math.imul(x, 0x846ca68b);
  x ^= x >>> 16;
  return x >>> 0;
}

/** FNV-1a of the name's UTF-16 code units: the tensor's key, so renaming a tensor changes its values. */
function nameKey(seed: number, name: string): number {
  let h = 0x811c9dc5 ^ mix32(seed >>> 0);
  for (let i = 0; i < name.length; i++) h = Math.imul(h ^ name.charCodeAt(i), 0x01000193);
  return mix32(h >>> 0);
}

const f32 = new Float32Array(1);
const u32 = new Uint32Array(f32.buffer);

/** float32 → bfloat16 bits, round to nearest even (values here are finite). */
function bf16Bits(x: number): number {
  f32[0] = x;
  const b = u32[0];
  return ((b + 0x7fff + ((b >>> 16) & 1)) >>> 16) & 0xffff;
}

/** The stored values of rows [first, first + count) of `t`, as float32 (exact: what a reader must return). */
export function syntheticRows(seed: number, t: SyntheticTensor, first: number, count: number): Float32Array {
  const row = t.shape.slice(1).reduce((a, d) => a * d, 1);
  const out = new Float32Array(row * count);
  fillRows(seed, t, first, count, out);
  return out;
}

function fillRows(seed: number, t: SyntheticTensor, first: number, count: number, out: Float32Array): void {
  const row = t.shape.slice(1).reduce((a, d) => a * d, 1);
  const key = nameKey(seed, t.name);
  const fanIn = t.shape.length >= 2 ? t.shape[t.shape.length - 1] : t.shape[0];
  const scale = t.init === 'norm' ? 1 / 8 : 1 / Math.sqrt(fanIn);
  const offset = t.init === 'norm' ? 1 : 0;
  const n = row * count;
  const start = first * row;
  for (let i = 0; i < n; i++) {
    const flat = start + i;
    const hi = Math.floor(flat / 4294967296);
    const h = mix32(mix32((key + hi) >>> 0) ^ (flat >>> 0));
    const u = ((h >>> 8) - 8388608) / 8388608; // [-1, 1) in steps of 2^-23: exact in float32
    const v = Math.fround(offset + u * scale);
    if (t.dtype === 'BF16') {
      u32[0] = bf16Bits(v) << 16;
      out[i] = f32[0];
    } else out[i] = v;
  }
}

/** Elements per row block written at once: 1M elements (4 MiB as float32) or one row if larger. */
const BLOCK_ELEMENTS = 1 << 20;

/** Writes one safetensors file of `tensors` by streaming: header, then each tensor a row block at a time
 *  (positioned writes). Memory: one row block. */
export function writeSyntheticSafetensors(path: string, seed: number, tensors: readonly SyntheticTensor[], metadata?: Record<string, string>): void {
  const { head, order } = layoutSafetensors(tensors, metadata);
  const fd = fs.openSync(path, 'w');
  try {
    writeAll(fd, head, 0);
    for (const { tensor: t, offset } of order) {
      const row = t.shape.slice(1).reduce((a, d) => a * d, 1);
      const rows = t.shape.length === 0 ? 1 : t.shape[0];
      const perBlock = Math.max(1, Math.floor(BLOCK_ELEMENTS / Math.max(1, row)));
      const vals = new Float32Array(row * Math.min(perBlock, rows));
      const bf = t.dtype === 'BF16' ? new Uint16Array(vals.length) : undefined;
      const elemBytes = t.dtype === 'BF16' ? 2 : 4;
      for (let r = 0; r < rows; r += perBlock) {
        const count = Math.min(perBlock, rows - r);
        const v = vals.subarray(0, row * count);
        fillRows(seed, t, r, count, v);
        let bytes: Uint8Array;
        if (bf) {
          const b = bf.subarray(0, v.length);
          const bits = new Uint32Array(v.buffer, v.byteOffset, v.length);
          for (let i = 0; i < v.length; i++) b[i] = bits[i] >>> 16; // already bf16-rounded
          bytes = new Uint8Array(b.buffer, b.byteOffset, b.byteLength);
        } else bytes = new Uint8Array(v.buffer, v.byteOffset, v.byteLength);
        if (!HOST_IS_LE) throw new Error('writeSyntheticSafetensors: big-endian hosts are not supported');
        writeAll(fd, bytes, offset + r * row * elemBytes);
      }
    }
  } finally {
    fs.closeSync(fd);
  }
}

const HOST_IS_LE = new Uint8Array(new Uint16Array([1]).buffer)[0] === 1;

function writeAll(fd: number, data: Uint8Array, position: number): void {
  for (let done = 0; done < data.length; ) done += fs.writeSync(fd, data, done, data.length - done, position + done);
}

/** HF's shard size default ("5GB" = 5e9 bytes). */
export const DEFAULT_SHARD_BYTES = 5_000_000_000;

/**
 * Splits tensors into shards as huggingface_hub's split_torch_state_dict_into_shards does: in
 * state-dict order, a new shard when the next tensor would pass `maxShardBytes`; a tensor larger than
 * that alone in its own shard.
 */
export function planShards<T extends TensorLayout>(tensors: readonly T[], maxShardBytes: number): T[][] {
  const shards: T[][] = [];
  let cur: T[] = [];
  let size = 0;
  for (const t of tensors) {
    const b = t.shape.reduce((a, d) => a * d, t.dtype === 'BF16' ? 2 : 4);
    if (b > maxShardBytes) { shards.push([t]); continue; }
    if (size + b > maxShardBytes && cur.length) { shards.push(cur); cur = []; size = 0; }
    cur.push(t);
    size += b;
  }
  if (cur.length) shards.push(cur);
  return shards;
}

export interface WrittenCheckpoint {
  /** The path to give gen-rtl: model.safetensors or model.safetensors.index.json. */
  readonly model: string;
  readonly files: string[];
  readonly bytes: number;
  readonly parameters: number;
}

/**
 * Writes `m` into folder `dir` (created; files in it are replaced): config.json, and model.safetensors
 * or, when it needs more than one shard of `maxShardBytes`, model-0000N-of-0000M.safetensors and
 * model.safetensors.index.json (sorted keys, indent 2, as transformers writes it).
 */
export function writeSyntheticCheckpoint(dir: string, m: SyntheticModel, seed: number, maxShardBytes = DEFAULT_SHARD_BYTES): WrittenCheckpoint {
  fs.mkdirSync(dir, { recursive: true });
  fs.writeFileSync(join(dir, 'config.json'), `${JSON.stringify(m.config, null, 2)}\n`);
  const shards = planShards(m.tensors, maxShardBytes);
  const meta = { format: 'pt' };
  const bytesOf = (t: SyntheticTensor): number => t.shape.reduce((a, d) => a * d, t.dtype === 'BF16' ? 2 : 4);
  const parameters = m.tensors.reduce((s, t) => s + t.shape.reduce((a, d) => a * d, 1), 0);
  const bytes = m.tensors.reduce((s, t) => s + bytesOf(t), 0);
  if (shards.length <= 1) {
    const p = join(dir, 'model.safetensors');
    writeSyntheticSafetensors(p, seed, m.tensors, meta);
    return { model: p, files: [p], bytes, parameters };
  }
  const pad = (n: number): string => String(n).padStart(5, '0');
  const files: string[] = [];
  const weightMap: Record<string, string> = {};
  shards.forEach((ts, i) => {
    const name = `model-${pad(i + 1)}-of-${pad(shards.length)}.safetensors`;
    const p = join(dir, name);
    writeSyntheticSafetensors(p, seed, ts, meta);
    files.push(p);
    for (const t of ts) weightMap[t.name] = name;
  });
  const sorted = Object.fromEntries(Object.keys(weightMap).sort().map((k) => [k, weightMap[k]]));
  const index = join(dir, 'model.safetensors.index.json');
  fs.writeFileSync(index, `${JSON.stringify({ metadata: { total_parameters: parameters, total_size: bytes }, weight_map: sorted }, null, 2)}\n`);
  return { model: index, files: [...files, index], bytes, parameters };
}
