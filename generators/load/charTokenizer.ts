// The character tokenizer of the tiny-llama example: tokenizer.json = {"type": "char", "vocab": [chars]}.
//
// Token id i is the character vocab[i]; each entry is one Unicode code point and appears once. Text
// is split into code points, so a character outside the vocabulary is an error, not a silent <unk>.
// An optional "special": ["<s>", "</s>"] names entries that are special tokens (bos, eos): they may be
// longer than one character, text never tokenizes into them, and they print as written.

import { readJsonFile } from './jsonFile.ts';
import { UserError } from '../../core/errors.ts';
import { quoteName } from './safetensors.ts';

export interface CharTokenizer {
  /** Where it was read from (named in messages). */
  readonly path: string;
  readonly vocab: readonly string[];
  readonly ids: ReadonlyMap<string, number>;
  /** Ids of the special tokens (never produced by tokenize). */
  readonly special: ReadonlySet<number>;
}

/** Checks a parsed tokenizer.json; throws UserError (one line, starting with `path`) if it is not one. */
export function parseCharTokenizer(json: unknown, path: string): CharTokenizer {
  const fail = (why: string): never => {
    throw new UserError(`${path}: ${why}`);
  };
  if (json === null || typeof json !== 'object' || Array.isArray(json)) fail('must be a JSON object');
  const o = json as Record<string, unknown>;
  if (o.type !== 'char') fail(`"type" is ${JSON.stringify(o.type) ?? 'missing'}, expected "char"`);
  if (!Array.isArray(o.vocab) || o.vocab.length === 0) fail('"vocab" must be a non-empty list of characters');
  const vocab = o.vocab as unknown[];
  if (o.special !== undefined && (!Array.isArray(o.special) || o.special.some((t) => typeof t !== 'string' || t.length === 0))) fail('"special" must be a list of non-empty strings');
  const specialText = new Set((o.special ?? []) as string[]);
  const ids = new Map<string, number>();
  const special = new Set<number>();
  const seen = new Map<string, number>();
  vocab.forEach((c, i) => {
    const isSpecial = typeof c === 'string' && specialText.has(c);
    if (typeof c !== 'string' || (!isSpecial && [...c].length !== 1)) fail(`"vocab"[${i}] must be a single character (or a token listed in "special"), got ${JSON.stringify(c)}`);
    const s = c as string;
    if (seen.has(s)) fail(`"vocab"[${i}] ${quoteName(s)} repeats "vocab"[${seen.get(s)}]`);
    seen.set(s, i);
    if (isSpecial) special.add(i);
    else ids.set(s, i);
  });
  for (const t of specialText) if (!vocab.includes(t)) fail(`"special" token ${quoteName(t)} is not in "vocab"`);
  return { path, vocab: vocab as string[], ids, special };
}

/** Reads and checks tokenizer.json at `path`. */
export function readCharTokenizer(path: string): CharTokenizer {
  const json = readJsonFile(path);
  return parseCharTokenizer(json, path);
}

/** The token ids of `text`; a character outside the vocabulary is a UserError naming it and its index. */
export function tokenize(tok: CharTokenizer, text: string): number[] {
  const out: number[] = [];
  let at = 0;
  for (const ch of text) {
    const id = tok.ids.get(ch);
    if (id === undefined) {
      const cp = ch.codePointAt(0)!.toString(16).toUpperCase().padStart(4, '0');
      throw new UserError(`${tok.path}: character ${quoteName(ch)} (U+${cp}) at index ${at} of the text is not in the vocabulary`);
    }
    out.push(id);
    at += ch.length;
  }
  return out;
}

/** The text of token ids; an id outside the vocabulary is a bug in the caller (Error). */
export function detokenize(tok: CharTokenizer, ids: readonly number[]): string {
  return ids
    .map((id) => {
      const c = tok.vocab[id];
      if (c === undefined) throw new Error(`detokenize: token id ${id} is outside the vocabulary of ${tok.vocab.length}`);
      return c;
    })
    .join('');
}
