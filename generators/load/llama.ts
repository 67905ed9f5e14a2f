// Recognizes a Hugging Face LlamaForCausalLM checkpoint: config.json plus model.safetensors with HF's tensor names.
//
// The config decides every tensor name and shape; the file must hold exactly those (plus, harmlessly,
// the rotary_emb.inv_freq buffers that old exports carry). Anything we would have to guess about — a
// RoPE scaling scheme, biases, another activation, another model_type — is refused with one line that
// names the file and the field or tensor, because hardwiring a model we misread is worse than none.

import { UserError } from '../../core/errors.ts';
import type { FloatLlama, FloatLlamaLayer, LlamaDims, RopeScaling } from '../llama-model.ts';
import { nonIntegerWriting } from './configJson.ts';
import { FLOAT_DTYPES } from './dtypes.ts';
import { quoteName, readWeights, type SafetensorsFile, type TensorInfo } from './safetensors.ts';

const MAX_LISTED = 6;

/** A config value as it appears in a one-line message, shortened. */
function show(v: unknown): string {
  const s = v === undefined ? 'undefined' : JSON.stringify(v);
  return s.length > 60 ? `${s.slice(0, 57)}...` : s;
}

/** Reads and checks the config.json fields a Llama needs; HF's defaults for those it may leave out. */
export function readLlamaConfig(config: unknown, configPath: string): LlamaDims {
  const fail = (why: string): never => {
    throw new UserError(`${configPath}: ${why}`);
  };
  if (config === undefined) fail('a Llama checkpoint needs its config.json (none was given)');
  if (config === null || typeof config !== 'object' || Array.isArray(config)) fail('must be a JSON object');
  const c = config as Record<string, unknown>;
  const has = (k: string): boolean => Object.prototype.hasOwnProperty.call(c, k) && c[k] !== undefined;

  if (c.model_type !== 'llama') fail(`"model_type" is ${show(c.model_type)}, expected "llama"`);
  if (has('architectures')) {
    const a = c.architectures;
    if (!Array.isArray(a) || !a.includes('LlamaForCausalLM')) {
      fail(`"architectures" is ${show(a)}, expected ["LlamaForCausalLM"]`);
    }
  }
  const count = (k: string, dflt?: number): number => {
    if (!has(k)) {
      if (dflt === undefined) fail(`"${k}" is missing`);
      return dflt!;
    }
    const v = c[k];
    if (typeof v !== 'number' || !Number.isSafeInteger(v) || v < 1) fail(`"${k}" must be a positive integer, got ${show(v)}`);
    const written = nonIntegerWriting(c, k);
    if (written !== undefined) fail(`"${k}" must be a positive integer, got ${written} (write it without a fraction or exponent: ${v})`);
    return v as number;
  };
  const positive = (v: unknown, k: string): number => {
    if (typeof v !== 'number' || !Number.isFinite(v) || v <= 0) fail(`"${k}" must be a positive number, got ${show(v)}`);
    return v as number;
  };
  const flag = (k: string, dflt: boolean): boolean => {
    if (!has(k)) return dflt;
    if (typeof c[k] !== 'boolean') fail(`"${k}" must be true or false, got ${show(c[k])}`);
    return c[k] as boolean;
  };

  const hidden = count('hidden_size');
  const intermediate = count('intermediate_size');
  const layers = count('num_hidden_layers');
  const heads = count('num_attention_heads');
  const vocab = count('vocab_size');
  const kvHeads = count('num_key_value_heads', heads);
  if (heads % kvHeads !== 0) {
    fail(`"num_attention_heads" ${heads} is not a multiple of "num_key_value_heads" ${kvHeads}`);
  }
  const headDim = has('head_dim') && c.head_dim !== null ? count('head_dim') : hidden / heads;
  if (!Number.isInteger(headDim)) fail(`"hidden_size" ${hidden} is not a multiple of "num_attention_heads" ${heads}`);
  if (heads * headDim !== hidden) {
    fail(`"hidden_size" ${hidden} != "num_attention_heads" ${heads} × "head_dim" ${headDim} (not supported)`);
  }
  if (headDim % 2 !== 0) fail(`"head_dim" ${headDim} is odd; RoPE rotates pairs`);

  const act = has('hidden_act') ? c.hidden_act : 'silu';
  if (act !== 'silu') fail(`"hidden_act" ${show(act)} is not supported (supported: "silu")`);
  for (const k of ['attention_bias', 'mlp_bias']) {
    if (flag(k, false)) fail(`"${k}" true is not supported (a Llama here has no biases)`);
  }
  let ropeTheta = has('rope_theta') ? positive(c.rope_theta, 'rope_theta') : 10000;
  // RoPE scaling: null/absent, or Llama 3.1's "llama3" (frequency scaling as transformers computes it).
  // transformers 4 writes it as "rope_scaling"; transformers 5 as "rope_parameters" (with rope_theta).
  let ropeScaling: RopeScaling | undefined;
  const scaling = (rp: unknown, k: string): void => {
    if (rp === null || typeof rp !== 'object' || Array.isArray(rp)) fail(`"${k}" must be an object or null, got ${show(rp)}`);
    const o = rp as Record<string, unknown>;
    const type = o.rope_type ?? o.type ?? 'default';
    if (k === 'rope_parameters' && o.rope_theta !== undefined) ropeTheta = positive(o.rope_theta, 'rope_parameters.rope_theta');
    if (type === 'default') return;
    if (type !== 'llama3') fail(`"${k}" ${show(rp)} is not supported (only rope_type "default" and "llama3")`);
    const num = (f: string): number => positive(o[f], `${k}.${f}`);
    const orig = o.original_max_position_embeddings;
    if (typeof orig !== 'number' || !Number.isSafeInteger(orig) || orig < 1) fail(`"${k}.original_max_position_embeddings" must be a positive integer, got ${show(orig)}`);
    ropeScaling = { factor: num('factor'), lowFreqFactor: num('low_freq_factor'), highFreqFactor: num('high_freq_factor'), originalMaxPositions: orig as number };
    if (ropeScaling.highFreqFactor <= ropeScaling.lowFreqFactor) fail(`"${k}": high_freq_factor ${ropeScaling.highFreqFactor} must exceed low_freq_factor ${ropeScaling.lowFreqFactor}`);
  };
  if (has('rope_scaling') && c.rope_scaling !== null) scaling(c.rope_scaling, 'rope_scaling');
  // Pre-quantized checkpoints (GPTQ, AWQ, compressed-tensors, MXFP4, ...): refused by name until their
  // integer weights can be taken as they are (a second rounding would change the model).
  if (has('quantization_config') && c.quantization_config !== null) {
    const qc = c.quantization_config as Record<string, unknown>;
    const method = qc && typeof qc === 'object' ? qc.quant_method ?? qc.format : undefined;
    fail(`"quantization_config" (quant_method ${show(method ?? null)}) is not supported: pre-quantized weights are not read yet; give the float checkpoint`);
  }
  if (has('rope_parameters') && c.rope_parameters !== null) scaling(c.rope_parameters, 'rope_parameters');
  const rmsNormEps = has('rms_norm_eps') ? positive(c.rms_norm_eps, 'rms_norm_eps') : 1e-6;
  const maxPositions = count('max_position_embeddings', 2048);
  const tied = flag('tie_word_embeddings', false);
  // bos_token_id: null/absent or a token id; eos_token_id: null/absent, a token id or a list of them
  // (Llama 3.1 lists three). Generation prefixes the prompt with bos and stops after an eos.
  const tokenId = (v: unknown, k: string): number => {
    if (typeof v !== 'number' || !Number.isSafeInteger(v) || v < 0 || v >= vocab) fail(`"${k}" must be a token id in [0, ${vocab}) (vocab_size), got ${show(v)}`);
    return v as number;
  };
  const bos = has('bos_token_id') && c.bos_token_id !== null ? tokenId(c.bos_token_id, 'bos_token_id') : undefined;
  let eos: number[] | undefined;
  if (has('eos_token_id') && c.eos_token_id !== null) {
    const e = c.eos_token_id;
    eos = Array.isArray(e) ? e.map((v, i) => tokenId(v, `eos_token_id[${i}]`)) : [tokenId(e, 'eos_token_id')];
  }
  return { hidden, intermediate, layers, heads, kvHeads, headDim, vocab, tied, rmsNormEps, ropeTheta, maxPositions, ...(ropeScaling ? { ropeScaling } : {}), ...(bos !== undefined ? { bos } : {}), ...(eos ? { eos } : {}) };
}

