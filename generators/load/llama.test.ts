// The Llama recognizer: reads the tiny-llama example, and refuses every checkpoint it cannot build with one line.

import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';
import { expectLoadRefused } from './testing.ts';
import type { FloatLlama } from '../llama-model.ts';
import { readCharTokenizer, tokenize, detokenize } from './charTokenizer.ts';
import { readGenerationConfig, readLlamaConfig, recognizeLlama } from './llama.ts';
import { openSafetensors, writeSafetensors, type Dtype, type TensorToWrite } from './safetensors.ts';

const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..', '..');
const EXAMPLE = join(ROOT, 'examples', 'tiny-llama');
const dir = mkdtempSync(join(tmpdir(), 'st-llama-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

/** A tiny Llama config: 2 heads sharing 1 KV head of 4, hidden 8, SwiGLU 12, vocab 5, one layer. */
const CONFIG = {
  architectures: ['LlamaForCausalLM'],
  model_type: 'llama',
  hidden_size: 8,
  intermediate_size: 12,
  num_hidden_layers: 1,
  num_attention_heads: 2,
  num_key_value_heads: 1,
  head_dim: 4,
  vocab_size: 5,
  rms_norm_eps: 1e-5,
  rope_theta: 10000.0,
  rope_scaling: null,
  max_position_embeddings: 16,
  tie_word_embeddings: false,
  hidden_act: 'silu',
};

function tensor(name: string, shape: number[], fill?: (i: number) => number, dtype: Dtype = 'F32'): TensorToWrite {
  const n = shape.reduce((a, b) => a * b, 1);
  const bytes = dtype === 'I8' ? 1 : 4;
  const b = Buffer.alloc(n * bytes);
  for (let i = 0; i < n; i++) {
    const v = fill ? fill(i) : ((i * 7) % 13) / 16 - 0.375;
    if (dtype === 'I8') b.writeInt8(Math.round(v), i);
    else b.writeFloatLE(v, i * 4);
  }
  return { name, dtype, shape, data: b };
}

/** The tensors CONFIG implies, by name. */
function tinyTensors(): Map<string, TensorToWrite> {
  const p = 'model.layers.0.';
  const list = [
    tensor('model.embed_tokens.weight', [5, 8]),
    tensor(`${p}input_layernorm.weight`, [8]),
    tensor(`${p}self_attn.q_proj.weight`, [8, 8]),
    tensor(`${p}self_attn.k_proj.weight`, [4, 8]),
    tensor(`${p}self_attn.v_proj.weight`, [4, 8]),
    tensor(`${p}self_attn.o_proj.weight`, [8, 8]),
    tensor(`${p}post_attention_layernorm.weight`, [8]),
    tensor(`${p}mlp.gate_proj.weight`, [12, 8]),
    tensor(`${p}mlp.up_proj.weight`, [12, 8]),
    tensor(`${p}mlp.down_proj.weight`, [8, 12]),
    tensor('model.norm.weight', [8]),
    tensor('lm_head.weight', [5, 8], (i) => i / 64),
  ];
  return new Map(list.map((t) => [t.name, t]));
}

let count = 0;
function load(tensors: Iterable<TensorToWrite>, config: unknown): FloatLlama {
  const path = join(dir, `m${count++}.safetensors`);
  writeSafetensors(path, [...tensors]);
  const st = openSafetensors(path);
  try {
    return recognizeLlama(st, config, 'config.json');
  } finally {
    st.close();
  }
}

/** Must refuse with a one-line UserError (exit 2) that starts with a file and says every part. */
function expectRefused(tensors: Iterable<TensorToWrite>, config: unknown, ...parts: string[]): string {
  return expectLoadRefused(() => load(tensors, config), ...parts);
}

const without = (name: string): TensorToWrite[] => [...tinyTensors().values()].filter((t) => t.name !== name);
const replaced = (t: TensorToWrite): TensorToWrite[] => [...tinyTensors().values()].map((u) => (u.name === t.name ? t : u));

describe('recognizeLlama: the tiny-llama example', () => {
  it('reads config.json and model.safetensors into a FloatLlama', () => {
    const config = JSON.parse(readFileSync(join(EXAMPLE, 'config.json'), 'utf8'));
    const st = openSafetensors(join(EXAMPLE, 'model.safetensors'));
    const m = recognizeLlama(st, config, join(EXAMPLE, 'config.json'));
    const q = st.readFloat32('model.layers.1.self_attn.q_proj.weight');
    st.close();
    expect(m.kind).toBe('llama');
    expect(m.dims).toEqual({
      hidden: 64, intermediate: 176, layers: 2, heads: 4, kvHeads: 2, headDim: 16, vocab: config.vocab_size,
      tied: false, rmsNormEps: 1e-5, ropeTheta: 10000, maxPositions: 128,
    });
    expect(m.layers).toHaveLength(2);
    expect(m.layers[1].qProj).toEqual(q);
    expect(m.layers[0].kProj).toHaveLength(32 * 64);
    expect(m.layers[0].downProj).toHaveLength(64 * 176);
    expect(m.lmHead).not.toBe(m.embedTokens);
    const tok = readCharTokenizer(join(EXAMPLE, 'tokenizer.json'));
    expect(tok.vocab).toHaveLength(config.vocab_size);
    expect(detokenize(tok, tokenize(tok, 'GNU General Public License'))).toBe('GNU General Public License');
  });
});

describe('recognizeLlama: good variants', () => {
  it('the tiny test model, in any tensor order', () => {
    const m = load([...tinyTensors().values()].reverse(), CONFIG);
    expect(m.dims).toMatchObject({ hidden: 8, heads: 2, kvHeads: 1, headDim: 4, intermediate: 12, vocab: 5, layers: 1 });
    expect(m.lmHead[3]).toBe(3 / 64);
  });

  it('bos/eos: null or absent (none), a token id, or a list of eos ids (as Llama 3.1 writes it)', () => {
    const t = (): IterableIterator<TensorToWrite> => tinyTensors().values();
    expect(load(t(), { ...CONFIG, bos_token_id: null, eos_token_id: null }).dims).not.toHaveProperty('bos');
    expect(load(t(), { ...CONFIG, bos_token_id: 3, eos_token_id: 4 }).dims).toMatchObject({ bos: 3, eos: [4] });
    expect(load(t(), { ...CONFIG, eos_token_id: [2, 4] }).dims).toMatchObject({ eos: [2, 4] });
    expectRefused(t(), { ...CONFIG, bos_token_id: 5 }, 'config.json: "bos_token_id" must be a token id in [0, 5) (vocab_size), got 5');
    expectRefused(t(), { ...CONFIG, eos_token_id: [1, 2.5] }, 'config.json: "eos_token_id[1]" must be a token id in [0, 5) (vocab_size), got 2.5');
  });

  it('a char tokenizer with special tokens: they are never made from text, and print as written', () => {
    const f = join(dir, 'special.json');
    writeFileSync(f, JSON.stringify({ type: 'char', vocab: ['a', '<', 's', '>', '<s>', '</s>'], special: ['<s>', '</s>'] }));
    const tok = readCharTokenizer(f);
    expect([...tok.special]).toEqual([4, 5]);
    expect(tokenize(tok, '<s>as')).toEqual([1, 2, 3, 0, 2]);
    expect(detokenize(tok, [4, 0, 5])).toBe('<s>a</s>');
    writeFileSync(f, JSON.stringify({ type: 'char', vocab: ['a', '<s>'] }));
    expect(() => readCharTokenizer(f)).toThrow(`${f}: "vocab"[1] must be a single character (or a token listed in "special"), got "<s>"`);
    writeFileSync(f, JSON.stringify({ type: 'char', vocab: ['a', '<s>'], special: ['<s>', '</s>'] }));
    expect(() => readCharTokenizer(f)).toThrow(`"special" token '</s>' is not in "vocab"`);
    writeFileSync(f, JSON.stringify({ type: 'char', vocab: ['<s>', 'a', '<s>'], special: ['<s>'] }));
    expect(() => readCharTokenizer(f)).toThrow(`"vocab"[2] '<s>' repeats "vocab"[0]`);
  });

  it('HF defaults: num_key_value_heads = heads, head_dim = hidden / heads, eps 1e-6, theta 10000', () => {
    const { num_key_value_heads: _a, head_dim: _b, rms_norm_eps: _c, rope_theta: _d, ...rest } = CONFIG;
    const t = tinyTensors();
    t.set('model.layers.0.self_attn.k_proj.weight', tensor('model.layers.0.self_attn.k_proj.weight', [8, 8]));
    t.set('model.layers.0.self_attn.v_proj.weight', tensor('model.layers.0.self_attn.v_proj.weight', [8, 8]));
    const m = load(t.values(), rest);
    expect(m.dims).toMatchObject({ kvHeads: 2, headDim: 4, rmsNormEps: 1e-6, ropeTheta: 10000 });
  });

  it('transformers 5 rope_parameters, and the rotary_emb.inv_freq buffers old exports carry', () => {
    const { rope_theta: _t, rope_scaling: _s, ...rest } = CONFIG;
    const cfg = { ...rest, rope_parameters: { rope_type: 'default', rope_theta: 500000.0 } };
    const m = load([...tinyTensors().values(), tensor('model.layers.0.self_attn.rotary_emb.inv_freq', [2])], cfg);
    expect(m.dims.ropeTheta).toBe(500000);
  });

  it('tied embeddings: lm_head.weight may be left out, or be an exact copy', () => {
    const tied = { ...CONFIG, tie_word_embeddings: true };
    const m = load(without('lm_head.weight'), tied);
    expect(m.lmHead).toBe(m.embedTokens);
    load(replaced(tensor('lm_head.weight', [5, 8])), tied);
    expectRefused(tinyTensors().values(), tied, "says tie_word_embeddings, but tensor 'lm_head.weight' differs from 'model.embed_tokens.weight' at flat index 0");
  });
});

describe('recognizeLlama: refusals', () => {
  it('a missing tensor', () => {
    const msg = expectRefused(without('model.layers.0.mlp.up_proj.weight'), CONFIG, "missing tensor 'model.layers.0.mlp.up_proj.weight'");
    console.log(`missing tensor → ${msg}`);
    expectRefused([], CONFIG, "missing tensors 'model.embed_tokens.weight',", 'and 6 more');
  });

  it('extra tensors', () => {
    const extra = [...tinyTensors().values(), tensor('model.layers.0.self_attn.q_proj.bias', [8])];
    expectRefused(extra, CONFIG, "a tensor that the Llama of config.json does not have: 'model.layers.0.self_attn.q_proj.bias'");
    const more = [...tinyTensors().values(), tensor('model.layers.1.input_layernorm.weight', [8]), tensor('score.weight', [2, 8])];
    expectRefused(more, CONFIG, "tensors that the Llama of config.json does not have: 'model.layers.1.input_layernorm.weight', 'score.weight'");
  });

  it('a wrong shape: names the tensor, both shapes and the config fields', () => {
    const msg = expectRefused(replaced(tensor('model.layers.0.self_attn.k_proj.weight', [8, 8])), CONFIG,
      "tensor 'model.layers.0.self_attn.k_proj.weight': shape [8,8], expected [4,8] (num_key_value_heads 1 × head_dim 4, hidden_size 8)");
    console.log(`wrong shape → ${msg}`);
    expectRefused(replaced(tensor('model.norm.weight', [8, 1])), CONFIG, "tensor 'model.norm.weight': shape [8,1], expected [8] (hidden_size 8)");
  });

  it('NaN, infinity, integer dtypes', () => {
    expectRefused(replaced(tensor('model.layers.0.mlp.down_proj.weight', [8, 12], (i) => (i === 17 ? NaN : 0))), CONFIG,
      "tensor 'model.layers.0.mlp.down_proj.weight': value NaN at flat index 17");
    expectRefused(replaced(tensor('model.norm.weight', [8], (i) => (i === 2 ? -Infinity : 1))), CONFIG, "tensor 'model.norm.weight': value -Infinity at flat index 2");
    expectRefused(replaced(tensor('lm_head.weight', [5, 8], () => 1, 'I8')), CONFIG, "tensor 'lm_head.weight': dtype I8 is not supported");
  });

  it('config fields it cannot build', () => {
    const t = (): IterableIterator<TensorToWrite> => tinyTensors().values();
    const msg = expectRefused(t(), { ...CONFIG, num_key_value_heads: 3 }, 'config.json: "num_attention_heads" 2 is not a multiple of "num_key_value_heads" 3');
    console.log(`bad config field → ${msg}`);
    expectRefused(t(), { ...CONFIG, head_dim: 8 }, 'config.json: "hidden_size" 8 != "num_attention_heads" 2 × "head_dim" 8 (not supported)');
    expectRefused(t(), { ...CONFIG, hidden_act: 'gelu' }, 'config.json: "hidden_act" "gelu" is not supported (supported: "silu")');
    expectRefused(t(), { ...CONFIG, rope_scaling: { rope_type: 'linear', factor: 2 } }, 'config.json: "rope_scaling" {"rope_type":"linear","factor":2} is not supported');
    expectRefused(t(), { ...CONFIG, rope_parameters: { rope_type: 'yarn' } }, 'config.json: "rope_parameters" {"rope_type":"yarn"} is not supported');
    expectRefused(t(), { ...CONFIG, model_type: 'qwen2' }, 'config.json: "model_type" is "qwen2", expected "llama"');
    expectRefused(t(), { ...CONFIG, hidden_size: undefined }, 'config.json: "hidden_size" is missing');
    expectRefused(t(), { ...CONFIG, vocab_size: 5.5 }, 'config.json: "vocab_size" must be a positive integer, got 5.5');
    expectRefused(t(), { ...CONFIG, rms_norm_eps: -1 }, 'config.json: "rms_norm_eps" must be a positive number, got -1');
    expectRefused(t(), { ...CONFIG, mlp_bias: true }, 'config.json: "mlp_bias" true is not supported');
    expectRefused(t(), { ...CONFIG, tie_word_embeddings: 'no' }, 'config.json: "tie_word_embeddings" must be true or false, got "no"');
    expectRefused(t(), { ...CONFIG, architectures: ['MistralForCausalLM'] }, 'config.json: "architectures" is ["MistralForCausalLM"]');
    expectRefused(t(), [CONFIG], 'config.json: must be a JSON object');
    expectRefused(t(), undefined, 'config.json: a Llama checkpoint needs its config.json');
  });

  it('the real Llama 3.1 8B config: its llama3 rope_scaling is read (and other rope types refused)', () => {
    const real = JSON.parse(readFileSync(join(ROOT, 'examples', 'llama-3.1-8b', 'config.json'), 'utf8'));
    expect(readLlamaConfig(real, 'config.json')).toMatchObject({ ropeTheta: 500000, ropeScaling: { factor: 8, lowFreqFactor: 1, highFreqFactor: 4, originalMaxPositions: 8192 }, bos: 128000, eos: [128001] });
    const t = (): IterableIterator<TensorToWrite> => tinyTensors().values();
    expectRefused(t(), { ...CONFIG, rope_scaling: { ...real.rope_scaling, rope_type: 'yarn' } }, 'config.json: "rope_scaling" {"factor":8,"high_freq_factor":4');
    expectRefused(t(), { ...CONFIG, rope_scaling: { ...real.rope_scaling, original_max_position_embeddings: 0 } }, '"rope_scaling.original_max_position_embeddings" must be a positive integer, got 0');
    expectRefused(t(), { ...CONFIG, quantization_config: { quant_method: 'gptq', bits: 4, group_size: 128 } }, 'config.json: "quantization_config" (quant_method "gptq") is not supported');
  });
});

describe('readGenerationConfig: generation_config.json overrides bos/eos as transformers does', () => {
  it('takes eos lists and single ids, keeps absent/null fields out', () => {
    expect(readGenerationConfig({ bos_token_id: 5, eos_token_id: [7, 8] }, 'g.json', 10)).toEqual({ bos: 5, eos: [7, 8] });
    expect(readGenerationConfig({ eos_token_id: 9, bos_token_id: null }, 'g.json', 10)).toEqual({ eos: [9] });
    expect(readGenerationConfig({ do_sample: true }, 'g.json', 10)).toEqual({});
  });
  it('the hf-llama example agrees with its config.json', () => {
    const ex = join(dirname(fileURLToPath(import.meta.url)), '../../examples/hf-llama');
    const gen = readGenerationConfig(JSON.parse(readFileSync(join(ex, 'generation_config.json'), 'utf8')), 'generation_config.json', 384);
    const cfg = readLlamaConfig(JSON.parse(readFileSync(join(ex, 'config.json'), 'utf8')), 'config.json');
    expect(gen).toEqual({ bos: cfg.bos, eos: cfg.eos });
  });
  it.each([
    [{ eos_token_id: 10 }, 'g.json: "eos_token_id" must be a token id in [0, 10) (vocab_size), got 10'],
    [{ eos_token_id: [1, 'x'] }, 'g.json: "eos_token_id[1]" must be a token id in [0, 10) (vocab_size), got "x"'],
    [{ eos_token_id: [] }, 'g.json: "eos_token_id" is an empty list'],
    [{ bos_token_id: -1 }, 'g.json: "bos_token_id" must be a token id in [0, 10) (vocab_size), got -1'],
    [[1], 'g.json: not a JSON object'],
  ])('refuses %j in one line', (json, message) => {
    expect(() => readGenerationConfig(json, 'g.json', 10)).toThrow(message);
  });
});
