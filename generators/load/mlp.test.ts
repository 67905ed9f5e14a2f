// The sequential-MLP recognizer: layer order, activations, and every way a checkpoint is refused.

import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';
import { expectLoadRefused } from './testing.ts';
import type { FloatMlp } from '../model.ts';
import { naturalCompare, recognizeMlp } from './mlp.ts';
import { openSafetensors, writeSafetensors, type Dtype, type TensorToWrite } from './safetensors.ts';

const FIXTURES = join(dirname(fileURLToPath(import.meta.url)), 'fixtures');
const dir = mkdtempSync(join(tmpdir(), 'st-mlp-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const BYTES: Partial<Record<Dtype, number>> = { F32: 4, F64: 8, F16: 2, I8: 1 };

/** A tensor from numbers, stored as `dtype`: F32, F64, F16 (values exact in half) or I8. */
function tensor(name: string, shape: number[], values: number[], dtype: Dtype = 'F32'): TensorToWrite {
  const b = Buffer.alloc(values.length * BYTES[dtype]!);
  values.forEach((v, i) => {
    if (dtype === 'F32') b.writeFloatLE(v, i * 4);
    else if (dtype === 'F64') b.writeDoubleLE(v, i * 8);
    else if (dtype === 'I8') b.writeInt8(v, i);
    else b.writeUInt16LE(halfBits(v), i * 2);
  });
  return { name, dtype, shape, data: b };
}

/** Bits of a half for values it holds exactly (tests use small dyadic values). */
function halfBits(v: number): number {
  if (v === 0) return Object.is(v, -0) ? 0x8000 : 0;
  const s = v < 0 ? 0x8000 : 0;
  const e = Math.floor(Math.log2(Math.abs(v)));
  return s | ((e + 15) << 10) | Math.round((Math.abs(v) / 2 ** e - 1) * 1024);
}

const seq = (n: number, scale = 0.25): number[] => Array.from({ length: n }, (_, i) => (i - n / 2) * scale);

let count = 0;
function model(tensors: TensorToWrite[], config?: unknown): FloatMlp {
  const path = join(dir, `m${count++}.safetensors`);
  writeSafetensors(path, tensors);
  const st = openSafetensors(path);
  try {
    return recognizeMlp(st, config);
  } finally {
    st.close();
  }
}

/** The recognizer must refuse with a one-line UserError (exit 2) that starts with a path and says `parts`. */
function expectRefused(tensors: TensorToWrite[], config: unknown, ...parts: string[]): void {
  expectLoadRefused(() => model(tensors, config), ...parts);
}

const w1 = tensor('fc1.weight', [4, 3], seq(12));
const b1 = tensor('fc1.bias', [4], seq(4));
const w2 = tensor('fc2.weight', [5, 4], seq(20));
const b2 = tensor('fc2.bias', [5], seq(5));
const w3 = tensor('fc3.weight', [2, 5], seq(10));
const b3 = tensor('fc3.bias', [2], seq(2));

describe('recognizeMlp: good models', () => {
  it('reads the reference-written nn.Sequential MLP (net.0, net.2, net.4)', () => {
    const want = JSON.parse(readFileSync(join(FIXTURES, 'expected.json'), 'utf8')).files['mlp_sequential.safetensors']
      .tensors as Record<string, { float32: number[] }>;
    const st = openSafetensors(join(FIXTURES, 'mlp_sequential.safetensors'));
    const mlp = recognizeMlp(st);
    st.close();
    expect(mlp.layers.map((l) => [l.name, l.outFeatures, l.inFeatures, l.activation])).toEqual([
      ['net.0', 4, 3, 'relu'],
      ['net.2', 5, 4, 'relu'],
      ['net.4', 2, 5, 'none'],
    ]);
    for (const l of mlp.layers) {
      expect(Array.from(l.weight)).toEqual(want[`${l.name}.weight`].float32);
      expect(Array.from(l.bias!)).toEqual(want[`${l.name}.bias`].float32);
    }
  });

  it('a 3-layer MLP in any tensor order, mixed float dtypes, a layer without bias', () => {
    const mlp = model([b3, tensor('fc2.weight', [5, 4], seq(20), 'F16'), w3, tensor('fc1.weight', [4, 3], seq(12), 'F64'), b1]);
    expect(mlp.kind).toBe('mlp');
    expect(mlp.layers.map((l) => [l.name, l.inFeatures, l.outFeatures, l.activation, l.bias?.length])).toEqual([
      ['fc1', 3, 4, 'relu', 4],
      ['fc2', 4, 5, 'relu', undefined],
      ['fc3', 5, 2, 'none', 2],
    ]);
    expect(Array.from(mlp.layers[1].weight)).toEqual(seq(20));
    expect(Array.from(mlp.layers[0].weight)).toEqual(seq(12));
  });

  it('orders prefixes naturally: fc2 before fc10', () => {
    const w10 = tensor('fc10.weight', [2, 4], seq(8));
    const mlp = model([w10, tensor('fc2.weight', [4, 3], seq(12))]);
    expect(mlp.layers.map((l) => l.name)).toEqual(['fc2', 'fc10']);
  });

  it('follows config.json layers and activations', () => {
    const a = tensor('b.weight', [4, 3], seq(12));
    const b = tensor('a.weight', [2, 4], seq(8));
    const mlp = model([a, b], { layers: ['b', 'a'], activations: ['none', 'relu'], other: 1 });
    expect(mlp.layers.map((l) => [l.name, l.activation])).toEqual([['b', 'none'], ['a', 'relu']]);
    const relu = model([w1, w2, w3], { activation: 'ReLU' });
    expect(relu.layers.map((l) => l.activation)).toEqual(['relu', 'relu', 'none']);
    const linear = model([w1, w2], { activation: 'identity' });
    expect(linear.layers.map((l) => l.activation)).toEqual(['none', 'none']);
  });

  it('allows an all-zero layer', () => {
    const mlp = model([tensor('fc1.weight', [2, 2], [0, 0, 0, 0]), tensor('fc1.bias', [2], [0, -0])]);
    expect(Array.from(mlp.layers[0].weight)).toEqual([0, 0, 0, 0]);
  });
});

describe('recognizeMlp: refusals', () => {
  it('no .weight tensors: lists what the file has', () => {
    expectRefused([tensor('embed', [3, 2], seq(6)), b1], undefined, "no '<layer>.weight' tensors found", "'embed' [3,2]", "'fc1.bias' [4]");
    expectRefused([], undefined, 'the file has no tensors');
  });

  it('shapes that do not chain: names both tensors and shapes', () => {
    expectRefused([w1, b1, w3], undefined, "tensor 'fc3.weight' [2,5] takes 5 inputs but 'fc1.weight' [4,3] gives 4 outputs");
  });

  it('extra tensors: lists them', () => {
    const extra = tensor('norm.scale', [4], seq(4));
    expectRefused([w1, b1, w2, b2, extra, tensor('head.bias', [2], seq(2))], undefined,
      "tensors that belong to no Linear layer: 'head.bias' [2], 'norm.scale' [4]");
  });

  it('NaN or infinity: names the tensor and the flat index', () => {
    expectRefused([w1, tensor('fc1.bias', [4], [0, 1, NaN, 2])], undefined, "tensor 'fc1.bias': value NaN at flat index 2");
    expectRefused([tensor('fc1.weight', [2, 2], [0, 1, 2, -Infinity])], undefined, "tensor 'fc1.weight': value -Infinity at flat index 3");
    expectRefused([tensor('fc1.weight', [1, 2], [1, 1e300], 'F64')], undefined, 'value Infinity at flat index 1 after conversion to float32');
  });

  it('bias length that differs from the layer outputs', () => {
    expectRefused([w1, tensor('fc1.bias', [3], seq(3))], undefined, "tensor 'fc1.bias': bias shape [3] does not match tensor 'fc1.weight' [4,3] (expected [4])");
    expectRefused([w1, tensor('fc1.bias', [4, 1], seq(4))], undefined, 'bias shape [4,1] does not match');
  });

  it('weights that are not 2-D, or empty', () => {
    expectRefused([tensor('ln.weight', [4], seq(4))], undefined, "tensor 'ln.weight': a Linear weight must be 2-D [out, in], got [4]");
    expectRefused([tensor('fc1.weight', [0, 3], [])], undefined, "tensor 'fc1.weight': shape [0,3] has a zero dimension");
  });

  it('unsupported weight dtype', () => {
    expectRefused([tensor('fc1.weight', [2, 2], [1, 2, 3, 4], 'I8')], undefined, "tensor 'fc1.weight': dtype I8 is not supported for weights (supported: F64, F32, F16, BF16)");
  });

  it('bad config.json', () => {
    expectRefused([w1], { activation: 'gelu' }, "config.json: \"activation\": unknown activation 'gelu' (supported: relu, none, identity, linear)");
    expectRefused([w1, w2], { activations: ['relu', 'tanh'] }, 'config.json: "activations"[1]: unknown activation \'tanh\'');
    expectRefused([w1, w2], { activations: ['relu'] }, 'config.json: "activations" has 1 entries for 2 layers');
    expectRefused([w1], { activation: 'relu', activations: ['none'] }, 'not both');
    expectRefused([w1], [1, 2], 'config.json: must be a JSON object');
    expectRefused([w1, w2], { layers: ['fc1', 'fc9'] }, "config.json lists layer 'fc9' but there is no tensor 'fc9.weight'");
    expectRefused([w1, w2], { layers: ['fc1'] }, "tensors that belong to no Linear layer: 'fc2.weight' [5,4]");
    expectRefused([w1, w2], { layers: 'fc1' }, 'config.json: "layers" must be a non-empty list');
  });
});

describe('naturalCompare', () => {
  it('orders digit runs as numbers', () => {
    const names = ['net.10', 'fc10', 'net.2', 'fc2', 'fc1', 'net.0', 'layers.1.fc', 'layers.0.fc', 'fc01'];
    expect(names.sort(naturalCompare)).toEqual(['fc1', 'fc01', 'fc2', 'fc10', 'layers.0.fc', 'layers.1.fc', 'net.0', 'net.2', 'net.10']);
  });
});