/**
 * bos/eos of `generation_config.json` (transformers' generate() takes them over config.json's): each
 * present and non-null field replaces the config's; a field that is not a token id (or a list of them,
 * for eos) is refused in one line naming the file and the field.
 */
export function readGenerationConfig(json: unknown, path: string, vocab: number): { bos?: number; eos?: number[] } {
  const show = (v: unknown): string => JSON.stringify(v) ?? String(v);
  if (json === null || typeof json !== 'object' || Array.isArray(json)) throw new UserError(`${path}: not a JSON object`);
  const c = json as Record<string, unknown>;
  const tokenId = (v: unknown, k: string): number => {
    if (typeof v !== 'number' || !Number.isSafeInteger(v) || v < 0 || v >= vocab) throw new UserError(`${path}: "${k}" must be a token id in [0, ${vocab}) (vocab_size), got ${show(v)}`);
    return v;
  };
  const out: { bos?: number; eos?: number[] } = {};
  if (c.bos_token_id !== undefined && c.bos_token_id !== null) out.bos = tokenId(c.bos_token_id, 'bos_token_id');
  if (c.eos_token_id !== undefined && c.eos_token_id !== null) {
    const e = c.eos_token_id;
    if (Array.isArray(e) && e.length === 0) throw new UserError(`${path}: "eos_token_id" is an empty list`);
    out.eos = Array.isArray(e) ? e.map((v, i) => tokenId(v, `eos_token_id[${i}]`)) : [tokenId(e, 'eos_token_id')];
  }
  return out;
}

