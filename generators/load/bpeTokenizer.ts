// Byte-level BPE tokenizer of Hugging Face tokenizer.json files (Llama 3, GPT-2 and their kin), encoding
// and decoding exactly as the reference library (tokenizers, Rust core) does; proven on fixtures made by
// it (fixtures/bpe/make.py).
//
// encode, in the reference's order:
//   1. added tokens are cut out of the text: first those with normalized=false, then (on what is left)
//      those with normalized=true; leftmost-longest matching, with single_word / lstrip / rstrip;
//   2. each remaining piece goes through the pre-tokenizers (Split by regex, ByteLevel, Sequence);
//      ByteLevel maps every UTF-8 byte to one printable character (GPT-2's bytes_to_unicode);
//   3. each word is merged by BPE: the adjacent pair with the lowest merge rank first (leftmost on a
//      tie), until no pair has a merge; ignore_merges takes a word that is itself in the vocabulary;
//   4. TemplateProcessing adds bos (only when special tokens are asked for).
// decode maps ids to token strings (unknown ids dropped, special ones skipped when asked), turns the
// byte characters back into bytes and reads them as UTF-8 with U+FFFD for bad sequences.
//
// Anything this reader does not implement (normalizers, Unigram / WordPiece, dropout, other decoders)
// is refused with a one-line UserError naming the file and the field.

import { readJsonFile } from './jsonFile.ts';
import { UserError } from '../../core/errors.ts';
import { ONIG_CLASS, RUST_WORD } from './onigClasses.ts';
import { onigToJs } from './onigRegex.ts';

export interface EncodeOptions {
  /** Add the post-processor's tokens (bos); default true, as in the reference. */
  readonly addSpecialTokens?: boolean;
}
export interface DecodeOptions {
  /** Leave out tokens marked special; default false. */
  readonly skipSpecialTokens?: boolean;
}

interface AddedToken {
  readonly id: number;
  readonly content: string;
  readonly special: boolean;
  readonly singleWord: boolean;
  readonly lstrip: boolean;
  readonly rstrip: boolean;
  readonly normalized: boolean;
}

/** One pre-tokenizer step: words in, words out. */
type PreTokenizer = (words: string[]) => string[];

/** GPT-2's bytes_to_unicode: printable bytes map to themselves, the others to U+0100 and up. */
const BYTE_CHAR: readonly string[] = (() => {
  const chars: string[] = new Array(256);
  let n = 0;
  for (let b = 0; b < 256; b++) {
    const printable = (b >= 0x21 && b <= 0x7e) || (b >= 0xa1 && b <= 0xac) || (b >= 0xae && b <= 0xff);
    chars[b] = String.fromCodePoint(printable ? b : 256 + n++);
  }
  return chars;
})();
const CHAR_BYTE = new Map(BYTE_CHAR.map((c, b) => [c, b]));

/** GPT-2's pre-tokenizer regex, used by ByteLevel with use_regex=true. */
const GPT2_PATTERN = "'s|'t|'re|'ve|'m|'ll|'d| ?\\p{L}+| ?\\p{N}+| ?[^\\s\\p{L}\\p{N}]+|\\s+(?!\\S)|\\s+";

const utf8 = new TextEncoder();
// ignoreBOM: a leading U+FEFF is text, as in Rust's String::from_utf8_lossy.
const utf8Lossy = new TextDecoder('utf-8', { fatal: false, ignoreBOM: true });

// The Rust regex crate's \w and \s (probed from the reference), which decide single_word / lstrip / rstrip.
const WORD_AT_START = new RegExp(`^[${RUST_WORD}]`, 'u');
const WORD_AT_END = new RegExp(`[${RUST_WORD}]$`, 'u');
const SPACES_AT_START = new RegExp(`^[${ONIG_CLASS.s}]*`, 'u');
const SPACES_AT_END = new RegExp(`[${ONIG_CLASS.s}]*$`, 'u');

