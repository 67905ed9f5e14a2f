// The float Llama reference against torch: logits per position, greedy text, validation loss.

import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { beforeAll, describe, expect, it } from 'vitest';
import { UserError } from '../../core/errors.ts';
import { detokenize, readCharTokenizer, tokenize, type CharTokenizer } from '../../generators/load/charTokenizer.ts';
import { recognizeLlama } from '../../generators/load/llama.ts';
import { openSafetensors } from '../../generators/load/safetensors.ts';
import type { FloatLlama } from '../../generators/llama-model.ts';
import { FloatLlamaRunner, generateGreedy, windowedLoss } from './float-llama.ts';

const EXAMPLE = join(dirname(fileURLToPath(import.meta.url)), '..', '..', 'examples', 'tiny-llama');

let model: FloatLlama;
let tok: CharTokenizer;
let ref: { tokens: number[]; logits: Float32Array; greedy: number[]; valTokens: number[]; meta: Record<string, string> };

beforeAll(() => {
  const configPath = join(EXAMPLE, 'config.json');
  const st = openSafetensors(join(EXAMPLE, 'model.safetensors'));
  try {
    model = recognizeLlama(st, JSON.parse(readFileSync(configPath, 'utf8')), configPath);
  } finally {
    st.close();
  }
  tok = readCharTokenizer(join(EXAMPLE, 'tokenizer.json'));
  const r = openSafetensors(join(EXAMPLE, 'reference.safetensors'));
  const ints = (name: string): number[] => Array.from(r.readBigInt64(name), Number);
  ref = { tokens: ints('tokens'), logits: r.readFloat32('logits'), greedy: ints('greedy'), valTokens: ints('val_tokens'), meta: { ...r.metadata } };
  r.close();
});

describe('FloatLlamaRunner against torch (examples/tiny-llama/reference.safetensors)', () => {
  it('logits at every position of the prompt within 1e-4', () => {
    const V = model.dims.vocab;
    expect(ref.logits.length).toBe(ref.tokens.length * V);
    const runner = new FloatLlamaRunner(model);
    let worst = 0;
    ref.tokens.forEach((t, p) => {
      const got = runner.step(t);
      let diff = 0;
      for (let j = 0; j < V; j++) diff = Math.max(diff, Math.abs(got[j] - ref.logits[p * V + j]));
      expect(diff, `position ${p}`).toBeLessThan(1e-4);
      worst = Math.max(worst, diff);
    });
    console.log(`float-llama: ${ref.tokens.length} positions, max |TS - torch| logit difference ${worst.toExponential(2)}`);
  });

  it('reset empties the KV cache: the same logits again', () => {
    const runner = new FloatLlamaRunner(model);
    const first = ref.tokens.slice(0, 5).map((t) => runner.step(t));
    runner.reset();
    expect(runner.position).toBe(0);
    const again = ref.tokens.slice(0, 5).map((t) => runner.step(t));
    expect(again).toEqual(first);
  });

  it('greedy generation of 64 tokens: torch\'s tokens, readable text', () => {
    const out = generateGreedy(model, ref.tokens, 64);
    const text = detokenize(tok, out);
    console.log(`prompt ${JSON.stringify(detokenize(tok, ref.tokens))}\ngreedy ${JSON.stringify(text)}`);
    expect(out).toEqual(ref.greedy);
    expect(text).toMatch(/^[\x20-\x7e\n]+$/);
    // Mostly words: letters and spaces.
    expect((text.match(/[A-Za-z ]/g) ?? []).length).toBeGreaterThan(0.8 * text.length);
  });

  it('greedy from a prompt of our own', () => {
    const prompt = 'This License applies to any ';
    const text = detokenize(tok, generateGreedy(model, tokenize(tok, prompt), 64));
    console.log(`prompt ${JSON.stringify(prompt)}\ngreedy ${JSON.stringify(text)}`);
    expect(text).toHaveLength(64);
  });

  it('per-character loss on val_tokens equals the training script\'s within 0.01', () => {
    const want = Number(ref.meta.val_tokens_loss);
    expect(Number.isFinite(want)).toBe(true);
    const got = windowedLoss(new FloatLlamaRunner(model), ref.valTokens, model.dims.maxPositions);
    console.log(`float-llama: val_tokens loss ${got.toFixed(6)} nats/char (torch ${want.toFixed(6)}, ${ref.valTokens.length} tokens)`);
    expect(Math.abs(got - want)).toBeLessThan(0.01);
  });

  it('the KV cache holds max_position_embeddings positions', () => {
    const runner = new FloatLlamaRunner(model, 3);
    for (let i = 0; i < 3; i++) runner.step(0);
    expect(() => runner.step(0)).toThrow('holds 3 positions');
    expect(() => new FloatLlamaRunner(model).step(model.dims.vocab)).toThrow('outside the vocabulary');
  });
});

describe('char tokenizer', () => {
  it('round-trips the validation text and refuses unknown characters in one line', () => {
    expect(tokenize(tok, detokenize(tok, ref.valTokens))).toEqual(ref.valTokens);
    let err: unknown;
    try {
      tokenize(tok, 'naïve');
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(UserError);
    expect((err as Error).message).toMatch(/tokenizer\.json: character 'ï' \(U\+00EF\) at index 2 of the text is not in the vocabulary$/);
  });
});
