// A bare checkpoint (only model.safetensors, an MLP of odd shapes, no config, calibration or test data):
// generated with the stated default activation scales and one warning line, co-simulated bit-exact on
// random vectors, exit 0; the report says the accuracy was not measured.
import { describe, expect, it } from 'vitest';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll } from 'vitest';
import { writeSafetensors } from '../generators/load/safetensors.ts';
import { randomFloatMlp } from '../generators/mlp/testing.ts';
import { EXIT } from '../core/errors.ts';
import { genRtl, scratch } from './testing.ts';

const { fresh, cleanup } = scratch('hw-bare-');
afterAll(cleanup);
const f32 = (a: Float32Array): Uint8Array => new Uint8Array(a.buffer, a.byteOffset, a.byteLength);

describe('a bare MLP checkpoint', () => {
  it('7-5-3 with nothing beside it: warning line, bit-exact on random vectors, exit 0', async () => {
    const { dir, out } = fresh();
    const m = randomFloatMlp([7, 5, 3], 31);
    const model = join(dir, 'model.safetensors');
    writeSafetensors(model, m.layers.flatMap((l) => [
      { name: `${l.name}.weight`, dtype: 'F32' as const, shape: [l.outFeatures, l.inFeatures], data: f32(l.weight) },
      { name: `${l.name}.bias`, dtype: 'F32' as const, shape: [l.outFeatures], data: f32(l.bias!) },
    ]));
    const r = await genRtl([model, '--out', out, '--no-synth', '--vectors', '2000', '-q']);
    expect(r.code, r.stderr).toBe(EXIT.ok);
    const warnings = r.stderr.split('\n').filter((l) => l.length > 0);
    expect(warnings).toHaveLength(1);
    expect(warnings[0]).toMatch(/^gen-rtl: warning: .*model\.safetensors: no calibration data .*256 random inputs uniform in \[-1, 1\]; pass --calib FILE \(tensor 'x' \[N, 7\]\)/);
    const rep = JSON.parse(readFileSync(join(out, 'report.json'), 'utf8'));
    expect(rep.accuracy).toBeUndefined();
    expect(rep.cosim.randomEqual).toBe(2000);
    expect(rep.cosim.randomTotal).toBe(2000);
    expect(rep.cosim.icarusEqual).toBe(rep.cosim.icarusCycles);
    expect(readFileSync(join(out, 'report.md'), 'utf8')).toMatch(/not measured|no test data/i);
  });
});
