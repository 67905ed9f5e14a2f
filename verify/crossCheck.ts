// Icarus cross-check: replay a prefix of a Verilator run's stimulus in Icarus and count identical cycles
// (guards against Verilator 5.006's known wrong-result bugs).
import { runIcarusVectors } from './icarus.ts';
import type { SimSpec } from './verilator.ts';

/**
 * Cycles after the reset cycle whose outputs are identical in Icarus and Verilator. Outputs named in
 * `xAllowed` may be X in Icarus (uninitialized memory behind a debug port); an X there is not compared.
 */
export async function icarusCrossCheck(spec: SimSpec, stimulus: bigint[][], verilatorOut: bigint[][], maxCycles: number, xAllowed: readonly string[] = []): Promise<{ equal: number; cycles: number }> {
  const n = Math.min(stimulus.length, maxCycles);
  const ic = await runIcarusVectors(spec, stimulus.slice(0, n), { resetCycles: 1, xAllowed });
  let equal = 0;
  for (let c = 1; c < n; c++) if (ic[c].every((v, k) => v === null || v === verilatorOut[c][k])) equal++;
  return { equal, cycles: n - 1 };
}
