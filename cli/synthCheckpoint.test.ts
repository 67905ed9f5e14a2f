// gen-rtl synth-checkpoint: writes a readable checkpoint, refuses to write over a non-empty folder, bad sizes in one line.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { EXIT, UserError } from '../core/errors.ts';
import { openWeights } from '../generators/load/sharded.ts';
import { synthCheckpoint } from './synthCheckpoint.ts';

const root = mkdtempSync(join(tmpdir(), 'hw-synthcli-'));
afterAll(() => rmSync(root, { recursive: true, force: true }));

describe('synth-checkpoint', () => {
  it('writes a sharded Llama and an MLP; refuses a non-empty folder without --force', () => {
    const out = join(root, 'llama');
    const w = synthCheckpoint({ out, shape: 'llama', weights: 2e5, llama: { layers: 2 }, dtype: 'BF16', seed: 3, shardBytes: 100_000, force: false });
    expect(w.model.endsWith('model.safetensors.index.json')).toBe(true);
    const f = openWeights(w.model);
    expect(f.tensors.has('model.layers.1.mlp.down_proj.weight')).toBe(true);
    f.close();
    let err: unknown;
    try {
      synthCheckpoint({ out, shape: 'mlp', dtype: 'F32', seed: 1, force: false });
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(UserError);
    expect((err as UserError).code).toBe(EXIT.usage);
    expect((err as Error).message).toMatch(/not empty \(use --force/);
    expect(synthCheckpoint({ out, shape: 'mlp', sizes: [8, 4], dtype: 'F32', seed: 1, force: true }).parameters).toBe(36);
    expect(() => synthCheckpoint({ out: join(root, 'bad'), shape: 'mlp', sizes: [8, Number.NaN], dtype: 'F32', seed: 1, force: false })).toThrow(/sizes must be two or more positive integers/);
  });
});
