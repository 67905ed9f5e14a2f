// Cross-checks our reader against files written by the reference (Rust) writer: fixtures/make_fixtures.py.

import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { UserError } from '../../core/errors.ts';
import { openSafetensors } from './safetensors.ts';

const FIXTURES = join(dirname(fileURLToPath(import.meta.url)), 'fixtures');

interface ExpectedTensor {
  dtype: string;
  shape: number[];
  begin: number;
  end: number;
  float32: (number | string)[];
  int64?: string[];
  int64BadIndex?: number;
}
interface Expected {
  files: Record<string, { metadata: Record<string, string> | null; tensors: Record<string, ExpectedTensor> }>;
}
const expected = JSON.parse(readFileSync(join(FIXTURES, 'expected.json'), 'utf8')) as Expected;

/** JSON cannot hold NaN or infinities; make_fixtures.py writes them as strings. */
const num = (v: number | string): number => (typeof v === 'number' ? v : Number(v));

describe.each(Object.entries(expected.files))('reference-written %s', (file, want) => {
  const path = join(FIXTURES, file);

  it('has the same tensors, dtypes, shapes, offsets and metadata', () => {
    const st = openSafetensors(path);
    try {
      expect(st.metadata).toEqual(want.metadata ?? undefined);
      expect(new Set(st.tensors.keys())).toEqual(new Set(Object.keys(want.tensors)));
      for (const [name, t] of Object.entries(want.tensors)) {
        expect(st.tensors.get(name)).toEqual({ name, dtype: t.dtype, shape: t.shape, begin: t.begin, end: t.end });
      }
      const begins = [...st.tensors.values()].map((t) => t.begin);
      expect(begins).toEqual([...begins].sort((a, b) => a - b));
    } finally {
      st.close();
    }
  });

  it.each(Object.entries(want.tensors))('reads %s exactly', (name, t) => {
    const st = openSafetensors(path);
    try {
      // Object.is per element: -0 vs 0 and NaN must match too.
      expect(Array.from(st.readFloat32(name))).toEqual(t.float32.map(num));
      expect(st.readRaw(name).length).toBe(t.end - t.begin);
      if (t.int64 !== undefined) {
        expect(Array.from(st.readBigInt64(name), String)).toEqual(t.int64);
      }
      if (t.int64BadIndex !== undefined) {
        expect(() => st.readBigInt64(name)).toThrow(`at flat index ${t.int64BadIndex} does not fit int64`);
      }
      if (t.int64 === undefined && t.int64BadIndex === undefined) {
        expect(() => st.readBigInt64(name)).toThrow(UserError);
      }
    } finally {
      st.close();
    }
  });
});

describe('reader API', () => {
  it('refuses unknown tensor names and reads after close', () => {
    const st = openSafetensors(join(FIXTURES, 'dtypes.safetensors'));
    expect(() => st.readRaw('nope')).toThrow(/dtypes\.safetensors: no tensor named 'nope'/);
    st.close();
    st.close();
    expect(() => st.readRaw('f32')).toThrow(/read after close/);
  });
});
