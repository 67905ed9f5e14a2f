// The strict header JSON parser agrees with JSON.parse on valid JSON and refuses what it must.

import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { JsonSyntaxError, JsonUnsafeNumber, parseStrictJson, type JsonValue } from './strictJson.ts';

/** Back to plain JS values, so the result can be compared with JSON.parse. */
function plain(v: JsonValue): unknown {
  if (v instanceof JsonUnsafeNumber) return v.value;
  if (v instanceof Map) return Object.fromEntries([...v].map(([k, x]) => [k, plain(x)]));
  if (Array.isArray(v)) return v.map(plain);
  return v;
}

function syntaxError(text: string): JsonSyntaxError {
  try {
    parseStrictJson(text);
  } catch (e) {
    if (e instanceof JsonSyntaxError) return e;
    throw e;
  }
  throw new Error(`parsed: ${text}`);
}

describe('parseStrictJson', () => {
  it('agrees with JSON.parse on JSON without duplicate keys', () => {
    fc.assert(
      fc.property(fc.json({ depthSize: 'small', noUnicodeString: false }), (text) => {
        expect(plain(parseStrictJson(text))).toEqual(JSON.parse(text));
      }),
      { numRuns: 500 },
    );
  });

  it('keeps integer-ness: only safe integers written as integers are numbers', () => {
    const v = parseStrictJson('[0, 16, -3, 16.0, 1e1, -0, 9007199254740993]') as JsonValue[];
    expect(v.slice(0, 3)).toEqual([0, 16, -3]);
    expect(v.slice(3).map((x) => (x as JsonUnsafeNumber).text)).toEqual(['16.0', '1e1', '-0', '9007199254740993']);
  });

  it('refuses duplicate keys at any depth, saying which and where', () => {
    const top = syntaxError('{"a":1,"b":2,"a":3}');
    expect(top.duplicate).toEqual({ key: 'a', depth: 1 });
    expect(top.at).toBe(13);
    expect(syntaxError('{"x":{"k":1,"k":2}}').duplicate).toEqual({ key: 'k', depth: 2 });
    expect(syntaxError('{"\\u0061":1,"a":2}').duplicate?.key).toBe('a'); // equal after unescaping
  });

  it('refuses what serde_json refuses', () => {
    for (const bad of ['', '{', '{"a":1,}', '[1,]', '{a:1}', "{'a':1}", '01', '1.', '.5', '+1', 'NaN', 'tru',
      '"\t"', '"\\x41"', '"\\ud800"', '"\\udc00x"', '{} x', '\ufeff{}']) {
      expect(() => parseStrictJson(bad), bad).toThrow(JsonSyntaxError);
    }
  });

  it('caps nesting depth instead of overflowing the stack', () => {
    expect(syntaxError('['.repeat(1_000_000)).message).toBe('nesting deeper than 128');
    expect(() => parseStrictJson('['.repeat(128) + ']'.repeat(128))).not.toThrow();
  });

  it('decodes escapes and surrogate pairs', () => {
    expect(parseStrictJson('"a\\"b\\\\c\\/d\\n\\u00e9\\ud83d\\ude00"')).toBe('a"b\\c/d\né😀');
  });
});