/** Splits `text` as the reference's NormalizedString::split does with behavior Isolated / Removed / ....
 *  Empty matches count (they split the text: "x*" cuts between all characters), except one right at the
 *  end of the previous match, which the onig crate's iterator skips. */
export function splitByRegex(text: string, re: RegExp, behavior: string, invert: boolean): string[] {
  const parts: [string, boolean][] = [];
  let prev = 0;
  let lastMatchEnd = -1;
  for (const m of text.matchAll(re)) {
    const start = m.index!;
    const end = start + m[0].length;
    if (start === end && end === lastMatchEnd) continue;
    if (prev !== start) parts.push([text.slice(prev, start), invert]);
    parts.push([m[0], !invert]);
    prev = end;
    lastMatchEnd = end;
  }
  if (prev !== text.length) parts.push([text.slice(prev), invert]);
  const out: string[] = [];
  let previousMatch = false;
  switch (behavior) {
    case 'Isolated':
      for (const [s] of parts) out.push(s);
      break;
    case 'Removed':
      for (const [s, isMatch] of parts) if (!isMatch) out.push(s);
      break;
    case 'MergedWithPrevious':
      for (const [s, isMatch] of parts) {
        if (isMatch && !previousMatch && out.length > 0) out[out.length - 1] += s;
        else out.push(s);
        previousMatch = isMatch;
      }
      break;
    case 'MergedWithNext':
      for (let k = parts.length - 1; k >= 0; k--) {
        const [s, isMatch] = parts[k];
        if (isMatch && !previousMatch && out.length > 0) out[out.length - 1] = s + out[out.length - 1];
        else out.push(s);
        previousMatch = isMatch;
      }
      out.reverse();
      break;
    case 'Contiguous':
      for (const [s, isMatch] of parts) {
        if (isMatch === previousMatch && out.length > 0) out[out.length - 1] += s;
        else out.push(s);
        previousMatch = isMatch;
      }
      break;
    default:
      throw new Error(`splitByRegex: behavior ${behavior}`);
  }
  return out.filter((s) => s.length > 0);
}

/** Maps each UTF-8 byte of `text` to its byte-level character (TextEncoder's bytes, without its copy). */
function toByteChars(text: string): string {
  let out = '';
  for (let i = 0; i < text.length; i++) {
    let cp = text.codePointAt(i)!;
    if (cp > 0xffff) i++;
    else if (cp >= 0xd800 && cp <= 0xdfff) cp = 0xfffd; // a lone surrogate, as TextEncoder writes it
    if (cp < 0x80) out += BYTE_CHAR[cp];
    else if (cp < 0x800) out += BYTE_CHAR[0xc0 | (cp >> 6)] + BYTE_CHAR[0x80 | (cp & 63)];
    else if (cp < 0x10000) out += BYTE_CHAR[0xe0 | (cp >> 12)] + BYTE_CHAR[0x80 | ((cp >> 6) & 63)] + BYTE_CHAR[0x80 | (cp & 63)];
    else out += BYTE_CHAR[0xf0 | (cp >> 18)] + BYTE_CHAR[0x80 | ((cp >> 12) & 63)] + BYTE_CHAR[0x80 | ((cp >> 6) & 63)] + BYTE_CHAR[0x80 | (cp & 63)];
  }
  return out;
}

export class BpeTokenizer {
  private readonly cache = new Map<string, readonly number[]>();
  private readonly bytesCache = new Map<string, Uint8Array>();
  private readonly vocabR: Map<number, string>;
  private readonly addedById: Map<number, AddedToken>;
  private readonly specialContents: Set<string>;
  private readonly addedByFirst: readonly ReadonlyMap<string, readonly AddedToken[]>[];

