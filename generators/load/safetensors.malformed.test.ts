// One test per way a safetensors file can be malformed, plus the odd-but-valid files the reference accepts.

import { closeSync, ftruncateSync, mkdirSync, mkdtempSync, openSync, rmSync, writeFileSync, writeSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { UserError } from '../../core/errors.ts';
import { openSafetensors, type SafetensorsFile } from './safetensors.ts';

const dir = mkdtempSync(join(tmpdir(), 'st-malformed-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

let count = 0;
/** Writes 8-byte length + header + data; `length` overrides the length field. */
function craft(header: string | Buffer, data: number | Buffer = 0, length?: bigint): string {
  const h = typeof header === 'string' ? Buffer.from(header) : header;
  const head = Buffer.alloc(8);
  head.writeBigUInt64LE(length ?? BigInt(h.length));
  const path = join(dir, `model${count++}.safetensors`);
  writeFileSync(path, Buffer.concat([head, h, typeof data === 'number' ? Buffer.alloc(data) : data]));
  return path;
}

/** A header JSON with tensors given as [name, dtype, shape, [begin, end]]. */
function hdr(...tensors: [string, unknown, unknown, unknown][]): string {
  return JSON.stringify(Object.fromEntries(tensors.map(([n, dtype, shape, data_offsets]) => [n, { dtype, shape, data_offsets }])));
}

/** Opening `path` must fail with a one-line UserError (exit 2) that starts with the path and says `...parts`. */
function expectBad(path: string, ...parts: (string | RegExp)[]): string {
  let err: unknown;
  try {
    openSafetensors(path).close();
  } catch (e) {
    err = e;
  }
  expect(err).toBeInstanceOf(UserError);
  const e = err as UserError;
  expect(e.code).toBe(2);
  expect(e.message.startsWith(`${path}: `)).toBe(true);
  expect(e.message).not.toMatch(/[\n\r]/);
  for (const p of parts) expect(e.message).toMatch(p);
  return e.message;
}

function expectGood(path: string, check: (st: SafetensorsFile) => void): void {
  const st = openSafetensors(path);
  try {
    check(st);
  } finally {
    st.close();
  }
}

describe('malformed safetensors files are refused with one clear line', () => {
  it('file shorter than 8 bytes', () => {
    const path = join(dir, 'short.safetensors');
    writeFileSync(path, Buffer.from([1, 0, 0]));
    expectBad(path, 'file is 3 bytes, too short for the 8-byte header length');
  });

  it('header length over the 100,000,000-byte cap (checked before allocating)', () => {
    expectBad(craft('{}', 0, 100_000_001n), 'header length 100000001 bytes is over the 100000000-byte limit');
    expectBad(craft('{}', 0, 2n ** 64n - 1n), 'header length 18446744073709551615 bytes is over');
  });

  it('header length beyond the end of the file', () => {
    expectBad(craft('{}', 0, 99_999_999n), 'header length 99999999 bytes runs past the end of the 10-byte file');
    expectBad(craft('{}', 0, 3n), 'header length 3 bytes runs past the end');
  });

  it('header that is not UTF-8', () => {
    expectBad(craft(Buffer.from([0x7b, 0xff, 0xfe, 0x7d])), 'header is not valid UTF-8');
  });

  it('header that is not JSON', () => {
    expectBad(craft('{"a":'), 'header is not valid JSON: unexpected end of text');
    expectBad(craft(''), 'header is not valid JSON');
    expectBad(craft('{}\0'), 'header is not valid JSON: trailing characters', 'file byte 10');
    expectBad(craft('{"a":1,}'), 'header is not valid JSON');
    expectBad(craft(Buffer.concat([Buffer.from([0xef, 0xbb, 0xbf]), Buffer.from('{}')])), 'header is not valid JSON');
    expectBad(craft('{"\\ud800":1}'), 'header is not valid JSON: lone leading surrogate');
  });

  it('header nested absurdly deep (no stack overflow)', () => {
    expectBad(craft(`{"a":${'['.repeat(200_000)}${']'.repeat(200_000)}}`), 'nesting deeper than 128');
  });

  it('header that is not an object', () => {
    expectBad(craft('[]'), 'header is not a JSON object (got [])');
    expectBad(craft('"x"'), 'header is not a JSON object');
  });

  it('tensor entry that is not an object', () => {
    expectBad(craft('{"fc1.weight":null}'), "tensor 'fc1.weight': entry must be an object, got null");
    expectBad(craft('{"fc1.weight":[1,2]}'), "tensor 'fc1.weight': entry must be an object");
  });

  it('missing fields', () => {
    expectBad(craft('{"w":{"dtype":"F32","data_offsets":[0,4]}}', 4), "tensor 'w': missing field 'shape'");
    expectBad(craft('{"w":{"shape":[1],"data_offsets":[0,4]}}', 4), "tensor 'w': missing field 'dtype'");
    expectBad(craft('{"w":{"dtype":"F32","shape":[1]}}', 4), "tensor 'w': missing field 'data_offsets'");
  });

  it('unknown fields (the reference ignores them; we do not)', () => {
    const h = '{"w":{"dtype":"F32","shape":[1],"data_offsets":[0,4],"offsets":[0,4]}}';
    expectBad(craft(h, 4), "tensor 'w': unknown field 'offsets' (allowed: dtype, shape, data_offsets)");
  });

  it('unknown dtype', () => {
    expectBad(craft(hdr(['w', 'f32', [1], [0, 4]]), 4), "tensor 'w': unknown dtype 'f32'");
    expectBad(craft(hdr(['w', 'float16', [1], [0, 2]]), 2), "tensor 'w': unknown dtype 'float16'");
    expectBad(craft(hdr(['w', 7, [1], [0, 4]]), 4), "tensor 'w': dtype must be a string, got 7");
  });

  it('shape that is not a list of non-negative safe integers', () => {
    for (const [shape, shown] of [
      ['[-1]', '[-1]'], ['[1.5]', '[1.5]'], ['[2.0]', '[2.0]'], ['[1e1]', '[1e1]'], ['["2"]', '["2"]'],
      ['[9007199254740993]', '[9007199254740993]'], ['4', '4'], ['null', 'null'],
    ]) {
      const h = `{"w":{"dtype":"U8","shape":${shape},"data_offsets":[0,2]}}`;
      expectBad(craft(h, 2), "tensor 'w': shape must be a list of non-negative integers, got " + shown);
    }
  });

  it('shape whose byte size overflows', () => {
    expectBad(craft(hdr(['w', 'F32', [2 ** 26, 2 ** 26, 2 ** 26], [0, 4]]), 4), "tensor 'w': shape [67108864,67108864,67108864] has too many elements");
    expectBad(craft(hdr(['w', 'F64', [2 ** 51], [0, 4]]), 4), "tensor 'w': F64 × [2251799813685248] is too many bytes");
  });

  it('sub-byte dtype that does not fill whole bytes', () => {
    expectBad(craft(hdr(['w', 'F4', [3], [0, 2]]), 2), "tensor 'w': F4 × [3] is 12 bits, not whole bytes");
  });

  it('data_offsets that are not [begin, end] with begin <= end', () => {
    expectBad(craft(hdr(['w', 'F32', [1], [0]]), 4), "tensor 'w': data_offsets must be [begin, end] of non-negative integers, got [0]");
    expectBad(craft(hdr(['w', 'F32', [1], [0, 4, 4]]), 4), "tensor 'w': data_offsets must be [begin, end]");
    expectBad(craft(hdr(['w', 'F32', [1], [-4, 0]]), 4), "tensor 'w': data_offsets must be [begin, end]");
    expectBad(craft(hdr(['w', 'F32', [1], '0,4']), 4), "tensor 'w': data_offsets must be [begin, end]");
    expectBad(craft(hdr(['w', 'F32', [1], [4, 0]]), 4), "tensor 'w': data_offsets [4,0] has begin > end");
  });

  it('ten tensors that all claim the same bytes', () => {
    const tensors = Array.from({ length: 10 }, (_, i): [string, unknown, unknown, unknown] => [`t${i}`, 'F32', [4], [0, 16]]);
    expectBad(craft(hdr(...tensors), 160), /tensor 't\d': data_offsets \[0,16\] overlap tensor 't\d' \[0,16\]/);
  });

  it('offsets with a gap or not starting at 0', () => {
    expectBad(craft(hdr(['a', 'F32', [1], [0, 4]], ['b', 'F32', [1], [8, 12]]), 12),
      "tensor 'b': data_offsets [8,12] leave a gap of 4 bytes after tensor 'a' [0,4]");
    expectBad(craft(hdr(['a', 'F32', [1], [4, 8]]), 8), "tensor 'a': data_offsets [4,8] must begin at 0");
  });

  it('data size that does not match dtype × shape', () => {
    const path = craft(hdr(['fc1.weight', 'F32', [4, 4], [0, 60]]), 60);
    const msg = expectBad(path);
    expect(msg).toBe(`${path}: tensor 'fc1.weight': data size 60 bytes does not match F32 × [4,4] = 64 bytes`);
  });

  it('trailing bytes after the last tensor', () => {
    expectBad(craft(hdr(['w', 'F32', [1], [0, 4]]), 5), 'data section is 5 bytes but tensors end at byte 4 (1 trailing byte)');
    expectBad(craft('{}', 3), 'data section is 3 bytes but the header lists no tensor data (3 trailing bytes)');
  });

  it('missing bytes (file truncated)', () => {
    expectBad(craft(hdr(['w', 'F32', [4], [0, 16]]), 10), 'data section is 10 bytes but tensors end at byte 16 (6 bytes missing)');
  });

  it('__metadata__ that is not an object of strings', () => {
    expectBad(craft('{"__metadata__":"pt"}'), "field '__metadata__' must be an object of strings, got \"pt\"");
    expectBad(craft('{"__metadata__":{"format":"pt","epochs":3}}'), "field '__metadata__': value of key 'epochs' must be a string, got 3");
  });

  it('duplicate tensor names (JSON.parse would keep the last silently)', () => {
    const h = '{"w":{"dtype":"F32","shape":[1],"data_offsets":[0,4]},"w":{"dtype":"F32","shape":[1],"data_offsets":[4,8]}}';
    expectBad(craft(h, 8), "header names tensor 'w' twice (file byte 62)");
    expectBad(craft('{"__metadata__":{"a":"1","a":"2"}}'), 'header is not valid JSON: duplicate key "a"');
  });

  it('names with control characters stay on one line in messages', () => {
    expectBad(craft(hdr(['fc1\nweight', 'X', [1], [0, 1]]), 1), "tensor 'fc1\\nweight': unknown dtype 'X'");
  });

  it('paths that are not files', () => {
    expectBad(join(dir, 'absent.safetensors'), 'cannot open');
    const sub = join(dir, 'sub.safetensors');
    mkdirSync(sub);
    expectBad(sub, 'not a regular file');
  });
});

describe('odd but valid files the reference accepts', () => {
  it('zero-sized tensors, several at the same offset', () => {
    const h = hdr(['a', 'F32', [2, 0], [0, 0]], ['b', 'I8', [0], [0, 0]], ['c', 'F32', [1], [0, 4]], ['d', 'F16', [0, 3], [4, 4]]);
    expectGood(craft(h, 4), (st) => {
      expect([...st.tensors.keys()].sort()).toEqual(['a', 'b', 'c', 'd']);
      expect(st.readFloat32('a')).toEqual(new Float32Array(0));
      expect(st.readRaw('d').length).toBe(0);
    });
  });

  it('a scalar (empty shape)', () => {
    const data = Buffer.alloc(8);
    data.writeDoubleLE(-2.5);
    expectGood(craft(hdr(['s', 'F64', [], [0, 8]]), data), (st) => {
      expect(st.tensors.get('s')!.shape).toEqual([]);
      expect(Array.from(st.readFloat32('s'))).toEqual([-2.5]);
    });
  });

  it('header padded with spaces, leading whitespace, null metadata, empty header', () => {
    expectGood(craft('{}      '), (st) => expect(st.tensors.size).toBe(0));
    expectGood(craft(' \t\r\n{"__metadata__":null}  '), (st) => expect(st.metadata).toBeUndefined());
  });

  it('keys that are special in JavaScript are plain data', () => {
    const h = '{"__metadata__":{"__proto__":"x"},"__proto__":{"dtype":"U8","shape":[1],"data_offsets":[0,1]}}';
    expectGood(craft(h, Buffer.from([9])), (st) => {
      expect(Object.keys(st.metadata!)).toEqual(['__proto__']);
      expect(Array.from(st.readFloat32('__proto__'))).toEqual([9]);
    });
  });

  it('packed F4 readable raw, not as float32', () => {
    expectGood(craft(hdr(['q', 'F4', [2, 2], [0, 2]]), Buffer.from([0x12, 0x34])), (st) => {
      expect(Array.from(st.readRaw('q'))).toEqual([0x12, 0x34]);
      expect(() => st.readFloat32('q')).toThrow("tensor 'q': dtype F4 cannot be read as float32");
    });
  });

  it('a sparse 6 GB file: only the header and the asked tensor are read', () => {
    const huge = 6_000_000_000;
    const path = join(dir, 'sparse.safetensors');
    const tail = Buffer.alloc(8);
    tail.writeFloatLE(1.5, 0);
    tail.writeFloatLE(-2, 4);
    const h = Buffer.from(hdr(['huge', 'U8', [huge], [0, huge]], ['tail', 'F32', [2], [huge, huge + 8]]));
    const head = Buffer.alloc(8);
    head.writeBigUInt64LE(BigInt(h.length));
    const fd = openSync(path, 'w');
    writeSync(fd, Buffer.concat([head, h]));
    ftruncateSync(fd, 8 + h.length + huge); // a hole: no disk space, no memory
    writeSync(fd, tail, 0, 8, 8 + h.length + huge);
    closeSync(fd);
    expectGood(path, (st) => {
      expect(Array.from(st.readFloat32('tail'))).toEqual([1.5, -2]);
      expect(() => st.readRaw('huge')).toThrow("tensor 'huge': 6000000000 bytes is too large to hold in memory");
    });
    rmSync(path);
  });
});
