// tokenizer.json variants the BPE reader refuses: each a one-line UserError (exit 2) naming the file
// and the field, never a stack trace or a silently different tokenizer.

import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { UserError } from '../../core/errors.ts';
import { readBpeTokenizer } from './bpeTokenizer.ts';

const GOOD = join(import.meta.dirname, 'fixtures', 'bpe', 'llama3', 'tokenizer.json');
const dir = mkdtempSync(join(tmpdir(), 'bpe-malformed-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

type Json = Record<string, any>; // eslint-disable-line @typescript-eslint/no-explicit-any
let count = 0;
/** Writes the good tokenizer.json changed by `edit` (or `text` as is) and returns its path. */
function variant(edit: ((j: Json) => void) | string): string {
  const path = join(dir, `tokenizer${count++}.json`);
  if (typeof edit === 'string') writeFileSync(path, edit);
  else {
    const j = JSON.parse(readFileSync(GOOD, 'utf8')) as Json;
    edit(j);
    writeFileSync(path, JSON.stringify(j));
  }
  return path;
}

/** Reading `path` must fail with a one-line UserError (exit 2) that starts with the path and says `...parts`. */
function expectBad(path: string, ...parts: (string | RegExp)[]): void {
  let err: unknown;
  try {
    readBpeTokenizer(path);
  } catch (e) {
    err = e;
  }
  expect(err).toBeInstanceOf(UserError);
  const e = err as UserError;
  expect(e.code).toBe(2);
  expect(e.message.startsWith(`${path}: `)).toBe(true);
  expect(e.message).not.toContain('\n');
  for (const p of parts) expect(e.message).toMatch(typeof p === 'string' ? new RegExp(p.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')) : p);
}

describe('malformed or unsupported tokenizer.json refused in one line', () => {
  it('file', () => {
    expectBad(join(dir, 'missing.json'), 'cannot read');
    expectBad(variant('{"model": '), 'not valid JSON');
    expectBad(variant('[1, 2]'), 'must be a JSON object');
  });

  it('model', () => {
    expectBad(variant((j) => delete j.model), '"model" must be an object');
    expectBad(variant((j) => (j.model.type = 'Unigram')), '"model"."type" is "Unigram"; only "BPE"');
    expectBad(variant((j) => (j.model = { type: 'WordPiece', vocab: {} })), '"model"."type" is "WordPiece"');
    expectBad(variant((j) => (j.model.dropout = 0.1)), '"model"."dropout" is 0.1');
    expectBad(variant((j) => (j.model.vocab = [])), '"model"."vocab" must be an object');
    expectBad(variant((j) => (j.model.vocab.a = 1.5)), '"model"."vocab"["a"] is 1.5');
    expectBad(variant((j) => (j.model.merges = 'a b')), '"model"."merges" must be a list');
    expectBad(variant((j) => (j.model.merges[3] = 'a b c')), '"model"."merges"[3] is "a b c"');
    expectBad(variant((j) => (j.model.merges[4] = ['a', 'zzzz'])), '"model"."merges"[4] needs "zzzz"');
    expectBad(variant((j) => (j.model.ignore_merges = 'yes')), '"model"."ignore_merges" is "yes"');
    expectBad(variant((j) => (j.model.unk_token = '<unk>')), '"model"."unk_token" "<unk>" is not in');
  });

  it('added tokens', () => {
    expectBad(variant((j) => (j.added_tokens = {})), '"added_tokens" must be a list');
    expectBad(variant((j) => (j.added_tokens[1].content = '')), '"added_tokens"[1]."content" is ""');
    expectBad(variant((j) => (j.added_tokens[0].id = -1)), '"added_tokens"[0]."id" is -1');
    expectBad(variant((j) => (j.added_tokens[0].id = 5000)), '"added_tokens"[0]."id" is 5000, but the reference library gives "<|begin_of_text|>" id 1007');
    expectBad(variant((j) => (j.model.vocab['Ġextra'] = 1012)), '"added_tokens"[0]."id" is 1007, but the reference library gives "<|begin_of_text|>" id 1008');
    expectBad(variant((j) => j.added_tokens.push({ ...j.added_tokens[1], id: 1012 })), '"added_tokens"[5]."content" "<|end_of_text|>" repeats');
    expectBad(variant((j) => (j.added_tokens[2].special = 1)), '"added_tokens"[2]."special" is 1');
  });

  it('normalizer, pre-tokenizer, post-processor, decoder', () => {
    expectBad(variant((j) => (j.normalizer = { type: 'NFC' })), '"normalizer" is of type "NFC"; only null');
    expectBad(variant((j) => (j.pre_tokenizer = { type: 'Metaspace' })), '"pre_tokenizer"."type" is "Metaspace"');
    expectBad(variant((j) => (j.pre_tokenizer.pretokenizers[1].type = 'Whitespace')), '"pre_tokenizer"."pretokenizers"[1]."type" is "Whitespace"');
    expectBad(variant((j) => (j.pre_tokenizer.pretokenizers[0].pattern = { Regex: '\\h+' })), '"pre_tokenizer"."pretokenizers"[0]."pattern"."Regex"', 'the escape \\h');
    expectBad(variant((j) => (j.pre_tokenizer.pretokenizers[0].pattern = { Regex: '(?>a+)' })), 'the group "(?>"');
    expectBad(variant((j) => (j.pre_tokenizer.pretokenizers[0].pattern = { Regex: '[a[b]]' })), 'a nested character class');
    expectBad(variant((j) => (j.pre_tokenizer.pretokenizers[0].pattern = { Regex: 'a++' })), 'a possessive quantifier');
    expectBad(variant((j) => (j.pre_tokenizer.pretokenizers[0].pattern = { Regex: '(a' })), 'an unclosed (');
    expectBad(variant((j) => (j.pre_tokenizer.pretokenizers[0].pattern = { Regex: 'a{,2}' })), 'JavaScript cannot compile it');
    expectBad(variant((j) => (j.pre_tokenizer.pretokenizers[0].pattern = 'x')), '"pattern" is "x"');
    expectBad(variant((j) => (j.pre_tokenizer.pretokenizers[0].behavior = 'Glued')), '"behavior" is "Glued"');
    expectBad(variant((j) => (j.post_processor = { type: 'RobertaProcessing' })), '"post_processor"."type" is "RobertaProcessing"');
    expectBad(variant((j) => (j.post_processor.processors[1].special_tokens = {})), '"special_tokens" has no ids for "<|begin_of_text|>"');
    expectBad(variant((j) => (j.post_processor.processors[1].single[1] = { Sequence: { id: 'B' } })), '"single"[1] is sequence "B"');
    expectBad(variant((j) => (j.decoder = { type: 'Metaspace' })), '"decoder"."type" is "Metaspace"');
  });
});
