// Sharded checkpoints: the index's weight map decides which shard holds which tensor; anything that does
// not add up is refused in one line naming the index (or the shard) and the tensor.
import { mkdtempSync, mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { UserError } from '../../core/errors.ts';
import { openWeights, resolveModelPath } from './sharded.ts';
import { writeSafetensors } from './safetensors.ts';

const root = mkdtempSync(join(tmpdir(), 'hw-shard-'));
afterAll(() => rmSync(root, { recursive: true, force: true }));
const f32 = (v: number[]): Uint8Array => new Uint8Array(new Float32Array(v).buffer);
let n = 0;

/** A folder with shards a (x, y) and b (z) and the index `map` (default: the true one). */
function folder(map?: unknown, raw?: string): string {
  const dir = join(root, `m${n++}`);
  mkdirSync(dir);
  writeSafetensors(join(dir, 'a.safetensors'), [{ name: 'x', dtype: 'F32', shape: [2], data: f32([1, 2]) }, { name: 'y', dtype: 'F32', shape: [1], data: f32([3]) }]);
  writeSafetensors(join(dir, 'b.safetensors'), [{ name: 'z', dtype: 'F32', shape: [1], data: f32([4]) }]);
  writeFileSync(join(dir, 'model.safetensors.index.json'), raw ?? JSON.stringify({ metadata: {}, weight_map: map ?? { x: 'a.safetensors', y: 'a.safetensors', z: 'b.safetensors' } }));
  return dir;
}

function refused(dir: string, ...mentions: string[]): void {
  const index = join(dir, 'model.safetensors.index.json');
  let err: unknown;
  try {
    openWeights(resolveModelPath(dir)).close();
  } catch (e) {
    err = e;
  }
  expect(err).toBeInstanceOf(UserError);
  const msg = (err as Error).message;
  expect(msg.startsWith(index) || msg.includes('.safetensors')).toBe(true);
  expect(msg.split('\n')).toHaveLength(1);
  for (const m of mentions) expect(msg).toContain(m);
}

describe('sharded safetensors (model.safetensors.index.json)', () => {
  it('a folder resolves to its index; tensors are read from their shards', () => {
    const f = openWeights(resolveModelPath(folder()));
    expect([...f.tensors.keys()].sort()).toEqual(['x', 'y', 'z']);
    expect([...f.readFloat32('x')]).toEqual([1, 2]);
    expect([...f.readFloat32('z')]).toEqual([4]);
    f.close();
  });

  it('refuses: bad JSON, no weight map, a missing shard, a tensor not in its shard, a stray tensor, a path outside the folder', () => {
    refused(folder(undefined, '{"weight_map": '), 'not valid JSON');
    refused(folder(undefined, '{"metadata": {}}'), '"weight_map" must be an object');
    refused(folder({ x: 'a.safetensors', y: 'a.safetensors', z: 'c.safetensors' }), "shard 'c.safetensors'", "tensor 'z'", 'not found');
    refused(folder({ x: 'a.safetensors', y: 'a.safetensors', z: 'a.safetensors' }), "tensor 'z' is not in its shard 'a.safetensors'");
    refused(folder({ x: 'a.safetensors', z: 'b.safetensors' }), "shard 'a.safetensors'", "'y'", 'does not name');
    refused(folder({ x: '../a.safetensors', y: 'a.safetensors', z: 'b.safetensors' }), 'must be a file name beside the index');
  });

  it('a folder with neither file', () => {
    const dir = join(root, 'empty');
    mkdirSync(dir);
    expect(() => resolveModelPath(dir)).toThrow(`${dir}: a folder without model.safetensors or model.safetensors.index.json`);
  });
});
