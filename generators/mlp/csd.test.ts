// Property tests of the CSD recoding: exact value, no adjacent digits, never more digits than binary.
import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { csd, csdValue } from './csd.ts';

describe('csd', () => {
  it('recodes every integer exactly, in non-adjacent form, with at most ceil((bits+1)/2) digits', () => {
    fc.assert(fc.property(fc.bigInt({ min: -(1n << 40n), max: 1n << 40n }), (v) => {
      const d = csd(v);
      expect(csdValue(d)).toBe(v);
      for (let i = 1; i < d.length; i++) expect(d[i].shift - d[i - 1].shift).toBeGreaterThanOrEqual(2);
      const bits = v === 0n ? 0 : (v < 0n ? -v : v).toString(2).length;
      expect(d.length).toBeLessThanOrEqual(Math.ceil((bits + 1) / 2));
    }), { numRuns: 2000 });
  });
  it('zero has no digits; 7 is 8 - 1', () => {
    expect(csd(0n)).toEqual([]);
    expect(csd(7n)).toEqual([{ shift: 0, negative: true }, { shift: 3, negative: false }]);
  });
});