  constructor(
    /** Where it was read from (named in messages). */
    readonly path: string,
    private readonly vocab: ReadonlyMap<string, number>,
    /** (left id, right id) -> [rank, merged id]; the key is left * 2^26 + right. */
    private readonly merges: ReadonlyMap<number, readonly [number, number]>,
    private readonly model: {
      readonly ignoreMerges: boolean;
      readonly unk?: number;
      readonly fuseUnk: boolean;
      readonly byteFallback: boolean;
      readonly prefix?: string;
      readonly suffix?: string;
    },
    private readonly added: readonly AddedToken[],
    private readonly preTokenizers: readonly PreTokenizer[],
    /** The post-processor's single-sequence template: token ids around the sequence (null = the text). */
    private readonly template: readonly (readonly number[] | null)[],
    private readonly byteLevelDecoder: boolean,
  ) {
    this.vocabR = new Map([...vocab].map(([t, id]) => [id, t]));
    this.addedById = new Map(added.map((t) => [t.id, t]));
    this.specialContents = new Set(added.filter((t) => t.special).map((t) => t.content));
    // Two passes as the reference: tokens with normalized=false, then normalized=true. Within a pass,
    // candidates by first UTF-16 unit, longest first (so the first that matches is the longest).
    this.addedByFirst = [false, true].map((normalized) => {
      const m = new Map<string, AddedToken[]>();
      for (const t of added) if (t.normalized === normalized) m.set(t.content[0], [...(m.get(t.content[0]) ?? []), t]);
      for (const list of m.values()) list.sort((a, b) => b.content.length - a.content.length);
      return m;
    });
  }

  /** Number of ids: the model's vocabulary and the added tokens. */
  get vocabSize(): number {
    let max = -1;
    for (const id of this.vocabR.keys()) max = Math.max(max, id);
    for (const id of this.addedById.keys()) max = Math.max(max, id);
    return max + 1;
  }

  /** The id of a token (added tokens first, as the reference's token_to_id). */
  idOf(token: string): number | undefined {
    return this.added.find((t) => t.content === token)?.id ?? this.vocab.get(token);
  }

  /** Whether `id` is an added token marked special. */
  isSpecial(id: number): boolean {
    return this.addedById.get(id)?.special ?? false;
  }

  encode(text: string, options: EncodeOptions = {}): number[] {
    const ids: number[] = [];
    for (const piece of this.splitAddedTokens(text)) {
      if (typeof piece === 'number') {
        ids.push(piece);
        continue;
      }
      let words = [piece];
      for (const step of this.preTokenizers) words = step(words);
      for (const w of words) for (const id of this.bpe(w)) ids.push(id);
    }
    if (options.addSpecialTokens === false) return ids;
    return this.template.flatMap((t) => t ?? ids);
  }

  decode(ids: readonly number[], options: DecodeOptions = {}): string {
    const tokens: string[] = [];
    for (const id of ids) {
      const added = this.addedById.get(id);
      const token = added ? added.content : this.vocabR.get(id);
      if (token === undefined) continue; // as the reference: ids outside the vocabulary are dropped
      if (options.skipSpecialTokens && this.specialContents.has(token)) continue;
      tokens.push(token);
    }
    if (!this.byteLevelDecoder) return tokens.join(' ');
    const parts = tokens.map((t) => this.tokenBytes(t));
    const bytes = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
    let at = 0;
    for (const p of parts) {
      bytes.set(p, at);
      at += p.length;
    }
    return utf8Lossy.decode(bytes);
  }

  /** The bytes of one token for the ByteLevel decoder (cached). */
  private tokenBytes(t: string): Uint8Array {
    let out = this.bytesCache.get(t);
    if (out) return out;
    const tb: number[] = [];
    for (const ch of t) {
      const b = CHAR_BYTE.get(ch);
      if (b === undefined) break;
      tb.push(b);
    }
    // A token with any character outside the byte alphabet (an added token "foo bar") is its own UTF-8.
    out = tb.length === [...t].length ? new Uint8Array(tb) : utf8.encode(t);
    this.bytesCache.set(t, out);
    return out;
  }

