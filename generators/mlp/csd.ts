// Canonical signed digit (non-adjacent form) recoding: the fewest ±2^k terms for a constant multiplier.

/** One term of a CSD recoding: sign × 2^shift. */
export interface CsdDigit {
  readonly shift: number;
  readonly negative: boolean;
}

/** NAF of an integer: no two adjacent non-zero digits; terms ordered by increasing shift. */
export function csd(value: bigint): CsdDigit[] {
  const out: CsdDigit[] = [];
  let v = value;
  let shift = 0;
  while (v !== 0n) {
    if (v & 1n) {
      // Digit is +1 when v ≡ 1 (mod 4), −1 when v ≡ 3 (mod 4).
      const d = (v & 3n) === 3n ? -1n : 1n;
      out.push({ shift, negative: d < 0n });
      v -= d;
    }
    v >>= 1n;
    shift++;
  }
  return out;
}

/** The value a recoding stands for (for tests and reports). */
export function csdValue(digits: readonly CsdDigit[]): bigint {
  return digits.reduce((s, d) => s + (d.negative ? -1n : 1n) * (1n << BigInt(d.shift)), 0n);
}
