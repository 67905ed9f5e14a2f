// readTokenizer picks the character or the BPE reader by what tokenizer.json holds (the Llama flow's
// tokenizer), and refuses a file that is neither in one line.

import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { UserError } from '../../core/errors.ts';
import { readBpeTokenizer } from './bpeTokenizer.ts';
import { detokenize, readCharTokenizer, tokenize } from './charTokenizer.ts';
import { readTokenizer } from './tokenizer.ts';

const ROOT = join(import.meta.dirname, '..', '..');
const CHAR = join(ROOT, 'examples', 'tiny-llama', 'tokenizer.json');
const BPE = join(import.meta.dirname, 'fixtures', 'bpe', 'llama3', 'tokenizer.json');
const dir = mkdtempSync(join(tmpdir(), 'tok-select-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('readTokenizer: the reader is chosen by the file', () => {
  it('a character tokenizer ("type": "char") reads as before', () => {
    const tok = readTokenizer(CHAR);
    const ref = readCharTokenizer(CHAR);
    expect(tok.kind).toBe('char');
    expect(tok.vocabSize).toBe(ref.vocab.length);
    const text = 'GNU General Public License';
    expect(tok.encode(text)).toEqual(tokenize(ref, text));
    expect(tok.decode(tok.encode(text))).toBe(detokenize(ref, tokenize(ref, text)));
  });

  it('a Hugging Face BPE tokenizer ("model") encodes without bos (the flow adds it) and decodes specials as written', () => {
    const tok = readTokenizer(BPE);
    const ref = readBpeTokenizer(BPE);
    expect(tok.kind).toBe('bpe');
    expect(tok.vocabSize).toBe(1012);
    const text = "It's the GNU General Public License, 2007.\n";
    expect(tok.encode(text)).toEqual(ref.encode(text, { addSpecialTokens: false }));
    expect(tok.decode([ref.idOf('<|begin_of_text|>')!, ...tok.encode(text)])).toBe(`<|begin_of_text|>${text}`);
  });

  it('neither kind: one line naming the file', () => {
    const path = join(dir, 'tokenizer.json');
    writeFileSync(path, JSON.stringify({ type: 'sentencepiece' }));
    expect(() => readTokenizer(path)).toThrow(UserError);
    expect(() => readTokenizer(path)).toThrow(`${path}: neither a character tokenizer ("type": "char") nor a Hugging Face tokenizer ("model")`);
  });
});
