// The synthetic-checkpoint writer: what it writes reads back through our own readers (whole tensors
// and row blocks, single file and shards) equal to the generator's values; same seed, same bytes.
import fc from 'fast-check';
import { createHash } from 'node:crypto';
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { UserError } from '../../core/errors.ts';
import { recognizeLlama } from './llama.ts';
import { recognizeMlp } from './mlp.ts';
import { readWeightRows, rowElements } from './safetensors.ts';
import { openWeights, resolveModelPath } from './sharded.ts';
import { llamaShaped, llamaShapeFor, llamaWeights, mlpShaped, planShards, syntheticRows, writeSyntheticCheckpoint, type SyntheticModel } from './synthetic.ts';

const root = mkdtempSync(join(tmpdir(), 'hw-synth-'));
afterAll(() => rmSync(root, { recursive: true, force: true }));
let n = 0;
const fresh = (): string => join(root, `c${n++}`);

/** Every tensor read whole and as one random row block equals syntheticRows; the index names every tensor. */
function expectReadsBack(dir: string, m: SyntheticModel, seed: number, pick: number): void {
  const f = openWeights(resolveModelPath(dir));
  try {
    expect([...f.tensors.keys()].sort()).toEqual(m.tensors.map((t) => t.name).sort());
    for (const t of m.tensors) {
      const info = f.tensors.get(t.name)!;
      expect(info.dtype).toBe(t.dtype);
      expect(info.shape).toEqual(t.shape);
      const rows = t.shape[0];
      expect(f.readFloat32(t.name)).toEqual(syntheticRows(seed, t, 0, rows));
      const first = pick % rows;
      const count = Math.max(0, Math.min(rows - first, 1 + (pick % 3)));
      expect(readWeightRows(f, info, first, count)).toEqual(syntheticRows(seed, t, first, count));
      expect(rowElements(info) * count).toBe(syntheticRows(seed, t, first, count).length);
    }
  } finally {
    f.close();
  }
}

