// Test runner settings and the two test tiers. `npm test` (CI) runs every file, with long timeouts
// because tests build Verilator binaries and run Yosys. `npm run test:unit` (`vitest run --mode unit`)
// leaves out SLOW, the files that run a simulator or synthesizer (Verilator, Icarus, Yosys, nextpnr) or
// gen-rtl end to end, and sets HARDWIRE_TEST_TIER=unit so that a single such test inside an otherwise
// fast file skips itself (`it.skipIf(process.env.HARDWIRE_TEST_TIER === 'unit')`). In the unit tier the
// tools themselves are stubs that fail, so a test that needs one cannot pass there unnoticed.
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { delimiter, join } from 'node:path';
import { defineConfig } from 'vitest/config';

/** Test files that need a simulator or synthesizer, or run gen-rtl: `npm test` only, left out of `test:unit`. */
const SLOW = [
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

/** The simulators and synthesizers that the unit tier must not run. */
const TOOLS = ['verilator', 'iverilog', 'vvp', 'yosys', 'nextpnr-ice40', 'icepack'];

/**
 * A folder of stand-ins for TOOLS that print why and exit 127, to put first on the unit tier's PATH.
 * Named like verify/tools.ts's temp folders (`hardwire-KIND-PID-XXXXXX`): removed on exit, or swept later.
 */
function toolStubs(): string {
  const dir = mkdtempSync(join(tmpdir(), `hardwire-unitstubs-${process.pid}-`));
  process.on('exit', () => rmSync(dir, { recursive: true, force: true }));
  for (const t of TOOLS) {
    const why = `${t}: not available in npm run test:unit; list the test file in SLOW in vitest.config.ts, or skip the test when HARDWIRE_TEST_TIER=unit`;
    writeFileSync(join(dir, t), `#!/bin/sh\necho ${JSON.stringify(why)} >&2\nexit 127\n`, { mode: 0o755 });
  }
  return dir;
}

export default defineConfig(({ mode }) => {
  const unit = mode === 'unit';
  return {
    test: {
      include: ['**/*.test.ts'],
      exclude: ['node_modules/**', 'rtl-out/**', ...(unit ? SLOW : [])],
      env: unit ? { HARDWIRE_TEST_TIER: 'unit', PATH: `${toolStubs()}${delimiter}${process.env.PATH ?? ''}` } : {},
      testTimeout: unit ? 60_000 : 600_000,
      hookTimeout: unit ? 60_000 : 600_000,
      pool: 'forks',
    },
  };
});
