// Test runner settings and the two test tiers. `npm test` (CI) runs every file, with long timeouts
// because tests build Verilator binaries and run Yosys. `npm run test:unit` (`vitest run --mode unit`)
// leaves out SLOW, the files that run a simulator or synthesizer (Verilator, Icarus, Yosys, nextpnr) or
// gen-rtl end to end, and sets HARDWIRE_TEST_TIER=unit so that a single such test inside an otherwise
// fast file skips itself (`it.skipIf(process.env.HARDWIRE_TEST_TIER === 'unit')`).
import { defineConfig } from 'vitest/config';

/** Test files that need a simulator or synthesizer, or run gen-rtl: `npm test` only, left out of `test:unit`. */
export const SLOW = [
  'cli/**/*.test.ts',
  'dsl/property.test.ts',
  'examples/digits-mlp/**',
  'examples/hf-llama/**',
  'examples/llama-h48/**',
  'examples/tiny-llama/**',
  'generators/grid/grid.test.ts',
  'generators/llama/llama.test.ts',
  'generators/load/configJson.test.ts',
  'generators/mlp/cmvmLayer.test.ts',
  'generators/mlp/mlp.test.ts',
  'verify/equiv.test.ts',
  'verify/equivCmvm.test.ts',
  'verify/icarus.test.ts',
  'verify/lint.test.ts',
  'verify/maskPurity.test.ts',
  'verify/tools.test.ts',
  'verify/verilator.test.ts',
  'verify/yosys.test.ts',
];

export default defineConfig(({ mode }) => {
  const unit = mode === 'unit';
  return {
    test: {
      include: ['**/*.test.ts'],
      exclude: ['node_modules/**', 'rtl-out/**', ...(unit ? SLOW : [])],
      env: unit ? { HARDWIRE_TEST_TIER: 'unit' } : {},
      testTimeout: unit ? 60_000 : 600_000,
      hookTimeout: unit ? 60_000 : 600_000,
      pool: 'forks',
    },
  };
});