  /** Cuts added tokens out of `text`: ids for them, strings for the text between (never empty). */
  private splitAddedTokens(text: string): (string | number)[] {
    let pieces: (string | number)[] = [text];
    for (const byFirst of this.addedByFirst) {
      if (byFirst.size === 0) continue;
      pieces = pieces.flatMap((p) => (typeof p === 'number' ? [p] : this.findAdded(p, byFirst)));
    }
    return pieces.filter((p) => p !== '');
  }

  /** The reference's AddedVocabulary::find_matches: leftmost-longest matches, then the flags. */
  private findAdded(s: string, byFirst: ReadonlyMap<string, readonly AddedToken[]>): (string | number)[] {
    const matches: [number, number, AddedToken][] = [];
    for (let i = 0; i < s.length; ) {
      const best = byFirst.get(s[i])?.find((t) => s.startsWith(t.content, i));
      if (best) {
        matches.push([i, i + best.content.length, best]);
        i += best.content.length;
      } else i++;
    }
    const out: (string | number)[] = [];
    let offset = 0;
    for (const [mStart, mStop, t] of matches) {
      let start = mStart;
      let stop = mStop;
      if (t.singleWord) {
        const startSpace = start === 0 || !WORD_AT_END.test(s.slice(0, start));
        const stopSpace = stop === s.length || !WORD_AT_START.test(s.slice(stop));
        if (!startSpace || !stopSpace) continue;
      }
      if (t.lstrip) start = Math.max(s.slice(0, start).search(SPACES_AT_END), offset);
      if (t.rstrip) stop += SPACES_AT_START.exec(s.slice(stop))![0].length;
      if (offset < start) out.push(s.slice(offset, start));
      out.push(t.id);
      offset = stop;
    }
    if (offset !== s.length) out.push(s.slice(offset));
    return out;
  }

  /** The BPE ids of one pre-tokenized word (already in byte-level characters). */
  private bpe(word: string): readonly number[] {
    const { ignoreMerges, unk, fuseUnk, byteFallback, prefix, suffix } = this.model;
    if (ignoreMerges) {
      const id = this.vocab.get(word);
      if (id !== undefined) return [id];
    }
    const hit = this.cache.get(word);
    if (hit) return hit;
    // The reference's merge_word: one symbol per character (with prefix / suffix), unknown ones as
    // byte-fallback tokens <0xXX>, the unk token (fused when fuse_unk) or nothing.
    const syms: number[] = [];
    let pendingUnk = false;
    const chars = [...word];
    chars.forEach((ch, k) => {
      let s = ch;
      if (k > 0 && prefix !== undefined) s = prefix + s;
      if (k === chars.length - 1 && suffix !== undefined) s += suffix;
      const id = this.vocab.get(s);
      if (id !== undefined) {
        if (pendingUnk) syms.push(unk!);
        pendingUnk = false;
        syms.push(id);
        return;
      }
      if (byteFallback) {
        const fb = [...utf8.encode(s)].map((b) => this.vocab.get(`<0x${b.toString(16).toUpperCase().padStart(2, '0')}>`));
        if (fb.every((x) => x !== undefined)) {
          syms.push(...(fb as number[]));
          return;
        }
      }
      if (unk !== undefined) {
        if (pendingUnk && !fuseUnk) syms.push(unk);
        pendingUnk = true;
      }
    });
    if (pendingUnk) syms.push(unk!);
    // Merge the lowest-ranked pair (leftmost on a tie) until none is left: the order of the reference's
    // priority queue.
    for (;;) {
      let bestRank = Infinity;
      let bestAt = -1;
      let bestId = 0;
      for (let k = 0; k + 1 < syms.length; k++) {
        const m = this.merges.get(syms[k] * 2 ** 26 + syms[k + 1]);
        if (m && m[0] < bestRank) [bestRank, bestAt, bestId] = [m[0], k, m[1]];
      }
      if (bestAt < 0) break;
      syms.splice(bestAt, 2, bestId);
    }
    if (this.cache.size > 100_000) this.cache.clear();
    this.cache.set(word, syms);
    return syms;
  }
}

