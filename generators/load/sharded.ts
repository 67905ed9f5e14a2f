// Sharded checkpoints as Hugging Face writes them: model.safetensors.index.json ({"metadata": {...},
// "weight_map": {tensor: shard file}}) beside model-0000N-of-0000M.safetensors. The shards are opened
// and checked like any safetensors file; together they look like one SafetensorsFile whose tensors
// are the weight map's, each read from its shard.
import { existsSync, statSync } from 'node:fs';
import { readJsonFile } from './jsonFile.ts';
import { dirname, join } from 'node:path';
import { UserError } from '../../core/errors.ts';
import { openSafetensors, quoteName, type SafetensorsFile, type TensorInfo } from './safetensors.ts';

/** A model path as users give it: a .safetensors file, a .safetensors.index.json, or a folder holding one. */
export function resolveModelPath(path: string): string {
  if (existsSync(path) && statSync(path).isDirectory()) {
    for (const f of ['model.safetensors', 'model.safetensors.index.json']) if (existsSync(join(path, f))) return join(path, f);
    throw new UserError(`${path}: a folder without model.safetensors or model.safetensors.index.json`);
  }
  return path;
}

/** Opens a single file or, for `*.index.json`, every shard of the index. */
export function openWeights(path: string): SafetensorsFile {
  return path.endsWith('.index.json') ? openShardedSafetensors(path) : openSafetensors(path);
}

export function openShardedSafetensors(indexPath: string): SafetensorsFile {
  const fail = (why: string): never => { throw new UserError(`${indexPath}: ${why}`); };
  const json = readJsonFile(indexPath);
  if (json === null || typeof json !== 'object' || Array.isArray(json)) fail('must be a JSON object');
  const map = (json as Record<string, unknown>).weight_map;
  if (map === null || typeof map !== 'object' || Array.isArray(map)) fail('"weight_map" must be an object of tensor name → shard file');
  const entries = Object.entries(map as Record<string, unknown>);
  if (entries.length === 0) fail('"weight_map" is empty');
  const shards = new Map<string, SafetensorsFile>();
  const owner = new Map<string, SafetensorsFile>();
  const tensors: [string, TensorInfo][] = [];
  try {
    for (const [name, shard] of entries) {
      if (typeof shard !== 'string' || shard.length === 0 || shard.includes('/') || shard.includes('\\') || shard.startsWith('.')) {
        fail(`"weight_map"[${JSON.stringify(name)}] must be a file name beside the index, got ${JSON.stringify(shard)}`);
      }
      let f = shards.get(shard as string);
      if (!f) {
        const p = join(dirname(indexPath), shard as string);
        if (!existsSync(p)) fail(`shard ${quoteName(shard as string)} (holding tensor ${quoteName(name)}) not found beside the index`);
        f = openSafetensors(p);
        shards.set(shard as string, f);
      }
      const info = f.tensors.get(name);
      if (!info) fail(`tensor ${quoteName(name)} is not in its shard ${quoteName(shard as string)}`);
      owner.set(name, f);
      tensors.push([name, info!]);
    }
    for (const [shard, f] of shards) {
      const stray = [...f.tensors.keys()].filter((n) => owner.get(n) !== f);
      if (stray.length) fail(`shard ${quoteName(shard)} holds ${stray.length === 1 ? 'a tensor' : 'tensors'} the weight map does not name: ${stray.slice(0, 3).map(quoteName).join(', ')}`);
    }
  } catch (e) {
    for (const f of shards.values()) f.close();
    throw e;
  }
  const of = (name: string): SafetensorsFile => {
    const f = owner.get(name);
    if (!f) throw new Error(`${indexPath}: no tensor ${name}`);
    return f;
  };
  return {
    path: indexPath,
    tensors: new Map(tensors),
    metadata: undefined,
    dataStart: 0,
    readRaw: (name) => of(name).readRaw(name),
    readFloat32: (name) => of(name).readFloat32(name),
    readBigInt64: (name) => of(name).readBigInt64(name),
    readRawRows: (name, first, count) => of(name).readRawRows(name, first, count),
    readRowsFloat32: (name, first, count) => of(name).readRowsFloat32(name, first, count),
    close: () => { for (const f of shards.values()) f.close(); },
  };
}
