// Real-world paths: a model in, or an output into, a folder whose path holds spaces, Unicode, quotes
// and a leading dash runs green with lint and co-simulation on (Verilator's Perl wrapper splits its
// arguments at spaces: tools run from inside the folder with relative names).
import { afterAll, describe, expect, it } from 'vitest';
import { copyFileSync, existsSync, mkdirSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { EXIT } from '../core/errors.ts';
import { genRtl, ROOT, scratch } from './testing.ts';

/** Lint, Verilator co-simulation and the Icarus cross-check on; no Yosys, few random vectors. */
const VERIFYING = ['--no-synth', '--vectors', '20', '-q'];
const EXAMPLE = join(ROOT, 'examples/digits-mlp');

const { fresh, cleanup } = scratch('hw-paths-');
afterAll(cleanup);

/** The digits MLP copied into `dir`. */
function copyDigits(dir: string): string {
  mkdirSync(dir, { recursive: true });
  for (const f of ['model.safetensors', 'calib.safetensors', 'test.safetensors', 'config.json']) copyFileSync(join(EXAMPLE, f), join(dir, f));
  return join(dir, 'model.safetensors');
}

function expectVerified(r: { code: number; stderr: string; stdout: string }, out: string): void {
  expect(r.code, r.stderr).toBe(EXIT.ok);
  expect(r.stderr).toBe('');
  expect(r.stdout).toMatch(/RTL == golden {2}360\/360 held-out, 20\/20 random \(with stalls\), Icarus (\d+)\/\1 cycles/);
  const rep = JSON.parse(readFileSync(join(out, 'report.json'), 'utf8'));
  expect(rep.cosim.randomEqual).toBe(20);
}

describe('paths with spaces, Unicode, quotes and a leading dash', () => {
  it('--out "a dir/with spaces/ünï": linted, co-simulated, green', async () => {
    const { dir } = fresh();
    const out = join(dir, 'a dir', 'with spaces', 'ünï');
    const r = await genRtl([join(EXAMPLE, 'model.safetensors'), '--out', out, ...VERIFYING]);
    expectVerified(r, out);
    expect(readdirSync(join(dir, 'a dir', 'with spaces'))).toEqual(['ünï']); // no lock or staging left
  }, 120_000);

  it("a model in \"a dir/with spaces/ünï/-x 'q'\", default --out from a folder with spaces: green", async () => {
    const { dir } = fresh();
    const model = copyDigits(join(dir, 'a dir', 'with spaces', 'ünï', "-x 'q'"));
    const cwd = join(dir, 'wörk dir');
    mkdirSync(cwd);
    const r = await genRtl([model, ...VERIFYING], cwd);
    // The default output folder name is the model folder's, made safe.
    const out = join(cwd, 'rtl-out', "_x__q_");
    expect(existsSync(out), readdirSync(join(cwd, 'rtl-out')).join(', ')).toBe(true);
    expectVerified(r, out);
  }, 120_000);
});
