// An MLP on the engine of a Llama grid, refused the way a Llama is: one line naming the grid file, the
// capacity and the need, exit 2, before anything is written. (The good run, bit-exact with base/ equal
// to the Llamas', is examples/llama-h48/llama-h48.test.ts.)
import { afterAll, describe, expect, it } from 'vitest';
import { existsSync, readdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { EXIT } from '../core/errors.ts';
import { expectOneLineError, genRtl, ROOT, scratch } from './testing.ts';

const MODEL = join(ROOT, 'examples/digits-mlp/model.safetensors');
const GRID = join(ROOT, 'examples/grids/tiny-llama.ts');
const { fresh, cleanup } = scratch('hw-engine-mlp-');
afterAll(cleanup);

function expectNothingWritten(dir: string, out: string): void {
  expect(existsSync(out)).toBe(false);
  expect(readdirSync(dir).filter((e) => e.startsWith('.'))).toEqual([]);
}

describe('gen-rtl MLP --grid <a grid with an engine>: models the engine cannot hold (exit 2)', () => {
  it('int6 weights on the int4 cells', async () => {
    const { dir, out } = fresh();
    const r = await genRtl([MODEL, '--grid', GRID, '--weight-bits', '6', '--out', out, '--no-verify', '-q']);
    expectOneLineError(r, EXIT.badInput, GRID, "grid 'tiny-llama'", 'int4', 'int6');
    expectNothingWritten(dir, out);
  });

  it('more classes than the logit buffer holds (engine.vocab)', async () => {
    const { dir, out } = fresh();
    const grid = join(dir, 'few-logits.ts');
    writeFileSync(grid, `import { TINY_LLAMA_GRID, defineGrid } from ${JSON.stringify(join(ROOT, 'generators/grid/grid.ts'))};\nexport default defineGrid({ ...TINY_LLAMA_GRID, name: 'few-logits', engine: { ...TINY_LLAMA_GRID.engine, vocab: 8 } });\n`);
    const r = await genRtl([MODEL, '--grid', grid, '--weight-bits', '4', '--out', out, '--no-verify', '-q']);
    expectOneLineError(r, EXIT.badInput, grid, "grid 'few-logits'", '10 logits', 'engine.vocab');
    expectNothingWritten(dir, out);
  });
});