/** Every tensor name the config implies, with its shape and the config fields that make it. */
function expectedTensors(d: LlamaDims): Map<string, { shape: number[]; why: string }> {
  const m = new Map<string, { shape: number[]; why: string }>();
  const q = d.heads * d.headDim;
  const kv = d.kvHeads * d.headDim;
  const H = `hidden_size ${d.hidden}`;
  const Q = `num_attention_heads ${d.heads} × head_dim ${d.headDim}`;
  const KV = `num_key_value_heads ${d.kvHeads} × head_dim ${d.headDim}`;
  const I = `intermediate_size ${d.intermediate}`;
  const V = `vocab_size ${d.vocab}`;
  m.set('model.embed_tokens.weight', { shape: [d.vocab, d.hidden], why: `${V}, ${H}` });
  for (let n = 0; n < d.layers; n++) {
    const p = `model.layers.${n}.`;
    m.set(`${p}input_layernorm.weight`, { shape: [d.hidden], why: H });
    m.set(`${p}self_attn.q_proj.weight`, { shape: [q, d.hidden], why: `${Q}, ${H}` });
    m.set(`${p}self_attn.k_proj.weight`, { shape: [kv, d.hidden], why: `${KV}, ${H}` });
    m.set(`${p}self_attn.v_proj.weight`, { shape: [kv, d.hidden], why: `${KV}, ${H}` });
    m.set(`${p}self_attn.o_proj.weight`, { shape: [d.hidden, q], why: `${H}, ${Q}` });
    m.set(`${p}post_attention_layernorm.weight`, { shape: [d.hidden], why: H });
    m.set(`${p}mlp.gate_proj.weight`, { shape: [d.intermediate, d.hidden], why: `${I}, ${H}` });
    m.set(`${p}mlp.up_proj.weight`, { shape: [d.intermediate, d.hidden], why: `${I}, ${H}` });
    m.set(`${p}mlp.down_proj.weight`, { shape: [d.hidden, d.intermediate], why: `${H}, ${I}` });
  }
  m.set('model.norm.weight', { shape: [d.hidden], why: H });
  m.set('lm_head.weight', { shape: [d.vocab, d.hidden], why: `${V}, ${H}` });
  return m;
}