describe('synthetic checkpoints', () => {
  it('MLP-shaped: reads back equal to the generator (single file and shards, bf16 and f32)', () => {
    fc.assert(
      fc.property(
        fc.array(fc.integer({ min: 1, max: 40 }), { minLength: 2, maxLength: 4 }),
        fc.constantFrom('F32' as const, 'BF16' as const),
        fc.integer(),
        fc.integer({ min: 64, max: 20000 }),
        fc.nat(),
        (sizes, dtype, seed, shardBytes, pick) => {
          const dir = fresh();
          const m = mlpShaped(sizes, dtype);
          writeSyntheticCheckpoint(dir, m, seed, shardBytes);
          expectReadsBack(dir, m, seed, pick);
          const files = readdirSync(dir);
          const shards = planShards(m.tensors, shardBytes).length;
          expect(files.includes('model.safetensors.index.json')).toBe(shards > 1);
          if (shards > 1) expect(files).toContain(`model-${String(shards).padStart(5, '0')}-of-${String(shards).padStart(5, '0')}.safetensors`);
          // The MLP recognizer takes it as it is, with its config.json.
          const cfg = JSON.parse(readFileSync(join(dir, 'config.json'), 'utf8'));
          const f = openWeights(resolveModelPath(dir));
          try {
            const mlp = recognizeMlp(f, cfg);
            expect(mlp.layers.map((l) => l.outFeatures)).toEqual(sizes.slice(1));
            expect(mlp.layers[0].weight).toEqual(syntheticRows(seed, m.tensors[0], 0, sizes[1]));
          } finally {
            f.close();
          }
          rmSync(dir, { recursive: true, force: true });
        },
      ),
      { numRuns: 40 },
    );
  });

  it('Llama-shaped: sharded as transformers writes it, and recognized by the Llama reader', () => {
    fc.assert(
      fc.property(
        fc.record({
          heads: fc.integer({ min: 1, max: 4 }), kvDiv: fc.constantFrom(1, 2), headDim: fc.constantFrom(2, 4, 8),
          intermediate: fc.integer({ min: 1, max: 24 }), layers: fc.integer({ min: 1, max: 3 }), vocab: fc.integer({ min: 2, max: 40 }), tied: fc.boolean(),
        }),
        fc.constantFrom('F32' as const, 'BF16' as const),
        fc.integer(),
        fc.nat(),
        (s, dtype, seed, pick) => {
          const heads = s.heads % s.kvDiv === 0 ? s.heads : s.heads * s.kvDiv;
          const shape = { hidden: heads * s.headDim, intermediate: s.intermediate, layers: s.layers, heads, kvHeads: heads / s.kvDiv, vocab: s.vocab, tied: s.tied };
          const dir = fresh();
          const m = llamaShaped(shape, dtype);
          const w = writeSyntheticCheckpoint(dir, m, seed, 600);
          expectReadsBack(dir, m, seed, pick);
          const cfg = JSON.parse(readFileSync(join(dir, 'config.json'), 'utf8'));
          const f = openWeights(w.model);
          try {
            const l = recognizeLlama(f, cfg, join(dir, 'config.json'));
            expect(l.dims.hidden).toBe(shape.hidden);
            expect(l.layers[0].downProj).toEqual(syntheticRows(seed, m.tensors.find((t) => t.name === 'model.layers.0.mlp.down_proj.weight')!, 0, shape.hidden));
          } finally {
            f.close();
          }
          if (w.files.length > 1) {
            const index = JSON.parse(readFileSync(w.model, 'utf8'));
            expect(Object.keys(index.weight_map)).toEqual(Object.keys(index.weight_map).sort());
            expect(index.metadata.total_size).toBe(w.bytes);
          }
          rmSync(dir, { recursive: true, force: true });
        },
      ),
      { numRuns: 25 },
    );
  });

  it('same seed gives byte-identical files; another seed different values', () => {
    const hashes = (seed: number): string[] => {
      const dir = fresh();
      writeSyntheticCheckpoint(dir, llamaShaped({ hidden: 16, intermediate: 24, layers: 2, heads: 2, kvHeads: 1, vocab: 30 }, 'BF16'), seed, 2000);
      return readdirSync(dir).sort().map((f) => `${f} ${createHash('sha256').update(readFileSync(join(dir, f))).digest('hex')}`);
    };
    const a = hashes(7);
    expect(a.length).toBeGreaterThan(3);
    expect(hashes(7)).toEqual(a);
    expect(hashes(8).filter((h) => h.includes('.safetensors ') && !a.includes(h)).length).toBeGreaterThan(0);
  });

  it('keeps its values: fc1 of a 4-3-2 MLP at seed 1 (checked once against the reference safetensors library)', () => {
    const dir = fresh();
    const m = mlpShaped([4, 3, 2], 'F32');
    writeSyntheticCheckpoint(dir, m, 1);
    const bytes = readFileSync(join(dir, 'model.safetensors'));
    expect(createHash('sha256').update(bytes).digest('hex')).toBe(SHA256_MLP_4_3_2_SEED1);
    expect(Array.from(syntheticRows(1, m.tensors[0], 0, 1))).toEqual(FC1_ROW0);
  });

  it('picks Llama dims near a weight count, and refuses impossible shapes in one line', () => {
    // hidden moves in steps of 64 (one head): coarse at 1e6, close from 1e7 up.
    for (const [target, within] of [[1e6, 0.25], [1e7, 0.1], [1e8, 0.05], [1e9, 0.05]]) {
      const w = llamaWeights(llamaShapeFor(target));
      expect(Math.abs(w - target) / target).toBeLessThan(within);
    }
    expect(() => llamaShaped({ hidden: 10, intermediate: 4, layers: 1, heads: 3, kvHeads: 1, vocab: 4 }, 'F32')).toThrow(UserError);
    expect(() => mlpShaped([4], 'F32')).toThrow(/sizes must be two or more positive integers/);
  });

  it('row reads outside the tensor are one-line errors', () => {
    const dir = fresh();
    writeSyntheticCheckpoint(dir, mlpShaped([4, 3, 2], 'F32'), 1);
    const f = openWeights(resolveModelPath(dir));
    try {
      expect(() => f.readRawRows('fc1.weight', 2, 2)).toThrow(/model\.safetensors: tensor 'fc1\.weight': rows \[2, 4\) are outside its 3 rows$/);
      expect(() => f.readRawRows('fc1.weight', -1, 1)).toThrow(UserError);
      expect(f.readRawRows('fc1.weight', 3, 0).length).toBe(0);
    } finally {
      f.close();
    }
  });
});

// Pinned after the reference library (safetensors 0.8.0, numpy 2.4.6) read this file back equal to
// syntheticRows, and its save_file wrote the same arrays with {format: pt} to these same bytes.
const SHA256_MLP_4_3_2_SEED1 = '53d099f374ffb2b13c167b7a3ac5c71deb8ba69ed4e0c479c5e3348f33b71a4a';
const FC1_ROW0 = [-0.49424415826797485, -0.4881519675254822, -0.10157644748687744, -0.18229401111602783];