// ---- reading tokenizer.json -----------------------------------------------------------------------

type Json = Record<string, unknown>;

/** Checks a parsed tokenizer.json; throws UserError (one line, starting with `path`) if it is not one
 *  this reader implements. */
export function parseBpeTokenizer(json: unknown, path: string): BpeTokenizer {
  const fail = (field: string, why: string): never => {
    throw new UserError(`${path}: ${field} ${why}`);
  };
  const isObj = (v: unknown): v is Json => v !== null && typeof v === 'object' && !Array.isArray(v);
  if (!isObj(json)) throw new UserError(`${path}: must be a JSON object`);
  const str = (v: unknown) => JSON.stringify(v) ?? 'missing';
  const optBool = (o: Json, key: string, field: string, dflt: boolean): boolean => {
    const v = o[key];
    if (v === undefined || v === null) return dflt;
    if (typeof v !== 'boolean') fail(`${field}."${key}"`, `is ${str(v)}, expected true or false`);
    return v as boolean;
  };
  const optStr = (o: Json, key: string, field: string): string | undefined => {
    const v = o[key];
    if (v === undefined || v === null) return undefined;
    if (typeof v !== 'string') fail(`${field}."${key}"`, `is ${str(v)}, expected a string or null`);
    return v as string;
  };

  // model
  const model = json.model;
  if (!isObj(model)) return fail('"model"', 'must be an object');
  if (model.type !== 'BPE') fail('"model"."type"', `is ${str(model.type)}; only "BPE" is supported`);
  if (model.dropout !== undefined && model.dropout !== null) fail('"model"."dropout"', `is ${str(model.dropout)}; only null is supported (dropout is random)`);
  if (!isObj(model.vocab)) return fail('"model"."vocab"', 'must be an object of token: id');
  const vocab = new Map<string, number>();
  for (const [t, id] of Object.entries(model.vocab)) {
    if (!Number.isSafeInteger(id) || (id as number) < 0 || (id as number) >= 2 ** 26) fail(`"model"."vocab"[${JSON.stringify(t)}]`, `is ${str(id)}, expected an id in 0..2^26-1`);
    vocab.set(t, id as number);
  }
  if (!Array.isArray(model.merges)) return fail('"model"."merges"', 'must be a list');
  const prefix = optStr(model, 'continuing_subword_prefix', '"model"');
  const merges = new Map<number, readonly [number, number]>();
  let rank = 0;
  model.merges.forEach((m: unknown, k: number) => {
    let pair: unknown[];
    if (typeof m === 'string') {
      if (m.startsWith('#version')) return; // the reference skips these lines without counting them
      pair = m.split(' ');
    } else pair = m as unknown[];
    const field = `"model"."merges"[${k}]`;
    if (!Array.isArray(pair) || pair.length !== 2 || pair.some((x) => typeof x !== 'string')) fail(field, `is ${str(m)}, expected "a b" or ["a", "b"]`);
    const [a, b] = pair as [string, string];
    const merged = a + (prefix !== undefined ? b.slice(prefix.length) : b); // the reference cuts the prefix's length off b unchecked
    for (const t of [a, b, merged]) if (!vocab.has(t)) fail(field, `needs ${JSON.stringify(t)}, which is not in "model"."vocab"`);
    // A repeated pair keeps its last rank, as the reference's map does.
    merges.set(vocab.get(a)! * 2 ** 26 + vocab.get(b)!, [rank++, vocab.get(merged)!]);
  });
  const unkToken = optStr(model, 'unk_token', '"model"');
  if (unkToken !== undefined && !vocab.has(unkToken)) fail('"model"."unk_token"', `${JSON.stringify(unkToken)} is not in "model"."vocab"`);

  // added_tokens
  const addedJson = json.added_tokens ?? [];
  if (!Array.isArray(addedJson)) return fail('"added_tokens"', 'must be a list');
  const added: AddedToken[] = addedJson.map((t: unknown, k: number) => {
    const field = `"added_tokens"[${k}]`;
    if (!isObj(t)) return fail(field, 'must be an object');
    if (!Number.isSafeInteger(t.id) || (t.id as number) < 0) fail(`${field}."id"`, `is ${str(t.id)}, expected a non-negative integer`);
    if (typeof t.content !== 'string' || t.content === '') fail(`${field}."content"`, `is ${str(t.content)}, expected a non-empty string`);
    const special = optBool(t, 'special', field, false);
    return {
      id: t.id as number, content: t.content as string, special,
      singleWord: optBool(t, 'single_word', field, false),
      lstrip: optBool(t, 'lstrip', field, false),
      rstrip: optBool(t, 'rstrip', field, false),
      normalized: optBool(t, 'normalized', field, !special),
    };
  });

  // The reference ignores the ids written in "added_tokens": on loading it gives each token its id in
  // "model"."vocab", or else the next id after the vocabulary (counted in entries). A file whose ids
  // disagree would tokenize differently here and there, so it is refused.
  let nextId = vocab.size;
  const addedIds = new Map<string, number>();
  added.forEach((t, k) => {
    if (addedIds.has(t.content)) fail(`"added_tokens"[${k}]."content"`, `${JSON.stringify(t.content)} repeats an earlier added token`);
    const id = vocab.get(t.content) ?? nextId++;
    addedIds.set(t.content, id);
    if (id !== t.id) fail(`"added_tokens"[${k}]."id"`, `is ${t.id}, but the reference library gives ${JSON.stringify(t.content)} id ${id} (after the ${vocab.size} entries of "model"."vocab")`);
  });

  // normalizer: none (Llama 3 and GPT-2 have none)
  const norm = json.normalizer;
  if (norm !== undefined && norm !== null && !(isObj(norm) && norm.type === 'Sequence' && Array.isArray(norm.normalizers) && norm.normalizers.length === 0)) {
    fail('"normalizer"', `is of type ${str(isObj(norm) ? norm.type : norm)}; only null is supported`);
  }

  // pre_tokenizer
  const preTokenizers: PreTokenizer[] = [];
  const addPre = (p: unknown, field: string): void => {
    if (p === null || p === undefined) return;
    if (!isObj(p)) return fail(field, 'must be an object or null');
    if (p.type === 'Sequence') {
      if (!Array.isArray(p.pretokenizers)) fail(`${field}."pretokenizers"`, 'must be a list');
      (p.pretokenizers as unknown[]).forEach((q, k) => addPre(q, `${field}."pretokenizers"[${k}]`));
    } else if (p.type === 'Split') {
      const pat = p.pattern;
      let re: RegExp;
      if (isObj(pat) && typeof pat.String === 'string') re = new RegExp(pat.String.replace(/[\\^$.*+?()[\]{}|/-]/g, '\\$&'), 'gu');
      else if (isObj(pat) && typeof pat.Regex === 'string') {
        try {
          re = onigToJs(pat.Regex);
        } catch (e) {
          return fail(`${field}."pattern"."Regex"`, `${JSON.stringify(pat.Regex)}: ${(e as Error).message}`);
        }
      } else return fail(`${field}."pattern"`, `is ${str(pat)}, expected {"Regex": ...} or {"String": ...}`);
      const behaviors = ['Isolated', 'Removed', 'MergedWithPrevious', 'MergedWithNext', 'Contiguous'];
      if (typeof p.behavior !== 'string' || !behaviors.includes(p.behavior)) fail(`${field}."behavior"`, `is ${str(p.behavior)}, expected one of ${behaviors.join(', ')}`);
      const behavior = p.behavior as string;
      const invert = optBool(p, 'invert', field, false);
      preTokenizers.push((words) => words.flatMap((w) => splitByRegex(w, re, behavior, invert)));
    } else if (p.type === 'ByteLevel') {
      const prefixSpace = optBool(p, 'add_prefix_space', field, true);
      const re = optBool(p, 'use_regex', field, true) ? onigToJs(GPT2_PATTERN) : undefined;
      preTokenizers.push((words) =>
        words.flatMap((w) => {
          const s = prefixSpace && !w.startsWith(' ') ? ' ' + w : w;
          return (re ? splitByRegex(s, re, 'Isolated', false) : [s]).map(toByteChars);
        }),
      );
    } else fail(`${field}."type"`, `is ${str(p.type)}; only "Split", "ByteLevel" and "Sequence" are supported`);
  };
  addPre(json.pre_tokenizer, '"pre_tokenizer"');

  // post_processor: TemplateProcessing (bos) and ByteLevel (offsets only)
  let template: (readonly number[] | null)[] = [null];
  const addPost = (p: unknown, field: string): void => {
    if (p === null || p === undefined) return;
    if (!isObj(p)) return fail(field, 'must be an object or null');
    if (p.type === 'Sequence') {
      if (!Array.isArray(p.processors)) fail(`${field}."processors"`, 'must be a list');
      (p.processors as unknown[]).forEach((q, k) => addPost(q, `${field}."processors"[${k}]`));
    } else if (p.type === 'ByteLevel') {
      // trims offsets only; ids are unchanged
    } else if (p.type === 'TemplateProcessing') {
      if (!Array.isArray(p.single)) return fail(`${field}."single"`, 'must be a list');
      const specials = isObj(p.special_tokens) ? p.special_tokens : {};
      template = p.single.map((piece: unknown, k: number) => {
        const f = `${field}."single"[${k}]`;
        if (isObj(piece) && isObj(piece.Sequence)) {
          if (piece.Sequence.id !== 'A') fail(f, `is sequence ${str(piece.Sequence.id)}; a single text is sequence "A"`);
          return null;
        }
        if (isObj(piece) && isObj(piece.SpecialToken) && typeof piece.SpecialToken.id === 'string') {
          const name = piece.SpecialToken.id;
          const st = (specials as Json)[name];
          if (!isObj(st) || !Array.isArray(st.ids) || !st.ids.every((x) => Number.isSafeInteger(x))) return fail(`${field}."special_tokens"`, `has no ids for ${JSON.stringify(name)}`);
          return st.ids as number[];
        }
        return fail(f, `is ${str(piece)}, expected {"SpecialToken": ...} or {"Sequence": ...}`);
      });
    } else fail(`${field}."type"`, `is ${str(p.type)}; only "TemplateProcessing", "ByteLevel" and "Sequence" are supported`);
  };
  addPost(json.post_processor, '"post_processor"');

  // decoder
  const dec = json.decoder;
  if (dec !== null && dec !== undefined && !(isObj(dec) && dec.type === 'ByteLevel')) {
    fail('"decoder"."type"', `is ${str(isObj(dec) ? dec.type : dec)}; only "ByteLevel" (or null) is supported`);
  }

  return new BpeTokenizer(
    path, vocab, merges,
    {
      ignoreMerges: optBool(model, 'ignore_merges', '"model"', false),
      unk: unkToken === undefined ? undefined : vocab.get(unkToken),
      fuseUnk: optBool(model, 'fuse_unk', '"model"', false),
      byteFallback: optBool(model, 'byte_fallback', '"model"', false),
      prefix,
      suffix: optStr(model, 'end_of_word_suffix', '"model"'),
    },
    added, preTokenizers, template, dec !== null && dec !== undefined,
  );
}

/** Reads and checks a Hugging Face tokenizer.json at `path`. */
export function readBpeTokenizer(path: string): BpeTokenizer {
  const json = readJsonFile(path);
  return parseBpeTokenizer(json, path);
}
