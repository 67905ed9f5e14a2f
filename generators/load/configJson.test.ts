// config.json integer fields: 64 is an integer; 64.0, 6.4e1, 64.5 and "64" are refused in one line
// naming the file and the field (JSON.parse alone would read 64.0 as 64 without a word).
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { EXIT } from '../../core/errors.ts';
import { expectOneLineError, genRtl, ROOT, scratch } from '../../cli/testing.ts';
import { parseLlamaConfig } from '../grid/llamaPlan.ts';
import { nonIntegerWriting, parseConfigJson } from './configJson.ts';
import { readLlamaConfig } from './llama.ts';

const EXAMPLE = readFileSync(join(ROOT, 'examples/tiny-llama/config.json'), 'utf8');
/** The example's config.json text with `"field": value` written as `text`. */
const withField = (field: string, text: string): string => EXAMPLE.replace(new RegExp(`"${field}": [^,\\n]+`), `"${field}": ${text}`);

const { fresh, cleanup } = scratch('hw-config-');
afterAll(cleanup);

describe('parseConfigJson', () => {
  it('keeps how a number was written; values are plain numbers', () => {
    const c = parseConfigJson('{"a": 64, "b": 64.0, "c": 6.4e1, "d": 1e-05, "e": {"f": 2.0}}') as Record<string, unknown>;
    expect({ ...c, e: undefined }).toEqual({ a: 64, b: 64, c: 64, d: 1e-5, e: undefined });
    expect(nonIntegerWriting(c, 'a')).toBeUndefined();
    expect(nonIntegerWriting(c, 'b')).toBe('64.0');
    expect(nonIntegerWriting(c, 'c')).toBe('6.4e1');
    expect(nonIntegerWriting(c.e, 'f')).toBe('2.0');
    expect(nonIntegerWriting({ b: 64 }, 'b')).toBeUndefined();
  });

  it('refuses a duplicate key (which one would count?)', () => {
    expect(() => parseConfigJson('{"hidden_size": 64, "hidden_size": 80}')).toThrow(/hidden_size/);
  });

  it('the example config reads as before', () => {
    expect(readLlamaConfig(parseConfigJson(EXAMPLE), 'config.json')).toEqual(readLlamaConfig(JSON.parse(EXAMPLE), 'config.json'));
  });
});

describe('integer fields of a Llama config.json', () => {
  it.each([
    ['hidden_size', '64.0', 'got 64.0 (write it without a fraction or exponent: 64)'],
    ['hidden_size', '6.4e1', 'got 6.4e1'],
    ['num_hidden_layers', '2.0', 'got 2.0'],
    ['hidden_size', '64.5', 'got 64.5'],
    ['hidden_size', '"64"', 'got "64"'],
    ['vocab_size', '86.000', 'got 86.000'],
  ])('"%s": %s is refused naming the file and the field', (field, text, why) => {
    const cfg = parseConfigJson(withField(field, text));
    expect(() => readLlamaConfig(cfg, 'x/config.json')).toThrow(`x/config.json: "${field}" must be a positive integer, ${why}`);
    expect(() => parseLlamaConfig(cfg, 'x/config.json')).toThrow(`x/config.json: field '${field}' must be a positive integer`);
  });

  it('floats stay floats: "rope_theta": 10000.0 and "rms_norm_eps": 1e-05 are accepted', () => {
    expect(readLlamaConfig(parseConfigJson(EXAMPLE), 'config.json')).toMatchObject({ hidden: 64, ropeTheta: 10000, rmsNormEps: 1e-5 });
  });

  it('gen-rtl plan --config with "hidden_size": 64.0: exit 2, one line naming config.json and the field', async () => {
    const { dir } = fresh();
    const cfg = join(dir, 'config.json');
    writeFileSync(cfg, withField('hidden_size', '64.0'));
    const r = await genRtl(['plan', '--config', cfg]);
    expectOneLineError(r, EXIT.badInput, cfg, 'hidden_size', '64.0');
  });
});