/** Buffers some exports carry that HF ignores on load: RoPE's inverse frequencies. */
const IGNORED = /^model\.layers\.\d+\.self_attn\.rotary_emb\.inv_freq$/;

function listNames(names: readonly string[]): string {
  const shown = names.slice(0, MAX_LISTED).map(quoteName);
  const more = names.length > MAX_LISTED ? `, and ${names.length - MAX_LISTED} more` : '';
  return shown.join(', ') + more;
}

/**
 * Builds a FloatLlama from `file` and the parsed config.json `config` (named `configPath` in messages).
 * Throws UserError (one line, starting with the file it is about) if the config asks for something we
 * cannot build, or the tensors are not exactly the ones the config implies.
 */
export function recognizeLlama(file: SafetensorsFile, config: unknown, configPath: string): FloatLlama {
  const dims = readLlamaConfig(config, configPath);
  const fail = (why: string): never => {
    throw new UserError(`${file.path}: ${why}`);
  };
  const want = expectedTensors(dims);
  const lmHeadOptional = dims.tied; // HF drops lm_head.weight from tied checkpoints
  const missing = [...want.keys()].filter((n) => !file.tensors.has(n) && !(lmHeadOptional && n === 'lm_head.weight'));
  if (missing.length > 0) {
    fail(`missing ${missing.length === 1 ? 'tensor' : 'tensors'} ${listNames(missing)} (for the Llama that ${configPath} describes)`);
  }
  const extra = [...file.tensors.keys()].filter((n) => !want.has(n) && !IGNORED.test(n));
  if (extra.length > 0) {
    fail(`${extra.length === 1 ? 'a tensor' : 'tensors'} that the Llama of ${configPath} does not have: ${listNames(extra)}`);
  }
  for (const [name, w] of want) {
    const t = file.tensors.get(name);
    if (t === undefined) continue;
    if (t.shape.length !== w.shape.length || t.shape.some((s, i) => s !== w.shape[i])) {
      fail(`tensor ${quoteName(name)}: shape [${t.shape}], expected [${w.shape}] (${w.why})`);
    }
    if (!FLOAT_DTYPES.includes(t.dtype)) {
      fail(`tensor ${quoteName(name)}: dtype ${t.dtype} is not supported (supported: ${FLOAT_DTYPES.join(', ')})`);
    }
  }

  const read = (name: string): Float32Array => readWeights(file, file.tensors.get(name)!);
  const embedTokens = read('model.embed_tokens.weight');
  const layers: FloatLlamaLayer[] = [];
  for (let n = 0; n < dims.layers; n++) {
    const p = `model.layers.${n}.`;
    layers.push({
      inputNorm: read(`${p}input_layernorm.weight`),
      qProj: read(`${p}self_attn.q_proj.weight`),
      kProj: read(`${p}self_attn.k_proj.weight`),
      vProj: read(`${p}self_attn.v_proj.weight`),
      oProj: read(`${p}self_attn.o_proj.weight`),
      postAttentionNorm: read(`${p}post_attention_layernorm.weight`),
      gateProj: read(`${p}mlp.gate_proj.weight`),
      upProj: read(`${p}mlp.up_proj.weight`),
      downProj: read(`${p}mlp.down_proj.weight`),
    });
  }
  const norm = read('model.norm.weight');
  let lmHead: Float32Array;
  if (!dims.tied) {
    lmHead = read('lm_head.weight');
  } else {
    lmHead = embedTokens;
    if (file.tensors.has('lm_head.weight')) {
      const own = read('lm_head.weight');
      const i = own.findIndex((v, k) => v !== embedTokens[k]);
      if (i >= 0) {
        fail(`${configPath} says tie_word_embeddings, but tensor 'lm_head.weight' differs from 'model.embed_tokens.weight' at flat index ${i}`);
      }
    }
  }
  return { kind: 'llama', dims, embedTokens, layers, norm, lmHead };
}

