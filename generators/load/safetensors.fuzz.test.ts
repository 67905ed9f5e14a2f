// Property tests: writer → reader round trip, and fuzzing the reader with random and mutated files.

import fc from 'fast-check';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { UserError } from '../../core/errors.ts';
import { DTYPE_BITS } from './dtypes.ts';
import {
  DTYPES, openSafetensors, serializeSafetensors, writeSafetensors, type Dtype, type TensorToWrite,
} from './safetensors.ts';

const dir = mkdtempSync(join(tmpdir(), 'st-fuzz-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));
const scratch = join(dir, 'case.safetensors');

/** A tensor with random dtype, shape (up to 4 dims, some zero) and bytes of exactly the right size. */
const tensorArb = (name: string): fc.Arbitrary<TensorToWrite> =>
  fc
    .record({
      dtype: fc.constantFrom(...DTYPES),
      shape: fc.array(fc.integer({ min: 0, max: 5 }), { maxLength: 4 }),
    })
    .filter(({ dtype, shape }) => (shape.reduce((a, d) => a * d, 1) * DTYPE_BITS[dtype]) % 8 === 0)
    .chain(({ dtype, shape }) => {
      const bytes = (shape.reduce((a, d) => a * d, 1) * DTYPE_BITS[dtype]) / 8;
      return fc.uint8Array({ minLength: bytes, maxLength: bytes }).map((data) => ({ name, dtype, shape, data }));
    });

const nameArb = fc.string({ unit: 'binary', maxLength: 12 }).filter((s) => s !== '__metadata__');

const modelArb = fc.record({
  tensors: fc
    .uniqueArray(nameArb, { maxLength: 6 })
    .chain((names): fc.Arbitrary<TensorToWrite[]> => (names.length ? fc.tuple(...names.map(tensorArb)) : fc.constant([]))),
  metadata: fc.option(fc.dictionary(fc.string({ unit: 'binary' }), fc.string({ unit: 'binary' })), { nil: undefined }),
});

/** Loads `path`; if it loads, every tensor must read (or be refused with UserError where the dtype
 *  has no such view). Any failure must be a UserError. Returns whether it loaded. */
function loadsOrRefuses(path: string): boolean {
  const onlyUserErrors = (f: () => unknown): void => {
    try {
      f();
    } catch (e) {
      if (!(e instanceof UserError)) throw e;
    }
  };
  let st;
  try {
    st = openSafetensors(path);
  } catch (e) {
    if (e instanceof UserError) return false;
    throw e;
  }
  try {
    for (const [name, t] of st.tensors) {
      expect(st.readRaw(name).length).toBe(t.end - t.begin);
      onlyUserErrors(() => st.readFloat32(name));
      onlyUserErrors(() => st.readBigInt64(name));
    }
  } finally {
    st.close();
  }
  return true;
}

describe('writeSafetensors → openSafetensors round trip', () => {
  it('keeps names, dtypes, shapes, bytes and metadata', () => {
    fc.assert(
      fc.property(modelArb, ({ tensors, metadata }) => {
        writeSafetensors(scratch, tensors, metadata);
        expect(readFileSync(scratch).equals(serializeSafetensors(tensors, metadata))).toBe(true);
        const st = openSafetensors(scratch);
        try {
          expect(st.dataStart % 8).toBe(0);
          expect(st.metadata).toEqual(metadata);
          expect(st.tensors.size).toBe(tensors.length);
          for (const t of tensors) {
            const info = st.tensors.get(t.name)!;
            expect({ dtype: info.dtype, shape: info.shape }).toEqual({ dtype: t.dtype, shape: t.shape });
            expect(st.readRaw(t.name).equals(t.data)).toBe(true);
            if (t.dtype === 'F32') {
              const want = new Float32Array(new Uint8Array(t.data).buffer);
              expect(Array.from(st.readFloat32(t.name))).toEqual(Array.from(want));
            }
          }
        } finally {
          st.close();
        }
      }),
      { numRuns: 300 },
    );
  });

  it('places tensors like the reference writer: widest dtype first, then by name', () => {
    const d = (name: string, dtype: Dtype): TensorToWrite => ({ name, dtype, shape: [1], data: new Uint8Array(DTYPE_BITS[dtype] / 8) });
    writeSafetensors(scratch, [d('b', 'F32'), d('a', 'U8'), d('c', 'F32'), d('z', 'I64')]);
    const st = openSafetensors(scratch);
    expect([...st.tensors.keys()]).toEqual(['z', 'b', 'c', 'a']);
    st.close();
  });

  it('refuses bad input with an Error', () => {
    const t: TensorToWrite = { name: 'w', dtype: 'F32', shape: [2], data: new Uint8Array(7) };
    expect(() => serializeSafetensors([t])).toThrow('7 bytes of data, but F32 × [2] needs 8');
    expect(() => serializeSafetensors([{ ...t, data: new Uint8Array(8) }, { ...t, data: new Uint8Array(8) }])).toThrow('duplicate');
    expect(() => serializeSafetensors([{ ...t, name: '\ud800', data: new Uint8Array(8) }])).toThrow('not valid Unicode');
  });
});

describe('fuzzing the reader: it loads, or it throws UserError — nothing else, and never hangs', () => {
  it('random bytes', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 300 }), (bytes) => {
        writeFileSync(scratch, bytes);
        loadsOrRefuses(scratch);
      }),
      { numRuns: 300 },
    );
  }, 60_000);

  it('random bytes after a plausible header length', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 300 }), fc.nat(320), (bytes, n) => {
        const head = Buffer.alloc(8);
        head.writeBigUInt64LE(BigInt(n));
        writeFileSync(scratch, Buffer.concat([head, Buffer.from('{"'), bytes]));
        loadsOrRefuses(scratch);
      }),
      { numRuns: 300 },
    );
  }, 60_000);

  const mutation = fc.oneof(
    fc.record({ kind: fc.constant('byte' as const), at: fc.nat(), value: fc.nat(255) }),
    fc.record({ kind: fc.constant('truncate' as const), at: fc.nat() }),
    fc.record({ kind: fc.constant('append' as const), bytes: fc.uint8Array({ minLength: 1, maxLength: 9 }) }),
    fc.record({ kind: fc.constant('length' as const), value: fc.oneof(fc.bigInt({ min: 0n, max: 2n ** 64n - 1n }), fc.integer({ min: -9, max: 9 }).map(BigInt)) }),
    // Header-aware edits: the interesting bytes are JSON punctuation and digits.
    fc.record({ kind: fc.constant('char' as const), at: fc.nat(), value: fc.constantFrom(...'{}[],:"0123456789 -.e\\') }),
  );

  it('valid files with random mutations, truncations and header-length edits', () => {
    let loaded = 0;
    fc.assert(
      fc.property(modelArb, fc.array(mutation, { minLength: 1, maxLength: 3 }), ({ tensors, metadata }, muts) => {
        let buf = Buffer.from(serializeSafetensors(tensors, metadata));
        const headerEnd = 8 + Number(buf.readBigUInt64LE(0));
        for (const m of muts) {
          if (m.kind === 'byte' && buf.length) buf[m.at % buf.length] = m.value;
          if (m.kind === 'char' && headerEnd > 8) buf[8 + (m.at % (headerEnd - 8))] = m.value.charCodeAt(0);
          if (m.kind === 'truncate') buf = buf.subarray(0, m.at % (buf.length + 1));
          if (m.kind === 'append') buf = Buffer.concat([buf, m.bytes]);
          if (m.kind === 'length' && buf.length >= 8) {
            const v = m.value >= 0n ? m.value : BigInt(headerEnd - 8) + m.value;
            buf.writeBigUInt64LE(BigInt.asUintN(64, v));
          }
        }
        writeFileSync(scratch, buf);
        if (loadsOrRefuses(scratch)) loaded++;
      }),
      { numRuns: 500 },
    );
    expect(loaded).toBeGreaterThan(0); // some mutations (data bytes) leave a valid file
  }, 120_000);
});
