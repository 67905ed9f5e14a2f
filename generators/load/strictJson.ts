// A strict JSON parser for safetensors headers: rejects duplicate keys, caps nesting, keeps integer-ness.
//
// JSON.parse cannot do this job: it silently keeps the last of two equal keys (a header that names one
// tensor twice would load whichever came last), it turns `16.0` and `1e1` into the integer 16/10 (the
// reference reader, serde_json into usize, rejects them), and a reviver sees the value only after the
// duplicate is gone. Objects come back as Maps so that a key like "__proto__" is plain data.

/** A JSON value. Objects are Maps in text order. Numbers are JS numbers only when written as integers
 *  that a double holds exactly; anything else (`4.0`, `1e1`, `-0`, `9007199254740993`) is a
 *  JsonUnsafeNumber, so a check for "integer" cannot be fooled and messages can quote the text. */
export type JsonValue = null | boolean | number | string | JsonUnsafeNumber | JsonValue[] | JsonObject;
export type JsonObject = Map<string, JsonValue>;

/** A number that is not a safe integer as written; `text` is how it was written. */
export class JsonUnsafeNumber {
  constructor(readonly text: string, readonly value: number) {}
}

/** Why the text is not acceptable JSON; `at` is a UTF-16 index into the text. A duplicate key also
 *  says which key and at what object depth (1 = the top-level object). */
export class JsonSyntaxError extends Error {
  constructor(
    message: string,
    readonly at: number,
    readonly duplicate?: { readonly key: string; readonly depth: number },
  ) {
    super(message);
    this.name = 'JsonSyntaxError';
  }
}

/** serde_json's default recursion limit, which the reference reader inherits. */
export const MAX_JSON_DEPTH = 128;

const INTEGER = /^-?(?:0|[1-9][0-9]*)$/;
const NUMBER = /-?(?:0|[1-9][0-9]*)(?:\.[0-9]+)?(?:[eE][+-]?[0-9]+)?/y;

/** Parses `text` as exactly one JSON value, surrounded by optional JSON whitespace. */
export function parseStrictJson(text: string): JsonValue {
  const p = new Parser(text);
  p.skipWs();
  const v = p.value(0);
  p.skipWs();
  if (p.i !== text.length) p.fail('trailing characters after the JSON value');
  return v;
}

class Parser {
  i = 0;
  constructor(private readonly s: string) {}

  fail(why: string, at = this.i): never {
    throw new JsonSyntaxError(why, at);
  }

  skipWs(): void {
    const s = this.s;
    let i = this.i;
    for (;;) {
      const c = s.charCodeAt(i);
      if (c === 0x20 || c === 0x0a || c === 0x0d || c === 0x09) i++;
      else break;
    }
    this.i = i;
  }

  value(depth: number): JsonValue {
    const c = this.s.charCodeAt(this.i);
    if (c === 0x7b /* { */) return this.object(depth + 1);
    if (c === 0x5b /* [ */) return this.array(depth + 1);
    if (c === 0x22 /* " */) return this.string();
    if (c === 0x2d /* - */ || (c >= 0x30 && c <= 0x39)) return this.number();
    if (this.s.startsWith('true', this.i)) return (this.i += 4), true;
    if (this.s.startsWith('false', this.i)) return (this.i += 5), false;
    if (this.s.startsWith('null', this.i)) return (this.i += 4), null;
    return this.fail(this.i >= this.s.length ? 'unexpected end of text' : 'expected a JSON value');
  }

  object(depth: number): JsonObject {
    if (depth > MAX_JSON_DEPTH) this.fail(`nesting deeper than ${MAX_JSON_DEPTH}`);
    const out: JsonObject = new Map();
    this.i++;
    this.skipWs();
    if (this.s.charCodeAt(this.i) === 0x7d /* } */) return this.i++, out;
    for (;;) {
      if (this.s.charCodeAt(this.i) !== 0x22) this.fail('expected a string key');
      const keyAt = this.i;
      const key = this.string();
      if (out.has(key)) {
        throw new JsonSyntaxError(`duplicate key ${JSON.stringify(key)}`, keyAt, { key, depth });
      }
      this.skipWs();
      if (this.s.charCodeAt(this.i) !== 0x3a /* : */) this.fail("expected ':'");
      this.i++;
      this.skipWs();
      out.set(key, this.value(depth));
      this.skipWs();
      const c = this.s.charCodeAt(this.i);
      this.i++;
      if (c === 0x7d) return out;
      if (c !== 0x2c /* , */) this.fail("expected ',' or '}'", this.i - 1);
      this.skipWs();
    }
  }

  array(depth: number): JsonValue[] {
    if (depth > MAX_JSON_DEPTH) this.fail(`nesting deeper than ${MAX_JSON_DEPTH}`);
    const out: JsonValue[] = [];
    this.i++;
    this.skipWs();
    if (this.s.charCodeAt(this.i) === 0x5d /* ] */) return this.i++, out;
    for (;;) {
      out.push(this.value(depth));
      this.skipWs();
      const c = this.s.charCodeAt(this.i);
      this.i++;
      if (c === 0x5d) return out;
      if (c !== 0x2c) this.fail("expected ',' or ']'", this.i - 1);
      this.skipWs();
    }
  }

  number(): number | JsonUnsafeNumber {
    NUMBER.lastIndex = this.i;
    const m = NUMBER.exec(this.s);
    if (m === null) return this.fail('malformed number');
    this.i += m[0].length;
    const text = m[0];
    const value = Number(text);
    const exact = INTEGER.test(text) && text !== '-0' && Number.isSafeInteger(value);
    return exact ? value : new JsonUnsafeNumber(text, value);
  }

  string(): string {
    const s = this.s;
    let i = this.i + 1;
    let out = '';
    let runStart = i;
    for (;;) {
      if (i >= s.length) this.fail('unterminated string', this.i);
      const c = s.charCodeAt(i);
      if (c === 0x22) break;
      if (c < 0x20) this.fail('control character in string', i);
      if (c !== 0x5c /* \ */) {
        i++;
        continue;
      }
      out += s.slice(runStart, i);
      const e = s.charCodeAt(i + 1);
      i += 2;
      switch (e) {
        case 0x22: out += '"'; break;
        case 0x5c: out += '\\'; break;
        case 0x2f: out += '/'; break;
        case 0x62: out += '\b'; break;
        case 0x66: out += '\f'; break;
        case 0x6e: out += '\n'; break;
        case 0x72: out += '\r'; break;
        case 0x74: out += '\t'; break;
        case 0x75: {
          const hi = this.hex4(i);
          i += 4;
          if (hi >= 0xdc00 && hi <= 0xdfff) this.fail('lone trailing surrogate in \\u escape', i - 6);
          if (hi >= 0xd800 && hi <= 0xdbff) {
            const lo = s.startsWith('\\u', i) ? this.hex4(i + 2) : -1;
            if (lo < 0xdc00 || lo > 0xdfff) this.fail('lone leading surrogate in \\u escape', i - 6);
            i += 6;
            out += String.fromCharCode(hi, lo);
          } else {
            out += String.fromCharCode(hi);
          }
          break;
        }
        default:
          this.fail('invalid escape in string', i - 2);
      }
      runStart = i;
    }
    out += s.slice(runStart, i);
    this.i = i + 1;
    return out;
  }

  private hex4(at: number): number {
    const h = this.s.slice(at, at + 4);
    if (!/^[0-9a-fA-F]{4}$/.test(h)) this.fail('invalid \\u escape', at - 2);
    return parseInt(h, 16);
  }
}
