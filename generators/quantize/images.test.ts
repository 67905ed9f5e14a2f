// Weight images written by streaming row blocks equal the whole-tensor quantization, word for word.
import fc from 'fast-check';
import { createHash } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { openWeights } from '../load/sharded.ts';
import { mlpShaped, writeSyntheticCheckpoint } from '../load/synthetic.ts';
import type { WeightBits } from '../model.ts';
import { imageFileName, imageWord, writeWeightImages } from './images.ts';
import { quantizeWeights } from './mlp.ts';

const root = mkdtempSync(join(tmpdir(), 'hw-images-'));
afterAll(() => rmSync(root, { recursive: true, force: true }));
let n = 0;

describe('weight images', () => {
  it('streamed row blocks give the same words, scales and checksums as quantizing whole tensors', () => {
    fc.assert(
      fc.property(
        fc.array(fc.integer({ min: 1, max: 30 }), { minLength: 2, maxLength: 3 }),
        fc.constantFrom<WeightBits>(3, 4, 6, 8),
        fc.integer({ min: 1, max: 200 }),
        fc.integer(),
        (sizes, bits, block, seed) => {
          const dir = join(root, `c${n++}`);
          const ck = writeSyntheticCheckpoint(dir, mlpShaped(sizes, 'BF16'), seed, 400);
          const f = openWeights(ck.model);
          try {
            const m = writeWeightImages(f, join(dir, 'img'), bits, undefined, block);
            expect(m.images.map((i) => i.tensor)).toEqual(sizes.slice(1).map((_, k) => `fc${k + 1}.weight`).sort());
            for (const img of m.images) {
              const [rows, cols] = img.shape;
              const whole = quantizeWeights(f.readFloat32(img.tensor), rows, cols, bits);
              const bin = readFileSync(join(dir, 'img', img.file));
              expect(bin.length).toBe(Math.ceil((rows * cols * bits) / 8));
              expect(createHash('sha256').update(bin).digest('hex')).toBe(img.sha256);
              for (let k = 0; k < rows * cols; k++) expect(imageWord(bin, bits, k)).toBe(whole.weight[k]);
              const sc = readFileSync(join(dir, 'img', img.scaleFile));
              expect(Array.from(new Float64Array(sc.buffer, sc.byteOffset, rows))).toEqual(Array.from(whole.scale));
              expect(img.zeros).toBe(whole.weight.filter((w) => w === 0).length);
            }
          } finally {
            f.close();
          }
          rmSync(dir, { recursive: true, force: true });
        },
      ),
      { numRuns: 30 },
    );
  });

  it('file names never carry a tensor name unescaped', () => {
    expect(imageFileName('model.layers.0.mlp/../../etc')).toBe('model.layers.0.mlp_.._.._etc');
    expect(imageFileName('..')).toBe('_');
    expect(imageFileName('')).toBe('_');
  });
});
