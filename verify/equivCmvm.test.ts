// Tests for verify/equivCmvm.ts: small CMVM layers proved equal to W·x in Yosys, and a wrong reference caught.
import { describe, expect, it } from 'vitest';
import { proveCmvm } from './equivCmvm.ts';
import { mulberry32 } from './prng.ts';

function randomMatrix(rows: number, cols: number, bits: number, seed: number): number[][] {
  const r = mulberry32(seed);
  const h = 2 ** (bits - 1);
  return Array.from({ length: rows }, () => Array.from({ length: cols }, () => (r() < 0.2 ? 0 : Math.floor(r() * (2 * h - 1)) - (h - 1))));
}

describe('proveCmvm', () => {
  // SAT on sums of differently ordered adders is slow (a 2-input, 3-output int6 layer on int8 inputs
  // took 111 s on a loaded machine), so the proof stays tiny; larger layers are checked by random
  // co-simulation (generators/mlp/cmvmLayer.test.ts).
  it('proves a 2-input, 2-output int4 layer with offsets (inputs behind a ReLU, 0..127)', async () => {
    const a = await proveCmvm([[7, -5], [-7, 3]], 8, { min: 0, max: 127 }, { offset: [3n, -100n] });
    console.log(`equiv cmvm: 2x2 int4 (${a.adders} adders) ${a.seconds.toFixed(1)} s`);
    expect(a).toMatchObject({ proved: true });
  });

  it('can fail: one weight off by one in the reference is found', async () => {
    const w = randomMatrix(4, 5, 6, 3);
    const wrong = w.map((r) => [...r]);
    wrong[2][3] += 1;
    const r = await proveCmvm(w, 8, { min: -128, max: 127 }, { reference: wrong });
    expect(r.proved).toBe(false);
  });
});
