// The tokenizer of a Llama folder, whichever kind tokenizer.json holds: this project's character
// tokenizer ({"type": "char", ...}) or a Hugging Face byte-level BPE ({"model": {"type": "BPE", ...}}).
// The Llama flow adds bos itself (config.json's bos_token_id), so encode never adds special tokens.

import { readJsonFile } from './jsonFile.ts';
import { UserError } from '../../core/errors.ts';
import { parseBpeTokenizer } from './bpeTokenizer.ts';
import { detokenize, parseCharTokenizer, tokenize } from './charTokenizer.ts';

export interface TextTokenizer {
  /** Where it was read from (named in messages). */
  readonly path: string;
  readonly kind: 'char' | 'bpe';
  /** Number of token ids (the model's vocab_size must equal it). */
  readonly vocabSize: number;
  /** Token ids of `text`, without bos / eos. */
  encode(text: string): number[];
  /** Text of token ids; special tokens print as written. */
  decode(ids: readonly number[]): string;
}

/** Reads tokenizer.json at `path` and picks the reader by its contents; UserError (one line) if neither. */
export function readTokenizer(path: string): TextTokenizer {
  const json = readJsonFile(path);
  const o = (json !== null && typeof json === 'object' && !Array.isArray(json) ? json : {}) as Record<string, unknown>;
  if (o.type === 'char') {
    const tok = parseCharTokenizer(json, path);
    return { path, kind: 'char', vocabSize: tok.vocab.length, encode: (t) => tokenize(tok, t), decode: (ids) => detokenize(tok, ids) };
  }
  if (o.model !== undefined) {
    const tok = parseBpeTokenizer(json, path);
    return {
      path, kind: 'bpe', vocabSize: tok.vocabSize,
      encode: (t) => tok.encode(t, { addSpecialTokens: false }),
      decode: (ids) => tok.decode(ids),
    };
  }
  throw new UserError(`${path}: neither a character tokenizer ("type": "char") nor a Hugging Face tokenizer ("model")`);
}
