// Tests for verify/equiv.ts: every CSD cell the generator can emit for int3/int4/int6 weights and
// int8 activations is proved equal to x * W in Yosys, and a wrong reference is caught.
import { describe, expect, it } from 'vitest';
import { proveConstMulCells } from './equiv.ts';

/** Every weight a symmetric `bits`-bit quantizer produces: -(2^(bits-1)-1) .. 2^(bits-1)-1. */
function symmetricWeights(bits: number): bigint[] {
  const q = (1n << BigInt(bits - 1)) - 1n;
  const out: bigint[] = [];
  for (let w = -q; w <= q; w++) out.push(w);
  return out;
}

describe('proveConstMulCells', () => {
  it('proves every cell kind of int3, int4 and int6 weights (x int8) equal to x * W, in one Yosys run', async () => {
    const weights = [3, 4, 6].flatMap(symmetricWeights); // overlapping sets, zeros included: both are deduplicated/skipped
    const r = await proveConstMulCells(weights, 8);
    console.log(`equiv: ${r.proved} CSD cells proved equal to x * W (x int8, W in ±1..±31) in ${r.seconds.toFixed(2)} s`);
    expect(r.failed).toEqual([]);
    expect(r.proved).toBe(62);
    expect(r.seconds).toBeLessThan(60);
  });

  it('can fail: a reference of W+1 is reported for every cell', async () => {
    const weights = [-31n, -7n, -1n, 1n, 3n, 6n, 31n];
    const r = await proveConstMulCells(weights, 8, { reference: (w) => w + 1n });
    expect(r.proved).toBe(0);
    expect(r.failed).toHaveLength(weights.length);
    expect(r.failed.find((f) => f.startsWith('cmul_s8_p3:'))).toMatch(/not equal to x \* 4 \(x = -?\d+ gives -?\d+, reference gives -?\d+\)/);
  });

  it('attributes a failure to the one cell whose reference is wrong', async () => {
    const r = await proveConstMulCells([2n, 5n, -5n, 11n], 8, { reference: (w) => (w === -5n ? -4n : w) });
    expect(r.proved).toBe(3);
    expect(r.failed).toHaveLength(1);
    const m = /^cmul_s8_n5: not equal to x \* -4 \(x = (-?\d+) gives (-?\d+), reference gives (-?\d+)\)$/.exec(r.failed[0]);
    expect(m).not.toBeNull();
    // The counterexample is real: the cell gives x * -5, the reference x * -4.
    const x = BigInt(m![1]);
    expect(BigInt(m![2])).toBe(x * -5n);
    expect(BigInt(m![3])).toBe(x * -4n);
  });

  it('has nothing to prove for zero weights', async () => {
    expect(await proveConstMulCells([0n, 0n], 8)).toMatchObject({ proved: 0, failed: [] });
  });
});
